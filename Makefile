# Two commands on a fresh machine (only python3, make and the package registries needed):
#   make demo   create .venv, install, load the bundled data, run the agents, serve the web UI
#   make test   install the dev dependencies and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
# Two workers fit the 2-core machines this runs on; PYTEST_ARGS adds to it (e.g. PYTEST_ARGS="-m 'not slow'").
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: demo test install dev clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes; the stamp files record the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/sellerloop demo --host $(HOST) --port $(PORT)

test: dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Re-take the README screenshots in docs/screenshots (the browser tests, writing into docs/ this time).
screenshots: dev
	SELLERLOOP_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser -k "screenshot or panel or workspace" -p no:randomly

clean:
	rm -rf $(VENV) .sellerloop .pytest_cache

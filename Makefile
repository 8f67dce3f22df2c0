# Two commands on a fresh machine (only python3, make and the package registries needed):
#   make demo   create .venv, install, load the bundled data, run the agents, serve the web UI
#   make test   install the dev dependencies and run the whole suite
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
# Two workers fit the 2-core machines this runs on; PYTEST_ARGS adds to it (e.g. PYTEST_ARGS="-m 'not slow'").
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: demo test lint install dev clean screenshots lock lock-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files (every transitive pin, made by pip-tools from pyproject.toml), so a new
# upstream release never changes what a fresh machine gets. Reinstall only when they change (stamp files).
LOCK     := requirements/lock.txt
DEV_LOCK := requirements/dev-lock.txt
PIP_TOOLS ?= pip-tools==7.5.2
COMPILE   = --quiet --strip-extras --no-emit-index-url --no-emit-find-links

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

# Re-pin after changing the dependencies in pyproject.toml (pins already there are kept while they still fit).
lock: $(VENV)/.pip-tools
	$(VENV)/tools/bin/pip-compile $(COMPILE) -o $(LOCK) pyproject.toml
	$(VENV)/tools/bin/pip-compile $(COMPILE) --extra dev -o $(DEV_LOCK) pyproject.toml

# Fails when pyproject.toml and the lock files disagree: re-pins copies (keeping their pins) and compares.
lock-check: $(VENV)/.pip-tools
	@tmp=$$(mktemp -d) && cp $(LOCK) $$tmp/lock.txt && cp $(DEV_LOCK) $$tmp/dev-lock.txt && \
	$(VENV)/tools/bin/pip-compile $(COMPILE) -o $$tmp/lock.txt pyproject.toml && \
	$(VENV)/tools/bin/pip-compile $(COMPILE) --extra dev -o $$tmp/dev-lock.txt pyproject.toml && \
	for f in lock.txt dev-lock.txt; do \
	  diff <(grep -v '^#' requirements/$$f) <(grep -v '^#' $$tmp/$$f) >/dev/null || \
	    { echo "requirements/$$f does not match pyproject.toml: run 'make lock' and commit it" >&2; exit 1; }; \
	done; echo "lock files match pyproject.toml"

$(VENV)/.pip-tools: | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/tools
	$(VENV)/tools/bin/python -m pip install --quiet '$(PIP_TOOLS)'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/sellerloop demo --host $(HOST) --port $(PORT)

# The layout first (seconds): ruff at the line length pyproject.toml declares, then the import contracts of
# docs/ARCHITECTURE.md; then the suite.
test: dev lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-cache

# Re-take the README screenshots in docs/screenshots (the browser tests, writing into docs/ this time).
screenshots: dev
	SELLERLOOP_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser -k "screenshot or panel or workspace" -p no:randomly

clean:
	rm -rf $(VENV) .sellerloop .pytest_cache

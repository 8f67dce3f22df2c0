"""A fresh `pip install .` from the lock, with no extras, does what the README promises: it reads a web page.

The dev extras pull in packages the plain install lacks (lxml_html_clean came only through them once), so the
suite's own venv cannot show this: the test builds a new venv, installs the package as a newcomer would, and runs
the command in it. Slow (one install from the package index), and it needs the index like `make demo` does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "tests" / "importers" / "fixtures" / "signals" / "article.html"

pytestmark = pytest.mark.slow


def _run(*command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def test_a_plain_install_from_the_lock_imports_a_web_page(tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements" / "lock.txt")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", ROOT)
    env = {**os.environ, "SELLERLOOP_HOME": str(tmp_path / "home"), "SELLERLOOP_DATABASE_URL": ""}
    sellerloop = venv / "bin" / "sellerloop"
    _run(sellerloop, "import", "maven", ROOT / "src" / "sellerloop" / "data" / "maven-crm", env=env)
    account = json.loads(_run(sellerloop, "records", "list", "accounts", "--json", env=env).stdout)[0]["id"]
    imported = _run(sellerloop, "import", "signals", PAGE, "--account", account, "--json", env=env)
    report = json.loads(imported.stdout)
    assert len(report["signals"]) == 1, report

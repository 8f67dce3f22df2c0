"""What every `sellerloop` command shares: the consoles it prints on and the store it opens.

The top-level app (`cli.py`) and the command groups of the domain packages (`*/commands.py`) import from here, never
from each other: `cli.py` registers the groups, so a group importing `cli` would close a circle.

A command imports the stations it runs inside its function, not at the top of its module: `sellerloop --help` and a
quick command then start in about 1 s instead of the 3 s that importing every station takes (measured on the
2-core machine of docs/BENCHMARKS.md). Elsewhere only the LLM composer is imported where it is used
(`composers/service.py`: pydantic-ai loads slowly).
"""
from __future__ import annotations

import json
import sys

from rich.console import Console
from sqlalchemy import Engine

from sellerloop.store.service import init_store, open_engine, require_current_schema

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def open_store(*, initialise: bool = False) -> Engine:
    """The store in SELLERLOOP_HOME. A command that loads records initialises it (creates or migrates); every other
    command requires the schema to be current already, with a one-line error saying to run `sellerloop init`."""
    engine = open_engine()
    if initialise:
        init_store(engine=engine)
    else:
        require_current_schema(engine)
    return engine


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")

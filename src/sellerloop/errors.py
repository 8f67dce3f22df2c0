"""Errors a person can act on. Each says in one line what is wrong and whether trying again can help."""
from __future__ import annotations


class SellerloopError(Exception):
    """A failure the user caused or can fix. The CLI prints it as one line on stderr and exits with
    `exit_code`; the web app turns it into a 4xx JSON or HTML message. Never a traceback."""

    exit_code = 1
    http_status = 500
    # permanent=True: the same input will fail again, so retrying is pointless (healthchecks' habit).
    permanent = True

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def one_line(self) -> str:
        return " ".join(str(self.message).split())


class BadInput(SellerloopError):
    """The input is malformed: a file, an argument or a value. Exit code 2 (DESIGN.md §8)."""

    exit_code = 2
    http_status = 400

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.line = file, line


class NotFound(BadInput):
    """A record the caller named does not exist."""

    http_status = 404

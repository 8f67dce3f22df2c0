"""Reading CSV files strictly: every problem is a BadInput naming the file and the line."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

from sellerloop.errors import BadInput


def read_bytes(path: Path) -> bytes:
    """The whole file. A missing, unreadable or empty file is BadInput naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise BadInput("is a folder, not a file", file=str(path)) from None
    except OSError as e:
        raise BadInput(f"cannot read the file ({e.strerror or e})", file=str(path)) from None
    if not raw.strip():
        raise BadInput("file is empty", file=str(path))
    return raw


def read_text(path: Path) -> str:
    """The whole file as text. Not UTF-8, missing or empty files are BadInput with the line of the bad byte."""
    raw = read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise BadInput(f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})", file=str(path),
                       line=line) from None
    if not text.strip():
        raise BadInput("file is empty", file=str(path))
    return text


def read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row, after checking the header has every required column."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header = [h.strip() for h in next(reader)]
    missing = [c for c in required if c not in header]
    if missing:
        raise BadInput(f"missing column(s) {', '.join(missing)} (header has: {', '.join(header)})",
                       file=str(path), line=1)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BadInput(f"expected {len(header)} fields, found {len(row)}", file=str(path), line=line)
        yield line, {h: cell.strip() for h, cell in zip(header, row)}


class Cells:
    """Typed access to one row's cells; a bad value raises BadInput naming file, line and column."""

    def __init__(self, path: Path, line: int, row: dict[str, str]):
        self.path, self.line, self.row = path, line, row

    def _bad(self, column: str, what: str) -> BadInput:
        return BadInput(f"column {column}: {what} {self.row[column]!r}", file=str(self.path), line=self.line)

    def text(self, column: str, *, required: bool = True) -> str | None:
        value = self.row[column]
        if not value:
            if required:
                raise BadInput(f"column {column}: empty", file=str(self.path), line=self.line)
            return None
        return value

    def number(self, column: str, *, required: bool = False) -> float | None:
        value = self.row[column].replace(",", "")
        if not value:
            if required:
                raise BadInput(f"column {column}: empty", file=str(self.path), line=self.line)
            return None
        try:
            return float(value)
        except ValueError:
            raise self._bad(column, "not a number:") from None

    def integer(self, column: str, *, required: bool = False) -> int | None:
        number = self.number(column, required=required)
        if number is None:
            return None
        if number != int(number):
            raise self._bad(column, "not a whole number:")
        return int(number)

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        value = self.row[column]
        if not value:
            if required:
                raise BadInput(f"column {column}: empty", file=str(self.path), line=self.line)
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self._bad(column, "not a date (YYYY-MM-DD):") from None

"""Import any CRM export (a CSV file) with a small YAML mapping from its columns to sellerloop fields.

    record_type: opportunities        # accounts, contacts, opportunities, activities, products, users
    id_column: Opportunity ID         # optional: the export's own id; otherwise an id derived from `key`
    key: [name]                       # fields that identify a row when there is no id column (default: name)
    date_format: "%m/%d/%Y"           # optional strptime format for date and time columns (default: ISO 8601)
    columns:                          # sellerloop field: column in the CSV
      name: Opportunity Name
      stage: Stage
      amount: Amount
      close_date: Close Date
      account: Account Name           # references resolve by name (accounts, products) or name/email (users)
      owner: Owner Email
    defaults:                         # optional constant values for fields the export lacks
      stage: Prospecting

Like every importer it is all-or-nothing (everything is checked before anything is written) and idempotent
(rows are upserted on their id). Every problem is one line naming the file and line.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, or_, select
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.importers.csvfiles import read_csv
from sellerloop.records.ids import stable_id
from sellerloop.records.models import Account, Activity, Contact, Opportunity, Product, User
from sellerloop.store.upsert import upsert

MODELS = {"accounts": Account, "contacts": Contact, "opportunities": Opportunity, "activities": Activity,
          "products": Product, "users": User}
# Reference fields a mapping may use instead of raw ids: field -> (model, id column it fills, lookup columns).
REFERENCES = {
    "account": (Account, "account_id", ("name",)),
    "owner": (User, "owner_id", ("name", "email")),
    "manager": (User, "manager_id", ("name", "email")),
    "product": (Product, "product_id", ("name",)),
    "opportunity": (Opportunity, "opportunity_id", ("name",)),
}
NOT_MAPPABLE = {"id", "synthetic", "participants"}


class CsvMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: Literal["accounts", "contacts", "opportunities", "activities", "products", "users"]
    id_column: str | None = None
    key: list[str] = Field(default_factory=lambda: ["name"])
    date_format: str | None = None
    columns: dict[str, str]
    defaults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_exist(self) -> CsvMapping:
        table = MODELS[self.record_type].__table__
        allowed = {c.name for c in table.columns} - NOT_MAPPABLE
        allowed |= {ref for ref, (_, fk, _) in REFERENCES.items() if fk in table.columns}
        unknown = sorted((set(self.columns) | set(self.defaults)) - allowed)
        if unknown:
            raise ValueError(f"unknown field(s) for {self.record_type}: {', '.join(unknown)} "
                             f"(allowed: {', '.join(sorted(allowed))})")
        if self.id_column is None and not set(self.key) <= set(self.columns):
            raise ValueError(f"without id_column every key field must be mapped: {', '.join(self.key)}")
        return self


def load_mapping(path: Path) -> CsvMapping:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput("mapping file not found", file=str(path)) from None
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise BadInput(f"not valid YAML: {getattr(e, 'problem', e)}", file=str(path),
                       line=None if line is None else line + 1) from None
    if not isinstance(data, dict):
        raise BadInput("a mapping must be a YAML object with record_type and columns", file=str(path))
    try:
        return CsvMapping.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "mapping"
        raise BadInput(f"{where}: {first['msg'].removeprefix('Value error, ')}", file=str(path)) from None


def import_csv(*, session: Session, path: Path, mapping: CsvMapping) -> int:
    """Import every row of `path`; returns the number of records written."""
    model = MODELS[mapping.record_type]
    table = model.__table__
    needed = tuple(dict.fromkeys([*([mapping.id_column] if mapping.id_column else []), *mapping.columns.values()]))
    resolvers = {field: _Resolver(session, *REFERENCES[field]) for field in mapping.columns
                 if field in REFERENCES}
    rows = []
    for line, raw in read_csv(path, needed):
        row: dict[str, Any] = {"synthetic": False}
        for field, value in mapping.defaults.items():
            row[REFERENCES[field][1] if field in REFERENCES else field] = value
        for field, column in mapping.columns.items():
            value = raw[column]
            if field in resolvers:
                if value:
                    row[resolvers[field].id_column] = resolvers[field].resolve(value, path=path, line=line,
                                                                              column=column)
                continue
            row[field] = _convert(table.c[field], value, mapping.date_format, path=path, line=line,
                                  source_column=column)
        for column in table.columns:
            if not column.nullable and column.default is None and column.server_default is None \
                    and not column.primary_key and row.get(column.name) is None:
                raise BadInput(f"field {column.name} is required but empty (map it or give a default)",
                               file=str(path), line=line)
        row["id"] = raw[mapping.id_column] if mapping.id_column else \
            stable_id(mapping.record_type[:3], *(row.get(k) for k in mapping.key))
        if not row["id"]:
            raise BadInput(f"column {mapping.id_column}: empty id", file=str(path), line=line)
        rows.append(row)
    # Rows may not all map the same fields (defaults vs. empty cells); ON CONFLICT needs one shape per batch.
    fields = sorted({k for r in rows for k in r})
    upsert(session, model, [{k: r.get(k) for k in fields} for r in rows])
    return len(rows)


class _Resolver:
    """Turns a name or email in the export into the id of a record already in the store."""

    def __init__(self, session: Session, model, id_column: str, lookup: tuple[str, ...]):
        self.session, self.model, self.id_column, self.lookup = session, model, id_column, lookup
        self.cache: dict[str, str] = {}

    def resolve(self, value: str, *, path: Path, line: int, column: str) -> str:
        if value not in self.cache:
            matches = self.session.scalars(select(self.model.id).where(
                or_(self.model.id == value, *(getattr(self.model, c) == value for c in self.lookup)))).all()
            if len(matches) != 1:
                what = "no" if not matches else f"{len(matches)}"
                raise BadInput(f"column {column}: {what} {self.model.__tablename__} match {value!r}",
                               file=str(path), line=line)
            self.cache[value] = matches[0]
        return self.cache[value]


def _convert(target, value: str, date_format: str | None, *, path: Path, line: int, source_column: str) -> Any:
    """The cell's text as the Python value of the target column's type."""
    if value == "":
        return None
    kind = target.type
    try:
        if isinstance(kind, Boolean):
            lowered = value.lower()
            if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError
            return lowered in {"true", "1", "yes"}
        if isinstance(kind, Integer):
            return int(value.replace(",", ""))
        if isinstance(kind, Float | Numeric):
            return float(value.replace(",", "").replace("$", ""))
        if isinstance(kind, DateTime):
            return dt.datetime.strptime(value, date_format) if date_format else dt.datetime.fromisoformat(value)
        if isinstance(kind, Date):
            return (dt.datetime.strptime(value, date_format).date() if date_format
                    else dt.date.fromisoformat(value))
    except ValueError:
        if isinstance(kind, Date | DateTime):
            expected = f"date ({date_format or 'ISO 8601'})"
        else:
            expected = "number" if isinstance(kind, Integer | Float | Numeric) else "true/false"
        raise BadInput(f"column {source_column}: {value!r} is not a valid {expected}", file=str(path),
                       line=line) from None
    return value

"""The action catalogue: the closed list of actions an agent may propose, each with a payload schema, a risk
class and whether it can be undone.

Why a closed list: text inside evidence is data, never instructions (DESIGN §5). Agents pick actions by name
from this catalogue in code; a name that is not here, or a payload with a field the schema does not know,
is refused before anything else sees it. The catalogue is built once at import and is immutable: a
`MappingProxyType` of frozen models, so no code path can add an action at run time.

The metadata a policy reviewer reads (description, risk, reversibility, risk rules) lives in
`catalogue.yaml`; the payload schemas live here, one pydantic model per action, matched by name. Import
fails loudly if the two disagree.
"""
from __future__ import annotations

import datetime as dt
import enum
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sellerloop.errors import BadInput

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")

# Roles a contact can play in a deal. Shared with the playbooks, whose evidence rules name them.
DEAL_ROLES = ("champion", "economic_buyer", "decision_maker", "influencer", "technical_evaluator", "user",
              "blocker", "coach", "legal", "procurement")

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class Risk(str, enum.Enum):
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        return ("low", "medium", "high").index(self.value)

    def __ge__(self, other):  # max() and comparisons by severity, not alphabetically
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other):
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other):
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other):
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank < other.rank


class UnknownAction(BadInput):
    """A name outside the catalogue. Permanent: the catalogue does not change at run time."""


# ------------------------------------------------------------------------------------------------ payloads


class Payload(BaseModel):
    """Base of every payload: immutable, and unknown fields are an error (never silently dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _emails(values: list[str]) -> list[str]:
    for value in values:
        if not _EMAIL.match(value):
            raise ValueError(f"not an email address: {value!r}")
    return values


class CreateTask(Payload):
    subject: str = Field(min_length=1, max_length=500)
    due_date: dt.date
    owner_id: str | None = None
    opportunity_id: str | None = None
    account_id: str | None = None
    description: str | None = None


class UpdateField(Payload):
    object: Literal["account", "opportunity", "contact"]
    record_id: str = Field(min_length=1)
    field: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    old: Any = None
    new: Any = None

    @model_validator(mode="after")
    def _changes_something(self):
        if self.old == self.new:
            raise ValueError("old and new are the same; a field change must change the field")
        return self


class LogNote(Payload):
    body: str = Field(min_length=1)
    subject: str | None = None
    opportunity_id: str | None = None
    account_id: str | None = None
    contact_id: str | None = None

    @model_validator(mode="after")
    def _attached(self):
        if not (self.opportunity_id or self.account_id or self.contact_id):
            raise ValueError("a note needs opportunity_id, account_id or contact_id")
        return self


class SendEmail(Payload):
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1)
    opportunity_id: str | None = None
    account_id: str | None = None
    in_reply_to: str | None = None  # activity id of the email being answered

    _check_to = field_validator("to", "cc")(_emails)


class AddToSequence(Payload):
    contact_id: str = Field(min_length=1)
    sequence: str = Field(min_length=1)
    start_date: dt.date | None = None


class BookMeeting(Payload):
    title: str = Field(min_length=1, max_length=300)
    attendees: list[str] = Field(min_length=1)  # email addresses
    start: dt.datetime
    duration_minutes: int = Field(default=30, gt=0, le=480)
    agenda: str | None = None
    opportunity_id: str | None = None
    account_id: str | None = None

    _check_attendees = field_validator("attendees")(_emails)


class ShareAsset(Payload):
    asset: str = Field(min_length=1)  # the asset's name or URL in the content library
    to: list[str] = Field(min_length=1)
    note: str | None = None
    opportunity_id: str | None = None
    account_id: str | None = None

    _check_to = field_validator("to")(_emails)


class RouteLead(Payload):
    object: Literal["account", "contact", "opportunity"]
    record_id: str = Field(min_length=1)
    owner_id: str = Field(min_length=1)
    old_owner_id: str | None = None
    reason: str | None = None


class AddContactRole(Payload):
    opportunity_id: str = Field(min_length=1)
    contact_id: str = Field(min_length=1)
    role: Literal[DEAL_ROLES]  # type: ignore[valid-type]
    old_role: str | None = None


class RequestIntro(Payload):
    via_contact_id: str = Field(min_length=1)  # who is asked
    target: str = Field(min_length=1)  # who to be introduced to: a contact id, a name or a title
    message: str = Field(min_length=1)
    opportunity_id: str | None = None


PAYLOADS: dict[str, type[Payload]] = {
    "create_task": CreateTask,
    "update_field": UpdateField,
    "log_note": LogNote,
    "send_email": SendEmail,
    "add_to_sequence": AddToSequence,
    "book_meeting": BookMeeting,
    "share_asset": ShareAsset,
    "route_lead": RouteLead,
    "add_contact_role": AddContactRole,
    "request_intro": RequestIntro,
}


# ------------------------------------------------------------------------------------------------ specs


class RiskRule(BaseModel):
    """Raise the risk to `risk` when every payload field named in `when` holds one of its listed values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    when: dict[str, tuple[str, ...]]
    risk: Risk
    why: str = ""

    def applies(self, payload: BaseModel) -> bool:
        for name, values in self.when.items():
            value = getattr(payload, name, None)
            if value is None or str(value).lower() not in {v.lower() for v in values}:
                return False
        return True


class ActionSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str
    title: str  # what a seller reads on a button or a recommendation: "Book a meeting"
    description: str
    risk: Risk  # the class before risk_rules; use risk_of() for a concrete payload
    reversible: bool
    undo: str
    risk_rules: tuple[RiskRule, ...] = ()
    payload_model: type[Payload] = Field(exclude=True, repr=False)

    @model_validator(mode="after")
    def _irreversible_is_high(self):
        # DESIGN §4: anything irreversible needs approval at every level, i.e. it is high risk.
        if not self.reversible and self.risk is not Risk.high:
            raise ValueError(f"action {self.name!r} is irreversible, so its risk must be high")
        for rule in self.risk_rules:
            unknown = set(rule.when) - set(self.payload_model.model_fields)
            if unknown:
                raise ValueError(f"action {self.name!r}: a risk rule names unknown payload field(s) "
                                 f"{sorted(unknown)}")
        return self

    def payload_schema(self) -> dict:
        return self.payload_model.model_json_schema()


def _load(path: Path) -> MappingProxyType:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if set(raw) != set(PAYLOADS):
        raise RuntimeError(f"{path}: actions {sorted(set(raw) ^ set(PAYLOADS))} are in only one of "
                           "catalogue.yaml and catalogue.PAYLOADS")
    specs = {}
    for name, meta in raw.items():
        try:
            specs[name] = ActionSpec(name=name, payload_model=PAYLOADS[name], **meta)
        except ValidationError as e:
            raise RuntimeError(f"{path}: action {name!r}: {e.errors()[0]['msg']}") from None
    return MappingProxyType(specs)


CATALOGUE: MappingProxyType[str, ActionSpec] = _load(CATALOGUE_FILE)
ACTION_NAMES: frozenset[str] = frozenset(CATALOGUE)


def get_action(name: str) -> ActionSpec:
    try:
        return CATALOGUE[name]
    except (KeyError, TypeError):
        raise UnknownAction(f"unknown action {name!r}; the catalogue has: {', '.join(CATALOGUE)}") from None


def _error_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def validate_payload(name: str, payload: dict | BaseModel) -> Payload:
    """The payload as its action's model; BadInput (one line, naming the field) when it does not fit."""
    spec = get_action(name)
    if isinstance(payload, spec.payload_model):
        return payload
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    if not isinstance(payload, dict):
        raise BadInput(f"{name} payload must be an object, not {type(payload).__name__}")
    try:
        return spec.payload_model.model_validate(payload)
    except ValidationError as e:
        raise BadInput(f"{name} payload: {_error_line(e)}") from None


def risk_of(action: str, payload: dict | BaseModel) -> Risk:
    """The risk class of this action with this payload: its class, raised by any risk rule that applies."""
    spec = get_action(action)
    model = validate_payload(action, payload)
    risk = spec.risk
    for rule in spec.risk_rules:
        if rule.applies(model):
            risk = max(risk, rule.risk)
    return risk


def is_reversible(action: str) -> bool:
    return get_action(action).reversible

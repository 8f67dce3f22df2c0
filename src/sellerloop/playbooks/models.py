"""A playbook is a sales methodology written as data: its elements, the evidence that satisfies each, the
questions that uncover it, the elements a deal needs before it leaves a stage, and the catalogue actions
that advance each element.

Evidence rules are matched by code (service.py) against the records of one opportunity:

    source: utterance      a sentence said on one of its calls (by default by the customer, not the seller)
    source: activity       a sentence in one of its emails, meetings, calls or notes (optionally some kinds)
    source: contact_role   a contact on the deal with one of these roles
    source: contact_title  a contact on the deal whose title matches
    source: field          an opportunity field that is filled in (and, with patterns, matches)

`keywords` are phrases matched case-insensitively on word boundaries; `patterns` are regular expressions
(case-insensitive). A sentence that also matches an `exclude` pattern is not evidence, so "the economic buyer
is not engaged yet" does not count as having met the economic buyer. Questions (sentences ending in "?")
are never evidence: asking about the budget is not knowing it.
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sellerloop.actions.catalogue import ACTION_NAMES, DEAL_ROLES
from sellerloop.records.models import OPEN_STAGES, STAGES, ActivityKind, Opportunity

_KEY = r"^[a-z][a-z0-9_]*$"
EvidenceSource = Literal["utterance", "activity", "contact_role", "contact_title", "field"]
_TEXT_SOURCES = ("utterance", "activity", "contact_title")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# (pattern, sentence) pairs known not to match. CRM text repeats a lot (signatures, templates, boilerplate), and
# a whole-book run would otherwise search the same sentence with the same rule thousands of times; most searches
# find nothing. Only misses are kept, as plain tuples of strings in one dict: nothing here for the garbage
# collector to walk, which a cache of match objects would add to every collection of a big run.
_MISSES: dict[tuple[str, str | None, str], bool] = {}
_MAX_MISSES = 200_000


def _match(matcher: re.Pattern, excluder: re.Pattern | None, text: str) -> re.Match | None:
    key = (matcher.pattern, excluder.pattern if excluder is not None else None, text)
    if key in _MISSES:
        return None
    found = matcher.search(text)
    if found is None or (excluder is not None and excluder.search(text)):
        if len(_MISSES) >= _MAX_MISSES:
            _MISSES.clear()
        _MISSES[key] = True
        return None
    return found


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"bad regex {pattern!r}: {e}") from None


class EvidenceRule(_Frozen):
    source: EvidenceSource
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    speaker: Literal["customer", "seller", "any"] = "customer"  # utterance rules only
    kinds: tuple[ActivityKind, ...] = ()  # activity rules only; empty means every kind
    roles: tuple[str, ...] = ()  # contact_role rules only
    field: str | None = None  # field rules only: an opportunity column
    description: str = ""

    @field_validator("patterns", "exclude")
    @classmethod
    def _regexes_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in value if r not in DEAL_ROLES]
        if unknown:
            raise ValueError(f"unknown contact role(s) {unknown}; known: {', '.join(DEAL_ROLES)}")
        return value

    @model_validator(mode="after")
    def _complete(self):
        if self.source in _TEXT_SOURCES and not (self.keywords or self.patterns):
            raise ValueError(f"an {self.source} rule needs keywords or patterns" if self.source[0] in "aeiou"
                             else f"a {self.source} rule needs keywords or patterns")
        if self.source == "contact_role" and not self.roles:
            raise ValueError("a contact_role rule needs roles")
        if self.source == "field":
            if not self.field:
                raise ValueError("a field rule needs field")
            if self.field not in Opportunity.__table__.columns:
                raise ValueError(f"opportunity has no field {self.field!r}")
        return self

    @cached_property
    def matcher(self) -> re.Pattern | None:
        """One regex for keywords and patterns together; None when the rule matches without text."""
        parts = [rf"(?<!\w){re.escape(k)}(?!\w)" for k in self.keywords] + [f"(?:{p})" for p in self.patterns]
        return _compile("|".join(parts)) if parts else None

    @cached_property
    def kind_values(self) -> frozenset[str]:
        return frozenset(k.value for k in self.kinds)

    @cached_property
    def excluder(self) -> re.Pattern | None:
        return _compile("|".join(f"(?:{p})" for p in self.exclude)) if self.exclude else None

    def matches(self, text: str) -> re.Match | None:
        """The match in `text`, or None when nothing matches or an exclude pattern vetoes it."""
        if self.matcher is None:
            return None
        return _match(self.matcher, self.excluder, text)

    def detail(self) -> str:
        """What exactly the rule matches, for people reviewing a playbook."""
        parts = []
        if self.source == "utterance":
            parts.append(f"said by: {self.speaker}")
        if self.kinds:
            parts.append("in: " + ", ".join(k.value for k in self.kinds))
        if self.roles:
            parts.append("roles: " + ", ".join(self.roles))
        if self.field:
            parts.append(f"field: {self.field}")
        if self.keywords:
            parts.append("keywords: " + ", ".join(repr(k) for k in self.keywords))
        if self.patterns:
            parts.append("patterns: " + "  ".join(f"/{p}/" for p in self.patterns))
        if self.exclude:
            parts.append("unless: " + "  ".join(f"/{p}/" for p in self.exclude))
        return "; ".join(parts)

    def summary(self) -> str:
        if self.description:
            return self.description
        if self.source == "contact_role":
            return "contact on the deal with role " + " or ".join(self.roles)
        if self.source == "field":
            return f"opportunity field {self.field} is filled in" + (" and matches" if self.matcher else "")
        what = ", ".join([*(repr(k) for k in self.keywords), *(f"/{p}/" for p in self.patterns)])
        kinds = "/".join(k.value for k in self.kinds) or "activity"
        where = {"utterance": f"{self.speaker} says", "activity": f"an {kinds} says",
                 "contact_title": "contact title matches"}[self.source]
        return f"{where} {what}"


class Element(_Frozen):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    evidence: tuple[EvidenceRule, ...] = Field(min_length=1)
    questions: tuple[str, ...] = Field(min_length=1)
    actions: tuple[str, ...] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _catalogue_actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in ACTION_NAMES:
                raise ValueError(f"unknown action {name!r} (not in the action catalogue: "
                                 f"{', '.join(sorted(ACTION_NAMES))})")
        return value


class StageExit(_Frozen):
    """Before a deal leaves `stage` for `exits_to`, each element in `requires` needs evidence."""

    stage: str
    exits_to: str
    requires: tuple[str, ...] = ()

    @field_validator("stage")
    @classmethod
    def _open_stage(cls, value: str) -> str:
        if value not in OPEN_STAGES:
            raise ValueError(f"unknown open stage {value!r}; stages that can be exited: "
                             f"{', '.join(OPEN_STAGES)}")
        return value

    @field_validator("exits_to")
    @classmethod
    def _known_stage(cls, value: str) -> str:
        if value not in STAGES:
            raise ValueError(f"unknown stage {value!r}; stages: {', '.join(STAGES)}")
        return value


class Playbook(_Frozen):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    description: str = ""
    elements: tuple[Element, ...] = Field(min_length=1)
    stages: tuple[StageExit, ...] = ()

    @model_validator(mode="after")
    def _consistent(self):
        seen: set[str] = set()
        for element in self.elements:
            if element.key in seen:
                raise ValueError(f"duplicate element key {element.key!r}")
            seen.add(element.key)
        stages: set[str] = set()
        for exit_ in self.stages:
            if exit_.stage in stages:
                raise ValueError(f"stage {exit_.stage!r} has two exit criteria")
            stages.add(exit_.stage)
            for key in exit_.requires:
                if key not in seen:
                    raise ValueError(f"exit criteria of stage {exit_.stage!r} name unknown element {key!r}; "
                                     f"elements: {', '.join(e.key for e in self.elements)}")
        return self

    @cached_property
    def _by_key(self) -> dict[str, Element]:
        return {element.key: element for element in self.elements}

    def element(self, key: str) -> Element:
        return self._by_key[key]  # KeyError for a key the playbook does not have

    def exit_criteria(self, stage: str) -> tuple[str, ...]:
        """The elements that need evidence before a deal leaves `stage` (empty if the stage has none)."""
        return next((s.requires for s in self.stages if s.stage == stage), ())


class Evidence(_Frozen):
    uri: str
    quote: str  # verbatim in resolve_source(uri).text
    kind: str  # the source kind: transcript, activity, contact, opportunity
    rule: str = ""  # which evidence rule it satisfied, in words


class ElementCoverage(BaseModel):
    key: str
    name: str
    satisfied: bool
    evidence: list[Evidence] = Field(default_factory=list)
    missing_questions: list[str] = Field(default_factory=list)  # the qualifying questions, when not satisfied
    actions: list[str] = Field(default_factory=list)  # catalogue actions that advance the element

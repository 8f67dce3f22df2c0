"""What every agent produces: typed items on a subject record, each carrying its sources.

The JSON shape is the stable interface of DESIGN.md §8: fields may be added, none removed.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from sellerloop.evidence.models import SourceRef
from sellerloop.policy.models import Level, Placement, UseCase  # noqa: F401  (agents' output carries them)

ItemKind = Literal["claim", "recommendation", "draft", "field_change", "question", "objection",
                   "coaching_point", "alert"]
# Kinds whose text states facts: each must cite at least one source and pass the verifier to be shown.
CITED_KINDS = frozenset({"claim", "recommendation", "objection", "coaching_point", "field_change"})


class Subject(BaseModel):
    type: Literal["account", "opportunity", "transcript"]
    id: str


class Item(BaseModel):
    kind: ItemKind
    text: str
    sources: list[SourceRef] = Field(default_factory=list)
    # Where the item sits in the agent's output, e.g. "summary", "trigger", "hypothesis", "agenda", "questions".
    section: str | None = None
    # A heading written by code from constants and playbook names, never from evidence text, so it needs no
    # source (e.g. "Why now · Identify pain"). Facts always go in `text`, where the verifier checks them.
    label: str | None = None
    # Recommendations: a catalogue action, the playbook element it advances, and its rank score.
    action: str | None = None
    playbook_element: str | None = None
    score: float | None = None
    # How what people did with this kind of recommendation moved its score (scoring/feedback.py), in code-written
    # words: "feedback ×0.38: 0 of 8 accepted in smb". Apart from the label, which names the ask itself.
    ranking: str | None = None
    # Field changes: a diff on one field of the subject, or of `target` (a record URI such as "contact:ID")
    # when the field belongs to another record, e.g. a contact's role on the deal.
    target: str | None = None
    field: str | None = None
    old: str | None = None
    new: str | None = None
    # Drafts and commitments: which artefact a draft is, who does it and by when (ISO date).
    # `text` is what a person reads and the verifier checks (an email's body); `content` is the artefact itself
    # when it is a file, e.g. an email draft's complete RFC 5322 message (what `--eml FILE` writes).
    artifact: Literal["email", "task", "mutual_action_plan"] | None = None
    content: str | None = None
    owner: str | None = None
    due: str | None = None
    # Verifier's verdict, kept so a person can see why an item was shown.
    why: str | None = None


class AgentRun(BaseModel):
    use_case: UseCase
    subject: Subject
    # Records the agent read besides the subject, e.g. {"transcript": ID} for coaching and follow-up.
    inputs: dict[str, str] = Field(default_factory=dict)
    autonomy_level: Level
    placement: Placement
    items: list[Item]
    dropped_unsupported: int = 0
    composer: str = "deterministic"
    playbook: str | None = None
    acting_user: str | None = None
    generated_at: dt.datetime | None = None
    # The book's "today" the agent judged the record on (evidence.deals.book_context): the newest activity of a
    # historical book, the wall clock's date for a live one. Dates a person may act on count from it.
    as_of: dt.date | None = None

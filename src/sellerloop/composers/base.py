"""The composer protocol: turn an agent's brief (facts with their sources) into the items a person reads.

An agent gathers evidence into a `Brief`: the sections its output has, and the facts it may state, each with
the sources it comes from and a plain statement built from the quotes. A composer writes the items:

- the deterministic composer (`deterministic.py`, the default) states each fact as the agent phrased it;
  it cannot say anything that is not in a fact;
- the LLM composer (`llm.py`) may select, merge and reword facts, but may only cite facts of the brief, by id.

Either way the agent keeps control of everything that is not wording: which action a recommendation proposes,
its playbook element and score come from the fact the item cites, never from the model, and every item then
goes through the verifier. That is how evidence text stays data: nothing in it can choose an action.
"""
from __future__ import annotations

import datetime as dt
from typing import Protocol

from pydantic import BaseModel, Field

from sellerloop.agents.models import Item, ItemKind, Subject, UseCase
from sellerloop.evidence.models import SourceRef


class Fact(BaseModel):
    """One thing the evidence says, where it says it, and how the agent would state it."""

    id: str  # "F1", "F2", ... unique within a brief
    section: str  # the output section it belongs to
    statement: str  # a sentence built from the quotes; the deterministic composer shows it as written
    sources: list[SourceRef]
    observed_at: dt.datetime | dt.date | None = None
    # Fields the item inherits from the fact, chosen by code: label, action, playbook_element, score, field, ...
    item_fields: dict[str, str | float | None] = Field(default_factory=dict)


class FactList(list):
    """The facts an agent gathers, numbered as they are added: facts.add("summary", "...", [sources])."""

    def add(self, section: str, statement: str, sources: list[SourceRef], **item_fields) -> None:
        self.append(Fact(id=f"F{len(self) + 1}", section=section, statement=statement, sources=sources,
                         item_fields=item_fields))


class Section(BaseModel):
    key: str
    title: str
    kind: ItemKind
    purpose: str  # what the section is for, in a sentence (the LLM composer's instruction for it)
    max_items: int = 5


class Brief(BaseModel):
    use_case: UseCase
    subject: Subject
    subject_name: str
    # Records read besides the subject, e.g. {"transcript": ID}; copied to the AgentRun.
    inputs: dict[str, str] = Field(default_factory=dict)
    playbook: str | None = None
    sections: list[Section]
    facts: list[Fact]

    def facts_for(self, section: str) -> list[Fact]:
        return [fact for fact in self.facts if fact.section == section]

    def fact(self, fact_id: str) -> Fact | None:
        return next((fact for fact in self.facts if fact.id == fact_id), None)


class Composer(Protocol):
    name: str

    def compose(self, brief: Brief) -> list[Item]:
        """Items for the brief's sections. Every item cites sources from the brief's facts only."""
        ...


def item_from_fact(fact: Fact, section: Section, *, text: str | None = None,
                   extra_sources: list[SourceRef] | None = None) -> Item:
    """The item a fact becomes: its statement (or a composer's wording of it) plus the fields code chose."""
    return Item(kind=section.kind, section=section.key, text=text or fact.statement,
                sources=[*fact.sources, *(extra_sources or [])], **fact.item_fields)

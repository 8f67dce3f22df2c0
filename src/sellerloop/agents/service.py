"""Running an agent: gather evidence into a brief, compose, verify every item, place by autonomy level.

This is the one path every surface (CLI, web, batch) takes, so the invariants hold whoever asks:
items that state facts are shown only when the verifier finds them in the quotes they cite, and a person only
ever gets output about records they may see.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sellerloop.agents import prep, research
from sellerloop.agents.models import CITED_KINDS, AgentRun, Item, Subject, UseCase
from sellerloop.composers.base import Brief, Composer
from sellerloop.composers.deterministic import DeterministicComposer
from sellerloop.errors import BadInput
from sellerloop.playbooks.service import get_playbook
from sellerloop.policy.access import get_user, require_account, require_opportunity, visible_owner_ids
from sellerloop.policy.levels import DEFAULT_LEVELS, placement_for
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claims


@dataclass(frozen=True)
class AgentSpec:
    use_case: UseCase
    subject_type: str  # the record an agent runs on: account or opportunity
    gather: Callable[..., Brief]


AGENTS: dict[str, AgentSpec] = {
    "research": AgentSpec("research", "account", research.gather),
    "prep": AgentSpec("prep", "opportunity", prep.gather),
}


def run_agent(*, session: Session, use_case: str, subject: Subject, acting_user_id: str | None = None,
              composer: Composer | None = None, playbook: str | None = None) -> AgentRun:
    spec = AGENTS.get(use_case)
    if spec is None:
        raise BadInput(f"unknown use case {use_case!r}; choose one of {', '.join(AGENTS)}")
    if subject.type != spec.subject_type:
        raise BadInput(f"{use_case} runs on an {spec.subject_type}, not on an {subject.type}"
                       f" (use --{spec.subject_type} ID)")
    user = get_user(session=session, user_id=acting_user_id) if acting_user_id else None
    owners = visible_owner_ids(session=session, user=user)
    record = (require_account if subject.type == "account" else require_opportunity)(
        session=session, user=user, **{f"{subject.type}_id": subject.id})
    brief = spec.gather(session=session, **{subject.type: record}, playbook=get_playbook(playbook),
                        owners=owners)
    composer = composer or DeterministicComposer()
    items, dropped = verify_items(session=session, items=composer.compose(brief))
    level = DEFAULT_LEVELS[spec.use_case]
    return AgentRun(use_case=spec.use_case, subject=subject, autonomy_level=level, placement=placement_for(level),
                    items=items, dropped_unsupported=dropped, composer=composer.name, playbook=brief.playbook,
                    acting_user=acting_user_id, generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0))


def verify_items(*, session: Session, items: list[Item]) -> tuple[list[Item], int]:
    """Keep the items the verifier supports; count the rest.

    Items that state facts (claims, recommendations, objections, ...) must pass the whole check. A question
    or a draft is the agent's own wording around facts ("Ask Dana Whitfield (CFO): who owns the budget?"), so
    for those only the facts are checked: every name, title, number and date in it must be in a cited quote.
    """
    verdicts = verify_claims(session=session, claims=[Claim(text=i.text, sources=i.sources) for i in items],
                             facts_only=[i.kind not in CITED_KINDS for i in items])
    kept = [item.model_copy(update={"why": verdict.why}) for item, verdict in zip(items, verdicts)
            if verdict.supported]
    return kept, len(items) - len(kept)

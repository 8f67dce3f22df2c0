"""Running an agent: gather evidence into a brief, compose, verify every item, place by autonomy level.

This is the one path every surface (CLI, web, batch) takes, so the invariants hold whoever asks:
items that state facts are shown only when the verifier finds them in the quotes they cite, and a person only
ever gets output about records they may see.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sellerloop.access.fields import bind_viewer, served_user
from sellerloop.access.service import (
    AccessDenied,
    get_user,
    require_account,
    require_opportunity,
    require_transcript,
    visible_owner_ids,
)
from sellerloop.agents import coaching, follow_up, hygiene, next_action, prep, research
from sellerloop.agents.models import CITED_KINDS, AgentRun, Item, Subject, UseCase
from sellerloop.composers.base import Brief, Composer
from sellerloop.composers.deterministic import DeterministicComposer
from sellerloop.errors import BadInput, NotFound
from sellerloop.evidence.deals import DealEvidence, book_context
from sellerloop.playbooks.models import Playbook
from sellerloop.playbooks.service import get_playbook
from sellerloop.policy.levels import level_for, placement_for
from sellerloop.policy.models import MAX_RECOMMENDATIONS
from sellerloop.policy.service import session_policy
from sellerloop.records.models import Opportunity, User
from sellerloop.verifier.service import verify_claims


@dataclass(frozen=True, kw_only=True)
class AgentSpec:
    """Everything about one use case, in one entry: what it runs on and reads, and how every surface names it."""

    use_case: UseCase
    # The records an agent runs on, first the usual one: `run USE_CASE --account|--opportunity|--transcript ID`.
    subject_types: tuple[str, ...]
    gather: Callable[..., Brief]
    # What gather() takes besides session, playbook and owners: records (account, opportunity, transcript),
    # `limit` (a cap on recommendations) and `deal` (evidence preloaded by a whole-book run).
    reads: tuple[str, ...]
    title: str  # the panel's heading, the card's fallback title
    blurb: str  # the link to the panel's own page where the panel cannot load in place
    empty: str  # what an empty panel says: nothing the agent could back with a source, in its use case's words
    # The record pages that show its panel, placed on each by `page_rank` (lower first: on a deal, what to do next).
    pages: tuple[str, ...]
    page_rank: int
    # A whole-book run (`run-all`): the records it walks, whether only deals with a call, and whether it reads
    # what was said on calls through the deal's evidence.
    walks: str
    needs_calls: bool = False
    reads_calls: bool = False

    @property
    def subject_type(self) -> str:
        return self.subject_types[0]


AGENTS: dict[str, AgentSpec] = {spec.use_case: spec for spec in (
    AgentSpec(use_case="research", subject_types=("account",), gather=research.gather, reads=("account",),
              title="Research", blurb="Open the account research",
              empty="Nothing the agent could state with a source.",
              pages=("account",), page_rank=0, walks="account"),
    AgentSpec(use_case="prep", subject_types=("opportunity",), gather=prep.gather, reads=("opportunity",),
              title="Meeting prep", blurb="Open the meeting prep",
              empty="Nothing the agent could state with a source.",
              pages=("opportunity",), page_rank=2, walks="opportunity", reads_calls=True),
    AgentSpec(use_case="next-action", subject_types=("opportunity", "account"), gather=next_action.gather,
              reads=("account", "opportunity", "limit", "deal"),
              title="Next-best action", blurb="Open the next-best actions",
              empty="No next action the agent could back with a source.",
              pages=("account", "opportunity"), page_rank=1, walks="opportunity", reads_calls=True),
    AgentSpec(use_case="follow-up", subject_types=("opportunity", "transcript"), gather=follow_up.gather,
              reads=("opportunity", "transcript"), title="Follow-up", blurb="Open the follow-up",
              empty="Nothing to follow up on: the agent found no commitment it could quote.",
              pages=("opportunity", "transcript"), page_rank=4, walks="opportunity", needs_calls=True,
              reads_calls=True),
    AgentSpec(use_case="coaching", subject_types=("transcript",), gather=coaching.gather, reads=("transcript",),
              title="Coaching", blurb="Open the coaching",
              empty="No coaching point the agent could back with a quote from the call.",
              pages=("transcript",), page_rank=3, walks="transcript"),
    AgentSpec(use_case="hygiene", subject_types=("opportunity",), gather=hygiene.gather, reads=("opportunity", "deal"),
              title="CRM hygiene", blurb="Open the CRM hygiene check",
              empty="Nothing to tidy: no field update with evidence behind it, and no required field left empty.",
              pages=("opportunity",), page_rank=5, walks="opportunity", reads_calls=True),
)}


def subject_for(*, use_case: str, given: dict[str, str]) -> tuple[Subject, str | None]:
    """The record an agent runs on, from the records a caller named (`{"opportunity": ID}`), and the call where
    an agent that runs on an opportunity also reads one (follow-up: an opportunity and one of its calls).
    BadInput naming what `use_case` runs on when the names do not fit it."""
    spec = AGENTS.get(use_case)
    if spec is None:
        raise NotFound(f"no agent {use_case!r}; choose one of {', '.join(AGENTS)}")
    pair = "opportunity" in spec.subject_types and "transcript" in spec.reads
    usage = "opportunity=ID, transcript=ID or both" if pair else " or ".join(f"{k}=ID" for k in spec.subject_types)
    if pair and set(given) == {"opportunity", "transcript"}:
        return Subject(type="opportunity", id=given["opportunity"]), given["transcript"]
    if len(given) != 1:
        raise BadInput(f"give exactly one of account=ID, opportunity=ID or transcript=ID ({use_case} runs on "
                       f"{runs_on(spec)}: {usage})")
    (kind, record_id), = given.items()
    if kind not in spec.subject_types:
        raise BadInput(f"{use_case} runs on {runs_on(spec)}, not on {_a(kind)} (use {usage})")
    return Subject(type=kind, id=record_id), None


def runs_on(spec: AgentSpec) -> str:
    return " or ".join(_a(kind) for kind in spec.subject_types)


def page_panels(kind: str) -> list[AgentSpec]:
    """The agents whose panels a record page of `kind` shows, in the order a seller reads them."""
    return sorted((spec for spec in AGENTS.values() if kind in spec.pages), key=lambda spec: spec.page_rank)


def run_agent(*, session: Session, use_case: str, subject: Subject, acting_user_id: str | None = None,
              composer: Composer | None = None, playbook: str | Playbook | None = None,
              transcript_id: str | None = None, limit: int | None = None, deal: DealEvidence | None = None,
              owners: set[str] | None | object = ...) -> AgentRun:
    """Run one agent on one record. `owners` (the acting user's visible owner ids) may be passed by a caller
    that runs many records for the same person, so it is worked out once; `deal` likewise carries evidence a
    whole-book run loaded for many deals at once."""
    spec = AGENTS.get(use_case)
    if spec is None:
        raise BadInput(f"unknown use case {use_case!r}; choose one of {', '.join(AGENTS)}")
    if subject.type not in spec.subject_types:
        flags = " or ".join(f"--{t} ID" for t in spec.subject_types)
        raise BadInput(f"{use_case} runs on {_a(spec.subject_types[0])}, not on {_a(subject.type)} (use {flags})")
    if transcript_id is not None and "transcript" not in spec.reads:
        raise BadInput(f"{use_case} does not read a transcript (--transcript is for follow-up and coaching)")
    if limit is not None and "limit" not in spec.reads:
        raise BadInput(f"{use_case} takes no limit")
    if limit is not None and not 1 <= limit <= MAX_RECOMMENDATIONS:
        raise BadInput(f"limit must be between 1 and {MAX_RECOMMENDATIONS}, not {limit}")
    served = served_user(session)
    if served is not None:  # a session serving a person runs agents for that person
        if acting_user_id not in (None, served.id):
            raise AccessDenied(f"this session serves {served.name}; it cannot run agents as {acting_user_id!r}")
        acting_user_id = served.id
    user = get_user(session=session, user_id=acting_user_id) if acting_user_id else None
    # From here on the session serves this agent running for `user` (for nobody without one): what it loads
    # has the sensitive fields they may not see masked, so those never reach the brief or an LLM prompt.
    bind_viewer(session, user=user, agents=(spec.use_case,))
    if owners is ...:
        owners = visible_owner_ids(session=session, user=user)
    records = _records(session=session, user=user, subject=subject, transcript_id=transcript_id,
                       agent=spec.use_case)
    playbook = playbook if isinstance(playbook, Playbook) else get_playbook(playbook)
    extras = {"limit": limit, "deal": deal}
    brief = spec.gather(session=session, playbook=playbook, owners=owners,
                        **{key: records.get(key, extras.get(key)) for key in spec.reads})
    composer = composer or DeterministicComposer()
    items, dropped = verify_items(session=session, items=composer.compose(brief), record_names=_names_of(records))
    level = level_for(spec.use_case, policy=session_policy(session))
    return AgentRun(use_case=spec.use_case, subject=brief.subject, inputs=brief.inputs, autonomy_level=level,
                    placement=placement_for(level), items=items, dropped_unsupported=dropped,
                    composer=composer.name, playbook=brief.playbook, acting_user=acting_user_id,
                    generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                    as_of=book_context(session=session).as_of)




def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _records(*, session: Session, user: User | None, subject: Subject, transcript_id: str | None,
             agent: str) -> dict:
    """The subject record and the records it implies, each checked against what `agent`, running for `user`,
    may see (Cedar's `Agent::` principal: never more than the person)."""
    records: dict = {}
    if subject.type == "account":
        records["account"] = require_account(session=session, user=user, account_id=subject.id, agent=agent)
    elif subject.type == "opportunity":
        records["opportunity"] = require_opportunity(session=session, user=user, opportunity_id=subject.id,
                                                     agent=agent)
    if subject.type == "transcript" or transcript_id is not None:
        transcript = require_transcript(session=session, user=user, agent=agent,
                                        transcript_id=subject.id if subject.type == "transcript" else transcript_id)
        opportunity = records.get("opportunity")
        if opportunity is not None and transcript.opportunity_id != opportunity.id:
            raise BadInput(f"transcript {transcript.id!r} is not a call of opportunity {opportunity.id!r}")
        records["transcript"] = transcript
        if opportunity is None and transcript.opportunity_id:
            records["opportunity"] = session.get(Opportunity, transcript.opportunity_id)
    return records


def _names_of(records: dict) -> tuple[str, ...]:
    """The names of the record an agent's output is placed on (its account, its opportunity): an item may name
    them though its quote does not repeat them."""
    opportunity = records.get("opportunity")
    accounts = [records.get("account"), opportunity.account if opportunity is not None else None]
    return tuple(dict.fromkeys(record.name for record in (*accounts, opportunity) if record is not None))


def verify_items(*, session: Session, items: list[Item], record_names: Sequence[str] = ()) -> tuple[list[Item], int]:
    """Keep the items the verifier supports; count the rest.

    Items that state facts (claims, recommendations, objections, ...) must pass the whole check. A question
    or a draft is the agent's own wording around facts ("Ask Dana Whitfield (CFO): who owns the budget?"), so
    for those only the facts are checked: every name, title, number and date in it must be in a cited quote.
    `record_names` (the account's and opportunity's names) count as found: an item may say whose record it is.
    """
    # An item has the two fields a claim has (text, sources), so it is checked as it is: no copy per item.
    verdicts = verify_claims(session=session, claims=items, facts_only=[i.kind not in CITED_KINDS for i in items],
                             record_names=record_names)
    kept = []
    for item, verdict in zip(items, verdicts):
        if verdict.supported:
            item.why = verdict.why  # the items were made for this run: nobody else holds them
            kept.append(item)
    return kept, len(items) - len(kept)

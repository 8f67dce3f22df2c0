"""A shadow run over the book (`sellerloop shadow run USE_CASE [--as-of DATE] [--window DAYS]`), now or as of a
past day.

Why a replay: nothing in a book happens after its "today" (evidence/deals.book_context), so a shadow run now has
nothing to compare with until people act. Replayed as of a past DATE, the agent sees the book as it stood at the
end of that day, and what people did in the days after it is already in the book to compare with.

What the agent sees as of DATE:
  - only what was recorded up to the end of DATE: activities, calls and their transcripts, stage and field
    history, tasks, tickets opened, signals published, usage periods begun (evidence/deals.load_deals as_of);
  - each deal as it stood then, set on the loaded objects only (set_committed_value, as access/fields.py masks):
    its stage from the stage history; close_date and next_step from the field history (the old value of the first
    change after DATE); a field the book keeps no history of at all is unknown (None), since what the record shows
    now may have been written later; the close date of a deal that has closed since, with no history of it, is
    unknown too (it is the day it closed); close_value is none while the deal was open; tickets closed after DATE
    were still open;
  - the deals that were open at DATE and are known by then: a dated stage entry or an activity up to DATE (a deal
    whose history dates nothing before DATE may not have existed yet);
  - "today" is DATE, and the days-in-stage norms are those of the stays that had ended by DATE.
Not rewound, because the book keeps no history of them: contacts and their roles, amounts, the deal's name and
owner. The session that holds the rewound objects is never committed: it is rolled back at the end, and shadow
actions are written through another one.

Which use cases: those whose level up acts on deals, each in its own way:
  next-action  every deal open at DATE (recommendations: tasks a person would take up);
  hygiene      every deal open at DATE (field changes);
  follow-up    every deal open at DATE with a recorded call on DATE, on that call (a follow-up is drafted after a
               call; shadow/service.run_as_of).
research, prep and coaching propose no action on a deal one level up: there is nothing of theirs to compare with
what people did, and they are refused with that reason.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sellerloop.access.fields import bind_viewer
from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.service import run_agent
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.evidence.deals import (
    BookContext,
    DealEvidence,
    book_context,
    days_in_stage_norms,
    end_of,
    load_deals,
    stages_as_of,
)
from sellerloop.playbooks.service import get_playbook
from sellerloop.policy.models import DEFAULT_KEY, USE_CASES, Policy
from sellerloop.policy.service import policy_in_force, shadow_rules
from sellerloop.records.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Activity,
    FieldChange,
    Opportunity,
    StageChange,
    Transcript,
)
from sellerloop.scoring.feedback import action_feedback
from sellerloop.shadow.service import Recorded, audit_recorded, record_run, run_as_of
from sellerloop.store.db import session_scope

REPLAYABLE = ("next-action", "hygiene", "follow-up")
CHUNK = 500
MAX_WINDOW_DAYS = 365
MAX_ERRORS = 5
REWOUND_FIELDS = ("close_date", "next_step")  # from the field history; stage from the stage history


@dataclass
class ShadowRun:
    use_case: str
    level: str  # the shadow level of the use case's default (the level each action ran at is on its row)
    as_of: dt.date
    window_days: int
    replay: bool  # as of a day before the book's today
    deals: int = 0  # deals the agent ran on
    items: int = 0
    recorded: int = 0
    already_recorded: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def shadow_policy(policy: Policy, use_case: str) -> Policy:
    """The policy a shadow run of `use_case` runs under: its shadowed levels as the policy sets them, or, when it
    sets none, the use case's own level. BadInput (one line) when that shadow may not run."""
    if use_case not in USE_CASES:
        raise BadInput(f"unknown use case {use_case!r}; the use cases are: {', '.join(USE_CASES)}")
    if use_case not in REPLAYABLE:
        raise BadInput(f"{use_case} proposes no action on a deal one level up, so there is nothing to compare with "
                       f"what people did; shadow runs {', '.join(REPLAYABLE)}")
    if not policy.levels[use_case].shadow:
        policy = policy.with_shadow(use_case, (DEFAULT_KEY,))
    refused = shadow_rules(policy, use_case)
    if refused:
        raise BadInput(f"{use_case} cannot run in shadow: {refused[0]}")
    return policy


def run_shadow(*, engine: Engine, use_case: str, as_of: dt.date | None = None, window_days: int | None = None,
               playbook: str | None = None, policy: Policy | None = None,
               progress: Callable[[int, int], None] | None = None) -> ShadowRun:
    """Run `use_case` in shadow over the open deals of the book, as of `as_of` (default: the book's today), and
    record what the level above would have done (shadow/service.record_run), to be compared over `window_days`
    (default: the policy's caps.expire_after_days, how long a proposal nobody acts on stays open)."""
    started = time.perf_counter()
    policy = shadow_policy(policy or policy_in_force(), use_case)
    window_days = window_days if window_days is not None else policy.caps.expire_after_days
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise BadInput(f"window: between 1 and {MAX_WINDOW_DAYS} days, not {window_days}")
    playbook_model = get_playbook(playbook)
    with Session(engine) as read:
        try:
            today = book_context(session=read).as_of
            as_of = as_of or today
            if as_of > today:
                raise BadInput(f"as of {as_of}: after the book's today ({today}); nothing is recorded after it")
            replay = as_of < today
            result = ShadowRun(use_case, policy.in_shadow(use_case).level_of(use_case), as_of, window_days, replay)
            # The agent runs for nobody, as the nightly run does: no sensitive field reaches it.
            bind_viewer(read, user=None, agents=(use_case,))
            if replay:
                read.info["book_context"] = BookContext(as_of, days_in_stage_norms(session=read, until=as_of))
                # Next-action's ranking from outcomes, as people's decisions stood that day.
                action_feedback(session=read, until=end_of(as_of))
            plan = _plan(read, use_case, as_of, replay)
            recorded, done = Recorded(), 0
            if progress:
                progress(0, len(plan))
            for start in range(0, len(plan), CHUNK):
                chunk = plan[start:start + CHUNK]
                runs = _run_chunk(read, use_case, chunk, as_of, replay, playbook_model, result)
                with session_scope(engine) as write:
                    for run in runs:
                        moment = run_as_of(session=read, run=run, day=as_of)
                        if moment is not None:
                            recorded.add(record_run(session=write, run=run, as_of=moment, window_days=window_days,
                                                    policy=policy))
                done += len(chunk)
                if progress:
                    progress(done, len(plan))
            with session_scope(engine) as write:
                audit_recorded(session=write, use_case=use_case, recorded=recorded, as_of=as_of,
                               window_days=window_days, replay=replay)
        finally:
            read.rollback()  # the rewound records are never written back
    result.recorded, result.already_recorded = recorded.new[use_case], recorded.again[use_case]
    result.seconds = time.perf_counter() - started
    return result


def _plan(session: Session, use_case: str, as_of: dt.date, replay: bool) -> list[tuple[str, str | None]]:
    """(deal id, the call to follow up or None) for each deal the use case runs on, in id order."""
    if replay:
        deals = sorted(open_at(session=session, as_of=as_of))
    else:
        deals = list(session.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES))
                                     .order_by(Opportunity.id)))
    if use_case != "follow-up":
        return [(deal, None) for deal in deals]
    # The day's calls, the latest per deal (the call run-all's follow-up would take as of that day).
    open_deals, calls = set(deals), {}
    for call_id, deal in session.execute(
            select(Transcript.id, Transcript.opportunity_id)
            .where(Transcript.occurred_at >= dt.datetime.combine(as_of, dt.time()),
                   Transcript.occurred_at < end_of(as_of))
            .order_by(Transcript.occurred_at, Transcript.id)):
        if deal in open_deals:
            calls[deal] = call_id
    return sorted(calls.items())


def open_at(*, session: Session, as_of: dt.date) -> set[str]:
    """The deals that were open at the end of `as_of` and known by then (a dated stage entry or an activity up to
    that day), by their stage history."""
    history: dict[str, list] = {}
    for change in session.execute(select(StageChange.opportunity_id, StageChange.stage, StageChange.entered_on)
                                  .order_by(StageChange.opportunity_id, StageChange.id)):
        history.setdefault(change.opportunity_id, []).append(change)
    active = set(session.scalars(select(Activity.opportunity_id).where(
        Activity.opportunity_id.is_not(None), Activity.occurred_at < end_of(as_of)).distinct()))
    out = set()
    for deal, changes in history.items():
        then = stages_as_of(changes, as_of)
        if then and then[-1].stage in OPEN_STAGES and (any(c.entered_on for c in then) or deal in active):
            out.add(deal)
    return out


def _run_chunk(session: Session, use_case: str, chunk: Sequence[tuple[str, str | None]], as_of: dt.date,
               replay: bool, playbook, result: ShadowRun) -> list[AgentRun]:
    calls = dict(chunk)
    opportunities = session.scalars(select(Opportunity).where(Opportunity.id.in_(list(calls)))
                                    .order_by(Opportunity.id)).all()
    deals = load_deals(session=session, opportunities=opportunities, transcripts=use_case != "follow-up",
                       as_of=as_of if replay else None)
    if replay:
        rewind(session=session, deals=deals, as_of=as_of)
    runs = []
    for deal in deals:
        extra = {"transcript_id": calls[deal.id]} if use_case == "follow-up" else {"deal": deal}
        try:
            run = run_agent(session=session, use_case=use_case, subject=Subject(type="opportunity", id=deal.id),
                            playbook=playbook, owners=None, **extra)
        except SellerloopError as e:  # one deal the agent cannot run on must not stop the others
            result.failed += 1
            if len(result.errors) < MAX_ERRORS:
                result.errors.append(f"opportunity {deal.id}: {e.one_line()}")
            continue
        result.deals += 1
        result.items += len(run.items)
        runs.append(run)
    return runs


def rewind(*, session: Session, deals: Sequence[DealEvidence], as_of: dt.date) -> None:
    """Set each deal (and its account's tickets) back to how it stood at the end of `as_of`, on the loaded objects
    only: they are not dirty, nothing is written (see the module docstring for what is set and how). `deals` must
    have been loaded as of that day (load_deals as_of), so that their stage history ends there."""
    cut = end_of(as_of)
    ids = [d.id for d in deals]
    tracked = set(session.scalars(select(FieldChange.field).where(FieldChange.object_type == "opportunity")
                                  .distinct()))
    first_later: dict[tuple[str, str], FieldChange] = {}
    for change in session.scalars(select(FieldChange).where(
            FieldChange.object_type == "opportunity", FieldChange.record_id.in_(ids),
            FieldChange.field.in_(REWOUND_FIELDS), FieldChange.changed_at >= cut)
            .order_by(FieldChange.changed_at.desc(), FieldChange.id.desc())):
        first_later[(change.record_id, change.field)] = change  # newest first, so the earliest stays
    for deal in deals:
        o = deal.opportunity
        stage = deal.stage_changes[-1].stage if deal.stage_changes else o.stage
        values = {"stage": stage}
        for name in REWOUND_FIELDS:
            later = first_later.get((o.id, name))
            if later is not None:
                values[name] = _column_value(name, later.old_value)
            elif name not in tracked or (name == "close_date" and o.stage in CLOSED_STAGES
                                         and stage not in CLOSED_STAGES):
                values[name] = None
        if stage not in CLOSED_STAGES:
            values["close_value"] = None
        for name, value in values.items():
            set_committed_value(o, name, value)
        for ticket in deal.account.tickets if deal.account is not None else ():
            if ticket.closed_at is not None and ticket.closed_at >= cut:
                set_committed_value(ticket, "status", "open")
                set_committed_value(ticket, "closed_at", None)


def _column_value(name: str, text: str | None):
    """A field history value (text) as the opportunity's column holds it."""
    if text in (None, ""):
        return None
    kind = Opportunity.__table__.c[name].type.python_type
    return kind.fromisoformat(text) if kind is dt.date else kind(text)

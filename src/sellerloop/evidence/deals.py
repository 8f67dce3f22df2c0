"""Everything the store holds about one deal, loaded in one go: the input of the deal agents.

`load_deal` reads one opportunity's evidence (a page, the CLI); `load_deals` reads many with one query per
table per chunk of opportunities (a whole-book run), instead of a dozen queries per deal. Both give the same
`DealEvidence`, so an agent computes the same output either way. The rows stay in the session, so when the
verifier later resolves `activity:ID` or `opportunity:ID/field/stage`, `session.get` finds them without a query.

Account-level evidence (tickets, signals, usage) is shared by the deals of an account and loaded once per account.

As of a past day (`as_of`, for replaying the book as it stood then: shadow/replay.py): only what was recorded up to
the end of that day is read (activities, calls, stage and field history, tasks, tickets opened, signals published,
usage periods begun). The records' own fields are as they are now; setting them back is the caller's part.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Date, func, select, type_coerce
from sqlalchemy.orm import Session

from sellerloop.evidence.sources import field_history_source, preload_sources, stage_history_source
from sellerloop.records.models import (
    OPEN_STAGES,
    Account,
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    OpportunityContact,
    Signal,
    StageChange,
    Task,
    Ticket,
    Transcript,
    UsageMetric,
    User,
    Utterance,
)

CHUNK = 500  # opportunities per round of queries: big enough to amortise a query, small for an IN list


@dataclass
class AccountEvidence:
    account: Account
    tickets: list[Ticket] = field(default_factory=list)  # newest first
    signals: list[Signal] = field(default_factory=list)  # newest first
    usage: dict[str, list[UsageMetric]] = field(default_factory=dict)  # per metric, oldest first


@dataclass
class DealEvidence:
    opportunity: Opportunity
    owner: User | None
    account: AccountEvidence | None
    contacts: list[tuple[Contact, str | None]] = field(default_factory=list)  # with their role on this deal
    activities: list[Activity] = field(default_factory=list)  # oldest first
    transcripts: list[Transcript] = field(default_factory=list)  # oldest first
    utterances: dict[str, list[Utterance]] = field(default_factory=dict)  # per transcript, in order
    stage_changes: list[StageChange] = field(default_factory=list)  # in the order they were recorded
    field_changes: list[FieldChange] = field(default_factory=list)  # oldest first
    tasks: list[Task] = field(default_factory=list)
    # Every user's name: on a call, a speaker who is one of ours is the seller side.
    user_names: frozenset[str] = frozenset()
    # Playbook coverage worked out for this deal, shared by the agents that read it (playbooks.service).
    coverage_memo: dict = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return self.opportunity.id

    def stage_entered_on(self) -> dt.date | None:
        """When the deal entered its current stage, from the stage history (the last entry for that stage)."""
        for change in reversed(self.stage_changes):
            if change.stage == self.opportunity.stage:
                return change.entered_on
        return None


def load_deal(*, session: Session, opportunity: Opportunity) -> DealEvidence:
    return load_deals(session=session, opportunities=[opportunity])[0]


def load_deals(*, session: Session, opportunities: Sequence[Opportunity],
               transcripts: bool = True, as_of: dt.date | None = None) -> list[DealEvidence]:
    """The evidence of each opportunity, in the order given. `transcripts=False` skips calls (agents that do
    not read them save the biggest table); `as_of` reads only what was recorded up to the end of that day."""
    out: list[DealEvidence] = []
    for start in range(0, len(opportunities), CHUNK):
        out.extend(_load_chunk(session, opportunities[start:start + CHUNK], transcripts, as_of))
    return out


def end_of(day: dt.date) -> dt.datetime:
    """The first moment after `day`: what was recorded up to a day is what happened before this."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def _up_to(as_of: dt.date | None, stmt, column):
    """`stmt` narrowed to the rows `column` dates up to the end of `as_of` (all of them without one)."""
    return stmt if as_of is None else stmt.where(column < end_of(as_of))


def stages_as_of(changes: Sequence[StageChange], as_of: dt.date) -> list[StageChange]:
    """The stage history (in the order it was recorded) as it stood at the end of `as_of`: every entry up to the
    first one dated later. An undated entry (Maven's Prospecting) counts where it was recorded."""
    kept = []
    for change in changes:
        if change.entered_on is not None and change.entered_on > as_of:
            break
        kept.append(change)
    return kept


def _by(rows: Iterable, key: str) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _load_chunk(session: Session, opportunities: Sequence[Opportunity], with_transcripts: bool,
                as_of: dt.date | None = None) -> list[DealEvidence]:
    ids = [o.id for o in opportunities]
    account_ids = sorted({o.account_id for o in opportunities if o.account_id})
    owner_ids = sorted({o.owner_id for o in opportunities if o.owner_id})
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    names = user_names(session=session)
    accounts = _load_accounts(session, account_ids, as_of)

    contacts: dict[str, list[tuple[Contact, str | None]]] = defaultdict(list)
    for link, contact in session.execute(
            select(OpportunityContact, Contact).join(Contact, Contact.id == OpportunityContact.contact_id)
            .where(OpportunityContact.opportunity_id.in_(ids)).order_by(Contact.id)):
        contacts[link.opportunity_id].append((contact, link.role_in_deal))
    activities = _by(session.scalars(_up_to(as_of, select(Activity).where(Activity.opportunity_id.in_(ids)),
                                            Activity.occurred_at).order_by(Activity.occurred_at, Activity.id)),
                     "opportunity_id")
    stages = _by(session.scalars(select(StageChange).where(StageChange.opportunity_id.in_(ids))
                                 .order_by(StageChange.id)), "opportunity_id")
    if as_of is not None:
        stages = {deal: stages_as_of(rows, as_of) for deal, rows in stages.items()}
    history = select(FieldChange).where(FieldChange.object_type == "opportunity", FieldChange.record_id.in_(ids))
    changes = _by(session.scalars(_up_to(as_of, history, FieldChange.changed_at)
                                  .order_by(FieldChange.changed_at, FieldChange.id)), "record_id")
    tasks = _by(session.scalars(_up_to(as_of, select(Task).where(Task.opportunity_id.in_(ids)), Task.created_at)
                                .order_by(Task.created_at)), "opportunity_id")
    calls: dict[str, list[Transcript]] = {}
    utterances: dict[str, list[Utterance]] = {}
    if with_transcripts:
        calls = _by(session.scalars(_up_to(as_of, select(Transcript).where(Transcript.opportunity_id.in_(ids)),
                                           Transcript.occurred_at).order_by(Transcript.occurred_at, Transcript.id)),
                    "opportunity_id")
        transcript_ids = [t.id for ts in calls.values() for t in ts]
        if transcript_ids:
            utterances = _by(session.scalars(select(Utterance).where(Utterance.transcript_id.in_(transcript_ids))
                                             .order_by(Utterance.transcript_id, Utterance.seq)), "transcript_id")
    # The stage and field histories a deal agent cites: resolved from these rows from now on, not queried again.
    preload_sources(session=session, sources=[
        *(stage_history_source(o, stages[o.id]) for o in opportunities if stages.get(o.id)),
        *(field_history_source(o, fields, name) for o in opportunities
          for name, fields in _by(changes.get(o.id, ()), "field").items())])
    return [DealEvidence(
        opportunity=o, owner=users.get(o.owner_id), account=accounts.get(o.account_id),
        contacts=contacts.get(o.id, []), activities=activities.get(o.id, []),
        transcripts=calls.get(o.id, []),
        utterances={t.id: utterances.get(t.id, []) for t in calls.get(o.id, [])},
        stage_changes=stages.get(o.id, []), field_changes=changes.get(o.id, []), tasks=tasks.get(o.id, []),
        user_names=names,
    ) for o in opportunities]


def user_names(*, session: Session) -> frozenset[str]:
    """Every user's name, read once per session (a few thousand names even in a big book)."""
    names = session.info.get("user_names")
    if names is None:
        names = session.info["user_names"] = frozenset(session.scalars(select(User.name)))
    return names


def _load_accounts(session: Session, account_ids: list[str],
                   as_of: dt.date | None = None) -> dict[str, AccountEvidence]:
    if not account_ids:
        return {}
    accounts = {a.id: AccountEvidence(a) for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    for ticket in session.scalars(_up_to(as_of, select(Ticket).where(Ticket.account_id.in_(account_ids)),
                                         Ticket.opened_at).order_by(Ticket.opened_at.desc(), Ticket.id)):
        accounts[ticket.account_id].tickets.append(ticket)
    for signal in session.scalars(_up_to(as_of, select(Signal).where(Signal.account_id.in_(account_ids)),
                                         Signal.published_at).order_by(Signal.published_at.desc(), Signal.id)):
        accounts[signal.account_id].signals.append(signal)
    usage = select(UsageMetric).where(UsageMetric.account_id.in_(account_ids))
    if as_of is not None:
        usage = usage.where(UsageMetric.period_start <= as_of)
    for point in session.scalars(usage.order_by(UsageMetric.metric, UsageMetric.period_start)):
        accounts[point.account_id].usage.setdefault(point.metric, []).append(point)
    return accounts


def open_opportunities(*, session: Session, owners: set[str] | None = None,
                       account_id: str | None = None) -> list[Opportunity]:
    """Open deals in id order (the order a whole-book run walks them), optionally of some owners or an account."""
    stmt = select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id)
    if owners is not None:
        stmt = stmt.where(Opportunity.owner_id.in_(owners))
    if account_id is not None:
        stmt = stmt.where(Opportunity.account_id == account_id)
    return list(session.scalars(stmt))


def days_in_stage_norms(*, session: Session, until: dt.date | None = None) -> dict[str, float]:
    """The book's norm for how long a deal stays in each open stage: the median number of days between entering
    it and entering the next stage, over every deal whose history dates both. A deal far past the norm is stalled.
    The database pairs each entry with the next one (a window function), so only dated pairs come back.
    `until`: only stays that had ended by then (the norm as it stood on that day)."""
    following = func.lead(StageChange.entered_on).over(partition_by=StageChange.opportunity_id,
                                                       order_by=StageChange.id)
    pairs = select(StageChange.stage, StageChange.entered_on.label("entered"),
                   type_coerce(following, Date).label("left")).subquery()
    durations: dict[str, list[int]] = defaultdict(list)
    stays = select(pairs.c.stage, pairs.c.entered, pairs.c.left).where(
        pairs.c.stage.in_(OPEN_STAGES), pairs.c.entered.is_not(None), pairs.c.left.is_not(None))
    if until is not None:
        stays = stays.where(pairs.c.left <= until)
    for stage, entered, left in session.execute(stays):
        if left >= entered:
            durations[stage].append((left - entered).days)
    return {stage: float(statistics.median(days)) for stage, days in durations.items() if days}


@dataclass(frozen=True)
class BookContext:
    """Facts about the whole book that judging one deal needs: what "today" is and the normal pace per stage."""

    as_of: dt.date
    stage_norms: dict[str, float]


def book_context(*, session: Session) -> BookContext:
    """Worked out once per session (a page, a command, a whole-book run) and kept in `session.info`.

    "Today", the one book clock every agent, page and due date reads: the wall clock's date for a live book (its
    newest activity within LIVE_WITHIN of today), else the date of its newest activity: a book exported in 2018
    (the Maven demo) is judged as of its last day, not as if every deal had been silent for years."""
    cached = session.info.get("book_context")
    if cached is None:
        newest = session.scalar(select(func.max(Activity.occurred_at)))
        cached = session.info["book_context"] = BookContext(book_day(newest, today=dt.date.today()),
                                                            days_in_stage_norms(session=session))
    return cached


LIVE_WITHIN = dt.timedelta(days=14)  # a CRM in use logs activity every few days; a quiet fortnight is an export


def book_day(newest: dt.datetime | None, *, today: dt.date) -> dt.date:
    """The book's today, given its newest activity: the wall clock's for a live book, the newest day for a
    historical one (and never a day after today)."""
    if newest is None or today - newest.date() <= LIVE_WITHIN:
        return today
    return newest.date()

"""Reading records: counts, listings and single records with what hangs off them.

Every read here serves the session's viewer (access/fields.py `bind_viewer`: the signed-in person, `--as`): one
record they may not see is refused (access.service, through Cedar), lists and what hangs off a record hold only
what they may see, and sensitive fields arrive masked. A session nobody is bound to is the local operator's.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import (
    account_filter,
    opportunity_filter,
    require_account,
    require_opportunity,
    require_transcript,
    visible_owner_ids,
)
from sellerloop.errors import BadInput, NotFound
from sellerloop.records.models import (
    OPEN_STAGES,
    RECORD_TYPES,
    STAGES,
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
)

LISTABLE = ("accounts", "opportunities", "contacts", "transcripts", "users", "products")


def visible_owners(session: Session) -> set[str] | None:
    return visible_owner_ids(session=session, user=served_user(session))


def visible_opportunity_ids(owners: set[str] | None):
    """Opportunity ids the owners' set allows, as a subquery (activities and calls hang off them)."""
    return select(Opportunity.id).where(opportunity_filter(owners))


def _hangs_off_visible(column, owners: set[str] | None):
    """A row tied to an opportunity is visible with it; a row tied only to the account, with the account."""
    return True if owners is None else or_(column.is_(None), column.in_(visible_opportunity_ids(owners)))


def count_records(*, session: Session) -> dict[str, dict[str, int]]:
    """Counts per record type, real and synthetic apart: {"accounts": {"real": 85, "synthetic": 0, "total": 85}}."""
    counts: dict[str, dict[str, int]] = {}
    for name, model in RECORD_TYPES.items():
        rows = session.execute(select(model.synthetic, func.count()).group_by(model.synthetic)).all()
        by_kind = {bool(synthetic): n for synthetic, n in rows}
        real, synthetic = by_kind.get(False, 0), by_kind.get(True, 0)
        counts[name] = {"real": real, "synthetic": synthetic, "total": real + synthetic}
    return counts


def list_records(*, session: Session, record_type: str, limit: int | None = None) -> list[dict]:
    """Rows for `sellerloop records list`: always `id` and `name`, plus what identifies the record type."""
    if record_type not in LISTABLE:
        raise BadInput(f"unknown record type {record_type!r}; choose one of {', '.join(LISTABLE)}")
    model = RECORD_TYPES[record_type]
    stmt = select(model).order_by(model.id)
    owners = visible_owners(session)
    if owners is not None:
        stmt = stmt.where(_listing_filter(record_type, owners))
    if limit:
        stmt = stmt.limit(limit)
    if record_type == "opportunities":
        owners = dict(session.execute(select(User.id, User.name)).all())
        return [{"id": o.id, "name": o.name, "stage": o.stage, "account_id": o.account_id,
                 "owner": owners.get(o.owner_id), "owner_id": o.owner_id, "amount": o.amount,
                 "close_date": o.close_date.isoformat() if o.close_date else None, "synthetic": o.synthetic}
                for o in session.scalars(stmt)]
    if record_type == "transcripts":
        return [{"id": t.id, "name": t.title, "opportunity_id": t.opportunity_id, "account_id": t.account_id,
                 "source_format": t.source_format, "synthetic": t.synthetic} for t in session.scalars(stmt)]
    if record_type == "contacts":
        return [{"id": c.id, "name": c.name, "title": c.title, "account_id": c.account_id,
                 "role_in_deal": c.role_in_deal, "synthetic": c.synthetic} for c in session.scalars(stmt)]
    if record_type == "accounts":
        return [{"id": a.id, "name": a.name, "sector": a.sector, "owner_id": a.owner_id,
                 "synthetic": a.synthetic} for a in session.scalars(stmt)]
    if record_type == "users":
        return [{"id": u.id, "name": u.name, "role": u.role, "manager_id": u.manager_id, "region": u.region,
                 "synthetic": u.synthetic} for u in session.scalars(stmt)]
    return [{"id": r.id, "name": r.name, "synthetic": r.synthetic} for r in session.scalars(stmt)]


def _listing_filter(record_type: str, owners: set[str]):
    if record_type == "accounts":
        return account_filter(owners)
    if record_type == "opportunities":
        return opportunity_filter(owners)
    if record_type == "contacts":
        return Contact.account_id.in_(select(Account.id).where(account_filter(owners)))
    if record_type == "transcripts":
        return or_(Transcript.opportunity_id.in_(visible_opportunity_ids(owners)),
                   Transcript.opportunity_id.is_(None)
                   & Transcript.account_id.in_(select(Account.id).where(account_filter(owners))))
    return True  # users and products: the directory and the price list are for everyone


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_accounts(*, session: Session, query: str = "", page: int = 1, per_page: int = 25) -> Page:
    stmt = select(Account).where(account_filter(visible_owners(session)))
    if query.strip():
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Account.name).like(like), func.lower(Account.sector).like(like),
                              func.lower(Account.office_location).like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = max(1, page)
    items = session.scalars(stmt.order_by(Account.name).offset((page - 1) * per_page).limit(per_page)).all()
    return Page(items=list(items), total=total or 0, page=page, per_page=per_page)


def get_account(*, session: Session, account_id: str) -> Account:
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account with id {account_id!r}")
    return require_account(session=session, user=served_user(session), account_id=account_id)


def get_opportunity(*, session: Session, opportunity_id: str) -> Opportunity:
    if session.get(Opportunity, opportunity_id) is None:
        raise NotFound(f"no opportunity with id {opportunity_id!r}")
    return require_opportunity(session=session, user=served_user(session), opportunity_id=opportunity_id)


def get_transcript(*, session: Session, transcript_id: str) -> Transcript:
    if session.get(Transcript, transcript_id) is None:
        raise NotFound(f"no transcript with id {transcript_id!r}")
    return require_transcript(session=session, user=served_user(session), transcript_id=transcript_id)


@dataclass
class AccountView:
    account: Account
    contacts: list[Contact]
    opportunities: list[Opportunity]
    activities: list[Activity]
    signals: list[Signal]
    tickets: list[Ticket]
    usage: list[UsageMetric]


def account_view(*, session: Session, account_id: str, timeline_limit: int = 50) -> AccountView:
    account = get_account(session=session, account_id=account_id)
    owners = visible_owners(session)
    return AccountView(
        account=account,
        contacts=list(session.scalars(select(Contact).where(Contact.account_id == account_id)
                                      .order_by(Contact.name))),
        opportunities=list(session.scalars(select(Opportunity).where(Opportunity.account_id == account_id,
                                                                     opportunity_filter(owners))
                                           .order_by(Opportunity.stage.in_(("Won", "Lost")),
                                                     Opportunity.close_date.desc(), Opportunity.id))),
        activities=list(session.scalars(select(Activity).where(
            Activity.account_id == account_id, _hangs_off_visible(Activity.opportunity_id, owners))
            .order_by(Activity.occurred_at.desc()).limit(timeline_limit))),
        signals=list(session.scalars(select(Signal).where(Signal.account_id == account_id)
                                     .order_by(Signal.published_at.desc()))),
        tickets=list(session.scalars(select(Ticket).where(Ticket.account_id == account_id)
                                     .order_by(Ticket.opened_at.desc()))),
        usage=list(session.scalars(select(UsageMetric).where(UsageMetric.account_id == account_id)
                                   .order_by(UsageMetric.metric, UsageMetric.period_start))),
    )


@dataclass
class OpportunityView:
    opportunity: Opportunity
    contacts: list[tuple[Contact, str | None]]
    stage_history: list[StageChange]
    field_history: list[FieldChange]
    activities: list[Activity]
    transcripts: list[Transcript]
    tasks: list[Task]  # open ones first, soonest due first: what the seller does next


def opportunity_view(*, session: Session, opportunity_id: str) -> OpportunityView:
    opportunity = get_opportunity(session=session, opportunity_id=opportunity_id)
    contacts = session.execute(
        select(Contact, OpportunityContact.role_in_deal)
        .join(OpportunityContact, OpportunityContact.contact_id == Contact.id)
        .where(OpportunityContact.opportunity_id == opportunity_id).order_by(Contact.name)).all()
    return OpportunityView(
        opportunity=opportunity,
        contacts=[(c, role) for c, role in contacts],
        stage_history=list(session.scalars(select(StageChange).where(StageChange.opportunity_id == opportunity_id)
                                           .order_by(StageChange.id))),
        field_history=list(session.scalars(select(FieldChange).where(
            FieldChange.object_type == "opportunity", FieldChange.record_id == opportunity_id)
            .order_by(FieldChange.changed_at))),
        activities=list(session.scalars(select(Activity).where(Activity.opportunity_id == opportunity_id)
                                        .order_by(Activity.occurred_at.desc()))),
        transcripts=list(session.scalars(select(Transcript).where(Transcript.opportunity_id == opportunity_id)
                                         .order_by(Transcript.occurred_at.desc()))),
        tasks=list(session.scalars(select(Task).where(Task.opportunity_id == opportunity_id)
                                   .order_by(Task.status != "open", Task.due_date, Task.created_at.desc()))),
    )


def search_opportunities(*, session: Session, stage: str = "", owner_id: str = "", page: int = 1,
                         per_page: int = 25, query: str = "") -> Page:
    """Opportunities by stage, owner and words in their name, open ones first, newest close date first."""
    stmt = select(Opportunity).where(opportunity_filter(visible_owners(session)))
    if query.strip():
        stmt = stmt.where(func.lower(Opportunity.name).like(f"%{query.strip().lower()}%"))
    if stage:
        if stage not in STAGES:
            raise BadInput(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        stmt = stmt.where(Opportunity.stage == stage)
    if owner_id:
        if session.get(User, owner_id) is None:
            raise BadInput(f"no user with id {owner_id!r}")
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = max(1, page)
    items = session.scalars(stmt.order_by(Opportunity.stage.in_(("Won", "Lost")),
                                          Opportunity.close_date.desc(), Opportunity.id)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return Page(items=list(items), total=total or 0, page=page, per_page=per_page)


def list_owners(*, session: Session) -> list[User]:
    """The people who own at least one opportunity, by name (for the owner filter)."""
    owner_ids = select(Opportunity.owner_id).where(Opportunity.owner_id.is_not(None)).distinct()
    return list(session.scalars(select(User).where(User.id.in_(owner_ids)).order_by(User.name)))


def open_opportunity_counts(*, session: Session, account_ids: list[str]) -> dict[str, int]:
    """{account_id: number of open opportunities} for the given accounts (absent when none)."""
    if not account_ids:
        return {}
    rows = session.execute(select(Opportunity.account_id, func.count())
                           .where(Opportunity.account_id.in_(account_ids), Opportunity.stage.in_(OPEN_STAGES),
                                  opportunity_filter(visible_owners(session)))
                           .group_by(Opportunity.account_id)).all()
    return {account_id: n for account_id, n in rows}

"""A seller's home: "my deals", their open deals ordered by what needs them today, each with its reason.

What needs a person today, most pressing first: a customer's email on the deal that nobody answered (the deal's
newest email is inbound), a task of theirs on the deal that is due or overdue, an approval waiting on the deal.
Then the rest, by close date. "Today" is the book's (evidence.deals.book_context). Everything is read in one query
per kind for all the deals at once, never per deal. A manager sees their team's deals; admins and RevOps, who own
no deals, land on the accounts list as before.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from sellerloop.access.fields import served_user
from sellerloop.access.service import SEES_EVERYTHING, visible_owner_ids
from sellerloop.approvals.models import ApprovalRow, State
from sellerloop.evidence.deals import book_context
from sellerloop.records.models import OPEN_STAGES, Activity, Opportunity, Task
from sellerloop.web.deps import get_session, templates

router = APIRouter(default_response_class=HTMLResponse)
DUE_SOON = dt.timedelta(days=2)  # a task due within two days needs the seller today
# Most pressing first: an unanswered customer, a commitment due, a decision waiting.
URGENCY = {"inbound": 0, "overdue": 1, "due": 2, "approval": 3}


@dataclass
class DealRow:
    deal: Opportunity
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (kind, what to do, in words)

    @property
    def rank(self) -> tuple:
        first = min((URGENCY[kind] for kind, _ in self.reasons), default=len(URGENCY))
        return first, self.deal.close_date or dt.date.max, self.deal.id


def my_deals(*, session: Session, owners: set[str], today: dt.date) -> list[DealRow]:
    """Open deals of `owners`, the ones that need someone today first, each with why."""
    deals = session.scalars(select(Opportunity).options(selectinload(Opportunity.account))
                            .where(Opportunity.owner_id.in_(owners), Opportunity.stage.in_(OPEN_STAGES))).all()
    rows = {d.id: DealRow(d) for d in deals}
    if not rows:
        return []
    newest_email: dict[str, Activity] = {}
    for email in session.scalars(select(Activity).where(Activity.opportunity_id.in_(rows), Activity.kind == "email",
                                                        Activity.occurred_at <= dt.datetime.combine(today, dt.time.max))
                                 .order_by(Activity.occurred_at, Activity.id)):
        newest_email[email.opportunity_id] = email
    for deal_id, email in newest_email.items():
        if email.direction == "inbound":
            sender = next((p.get("name") for p in email.participants or [] if p.get("role") == "from"), None)
            rows[deal_id].reasons.append(("inbound", f"Reply to {sender or 'the customer'}: their email of "
                                                     f"{email.occurred_at:%d %b} is unanswered"))
    for task in session.scalars(select(Task).where(Task.opportunity_id.in_(rows), Task.status == "open",
                                                   Task.due_date <= today + DUE_SOON).order_by(Task.due_date)):
        kind = "overdue" if task.due_date < today else "due"
        when = f"was due {task.due_date:%d %b}" if kind == "overdue" else f"due {task.due_date:%d %b}"
        rows[task.opportunity_id].reasons.append((kind, f"{task.subject} ({when})"))
    subjects = {f"opportunity:{deal_id}": deal_id for deal_id in rows}
    for row in session.scalars(select(ApprovalRow).where(ApprovalRow.subject.in_(subjects),
                                                         ApprovalRow.state == State.proposed.value)):
        rows[subjects[row.subject]].reasons.append(("approval", "An approval is waiting for a decision"))
    return sorted(rows.values(), key=lambda r: r.rank)


@router.get("/", include_in_schema=False)
def home(request: Request, session: Session = Depends(get_session)) -> Response:
    user = served_user(session)
    if user is None or user.role in SEES_EVERYTHING:
        return RedirectResponse("/accounts", status_code=302)
    return RedirectResponse("/deals", status_code=302)


@router.get("/deals")
def my_deals_page(request: Request, session: Session = Depends(get_session)) -> Response:
    user = served_user(session)
    owners = visible_owner_ids(session=session, user=user)
    if owners is None:  # the local operator, admins and RevOps own no deals: the whole book is on /opportunities
        return RedirectResponse("/opportunities", status_code=302)
    today = book_context(session=session).as_of
    rows = my_deals(session=session, owners=owners, today=today)
    return templates.TemplateResponse(request, "my_deals.html", {
        "rows": rows, "today": today, "team": len(owners) > 1,
        "needing": sum(bool(r.reasons) for r in rows)})

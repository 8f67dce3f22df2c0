"""The outcomes tests work on a writable copy of the Maven book (both stores), with a constructed history:
recommendations taken up, edited, rejected or left to expire through the real approvals service and executor,
and events recorded through outcomes.events.record_event."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.outputs import AgentOutput
from sellerloop.approvals.drafts import take_up
from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import expire_due, propose
from sellerloop.pipeline.outcomes import record_event
from sellerloop.records.models import Opportunity, User
from sellerloop.store.db import session_scope
from tests.support.books import maven_copy_engine as engine  # noqa: F401  (the fixture, by the name used here)

T0 = dt.datetime(2017, 3, 1, 10, 0)  # when the constructed recommendations are made; every window is long over


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


@dataclass
class Book:
    """Two sellers of different teams: `seller` with three open deals (a, b, d) on three accounts and `other`
    with one (c); `account` is deal a's account; RevOps user `rita` decides on accounts, which no seller owns."""

    engine: object
    seller: str
    other: str
    deals: dict[str, str] = field(default_factory=dict)
    account: str = ""
    _n: int = 0

    def next_id(self) -> str:
        self._n += 1
        return str(self._n)

    def subject(self, deal: str) -> str:
        return f"opportunity:{self.deals[deal]}"

    def decide(self, deal: str, *, decision: str, use_case: str = "next-action", recommended: str | None = None,
               element: str | None = None, subject: str = "Send the ROI case study", edited: str | None = None,
               at: dt.datetime = T0, on: str | None = None, by: str | None = None) -> str:
        """A create_task on `deal` (or on the record `on`), taken up and decided at `at` by its seller (or `by`):
        accepted, edited (the subject becomes `edited`) or rejected. Returns the approval id."""
        record = on or self.subject(deal)
        payload = {"subject": subject, "due_date": (at + days(2)).date().isoformat(),
                   "opportunity_id" if record.startswith("opportunity:") else "account_id": record.partition(":")[2]}
        proposal = Proposal(use_case=use_case, subject=record, action="create_task", payload=payload,
                            reason=f"Recommended ({self.next_id()}).", level="L2", recommended_action=recommended,
                            playbook_element=element)
        owner = by or (self.other if deal == "c" else self.seller)
        with session_scope(self.engine) as s:
            taken = take_up(session=s, proposal=proposal, user_id=owner, approved=decision != "rejected",
                            payload={**payload, "subject": edited} if decision == "edited" else None,
                            reason="Not now" if decision == "rejected" else None, at=at)
            return taken.approval.id

    def expire(self, deal: str, *, recommended: str | None = None, element: str | None = None,
               at: dt.datetime = T0) -> str:
        """A create_task proposed on `deal` at `at` that nobody decided on before it expired a week later."""
        payload = {"subject": f"Follow up ({self.next_id()})", "due_date": "2017-04-01",
                   "opportunity_id": self.deals[deal]}
        proposal = Proposal(use_case="next-action", subject=self.subject(deal), action="create_task",
                            payload=payload, reason="Recommended.", level="L4", recommended_action=recommended,
                            playbook_element=element, expires_at=at + days(7))
        with session_scope(self.engine) as s:
            approval = propose(session=s, proposal=proposal, by="agent:next-action", at=at)
            assert expire_due(session=s, at=at + days(8)) == 1
            return approval.id

    def event(self, kind: str, *, on: str, at: dt.datetime, **detail) -> None:
        """An event on deal `on` ("a".."d") or on a record URI ("account:ID")."""
        subject = on if ":" in on else self.subject(on)
        with session_scope(self.engine) as s:
            if kind in ("won", "lost"):  # the CRM closed the deal first: an event the record denies is refused
                s.get(Opportunity, subject.partition(":")[2]).stage = kind.capitalize()
            record_event(session=s, kind=kind, subject=subject, occurred_at=at, source="api",
                         external_id=f"test-{self.next_id()}", detail=detail)

    def shown(self, deal: str, recommendations: list[tuple[str, str | None]], *, at: dt.datetime = T0) -> None:
        """next-action's stored output on `deal`, generated at `at`, with these (action, element) recommendations
        in rank order."""
        items = [Item(kind="recommendation", text=f"Do {action}.", action=action, playbook_element=element,
                      score=1 - i / 10) for i, (action, element) in enumerate(recommendations)]
        run = AgentRun(use_case="next-action", subject=Subject(type="opportunity", id=self.deals[deal]),
                       autonomy_level="L2", placement="shown", items=items, generated_at=at)
        with session_scope(self.engine) as s:
            s.add(AgentOutput(use_case="next-action", subject_type="opportunity", subject_id=self.deals[deal],
                              generated_at=at, items=len(items), dropped_unsupported=0,
                              output=run.model_dump_json(exclude_none=True)))


@pytest.fixture
def book(engine) -> Book:
    with session_scope(engine) as s:
        s.add(User(id="rita", name="Rita Ops", role="revops"))
        sellers = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                            .order_by(User.id)).all()

        def open_deals(user: User) -> list[Opportunity]:
            return s.scalars(select(Opportunity).where(Opportunity.owner_id == user.id,
                                                       Opportunity.stage == "Engaging",
                                                       Opportunity.account_id.is_not(None))
                             .order_by(Opportunity.id)).all()

        seller = next(u for u in sellers if len({d.account_id for d in open_deals(u)}) >= 3)
        other = next(u for u in sellers if u.manager_id != seller.manager_id and open_deals(u))
        mine = open_deals(seller)
        a = mine[0]
        # Each on an account of its own, so that no event on one of them is an account event of another.
        b = next(x for x in mine if x.account_id != a.account_id)
        d = next(x for x in mine if x.account_id not in (a.account_id, b.account_id))
        c = open_deals(other)[0]
        return Book(engine=engine, seller=seller.id, other=other.id, account=a.account_id,
                    deals={"a": a.id, "b": b.id, "c": c.id, "d": d.id})

"""Acceptance and edit rates of agent proposals, read from the approvals table (the manager dashboard).

Each approval counts once, by the decision a person took on it, whatever happened after: one approved and then
executed, rolled back or expired before it ran was still accepted, so the history is read, not the state.

    decided          approved + approved with edits + rejected
    acceptance rate  (approved + approved with edits) / decided
    edit rate        approved with edits / (approved + approved with edits)

Not decided: pending (proposed, still in time) and expired (ignored: nobody decided before it ran out; one still
"proposed" past its expiry counts here too, as `propose` treats it). An approval by the policy itself at L5 is
counted apart (`by_policy`): it is no person's verdict on the agent, so it would only flatter the rates.

The seller of an approval is the owner of the record it acts on (an opportunity's or account's owner; a
contact's account's owner). `owners` restricts the count to those sellers' records (None: everyone's).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.approvals.models import POLICY_IDENTITY_PREFIX, Approval, ApprovalRow, State
from sellerloop.policy.models import LEVELS, USE_CASES
from sellerloop.records.models import Account, Contact, Opportunity, User
from sellerloop.records.refs import RecordRef

NOT_RECORDED = "not recorded"  # the level of approvals stored before proposals carried one
NO_OWNER = "no owner"
DECISIONS = {State.approved: "approved", State.approved_with_edits: "approved_with_edits",
             State.rejected: "rejected"}
CHUNK = 500  # ids per IN (...) list: well under every backend's limit on bound parameters


@dataclass
class Rates:
    key: str  # the use case, the level (or NOT_RECORDED), or the seller's user id (or NO_OWNER)
    label: str
    approved: int = 0
    approved_with_edits: int = 0
    rejected: int = 0
    pending: int = 0
    expired: int = 0
    by_policy: int = 0

    @property
    def accepted(self) -> int:
        return self.approved + self.approved_with_edits

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def edit_rate(self) -> float | None:
        return self.approved_with_edits / self.accepted if self.accepted else None

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class Acceptance:
    total: Rates
    by_use_case: list[Rates] = field(default_factory=list)
    by_level: list[Rates] = field(default_factory=list)
    by_seller: list[Rates] = field(default_factory=list)


def outcome(approval: Approval, *, at: dt.datetime) -> str:
    """approved, approved_with_edits, rejected, by_policy, pending or expired: what to count the approval as."""
    for decision in approval.history:
        if decision.state in DECISIONS:
            if decision.rule is not None or decision.by.startswith(POLICY_IDENTITY_PREFIX):
                return "by_policy"
            return DECISIONS[decision.state]
    expires = approval.proposal.expires_at
    if approval.state is State.proposed and (expires is None or expires > at):
        return "pending"
    return "expired"


def acceptance(*, session: Session, owners: set[str] | None, at: dt.datetime | None = None) -> Acceptance:
    """The rates by use case, by autonomy level and by seller, over the approvals on `owners`' records."""
    at = at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = session.scalars(select(ApprovalRow).order_by(ApprovalRow.proposed_at, ApprovalRow.id)).all()
    owner_of = _owners(session, [r.subject for r in rows])
    total = Rates("all", "All")
    use_cases: dict[str, Rates] = {}
    levels: dict[str, Rates] = {}
    sellers: dict[str, Rates] = {}
    for row in rows:
        owner = owner_of.get(row.subject)
        if owners is not None and owner not in owners:
            continue
        approval = Approval.model_validate(row.approval)
        counted = outcome(approval, at=at)
        level = approval.proposal.level or NOT_RECORDED
        seller = owner or NO_OWNER
        for group, key in ((use_cases, approval.proposal.use_case), (levels, level), (sellers, seller)):
            group.setdefault(key, Rates(key, key)).count(counted)
        total.count(counted)
    names = {i: name for i, name in session.execute(select(User.id, User.name).where(User.id.in_(list(sellers))))}
    for key, rates in sellers.items():
        rates.label = names.get(key, key)
    return Acceptance(
        total=total,
        by_use_case=_ordered(use_cases, USE_CASES),
        by_level=_ordered(levels, (*LEVELS, NOT_RECORDED)),
        by_seller=sorted(sellers.values(), key=lambda r: (r.key == NO_OWNER, r.label.casefold(), r.key)))


def _ordered(groups: dict[str, Rates], order: Iterable[str]) -> list[Rates]:
    """The groups in the given order, any other key (a use case renamed since, say) after them by name."""
    known = list(order)
    return sorted(groups.values(), key=lambda r: (known.index(r.key) if r.key in known else len(known), r.key))


def _owners(session: Session, subjects: list[str]) -> dict[str, str | None]:
    """subject URI -> the owner of the record it names, read in a few queries for all of them."""
    ids: dict[str, set[str]] = {"opportunity": set(), "account": set(), "contact": set()}
    for subject in subjects:
        ref = RecordRef.of(subject)
        if ref.kind in ids:
            ids[ref.kind].add(ref.id)
    contact_account = _lookup(session, Contact.id, Contact.account_id, ids["contact"])
    account_owner = _lookup(session, Account.id, Account.owner_id, ids["account"] | set(contact_account.values()))
    opportunity_owner = _lookup(session, Opportunity.id, Opportunity.owner_id, ids["opportunity"])
    out: dict[str, str | None] = {}
    for subject in subjects:
        ref = RecordRef.of(subject)
        if ref.kind == "opportunity":
            out[subject] = opportunity_owner.get(ref.id)
        elif ref.kind == "account":
            out[subject] = account_owner.get(ref.id)
        elif ref.kind == "contact":
            out[subject] = account_owner.get(contact_account.get(ref.id))
    return out


def _lookup(session: Session, key, value, wanted: set) -> dict:
    wanted = sorted(w for w in wanted if w is not None)
    found: dict = {}
    for start in range(0, len(wanted), CHUNK):
        found.update((k, v) for k, v in session.execute(select(key, value).where(key.in_(wanted[start:start + CHUNK]))))
    return found

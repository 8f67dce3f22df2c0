"""Who may see which records: the owner, the owner's managers up the chain, and admins/RevOps.

This is the record-scoping rule every surface applies before data leaves the store (pages, CLI `--as`, agent
inputs, LLM prompts). One record (`require_*`) is decided by the Cedar policies in force (`permissions.decide`,
`access/cedar/records.cedar`, overridable). Lists and whole-book runs push the same rule into SQL as a set of owner
ids (`visible_owner_ids`, `*_filter`) so they stay cheap; a test checks the two agree on every (user, record)
pair of a real book.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from sellerloop.access.permissions import Decision, decide, decide_any, decide_each
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.records.models import Account, Contact, Opportunity, OpportunityContact, Transcript, User

SEES_EVERYTHING = {"admin", "revops"}


class AccessDenied(SellerloopError):
    exit_code = 2
    http_status = 403


def get_user(*, session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise BadInput(f"no user with id {user_id!r}")
    return user


def visible_owner_ids(*, session: Session, user: User | None) -> set[str] | None:
    """Owner ids whose records `user` may see; None means all records (no user given, admin, RevOps)."""
    if user is None or user.role in SEES_EVERYTHING:
        return None
    reports: dict[str | None, list[str]] = {}
    for user_id, manager_id in session.execute(select(User.id, User.manager_id)):
        reports.setdefault(manager_id, []).append(user_id)
    visible, frontier = {user.id}, [user.id]
    while frontier:  # everyone under the user, however deep the chain
        below = [r for manager in frontier for r in reports.get(manager, []) if r not in visible]
        visible.update(below)
        frontier = below
    return visible


def opportunity_filter(owners: set[str] | None):
    return True if owners is None else Opportunity.owner_id.in_(owners)


def account_filter(owners: set[str] | None):
    """An account is visible when its owner is, or when the user may see one of its opportunities."""
    if owners is None:
        return True
    return or_(Account.owner_id.in_(owners),
               exists().where(Opportunity.account_id == Account.id, Opportunity.owner_id.in_(owners)))


def require_account(*, session: Session, user: User | None, account_id: str, agent: str | None = None) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise BadInput(f"no account with id {account_id!r}")
    if user is None:
        return account
    decision = decide(principal=user, action="view", resource_kind="Account", owner_id=account.owner_id,
                      session=session, agent=agent)
    if not decision.allowed and not _is_error(decision):
        # As in `account_filter`: an account is visible to whoever may see one of its opportunities.
        deal_owners = sorted(session.scalars(select(Opportunity.owner_id)
                                             .where(Opportunity.account_id == account_id).distinct()),
                             key=lambda o: (o is None, o or ""))
        if deal_owners:
            decision = decide_any(principal=user, action="view", resource_kind="Opportunity",
                                  owner_ids=deal_owners, session=session, agent=agent)
    if not decision.allowed:
        raise AccessDenied(_denied(user, f"account {account_id!r}", decision))
    return account


def require_opportunity(*, session: Session, user: User | None, opportunity_id: str,
                        agent: str | None = None) -> Opportunity:
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise BadInput(f"no opportunity with id {opportunity_id!r}")
    if user is None:
        return opportunity
    decision = decide(principal=user, action="view", resource_kind="Opportunity", owner_id=opportunity.owner_id,
                      session=session, agent=agent)
    if not decision.allowed:
        raise AccessDenied(_denied(user, f"opportunity {opportunity_id!r}", decision))
    return opportunity


def visible_opportunity_ids(*, session: Session, user: User | None, opportunity_ids: Iterable[str]) -> set[str]:
    """The ids among `opportunity_ids` that `user` may see, as require_opportunity decides one, but with one query
    and one Cedar batch for them all: a list of a few hundred approvals asked one at a time cost 0.3 s. Ids of no
    opportunity are left out."""
    wanted = sorted(set(opportunity_ids))
    if not wanted:
        return set()
    # Whole rows, not two columns: the caller usually reads them next (from the session, without a query).
    owners = {o.id: o.owner_id for o in session.scalars(select(Opportunity).where(Opportunity.id.in_(wanted)))}
    if user is None:
        return set(owners)
    distinct = sorted(set(owners.values()), key=lambda o: (o is None, o or ""))
    allowed = {owner for owner, decision in zip(distinct, decide_each(
        principal=user, action="view", resource_kind="Opportunity", owner_ids=distinct, session=session))
        if decision.allowed}
    return {deal for deal, owner in owners.items() if owner in allowed}


def require_contact(*, session: Session, user: User | None, contact_id: str, agent: str | None = None) -> Contact:
    """A contact may be seen by whoever may see its account; one with no account (many deals' buyers have none) by
    whoever may see an opportunity it is on. One on neither only by those who see everything."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise BadInput(f"no contact with id {contact_id!r}")
    if user is None:
        return contact
    if contact.account_id:
        require_account(session=session, user=user, account_id=contact.account_id, agent=agent)
        return contact
    deal_owners = sorted(session.scalars(
        select(Opportunity.owner_id).join(OpportunityContact, OpportunityContact.opportunity_id == Opportunity.id)
        .where(OpportunityContact.contact_id == contact_id).distinct()), key=lambda o: (o is None, o or ""))
    if deal_owners:
        decision = decide_any(principal=user, action="view", resource_kind="Opportunity", owner_ids=deal_owners,
                              session=session, agent=agent)
    else:
        decision = decide(principal=user, action="view", resource_kind="Account", owner_id=None, session=session,
                          agent=agent)
    if not decision.allowed:
        raise AccessDenied(_denied(user, f"contact {contact_id!r}", decision))
    return contact


def require_transcript(*, session: Session, user: User | None, transcript_id: str,
                       agent: str | None = None) -> Transcript:
    """A call may be seen by whoever may see its opportunity, else its account; one tied to neither (an
    imported corpus) only by those who see everything. With `agent`, the agent running for `user` is asked
    about (Cedar's `Agent::` principal); without a user, nobody is asked: the local operator sees everything."""
    transcript = session.get(Transcript, transcript_id)
    if transcript is None:
        raise BadInput(f"no transcript with id {transcript_id!r}")
    if transcript.opportunity_id:
        require_opportunity(session=session, user=user, opportunity_id=transcript.opportunity_id, agent=agent)
    elif transcript.account_id:
        require_account(session=session, user=user, account_id=transcript.account_id, agent=agent)
    elif user is not None:
        decision = decide(principal=user, action="view", resource_kind="Transcript", owner_id=None,
                          session=session, agent=agent)
        if not decision.allowed:
            raise AccessDenied(_denied(user, f"transcript {transcript_id!r}", decision))
    return transcript


def _is_error(decision: Decision) -> bool:
    return decision.reason.startswith("policy error")


def _denied(user: User, what: str, decision: Decision) -> str:
    """The refusal as before; when the policies themselves failed, say so, so an operator can fix the file."""
    message = f"{user.name} may not see {what}"
    return f"{message} ({decision.reason})" if _is_error(decision) else message

"""Who may see which records: the owner, the owner's managers up the chain, and admins/RevOps.

This is the record-scoping rule every surface applies before data leaves the store (pages, CLI `--as`, agent
inputs, LLM prompts). Scoping is pushed into SQL as a set of owner ids so whole-book runs stay cheap.
"""
from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput, SellerloopError
from sellerloop.records.models import Account, Opportunity, Transcript, User

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


def require_account(*, session: Session, user: User | None, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise BadInput(f"no account with id {account_id!r}")
    owners = visible_owner_ids(session=session, user=user)
    if owners is not None and not session.scalar(select(exists().where(Account.id == account_id,
                                                                       account_filter(owners)))):
        raise AccessDenied(f"{user.name} may not see account {account_id!r}")
    return account


def require_opportunity(*, session: Session, user: User | None, opportunity_id: str) -> Opportunity:
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise BadInput(f"no opportunity with id {opportunity_id!r}")
    owners = visible_owner_ids(session=session, user=user)
    if owners is not None and opportunity.owner_id not in owners:
        raise AccessDenied(f"{user.name} may not see opportunity {opportunity_id!r}")
    return opportunity


def require_transcript(*, session: Session, user: User | None, transcript_id: str) -> Transcript:
    """A call may be seen by whoever may see its opportunity, else its account; one tied to neither (an
    imported corpus) only by those who see everything."""
    transcript = session.get(Transcript, transcript_id)
    if transcript is None:
        raise BadInput(f"no transcript with id {transcript_id!r}")
    if transcript.opportunity_id:
        require_opportunity(session=session, user=user, opportunity_id=transcript.opportunity_id)
    elif transcript.account_id:
        require_account(session=session, user=user, account_id=transcript.account_id)
    elif visible_owner_ids(session=session, user=user) is not None:
        raise AccessDenied(f"{user.name} may not see transcript {transcript_id!r}")
    return transcript

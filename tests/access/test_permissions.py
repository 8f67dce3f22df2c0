"""Record access through Cedar: on a real book (Maven: 35 sellers under 6 managers, plus an admin, a RevOps user,
a director above two managers and a seller with no manager), Cedar's decision for every user (and the agent
running for them) on every record and action equals the manager-chain rule computed here independently; the
SQL list filters agree with Cedar on every (user, record) pair; a team's override file changes decisions; a
broken file refuses everything with a one-line reason."""
from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import select

from sellerloop.access.permissions import CEDAR_POLICIES_ENV, SHIPPED_POLICIES, decide
from sellerloop.access.service import (
    AccessDenied,
    account_filter,
    opportunity_filter,
    require_account,
    require_opportunity,
    require_transcript,
    visible_opportunity_ids,
    visible_owner_ids,
)
from sellerloop.records.models import Account, Opportunity, Transcript, User
from sellerloop.store.db import create_store_engine, session_scope

MATRIX_PAIRS = 20_000
AGENT = "research"


@pytest.fixture(autouse=True)
def _shipped_policies_in_force(monkeypatch):
    monkeypatch.delenv(CEDAR_POLICIES_ENV, raising=False)


@pytest.fixture
def book(maven_copy):
    """A session on a copy of the Maven book with the roles Maven lacks: an admin, a RevOps user, a director
    two managers report to (a three-level chain) and a seller with no manager."""
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        managers = sorted(s.scalars(select(User).where(User.role == "manager")), key=lambda u: u.id)
        s.add_all([User(id="t-admin", name="Ada Admin", role="admin"),
                   User(id="t-revops", name="Rae RevOps", role="revops"),
                   User(id="t-director", name="Dee Director", role="manager"),
                   User(id="t-loner", name="Lou Loner", role="seller")])
        s.flush()
        for manager in managers[:2]:
            manager.manager_id = "t-director"
    with session_scope(engine) as s:
        yield s
    engine.dispose()


def chain_rule(users: dict[str, User]):
    """The rule written out independently of access.py and the policy file: admin/RevOps see everything; anyone
    else sees records whose owner is them or someone whose chain of managers reaches them."""
    def may_view(user: User, owner_id: str | None) -> bool:
        if user.role in ("admin", "revops"):
            return True
        seen = set()
        while owner_id is not None and owner_id not in seen:
            if owner_id == user.id:
                return True
            seen.add(owner_id)
            owner_id = users[owner_id].manager_id if owner_id in users else None
        return False
    return may_view


def test_cedar_decides_every_user_and_their_agent_on_every_record_exactly_as_the_manager_chain_rule(book):
    users = {u.id: u for u in book.scalars(select(User))}
    assert len(users) == 45 and sum(u.role == "manager" for u in users.values()) == 7
    records = [("Opportunity", o, owner) for o, owner in book.execute(select(Opportunity.id, Opportunity.owner_id))]
    records += [("Account", a, owner) for a, owner in book.execute(select(Account.id, Account.owner_id))]
    records += [("Transcript", "corpus-call", None)]  # a call tied to no record: admin/RevOps only
    pairs = [(u, r) for u in sorted(users) for r in records]
    sample = random.Random(5).sample(pairs, MATRIX_PAIRS)
    may_view = chain_rule(users)

    decisions, leaks, refusals_wrong = 0, [], []
    started = time.perf_counter()
    for user_id, (kind, record_id, owner_id) in sample:
        user, expected_view = users[user_id], may_view(users[user_id], owner_id)
        for action in ("view", "approve"):
            for agent in (None, AGENT):
                expected = expected_view and not (agent and action == "approve")  # agents never approve
                got = decide(principal=user, action=action, resource_kind=kind, owner_id=owner_id, session=book,
                             agent=agent)
                decisions += 1
                if got.allowed and not expected:
                    leaks.append((user_id, agent, action, kind, record_id, got.reason))
                elif expected and not got.allowed:
                    refusals_wrong.append((user_id, agent, action, kind, record_id, got.reason))
    elapsed = time.perf_counter() - started
    print(f"\n{decisions} Cedar decisions over {len(sample)} (user, record) pairs of {len(pairs)}: "
          f"{len(leaks)} leaks, {len(refusals_wrong)} wrong refusals, {decisions / elapsed:,.0f} decisions/s")
    assert leaks == [] and refusals_wrong == []
    assert decisions == 4 * MATRIX_PAIRS


def test_the_sql_list_filters_show_exactly_what_cedar_allows_for_every_user_and_record(book):
    """The guard that lists and whole-book runs never show what a single-record check would refuse (nor hide
    what it allows): every user × every opportunity and account, Cedar through require_* against the filters."""
    users = sorted(book.scalars(select(User)), key=lambda u: u.id)
    opportunities = list(book.execute(select(Opportunity.id, Opportunity.owner_id)))
    account_ids = list(book.scalars(select(Account.id)))
    compared, disagreements = 0, []
    for user in users:
        owners = visible_owner_ids(session=book, user=user)
        listed_deals = set(book.scalars(select(Opportunity.id).where(opportunity_filter(owners))))
        listed_accounts = set(book.scalars(select(Account.id).where(account_filter(owners))))
        # The batch check (an approvals list) decides the same as the filter, and so as require_opportunity.
        assert visible_opportunity_ids(session=book, user=user,
                                       opportunity_ids=[d for d, _ in opportunities]) == listed_deals
        # An opportunity's decision depends only on (user, owner): decide once per owner, apply to each deal,
        # and check one real require_opportunity per owner too.
        by_owner: dict[str | None, bool] = {}
        for deal_id, owner_id in opportunities:
            if owner_id not in by_owner:
                by_owner[owner_id] = _allowed(require_opportunity, session=book, user=user, opportunity_id=deal_id)
            if by_owner[owner_id] != (deal_id in listed_deals):
                disagreements.append((user.id, "opportunity", deal_id))
            compared += 1
        for account_id in account_ids:
            if _allowed(require_account, session=book, user=user, account_id=account_id) \
                    != (account_id in listed_accounts):
                disagreements.append((user.id, "account", account_id))
            compared += 1
    print(f"\n{compared} (user, record) pairs compared: {len(disagreements)} disagreements")
    assert disagreements == []
    assert compared == len(users) * (len(opportunities) + len(account_ids))


def _allowed(require, **kwargs) -> bool:
    try:
        require(**kwargs)
        return True
    except AccessDenied:
        return False


def test_an_account_stays_visible_to_a_seller_who_may_see_one_of_its_opportunities(book):
    account_id, deal_owner = book.execute(
        select(Account.id, Opportunity.owner_id).join(Opportunity, Opportunity.account_id == Account.id)
        .where(Account.owner_id != Opportunity.owner_id).order_by(Account.id, Opportunity.owner_id)).first()
    seller = book.get(User, deal_owner)
    account = book.get(Account, account_id)
    assert not decide(principal=seller, action="view", resource_kind="Account", owner_id=account.owner_id,
                      session=book).allowed
    assert require_account(session=book, user=seller, account_id=account_id) is account


def test_a_seller_may_not_see_a_peers_deal_and_the_message_is_unchanged(book):
    seller = book.get(User, "t-loner")
    deal = book.scalars(select(Opportunity).order_by(Opportunity.id)).first()
    with pytest.raises(AccessDenied, match=rf"^Lou Loner may not see opportunity '{deal.id}'$"):
        require_opportunity(session=book, user=seller, opportunity_id=deal.id)
    assert require_opportunity(session=book, user=book.get(User, "t-revops"), opportunity_id=deal.id) is deal
    assert require_opportunity(session=book, user=None, opportunity_id=deal.id) is deal


def test_a_call_tied_to_no_record_is_seen_only_by_admin_and_revops(book):
    book.add(Transcript(id="t-call", title="imported call", source_format="text"))
    book.flush()
    for user_id, may in (("t-admin", True), ("t-revops", True), ("t-director", False), ("t-loner", False)):
        assert _allowed(require_transcript, session=book, user=book.get(User, user_id),
                        transcript_id="t-call") is may


def test_a_director_sees_the_deals_of_sellers_two_levels_down_and_their_agent_too_but_never_approves_as_agent(book):
    director = book.get(User, "t-director")
    manager = book.scalars(select(User).where(User.manager_id == "t-director").order_by(User.id)).first()
    seller = book.scalars(select(User).where(User.manager_id == manager.id).order_by(User.id)).first()
    ask = {"resource_kind": "Opportunity", "owner_id": seller.id, "session": book}
    assert decide(principal=director, action="view", **ask).allowed
    assert decide(principal=director, action="approve", **ask).allowed
    assert decide(principal=director, action="view", agent="prep", **ask).allowed
    refused = decide(principal=director, action="approve", agent="prep", **ask)
    assert not refused.allowed and refused.reason == "forbidden by agents-never-approve"
    assert not decide(principal=seller, action="view", resource_kind="Opportunity", owner_id=director.id,
                      session=book).allowed
    assert not decide(principal=None, action="view", agent="prep", **ask).allowed  # an agent acting for nobody


def test_a_teams_override_file_changes_decisions(book, tmp_path, monkeypatch):
    manager = book.scalars(select(User).where(User.role == "manager", User.id != "t-director")
                           .order_by(User.id)).first()
    seller = book.scalars(select(User).where(User.manager_id == manager.id).order_by(User.id)).first()
    ask = {"principal": manager, "resource_kind": "Opportunity", "owner_id": seller.id, "session": book}
    assert decide(action="approve", **ask).allowed

    override = tmp_path / "ours.cedar"
    override.write_text(SHIPPED_POLICIES.read_text(encoding="utf-8") + """
// Our team: managers review but do not approve.
@id("managers-do-not-approve")
forbid (principal is User, action == Action::"approve", resource) when { principal.role == "manager" };
""", encoding="utf-8")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(override))
    refused = decide(action="approve", **ask)
    assert not refused.allowed and refused.reason == "forbidden by managers-do-not-approve"
    assert decide(action="view", **ask).allowed
    assert decide(principal=book.get(User, "t-admin"), action="approve", resource_kind="Opportunity",
                  owner_id=seller.id, session=book).allowed


def test_a_broken_policy_file_refuses_everything_with_a_one_line_reason(book, tmp_path, monkeypatch):
    broken = tmp_path / "broken.cedar"
    broken.write_text('permit (principal, action, resource) when { principal.role == "admin" ;\n',
                      encoding="utf-8")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(broken))
    admin = book.get(User, "t-admin")
    decision = decide(principal=admin, action="view", resource_kind="Account", owner_id=None, session=book)
    assert not decision.allowed
    assert decision.reason.startswith(f"policy error: {broken}: ") and "\n" not in decision.reason
    deal = book.scalars(select(Opportunity).order_by(Opportunity.id)).first()
    with pytest.raises(AccessDenied, match="may not see opportunity .* \\(policy error: .*broken.cedar"):
        require_opportunity(session=book, user=admin, opportunity_id=deal.id)

    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(tmp_path / "missing.cedar"))
    missing = decide(principal=admin, action="view", resource_kind="Account", owner_id=None, session=book)
    assert not missing.allowed and "missing.cedar" in missing.reason and "\n" not in missing.reason


def test_a_user_added_in_the_session_is_decided_with_their_manager(book):
    manager = book.scalars(select(User).where(User.role == "manager").order_by(User.id)).first()
    assert not decide(principal=manager, action="view", resource_kind="Opportunity", owner_id="t-new",
                      session=book).allowed
    book.add(User(id="t-new", name="Nia New", role="seller", manager_id=manager.id))
    book.flush()
    assert decide(principal=manager, action="view", resource_kind="Opportunity", owner_id="t-new",
                  session=book).allowed

"""Sensitive fields (access/fields.py): the policy names them, Cedar says who sees them, loading masks them.

The whole roles × records × fields × surfaces walk is tests/security/test_field_matrix.py; these are the rules one
at a time: the shipped default, a field a policy may not list, a team's Cedar override that keeps a field from
every agent, masking that never writes back, and one session for one person.
"""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select, update

from sellerloop.access.fields import bind_viewer, is_masked
from sellerloop.access.permissions import CEDAR_POLICIES_ENV, SHIPPED_POLICIES
from sellerloop.access.service import AccessDenied
from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import approve, get_approval, list_approvals, propose
from sellerloop.policy.service import DEFAULT_POLICY_FILE, check_policy, policy_in_force
from sellerloop.records.models import Account, Contact, Opportunity, User
from sellerloop.store.db import session_scope

PHONE = "+1 (555) 010-4242"


@pytest.fixture(autouse=True)
def _shipped_policies_in_force(monkeypatch):
    monkeypatch.delenv(CEDAR_POLICIES_ENV, raising=False)
    monkeypatch.delenv("SELLERLOOP_POLICY", raising=False)


@pytest.fixture
def engine(maven_copy_engine):
    """The Maven book, an admin, and a contact with a direct line at an account a seller sees only through a deal."""
    engine = maven_copy_engine
    with session_scope(engine) as s:
        s.add(User(id="t-admin", name="Ada Admin", role="admin"))
        deal = s.scalars(select(Opportunity).join(Account, Account.id == Opportunity.account_id)
                         .where(Account.owner_id != Opportunity.owner_id).order_by(Opportunity.id)).first()
        manager = s.get(User, deal.owner_id).manager_id
        account_owner = s.get(Account, deal.account_id).owner_id
        assert s.get(User, account_owner).manager_id != deal.owner_id and account_owner != manager
        s.add(Contact(id="t-cfo", account_id=deal.account_id, name="Casey Chief", title="CFO", phone=PHONE))
    engine.info = {"seller": deal.owner_id, "account": deal.account_id, "account_owner": account_owner}
    return engine


def test_the_shipped_policy_marks_contact_phones_sensitive():
    assert policy_in_force().sensitive_fields == ("Contact.phone",)


def test_a_policy_listing_a_field_that_cannot_be_masked_is_refused_naming_it(tmp_path):
    data = yaml.safe_load(DEFAULT_POLICY_FILE.read_text()) | {"sensitive_fields": ["Contact.phone", "Account.name"]}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = check_policy(path, current=path)
    assert not result.valid
    (refusal,) = result.refusals
    assert refusal.path == "sensitive_fields.1"
    assert refusal.line == path.read_text().splitlines().index("- Account.name") + 1
    assert "Contact.title" in refusal.reason  # the reason lists what may be listed


def test_a_seller_who_sees_an_account_through_a_deal_gets_its_contacts_phone_masked_and_the_owner_does_not(engine):
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, engine.info["seller"]))
        contact = s.get(Contact, "t-cfo")
        assert contact.phone is None and is_masked(contact, "phone") and contact.title == "CFO"
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, engine.info["account_owner"]))
        assert s.get(Contact, "t-cfo").phone == PHONE


def test_masking_never_writes_back_even_when_the_session_changes_the_record_and_commits(engine):
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, engine.info["seller"]))
        contact = s.get(Contact, "t-cfo")
        assert contact.phone is None
        contact.title = "Chief Financial Officer"  # a real change, flushed and committed with the masked object
    with session_scope(engine) as s:
        contact = s.get(Contact, "t-cfo")
        assert (contact.phone, contact.title) == (PHONE, "Chief Financial Officer")


def test_a_bulk_update_of_loaded_records_keeps_them_masked_and_does_not_fail(engine):
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, engine.info["seller"]))
        contact = s.get(Contact, "t-cfo")
        s.execute(update(Contact).where(Contact.id == "t-cfo").values(title="Finance chief"))
        assert contact.title == "Finance chief" and contact.phone is None
    with session_scope(engine) as s:
        assert s.get(Contact, "t-cfo").phone == PHONE


def test_binding_masks_what_the_session_had_already_loaded(engine):
    with session_scope(engine) as s:
        contact = s.get(Contact, "t-cfo")
        assert contact.phone == PHONE  # the operator's session: nothing masked
        bind_viewer(s, user=s.get(User, engine.info["seller"]))
        assert contact.phone is None and is_masked(contact, "phone")


def test_a_session_serves_one_person(engine):
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, engine.info["seller"]))
        with pytest.raises(ValueError, match="one person"):
            bind_viewer(s, user=s.get(User, "t-admin"))


def test_an_agent_running_for_nobody_sees_no_sensitive_field_while_the_operator_does(engine):
    with session_scope(engine) as s:
        bind_viewer(s, user=None, agents=("research",))
        assert s.get(Contact, "t-cfo").phone is None
    with session_scope(engine) as s:
        assert bind_viewer(s, user=None) is None and s.get(Contact, "t-cfo").phone == PHONE


def test_a_teams_cedar_override_can_keep_a_field_from_every_agent_even_an_admins(engine, tmp_path, monkeypatch):
    team = tmp_path / "team.cedar"
    team.write_text(SHIPPED_POLICIES.read_text() + """
@id("no-agent-reads-phones")
forbid (principal is Agent, action == Action::"view_sensitive", resource)
when { context.field == "Contact.phone" };
""")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(team))
    seen = []

    class Recorder:
        name = "recorder"

        def compose(self, brief):
            seen.append(brief.model_dump_json())
            return []

    with session_scope(engine) as s:  # the admin sees the phone on the record...
        bind_viewer(s, user=s.get(User, "t-admin"))
        assert s.get(Contact, "t-cfo").phone == PHONE
    with session_scope(engine) as s:  # ...but the agent running for the admin is never given it
        run_agent(session=s, use_case="research", subject=Subject(type="account", id=engine.info["account"]),
                  acting_user_id="t-admin", composer=Recorder())
        assert s.get(Contact, "t-cfo").phone is None
    assert seen and "Casey Chief" in seen[0] and "555" not in seen[0]


def test_an_approval_to_change_a_field_someone_may_not_see_shows_them_hidden_values_and_they_cannot_approve_it(
        engine, tmp_path, monkeypatch):
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
                                     | {"sensitive_fields": ["Contact.phone", "Contact.title"]}))
    monkeypatch.setenv("SELLERLOOP_POLICY", str(policy))
    seller, owner = engine.info["seller"], engine.info["account_owner"]
    with session_scope(engine) as s:
        approval = propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"account:{engine.info['account']}", action="update_field",
            payload={"object": "contact", "record_id": "t-cfo", "field": "title", "old": "CFO",
                     "new": "Chief Financial Officer"}, reason="The signature says so."))
    with session_scope(engine) as s:
        (seen,) = list_approvals(session=s, user_id=seller)
        assert (seen.payload["old"], seen.payload["new"]) == ("(hidden)", "(hidden)")
        shown = get_approval(session=s, approval_id=approval.id, user_id=owner)
        assert (shown.payload["old"], shown.payload["new"]) == ("CFO", "Chief Financial Officer")
    # Even where a team lets everyone approve what they see, nobody approves a change they may not read.
    team = tmp_path / "team.cedar"
    team.write_text(SHIPPED_POLICIES.read_text() + """
@id("everyone-approves-what-they-see")
permit (principal is User, action == Action::"approve", resource);
""")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(team))
    with session_scope(engine) as s, pytest.raises(AccessDenied, match="may not see the field 'title'"):
        approve(session=s, approval_id=approval.id, user_id=seller)
    with session_scope(engine) as s:
        assert approve(session=s, approval_id=approval.id, user_id=owner).state.value == "approved"

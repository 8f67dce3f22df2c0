"""Deals without an account: most of the demo's open deals have none, and neither do their contacts. A contact with
no account is visible to whoever may see an opportunity it is on, so the agents answer on those deals for the
owner, the managers above and admins, and still refuse everyone else."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sellerloop.access.service import AccessDenied
from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.auth.service import add_user
from sellerloop.records.models import OPEN_STAGES, Contact, Opportunity, OpportunityContact, User
from sellerloop.store.db import create_store_engine, session_scope

DEAL_AGENTS = ("prep", "next-action", "follow-up", "hygiene")


@pytest.fixture
def accountless(maven_copy):
    """A writable demo book, an open deal with no account whose contacts have none, its owner, the owner's
    manager, an admin and a seller of another team."""
    from sellerloop.config import get_settings
    from sellerloop.sample.layer import build_sample_layer

    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        build_sample_layer(session=s, seed=get_settings().sample_seed)
    with session_scope(engine) as s:
        deal = s.scalars(select(Opportunity).join(OpportunityContact).join(Contact).where(
            Opportunity.account_id.is_(None), Opportunity.stage.in_(OPEN_STAGES), Contact.account_id.is_(None))
            .order_by(Opportunity.id)).first()
        owner = s.get(User, deal.owner_id)
        stranger = s.scalars(select(User).where(User.role == "seller", User.manager_id != owner.manager_id)
                             .order_by(User.id)).first()
        add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin")
        people = {"owner": owner.id, "manager": owner.manager_id, "admin": "t-admin", "stranger": stranger.id}
        deal_id = deal.id
    yield engine, deal_id, people
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("use_case", DEAL_AGENTS)
def test_the_deal_agents_answer_on_a_deal_without_an_account_for_those_who_may_see_it(accountless, use_case):
    engine, deal_id, people = accountless
    for who in ("owner", "manager", "admin"):
        with session_scope(engine) as s:
            run = run_agent(session=s, use_case=use_case, subject=Subject(type="opportunity", id=deal_id),
                            acting_user_id=people[who])
        assert run.subject.id == deal_id, who
    with session_scope(engine) as s, pytest.raises(AccessDenied):
        run_agent(session=s, use_case=use_case, subject=Subject(type="opportunity", id=deal_id),
                  acting_user_id=people["stranger"])


def test_a_contact_without_an_account_is_cited_only_to_who_may_see_one_of_its_deals(accountless):
    from sellerloop.access.fields import bind_viewer
    from sellerloop.evidence.sources import resolve_source

    engine, deal_id, people = accountless
    with session_scope(engine) as s:
        contact = s.scalars(select(OpportunityContact.contact_id).where(
            OpportunityContact.opportunity_id == deal_id).order_by(OpportunityContact.contact_id)).first()
    uri = f"contact:{contact}/field/role_in_deal"
    with session_scope(engine) as s:
        bind_viewer(s, user=s.get(User, people["owner"]))
        assert resolve_source(session=s, uri=uri).record_id == contact
    with session_scope(engine) as s, pytest.raises(AccessDenied):
        bind_viewer(s, user=s.get(User, people["stranger"]))
        resolve_source(session=s, uri=uri)

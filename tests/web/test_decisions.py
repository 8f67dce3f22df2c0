"""Deciding in place over real HTTP: a recommendation taken up as an edited task, a rejection with its reason,
undo, the inboxes, and the refusals (tampered offers, another team's deal, no reason), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest
from sqlalchemy import select

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.models import ApprovalRow, Proposal
from sellerloop.approvals.service import propose
from sellerloop.auth.service import add_user, create_token
from sellerloop.executor.models import Execution
from sellerloop.records.models import Opportunity, Task, User
from sellerloop.store.db import create_store_engine, session_scope
from tests.web.conftest import serve

HX = {"HX-Request": "true"}


def _deal_with_recommendations(session, seller_id: str) -> str:
    """One of the seller's open deals on which next-action recommends at least two things."""
    deals = session.scalars(select(Opportunity.id).where(Opportunity.owner_id == seller_id,
                                                         Opportunity.stage.in_(("Engaging", "Prospecting")))
                            .order_by(Opportunity.id)).all()
    for deal_id in deals:
        run = run_agent(session=session, use_case="next-action", subject=Subject(type="opportunity", id=deal_id))
        if sum(i.kind == "recommendation" for i in run.items) >= 2:
            return deal_id
    raise AssertionError(f"no open deal of {seller_id} with two recommendations")


@pytest.fixture
def site(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        seller = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                           .order_by(User.id)).first()
        team = select(User.id).where(User.manager_id == seller.manager_id)
        foreign = s.scalars(select(Opportunity.id).where(Opportunity.owner_id.not_in(team),
                                                         Opportunity.stage == "Engaging")
                            .order_by(Opportunity.id)).first()
        add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin", password="correct horse battery")
        ids = {"seller": seller.id, "manager": seller.manager_id, "foreign": foreign,
               "deal": _deal_with_recommendations(s, seller.id),
               "seller_token": create_token(session=s, user_id=seller.id, name="t"),
               "manager_token": create_token(session=s, user_id=seller.manager_id, name="t"),
               "admin_token": create_token(session=s, user_id="t-admin", name="t")}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def _client(site, who: str) -> httpx.Client:
    return httpx.Client(base_url=site.base_url, headers={"Authorization": f"Bearer {site.ids[who + '_token']}"},
                        follow_redirects=False, timeout=60)


def _offers(client: httpx.Client, deal_id: str) -> list[dict]:
    """Each decision block of the next-action panel: its dom id, sealed offer, task subject and status."""
    panel = client.get(f"/opportunities/{deal_id}/panels/next-action", headers=HX)
    assert panel.status_code == 200, panel.text
    blocks = re.findall(r'<div class="decision[^"]*" id="([^"]+)".*?(?=<div class="decision|</ul>)', panel.text, re.S)
    out = []
    for dom_id in blocks:
        block = panel.text[panel.text.index(f'id="{dom_id}"'):]
        block = block[:block.index("</div>\n  </li>") if "</div>\n  </li>" in block else len(block)]
        token = re.search(r'name="offer" value="([^"]+)"', block)
        subject = re.search(r'name="edit_subject"[^>]*value="([^"]*)"', block)
        status = re.search(r'class="badge state">([^<]+)<', block)
        out.append({"dom_id": dom_id, "offer": token.group(1) if token else None,
                    "subject": subject.group(1) if subject else None, "status": status.group(1) if status else None})
    return out


def test_a_seller_approves_a_recommendation_as_an_edited_task_and_the_task_is_on_the_deal(site):
    deal = site.ids["deal"]
    with _client(site, "seller") as client:
        first = _offers(client, deal)[0]
        assert first["offer"] and first["subject"]
        due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
        answer = client.post("/decisions", headers=HX, data={
            "offer": first["offer"], "decision": "approve", "dom_id": first["dom_id"],
            "edit_subject": "Call the buyer about the stalled decision", "edit_due_date": due})
        assert answer.status_code == 200, answer.text
        assert "approved with edits by " + site.ids["seller"] in answer.text
        assert "Task created: Call the buyer about the stalled decision" in answer.text
        page = client.get(f"/opportunities/{deal}").text
        tasks = page[page.index('id="tasks"'):page.index('id="contacts"')]
        assert "Call the buyer about the stalled decision" in tasks and due in tasks
        # The panel now says what became of it, with no form to decide again.
        again = next(o for o in _offers(client, deal) if o["dom_id"] == first["dom_id"])
        assert again["offer"] is None and again["status"].startswith("approved with edits")
    with session_scope(site.engine) as s:
        task = s.scalars(select(Task).where(Task.opportunity_id == deal,
                                            Task.subject == "Call the buyer about the stalled decision")).one()
        assert task.owner_id == site.ids["seller"] and task.due_date.isoformat() == due
        row = s.scalars(select(ApprovalRow).where(ApprovalRow.subject == f"opportunity:{deal}")).one()
        assert row.state == "executed" and row.approval["proposal"]["level"] in ("L1", "L2", "L3")


def test_a_rejection_needs_a_reason_and_then_stays_rejected_with_it(site):
    deal = site.ids["deal"]
    with _client(site, "seller") as client:
        second = _offers(client, deal)[1]
        refused = client.post("/decisions", headers=HX, data={"offer": second["offer"], "decision": "reject",
                                                                "dom_id": second["dom_id"], "reason": "  "})
        assert refused.status_code == 400 and "say why you reject it" in refused.text
        assert 'name="offer"' in refused.text  # the form comes back, to try again
        done = client.post("/decisions", headers=HX, data={"offer": second["offer"], "decision": "reject",
                                                             "dom_id": second["dom_id"],
                                                             "reason": "we met them last week"})
        assert done.status_code == 200 and "rejected by" in done.text and "we met them last week" in done.text
        shown = next(o for o in _offers(client, deal) if o["dom_id"] == second["dom_id"])
        assert shown["offer"] is None and "we met them last week" in shown["status"]
        twice = client.post("/decisions", headers=HX, data={"offer": second["offer"], "decision": "approve",
                                                              "dom_id": second["dom_id"]})
        assert twice.status_code == 409 and "decided already" in twice.text
    with session_scope(site.engine) as s:
        assert s.scalar(select(Task.id).where(Task.opportunity_id == deal, Task.synthetic.is_(False))) is None


def test_undo_removes_the_task_it_created(site):
    deal = site.ids["deal"]
    with _client(site, "seller") as client:
        first = _offers(client, deal)[0]
        client.post("/decisions", headers=HX, data={"offer": first["offer"], "decision": "approve",
                                                    "dom_id": first["dom_id"]})
        with session_scope(site.engine) as s:
            execution = s.scalars(select(Execution)).one()
            assert s.get(Task, execution.diff["created"]["id"]) is not None
        undone = client.post(f"/executions/{execution.id}/undo", headers=HX, data={"dom_id": first["dom_id"]})
        assert undone.status_code == 200 and "undone" in undone.text
    with session_scope(site.engine) as s:
        assert s.get(Task, execution.diff["created"]["id"]) is None
        assert s.get(Execution, execution.id).status == "rolled_back"


def test_it_refuses_an_altered_offer_and_a_deal_of_another_team(site):
    with _client(site, "seller") as seller, _client(site, "admin") as admin:
        offer = _offers(seller, site.ids["deal"])[0]["offer"]
        altered = seller.post("/decisions", headers=HX, data={"offer": offer[:-4] + "AAAA", "decision": "approve"})
        assert altered.status_code == 400 and "altered" in altered.text
        assert seller.get(f"/opportunities/{site.ids['foreign']}/panels/next-action", headers=HX).status_code == 403
        # An offer for another team's deal, sealed for someone who may see it, does not let the seller decide.
        foreign = next((o["offer"] for o in _offers(admin, site.ids["foreign"]) if o["offer"]), None)
        if foreign is None:  # that deal has nothing to recommend: seal one by hand, as the server would
            from sellerloop.approvals.drafts import seal
            foreign = seal(Proposal(use_case="next-action", subject=f"opportunity:{site.ids['foreign']}",
                                    action="create_task", reason="r", payload={
                                        "subject": "x", "due_date": "2030-01-01"}), secret="test-secret")
        refused = seller.post("/decisions", headers=HX, data={"offer": foreign, "decision": "approve"})
        assert refused.status_code == 403 and "may not" in refused.text
    with session_scope(site.engine) as s:
        assert s.scalar(select(ApprovalRow.id)) is None  # nothing half-written by the refusals


def test_without_javascript_a_decision_redirects_back_to_the_record(site):
    deal = site.ids["deal"]
    with _client(site, "seller") as client:
        first = _offers(client, deal)[0]
        answer = client.post("/decisions", data={"offer": first["offer"], "decision": "approve",
                                                  "dom_id": first["dom_id"], "back": f"/opportunities/{deal}"})
        assert answer.status_code == 303 and answer.headers["location"] == f"/opportunities/{deal}#{first['dom_id']}"
        assert "offsite" not in client.post("/decisions", data={
            "offer": _offers(client, deal)[1]["offer"], "decision": "reject", "reason": "no",
            "back": "//offsite.example/x"}).headers["location"]


def test_the_panel_shows_the_cap_on_recommendations(site):
    with _client(site, "seller") as client:
        panel = client.get(f"/opportunities/{site.ids['deal']}/panels/next-action", headers=HX).text
        shown = len(re.findall(r'data-kind="recommendation"', panel))
        assert f"{shown} of 3 shown" in panel


def _pending(site, deal_id: str, subject: str) -> str:
    with session_scope(site.engine) as s:
        return propose(session=s, by="agent:next-action", proposal=Proposal(
            use_case="next-action", subject=f"opportunity:{deal_id}", action="create_task", level="L4",
            reason="Stalled for 105 days in Engaging.", payload={"subject": subject, "due_date": "2030-01-15",
                                                                 "opportunity_id": deal_id})).id


def test_pending_approvals_wait_in_the_owners_inbox_and_the_managers_team_inbox(site):
    approval_id = _pending(site, site.ids["deal"], "Send the mutual action plan")
    with _client(site, "seller") as seller, _client(site, "manager") as manager:
        mine = seller.get("/inbox")
        assert mine.status_code == 200 and "Send the mutual action plan" in mine.text
        assert "Send the mutual action plan" not in manager.get("/inbox").text  # not the manager's own record
        team = manager.get("/inbox/team")
        assert team.status_code == 200 and "Send the mutual action plan" in team.text
        assert f"owner {site.ids['seller']}" in team.text
        assert seller.get("/inbox/team").status_code == 403  # a seller has no team inbox: not allowed, not bad input
        decided = manager.post("/decisions", headers=HX, data={"approval": approval_id, "decision": "approve",
                                                              "dom_id": "approval-1"})
        assert decided.status_code == 200 and "Task created: Send the mutual action plan" in decided.text
        assert "Send the mutual action plan" not in seller.get("/inbox").text


def test_a_seller_of_another_team_cannot_see_or_decide_on_an_approval(site):
    approval_id = _pending(site, site.ids["foreign"], "Call their CFO")
    with _client(site, "seller") as seller:
        assert "Call their CFO" not in seller.get("/inbox").text
        refused = seller.post("/decisions", headers=HX, data={"approval": approval_id, "decision": "approve"})
        assert refused.status_code == 403
    with session_scope(site.engine) as s:
        assert s.get(ApprovalRow, approval_id).state == "proposed"


@pytest.fixture
def call_site(maven_copy):
    """The Maven book plus the web tests' hand-made call (tests/web/conftest.seed_records), served signed in."""
    from tests.web.conftest import seed_records

    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        ids = seed_records(session=s)
        owner = s.get(User, s.get(Opportunity, ids["opportunity"]).owner_id)
        ids |= {"owner": owner.id, "owner_token": create_token(session=s, user_id=owner.id, name="t"),
                "manager": owner.manager_id,
                "manager_token": create_token(session=s, user_id=owner.manager_id, name="t")}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def test_an_email_draft_is_edited_before_approval_and_then_waits_for_a_connector(call_site):
    with _client(call_site, "owner") as client:
        panel = client.get(f"/transcripts/{call_site.ids['timed_transcript']}/panels/follow-up", headers=HX).text
        block = panel[panel.index('data-action="send_email"'):]
        assert 'name="edit_body"' in block and "<label" in block
        offer = re.search(r'name="offer" value="([^"]+)"', block).group(1)
        decision = {"offer": offer, "decision": "approve", "dom_id": "offer-follow-up-1",
                    "edit_subject": "Thanks, Ben: next steps", "edit_body": "Hi Ben,\n\nThanks for the call.\n"}
        own = client.post("/decisions", headers=HX, data=decision)
        assert own.status_code == 403 and "high risk" in own.text  # the seller may not send it on his own say
    with _client(call_site, "manager") as client:
        answer = client.post("/decisions", headers=HX, data=decision)
        assert answer.status_code == 200
        assert "approved with edits" in answer.text and "needs a connector" in answer.text
    with session_scope(call_site.engine) as s:
        row = s.scalars(select(ApprovalRow).where(ApprovalRow.action == "send_email")).one()
        assert row.state == "approved_with_edits"
        edited = row.approval["history"][-1]["payload"]
        assert edited["subject"] == "Thanks, Ben: next steps" and edited["body"] == "Hi Ben,\n\nThanks for the call."
        assert edited["to"] == ["ben.ortiz@cancity.example"]  # recipients are not the approver's to change


def test_a_field_change_shows_old_and_new_side_by_side_and_the_edited_value_is_written(call_site):
    deal = call_site.ids["opportunity"]
    with session_scope(call_site.engine) as s:
        approval_id = propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"opportunity:{deal}", action="update_field", level="L4",
            reason="Next step agreed on the call.", payload={
                "object": "opportunity", "record_id": deal, "field": "next_step",
                "old": "Send the security questionnaire answers before Friday's review.",
                "new": "Share SOC 2 report with IT"})).id
    with _client(call_site, "manager") as client:  # at L4 the policy's approvers decide
        inbox = client.get("/inbox/team").text
        table = inbox[inbox.index('<table class="diff-table">'):inbox.index("</table>")]
        assert re.search(r"<del>Send the security questionnaire answers before Friday&#39;s review.</del>.*"
                         r"<ins>Share SOC 2 report with IT</ins>", table, re.S)
        answer = client.post("/decisions", headers=HX, data={"approval": approval_id, "decision": "approve",
                                                              "dom_id": "approval-1",
                                                              "edit_new": "Share the SOC 2 report with Dana"})
        assert answer.status_code == 200 and "is now" in answer.text
        assert answer.headers["HX-Trigger"] == "records-changed"
    with session_scope(call_site.engine) as s:
        assert s.get(Opportunity, deal).next_step == "Share the SOC 2 report with Dana"


def test_an_email_draft_approved_through_the_form_unchanged_is_not_counted_as_edited(call_site):
    with _client(call_site, "owner") as client:
        panel = client.get(f"/transcripts/{call_site.ids['timed_transcript']}/panels/follow-up", headers=HX).text
    block = panel[panel.index('data-action="send_email"'):]
    offer = re.search(r'name="offer" value="([^"]+)"', block).group(1)
    subject = html.unescape(re.search(r'name="edit_subject"[^>]*value="([^"]*)"', block).group(1))
    body = html.unescape(re.search(r'<textarea[^>]*name="edit_body"[^>]*>(.*?)</textarea>', block, re.S).group(1))
    # What a browser sends back for a textarea: LF line endings, whatever the draft had.
    form = {"offer": offer, "decision": "approve", "dom_id": "offer-follow-up-1", "edit_subject": subject,
            "edit_body": body.replace("\r\n", "\n")}
    with _client(call_site, "manager") as client:
        answer = client.post("/decisions", headers=HX, data=form)
    assert answer.status_code == 200, answer.text
    with session_scope(call_site.engine) as s:
        row = s.scalars(select(ApprovalRow).where(ApprovalRow.action == "send_email")).one()
        assert row.state == "approved"

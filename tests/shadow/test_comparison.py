"""What a shadow action is compared with: a person's decision on the same ask, else what a person did on the deal
in the window after it, else pending (never agreement). On a constructed history (tests/shadow/conftest.py)."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.approvals.drafts import offer_for
from sellerloop.approvals.service import approve, propose, reject
from sellerloop.executor.service import execute
from sellerloop.policy.service import load_policy
from sellerloop.records.models import FieldChange, Task
from sellerloop.shadow.service import compare, moment, record_run
from sellerloop.store.db import session_scope
from tests.shadow.conftest import DAY, at, counts, shadow_actions, team_policy

AS_OF = moment(DAY)
OVER = dt.date(2017, 12, 31)  # the book's today: a 28-day window from DAY is over


@pytest.fixture
def policy(tmp_path, monkeypatch):
    path = team_policy(tmp_path, monkeypatch, replace={
        "  next-action: L2": "  next-action: {default: L2, shadow: true}",
        "  follow-up: L3": "  follow-up: {default: L3, shadow: true}",
        "  hygiene: L3": "  hygiene: {default: L3, shadow: true}"})
    return load_policy(path)


def _run(use_case: str, deal: str, *items: Item, level: str) -> AgentRun:
    placement = {"L2": "shown", "L3": "draft"}[level]
    return AgentRun(use_case=use_case, subject=Subject(type="opportunity", id=deal), autonomy_level=level,
                    placement=placement, items=list(items))


def close_date(new: str, old: str = "2018-02-28") -> Item:
    return Item(kind="field_change", text=f"Close date: {old} → {new}", field="close_date", old=old, new=new,
                action="update_field")


def next_step(new: str) -> Item:
    return Item(kind="field_change", text=f"Next step: — → {new}", field="next_step", old="", new=new,
                action="update_field")


def recommendation(action: str, label: str) -> Item:
    return Item(kind="recommendation", text="Stage: Engaging.", label=label, action=action,
                playbook_element="champion")


def task(subject: str, due: str = "2017-11-20") -> Item:
    return Item(kind="draft", artifact="task", text=subject, due=due, action="create_task")


def email(to: str = "ana@acme.example") -> Item:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "sam@ours.example", to, "Thanks for the call"
    message.set_content("Hi Ana, thanks.")
    return Item(kind="draft", artifact="email", text="Hi Ana, thanks.", content=message.as_string())


def record(engine, policy, run: AgentRun, *, as_of=AS_OF, window_days=28) -> None:
    with session_scope(engine) as s:
        record_run(session=s, run=run, as_of=as_of, window_days=window_days, policy=policy)


def verdicts(engine, today=OVER) -> dict[str, tuple[str, str]]:
    """What each shadow action's comparison says, keyed by a short name of the would-be action."""
    rows = shadow_actions(engine)
    with session_scope(engine) as s:
        found = compare(session=s, actions=rows, today=today)
    out = {}
    for row, comparison in zip(rows, found):
        payload = row.proposal["payload"]
        name = payload.get("field") or payload.get("subject")
        out[f"{row.subject.partition(':')[2]} {name}"] = (comparison.verdict, comparison.what)
    return out


def test_a_field_changed_by_a_person_to_the_proposed_value_is_agreed_and_to_another_edited(book, policy):
    record(book, policy, _run("hygiene", "o1", close_date("2018-03-30"), level="L3"))
    assert verdicts(book)["o1 close_date"][0] == "agreed"
    assert "changed opportunity.close_date to 2018-03-30 on 2017-11-25" in verdicts(book)["o1 close_date"][1]
    with session_scope(book) as s:
        s.query(FieldChange).filter(FieldChange.changed_at > at("2017-11-15")).update({"new_value": "2018-05-31"})
    assert verdicts(book)["o1 close_date"][0] == "edited"


def test_a_change_left_undone_is_disagreed_only_once_the_window_is_over(book, policy):
    record(book, policy, _run("hygiene", "o2", close_date("2018-01-31", old="2017-12-20"), level="L3"))
    assert verdicts(book, today=OVER)["o2 close_date"][0] == "disagreed"
    pending, why = verdicts(book, today=dt.date(2017, 12, 1))["o2 close_date"]
    assert pending == "pending" and "window open until 2017-12-13" in why


def test_a_change_to_a_field_the_crm_keeps_no_history_of_is_never_comparable(book, policy):
    record(book, policy, _run("hygiene", "o1", next_step("Ana to share the budget plan."), level="L3"))
    verdict, why = verdicts(book)["o1 next_step"]
    assert verdict == "pending" and "no history of opportunity.next_step" in why


def test_a_recommended_meeting_counts_as_agreed_when_a_meeting_was_held(book, policy):
    record(book, policy, _run("next-action", "o1", recommendation("book_meeting", "Book a meeting · Champion"),
                              level="L2"))
    [(name, (verdict, what))] = verdicts(book).items()
    assert verdict == "agreed" and "held a meeting" in what and "2017-11-20" in what


def test_a_task_is_agreed_when_a_person_made_the_same_one_and_edited_when_another(book, policy):
    record(book, policy, _run("follow-up", "o1", task("Call Ana about the procurement"),
                              task("Send the pricing proposal to Ana"), level="L3"))
    found = verdicts(book)
    assert found["o1 Call Ana about the procurement"][0] == "agreed"
    assert found["o1 Send the pricing proposal to Ana"] == (
        "edited", "created another task: “Call Ana about procurement” on 2017-11-16")


def test_what_the_executor_did_is_not_what_a_person_did(book, policy):
    record(book, policy, _run("follow-up", "o2", task("Send the pricing proposal to Ana"), level="L3"))
    with session_scope(book) as s:  # an approved task, carried out by the executor, on o2 after DAY
        proposal = offer_for(run=_run("follow-up", "o2", task("Book the kickoff"), level="L3"),
                             item=task("Book the kickoff"), subject="opportunity:o2")
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=at("2017-11-16"))
        approve(session=s, approval_id=approval.id, user_id="rita", at=at("2017-11-16", "11:00"))
        execute(session=s, approval_id=approval.id, at=at("2017-11-16", "12:00"))
        assert s.query(Task).filter(Task.opportunity_id == "o2").count() == 1
    assert verdicts(book)["o2 Send the pricing proposal to Ana"][0] == "disagreed"


def test_an_email_draft_is_agreed_when_the_seller_emailed_the_deal(book, policy):
    record(book, policy, _run("follow-up", "o1", email(), level="L3"))
    [(verdict, what)] = verdicts(book).values()
    assert verdict == "agreed" and what == "sent “Recap” on 2017-11-21"


@pytest.mark.parametrize("decision, verdict", [("approve", "agreed"), ("edit", "edited"), ("reject", "disagreed")])
def test_a_persons_decision_on_the_same_ask_decides_first(book, policy, decision, verdict):
    item = close_date("2018-03-30")
    record(book, policy, _run("hygiene", "o1", item, level="L3"))
    with session_scope(book) as s:  # the same ask, taken up at L3 and decided after DAY
        proposal = offer_for(run=_run("hygiene", "o1", item, level="L3"), item=item, subject="opportunity:o1")
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=at("2017-11-17"))
        if decision == "reject":
            reject(session=s, approval_id=approval.id, user_id="rita", reason="not yet", at=at("2017-11-18"))
        else:
            edits = {**proposal.payload, "new": "2018-04-02"} if decision == "edit" else None
            approve(session=s, approval_id=approval.id, user_id="rita", payload=edits, at=at("2017-11-18"))
    found, what = verdicts(book)["o1 close_date"]
    assert found == verdict and "by rita on 2017-11-18" in what


def test_a_decision_made_before_the_shadow_ran_does_not_count(book, policy):
    item = close_date("2018-01-31", old="2017-12-20")
    with session_scope(book) as s:
        proposal = offer_for(run=_run("hygiene", "o2", item, level="L3"), item=item, subject="opportunity:o2")
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=at("2017-11-01"))
        approve(session=s, approval_id=approval.id, user_id="rita", at=at("2017-11-02"))
    record(book, policy, _run("hygiene", "o2", item, level="L3"))
    assert verdicts(book)["o2 close_date"][0] == "disagreed"


def test_recording_writes_nothing_but_shadow_actions_and_the_same_ask_once(book, policy):
    before = counts(book)
    run = _run("follow-up", "o1", task("Send the pricing proposal"), task("Send the pricing proposal."),
               close_date("2018-03-30"), email(), level="L3")
    record(book, policy, run)
    record(book, policy, run)
    assert counts(book) == before
    rows = shadow_actions(book, "follow-up")
    assert sorted((r.action, r.placement, r.level) for r in rows) == [
        ("create_task", "pending_approval", "L4"), ("send_email", "draft", "L4"),
        ("update_field", "pending_approval", "L4")]
    record(book, policy, run, as_of=AS_OF + dt.timedelta(days=1))  # another day: recorded for it
    assert len(shadow_actions(book, "follow-up")) == 6


def test_only_levels_the_policy_has_in_shadow_are_recorded(book, tmp_path, monkeypatch):
    policy = load_policy(team_policy(tmp_path, monkeypatch, replace={
        "  follow-up: L3": "  follow-up: {default: L3, send_email: L3, shadow: [send_email]}"}))
    record(book, policy, _run("follow-up", "o1", task("Send the pricing proposal"), email(), level="L3"))
    assert [(r.action, r.level) for r in shadow_actions(book)] == [("send_email", "L4")]

"""Follow-up after a call: commitments that point at the words they were made in, an email draft that parses
back as an RFC 5322 message, tasks with owners and dates, and a mutual action plan; nothing unsupported."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from email.parser import BytesParser

import pytest
from sqlalchemy import exists, select

from sellerloop.agents.follow_up import build_email
from sellerloop.agents.models import CITED_KINDS, Subject
from sellerloop.agents.service import run_agent
from sellerloop.evidence.commitments import find_commitments, resolve_due
from sellerloop.evidence.conversation import Statement
from sellerloop.evidence.sources import resolve_source
from sellerloop.importers.transcripts import import_transcript_file
from sellerloop.records.models import (
    Activity,
    Contact,
    Opportunity,
    OpportunityContact,
    Transcript,
    User,
    Utterance,
)
from sellerloop.store.db import session_scope
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claims

OPEN_DEAL = "01XZ9CRY"  # Initech: a recorded call in which both sides promise something by a date
DRAFT_DEAL = "055Z2OAS"  # Dontechi: the same, and nobody emailed them after the call, so a recap is drafted
THURSDAY = dt.datetime(2017, 12, 14, 10, 50)


def _follow_up(session, **subject):
    (kind, record_id), = subject.items()
    return run_agent(session=session, use_case="follow-up", subject=Subject(type=kind, id=record_id))


def _parse(content: str):
    return BytesParser(policy=email.policy.default).parsebytes(content.encode("utf-8"))


def _email(run):
    return next(i for i in run.items if i.artifact == "email")


def _check_grounded(session, run) -> None:
    """Every quote is verbatim in its source, and every item passes the check its kind gets."""
    for item in run.items:
        for source in item.sources:
            assert source.quote and source.quote in resolve_source(session=session, uri=source.uri).text
    verdicts = verify_claims(session=session, claims=[Claim(text=i.text, sources=i.sources) for i in run.items],
                             facts_only=[i.kind not in CITED_KINDS for i in run.items])
    unsupported = [(i.text, v.why) for i, v in zip(run.items, verdicts, strict=True) if not v.supported]
    assert not unsupported


# --- on the demo book ------------------------------------------------------------------------------------------

def test_commitments_point_at_the_utterances_they_came_from(demo_engine):
    with session_scope(demo_engine) as s:
        run = _follow_up(s, opportunity=OPEN_DEAL)
        _check_grounded(s, run)
        commitments = [i for i in run.items if i.section == "commitments"]
        assert commitments and all(i.kind == "claim" for i in commitments)
        for item in commitments:
            (source,) = item.sources
            assert source.uri.startswith(f"transcript:{run.inputs['transcript']}#t=")
            spoken = resolve_source(session=s, uri=source.uri).text
            assert source.quote in spoken
            speaker, said = source.quote.split(": ", 1)
            assert item.owner == speaker  # who promised is who said it
            assert item.text == f"{speaker}: {said}" or item.text.split(": ", 1)[1] in said
    dated = {i.owner: i.due for i in commitments if i.due}
    assert dated == {"Zane Levy": "2017-12-18", "Helen Lopez": "2017-12-25"}  # "by Monday, December 18" ...
    undated = [i for i in commitments if i.due is None]
    assert undated and all(i.label.endswith("no date given") for i in undated)
    assert (run.subject.type, run.subject.id, run.autonomy_level, run.placement) == (
        "opportunity", OPEN_DEAL, "L3", "draft")
    assert run.dropped_unsupported == 0


def test_the_email_draft_parses_back_and_goes_to_the_customers_on_the_call(demo_engine):
    with session_scope(demo_engine) as s:
        run = _follow_up(s, opportunity=DRAFT_DEAL)
        transcript = s.get(Transcript, run.inputs["transcript"])
        speakers = set(s.scalars(select(Utterance.speaker).where(Utterance.transcript_id == transcript.id)))
        on_call = set(s.scalars(select(Contact.email).join(OpportunityContact).where(
            OpportunityContact.opportunity_id == DRAFT_DEAL, Contact.name.in_(speakers))))
        owner = s.get(User, s.get(Opportunity, DRAFT_DEAL).owner_id)
    draft = _email(run)
    assert draft.kind == "draft" and draft.content
    message = _parse(draft.content)
    assert {"From", "To", "Subject", "Date", "Message-ID"} <= set(message.keys())
    assert {a.addr_spec for a in message["To"].addresses} == on_call and on_call
    assert message["From"].addresses[0].addr_spec == owner.email
    assert message["Subject"] == f"Next steps: {transcript.title}"
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == draft.text  # the verified body is sent
    assert "\r\n" in draft.content  # RFC 5322 line ends
    # The body quotes the promises word for word.
    for item in run.items:
        if item.section == "commitments":
            assert item.text.split(": ", 1)[1] in draft.text


def test_tasks_and_plan_steps_have_owners_and_dates(demo_engine):
    with session_scope(demo_engine) as s:
        run = _follow_up(s, opportunity=OPEN_DEAL)
        close_date = s.get(Opportunity, OPEN_DEAL).close_date
    tasks = [i for i in run.items if i.section == "tasks"]
    plan = [i for i in run.items if i.section == "plan"]
    assert tasks and all(i.artifact == "task" and i.kind == "draft" and i.owner and i.due for i in tasks)
    assert all(dt.date.fromisoformat(i.due) >= THURSDAY.date() for i in tasks)
    assert {i.owner for i in tasks} == {"Zane Levy"}  # the seller does or checks every one
    assert plan and all(i.artifact == "mutual_action_plan" and i.owner for i in plan)
    assert {"Zane Levy", "Helen Lopez"} <= {i.owner for i in plan}
    dated = [i.due for i in plan if i.due]
    assert dated == sorted(dated) and dated[-1] == close_date.isoformat()  # steps in date order, then signature


def test_a_deal_without_a_recording_follows_up_on_its_latest_meeting_notes(demo_engine):
    with session_scope(demo_engine) as s:
        deals = s.scalars(select(Opportunity.id).where(
            ~exists().where(Transcript.opportunity_id == Opportunity.id),
            exists().where(Activity.opportunity_id == Opportunity.id, Activity.kind == "meeting"))
            .order_by(Opportunity.id).limit(10)).all()
        runs = [_follow_up(s, opportunity=deal) for deal in deals]
        for run in runs:
            _check_grounded(s, run)
    assert all(list(run.inputs) == ["activity"] and run.dropped_unsupported == 0 for run in runs)
    # A meeting nobody emailed about since gets its recap draft (one already recapped gets none: tested apart).
    drafted = [run for run in runs if any(i.artifact == "email" for i in run.items)]
    assert drafted and all(_parse(_email(run).content)["To"] for run in drafted)


def test_a_call_with_no_promises_still_gets_a_thank_you_email(engine):
    with session_scope(engine) as s:
        _tiny_deal(s, lines=[("Sam Seller", "Thanks for joining."), ("Dana Buyer", "Happy to. Talk soon.")])
    with session_scope(engine) as s:
        run = _follow_up(s, opportunity="deal-1")
        _check_grounded(s, run)
    draft = _email(run)
    assert draft.label.startswith("Thank-you email")
    assert [a.addr_spec for a in _parse(draft.content)["To"].addresses] == ["dana@buyer.example"]
    assert not [i for i in run.items if i.section in ("commitments", "tasks")]


def test_when_no_one_on_the_call_has_an_email_it_writes_to_the_deals_contacts_and_says_so(engine):
    with session_scope(engine) as s:
        _tiny_deal(s, lines=[("Sam Seller", "Hello."), ("Someone Else", "I'll send the numbers by Friday.")])
    with session_scope(engine) as s:
        run = _follow_up(s, opportunity="deal-1")
        _check_grounded(s, run)
    draft = _email(run)
    assert "to the deal's contacts" in draft.label
    assert [a.addr_spec for a in _parse(draft.content)["To"].addresses] == ["dana@buyer.example"]


def test_a_promise_by_friday_in_an_imported_transcript_is_due_the_friday_after_the_call(engine, tmp_path):
    call = tmp_path / "call.txt"
    call.write_text("Sam Seller: Thanks, Dana.\nDana Buyer: Can you send a proposal?\n"
                    "Sam Seller: Sure. I'll send the proposal by Friday.\n", encoding="utf-8")
    with session_scope(engine) as s:
        _tiny_deal(s, lines=[])
        (transcript,) = import_transcript_file(session=s, path=call, opportunity_id="deal-1")
        transcript_id = transcript.id
    with session_scope(engine) as s:  # imported without a date: counted from today, and the label says so
        undated = _follow_up(s, transcript=transcript_id)
        s.get(Transcript, transcript_id).occurred_at = dt.datetime(2018, 3, 7, 15, 0)  # a Wednesday
    with session_scope(engine) as s:
        run = _follow_up(s, transcript=transcript_id)
        _check_grounded(s, run)
    (promise,) = [i for i in run.items if i.section == "commitments"]
    assert promise.text == "Sam Seller: Sure. I'll send the proposal by Friday." or "by Friday" in promise.text
    assert (promise.owner, promise.due) == ("Sam Seller", "2018-03-09")
    task = next(i for i in run.items if i.section == "tasks")
    assert (task.text, task.owner, task.due) == ("Send the proposal by Friday.", "Sam Seller", "2018-03-09")
    (before,) = [i for i in undated.items if i.section == "commitments"]
    today = dt.date.today()
    assert before.due == (today + dt.timedelta(days=(4 - today.weekday() - 1) % 7 + 1)).isoformat()
    assert "counted from today" in before.label


def test_a_yes_to_an_ask_is_followed_up_as_agreed_terms_citing_the_ask(engine, tmp_path):
    call = tmp_path / "call.txt"
    call.write_text("Sam Seller: Could you send the security requirements document by Friday?\n"
                    "Dana Buyer: Sure, no problem.\nSam Seller: Great, thanks.\n", encoding="utf-8")
    with session_scope(engine) as s:
        _tiny_deal(s, lines=[])
        (transcript,) = import_transcript_file(session=s, path=call, opportunity_id="deal-1")
        s.get(Transcript, transcript.id).occurred_at = THURSDAY
        transcript_id = transcript.id
    with session_scope(engine) as s:
        run = _follow_up(s, transcript=transcript_id)
        _check_grounded(s, run)
    (agreed,) = [i for i in run.items if i.section == "commitments"]
    assert agreed.text == "Dana Buyer: Sure, no problem." and agreed.owner == "Dana Buyer"
    assert agreed.due == "2017-12-15"  # by the Friday after the call, as the ask said
    assert agreed.label.startswith("Customer commitment · agreed terms")
    step = next(i for i in run.items if i.section == "plan" and i.owner == "Dana Buyer")
    assert "send the security requirements document" in step.text
    assert any("Could you send the security requirements" in src.quote for src in step.sources)


def test_names_and_subjects_from_evidence_cannot_add_email_headers():
    content = build_email(sender=("Sam\r\nBcc: spy@evil.example", "sam@seller.example"),
                          recipients=[("Dana\nCc: spy@evil.example", "dana@buyer.example"),
                                      ("Eve", "eve@buyer.example\nBcc: spy@evil.example"),
                                      ("Mallory", "a@b.example, spy@evil.example")],
                          subject="Call\r\nBcc: spy@evil.example\u2028X-Evil: 1", body="Hi Dana,\n\nThanks,\nSam")
    message = _parse(content)
    assert "spy@evil.example" not in {a.addr_spec for h in ("To", "Cc", "Bcc", "From")
                                      for a in (message[h].addresses if message[h] else ())}
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Evil"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["dana@buyer.example"]
    assert message["Subject"] == "Call Bcc: spy@evil.example X-Evil: 1"  # flattened onto one line


def test_a_call_title_and_contact_from_the_store_cannot_add_email_headers(engine):
    with session_scope(engine) as s:
        _tiny_deal(s, lines=[("Sam Seller", "Hello."), ("Dana Buyer", "I'll send the list by Friday.")],
                   title="Intro call\r\nBcc: spy@evil.example")
        s.add(Contact(id="eve", name="Eve\nBcc: spy@evil.example", email="eve@buyer.example\nBcc: spy@evil.example"))
        s.flush()
        s.add(OpportunityContact(opportunity_id="deal-1", contact_id="eve"))
    with session_scope(engine) as s:
        run = _follow_up(s, opportunity="deal-1")
    message = _parse(_email(run).content)
    assert message["Bcc"] is None and "spy@evil.example" not in str(message["To"])
    assert message["Subject"] == "Next steps: Intro call Bcc: spy@evil.example"


def test_an_email_without_a_recipient_or_sender_address_is_still_a_valid_marked_draft():
    message = _parse(build_email(sender=("Sam", None), recipients=[("Dana", "not an address")],
                                 subject="Next steps", body="Hi all,\n\nThanks,"))
    assert str(message["To"]) == "undisclosed-recipients:;"
    assert message["From"].addresses[0].addr_spec == "no-reply@sellerloop.invalid"
    assert "no email on record" in str(message["From"])


# --- through the CLI ---------------------------------------------------------------------------------------------

def test_the_cli_writes_the_email_draft_to_an_eml_file(demo_store, demo_engine, cli, tmp_path):
    with session_scope(demo_engine) as s:
        transcript = s.scalars(select(Transcript.id).where(Transcript.opportunity_id == DRAFT_DEAL)
                               .order_by(Transcript.occurred_at.desc())).first()
    eml = tmp_path / "draft.eml"
    result = cli(demo_store, "run", "follow-up", "--transcript", transcript, "--json", "--eml", eml)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["use_case"] == "follow-up" and out["dropped_unsupported"] == 0
    assert out["subject"] == {"type": "opportunity", "id": DRAFT_DEAL}
    message = email.message_from_bytes(eml.read_bytes())
    assert message["Subject"] and message["To"]
    assert eml.read_bytes() == next(i["content"] for i in out["items"] if i["artifact"] == "email").encode()
    markdown = cli(demo_store, "run", "follow-up", "--opportunity", DRAFT_DEAL)
    assert markdown.exit_code == 0, markdown.stderr
    for heading in ("## Commitments", "## Follow-up email", "## Tasks", "## Mutual action plan", "## Sources"):
        assert heading in markdown.stdout


def test_a_transcript_of_another_deal_exits_2_with_one_line(demo_store, demo_engine, cli):
    with session_scope(demo_engine) as s:
        other = s.scalars(select(Transcript.id).where(Transcript.opportunity_id != OPEN_DEAL)
                          .order_by(Transcript.id)).first()
    result = cli(demo_store, "run", "follow-up", "--opportunity", OPEN_DEAL, "--transcript", other)
    assert result.exit_code == 2
    assert f"transcript {other!r} is not a call of opportunity {OPEN_DEAL!r}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, reason", [
    (("--opportunity", "nope"), "no opportunity with id 'nope'"),
    (("--transcript", "nope"), "no transcript with id 'nope'"),
    (("--opportunity", OPEN_DEAL, "--transcript", "nope"), "no transcript with id 'nope'"),
    ((), "give --opportunity ID, --transcript ID or both"),
])
def test_unknown_ids_exit_2_with_one_line(demo_store, cli, args, reason):
    result = cli(demo_store, "run", "follow-up", *args)
    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_deal_with_nothing_to_follow_up_on_exits_2_saying_why(demo_store, demo_engine, cli):
    with session_scope(demo_engine) as s:
        bare = s.scalars(select(Opportunity.id).where(~exists().where(Activity.opportunity_id == Opportunity.id),
                                                      ~exists().where(Transcript.opportunity_id == Opportunity.id))
                         .order_by(Opportunity.id)).first()
    result = cli(demo_store, "run", "follow-up", "--opportunity", bare)
    assert result.exit_code == 2
    assert "no call transcript and no meeting or call notes" in result.stderr


@pytest.mark.slow
def test_every_demo_transcript_gets_a_verified_follow_up_with_an_email_that_parses(demo_engine):
    """The issue's bar, on every transcript of the demo book: zero unsupported items, every quote verbatim,
    and an email draft with Subject and To that the stdlib parser reads back."""
    commitments = recapped = 0
    texts: dict[str, str] = {}
    with session_scope(demo_engine) as s:
        transcripts = s.scalars(select(Transcript.id).order_by(Transcript.id)).all()
        for transcript_id in transcripts:
            run = _follow_up(s, transcript=transcript_id)
            assert run.dropped_unsupported == 0, transcript_id
            claims = [Claim(text=i.text, sources=i.sources) for i in run.items if i.kind in CITED_KINDS]
            assert all(v.supported for v in verify_claims(session=s, claims=claims)), transcript_id
            for item in run.items:
                for source in item.sources:
                    if source.uri not in texts:
                        texts[source.uri] = resolve_source(session=s, uri=source.uri).text
                    assert source.quote in texts[source.uri], (transcript_id, source.uri)
            [mail] = [i for i in run.items if i.section == "email"]
            if mail.artifact is None:  # we emailed them after the call: no second recap
                recapped += mail.label == "Recap already sent after the call: no new draft"
                continue
            message = email.message_from_bytes(mail.content.encode("utf-8"))
            assert message["Subject"] and message["To"], transcript_id
            commitments += sum(i.section == "commitments" for i in run.items)
    assert len(transcripts) > 2000 and commitments > len(transcripts) - recapped
    assert 0 < recapped < len(transcripts) / 2


# --- the detector and the dates -----------------------------------------------------------------------------------

def _said(text: str, speaker: str = "Sam Seller", *, customer: bool = False, when=THURSDAY) -> Statement:
    return Statement("transcript:t#u=1-1", speaker, text, f"{speaker}: {text}", when, customer, "transcript")


@pytest.mark.parametrize("text, what, when, due", [
    ("I'll send the proposal by Friday.", "send the proposal", "by Friday", "2017-12-15"),
    ("Sure, we will get back to you next week.", "get back to you", "next week", "2017-12-22"),
    ("I'm going to loop in legal before the end of the month.", "loop in legal", "before the end of the month",
     "2017-12-31"),
    ("Let me check with procurement and come back to you by EOD.", "check with procurement and come back to you",
     "by EOD", "2017-12-14"),
    ("We'll have the sandbox ready in two weeks.", "have the sandbox ready", "in two weeks", "2017-12-28"),
    ("I'll get the team's feedback to you by Monday, December 25.", "get the team's feedback to you",
     "by Monday, December 25", "2017-12-25"),
    ("I will share the security pack on January 8.", "share the security pack", "on January 8", "2018-01-08"),
    ("I'll take that back to the team.", "take that back to the team", None, None),
    ("OK. Let me show you the dashboard, and then I'll send the deck tomorrow.", "send the deck", "tomorrow",
     "2017-12-15"),
])
def test_it_finds_who_promised_what_by_when_in_ordinary_sales_talk(text, what, when, due):
    (promise,) = find_commitments([_said(text)])
    assert (promise.who, promise.what, promise.when) == ("Sam Seller", what, when)
    assert promise.due == (dt.date.fromisoformat(due) if due else None)
    assert promise.sentence in text


@pytest.mark.parametrize("text", [
    "Can you send it by Friday?",
    "If it helps, I'll prepare a business case.",
    "Let's park that for now.",
    "Let me show you the next part first.",
    "Let me recap the next steps.",
    "We'll need a full security review before anything goes live.",
    "We won't be able to sign this quarter.",
    "I will not commit to a date.",
    "I'll be honest with you.",
    "Let me know by Friday.",
    "You'll get the contract next week.",
    "We'll have to check with the board.",
])
def test_it_does_not_take_questions_conditions_proposals_or_needs_for_promises(text):
    assert find_commitments([_said(text)]) == []


def test_a_named_person_in_notes_is_who_promised():
    notes = Statement("activity:a", "Sam Seller", "Next step: Dana Buyer to book the architecture review by "
                      "Wednesday, December 20.", "x", THURSDAY, False, "activity")
    (promise,) = find_commitments([notes], people=["Dana Buyer", "Sam Seller"], sellers=["Sam Seller"])
    assert (promise.who, promise.by_customer, promise.due) == ("Dana Buyer", True, dt.date(2017, 12, 20))
    assert promise.sentence.startswith("Dana Buyer to book")
    (first_name,) = find_commitments([_said("Dana will send the list next Friday.")],
                                     people=["Dana Buyer"], sellers=["Sam Seller"])
    assert (first_name.who, first_name.due) == ("Dana Buyer", dt.date(2017, 12, 22))


@pytest.mark.parametrize("words, due", [
    ("today", "2017-12-14"), ("tomorrow", "2017-12-15"), ("by Friday", "2017-12-15"),
    ("by Thursday", "2017-12-21"),  # said on a Thursday: the next one
    ("next Tuesday", "2017-12-19"), ("this week", "2017-12-15"), ("end of the week", "2017-12-15"),
    ("next week", "2017-12-22"), ("early next week", "2017-12-18"), ("end of the month", "2017-12-31"),
    ("next month", "2018-01-31"), ("end of the quarter", "2017-12-31"), ("end of March", "2018-03-31"),
    ("in 3 days", "2017-12-17"), ("within two business days", "2017-12-18"), ("in a couple of weeks",
                                                                                "2017-12-28"),
    ("March 3", "2018-03-03"), ("3rd of March", "2018-03-03"), ("December 20", "2017-12-20"),
    ("2018-02-01", "2018-02-01"), ("12/20", "2017-12-20"), ("the 20th", "2017-12-20"), ("the 5th", "2018-01-05"),
])
def test_dates_resolve_against_the_day_of_the_call(words, due):
    assert resolve_due(words, THURSDAY.date()) == dt.date.fromisoformat(due)


def test_without_the_day_of_the_call_only_dates_with_a_year_resolve():
    assert resolve_due("by Friday", None) is None
    assert resolve_due("March 3", None) is None
    assert resolve_due("March 3, 2018", None) == dt.date(2018, 3, 3)
    assert resolve_due("February 30", THURSDAY.date()) is None


# --- helpers -----------------------------------------------------------------------------------------------------

def _tiny_deal(session, *, lines: list[tuple[str, str]], title: str = "Intro call") -> None:
    """One seller, one deal with one customer contact (Dana Buyer), and a dated call of `lines` if given."""
    session.add(User(id="sam", name="Sam Seller", email="sam@seller.example"))
    session.add(Opportunity(id="deal-1", name="Buyer Co deal", owner_id="sam", stage="Engaging",
                            close_date=dt.date(2018, 6, 29)))
    session.add(Contact(id="dana", name="Dana Buyer", email="dana@buyer.example", role_in_deal="champion"))
    session.flush()
    session.add(OpportunityContact(opportunity_id="deal-1", contact_id="dana", role_in_deal="champion"))
    if lines:
        session.add(Transcript(id="call-1", opportunity_id="deal-1", title=title, occurred_at=THURSDAY,
                               source_format="text"))
        session.flush()
        session.add_all(Utterance(transcript_id="call-1", seq=seq, speaker=speaker, text=text)
                        for seq, (speaker, text) in enumerate(lines, 1))
    session.flush()

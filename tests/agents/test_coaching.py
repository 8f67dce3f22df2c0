"""Coaching on a call: every point cites the call, objections are the customer's words, none unsupported."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sellerloop.agents.models import CITED_KINDS, Subject
from sellerloop.agents.service import run_agent
from sellerloop.evidence.coaching_labels import HOW_HANDLED, NEXT_STEP_CLOSED, NO_NEXT_STEP, UNTRADED
from sellerloop.evidence.sources import resolve_source
from sellerloop.records.models import Opportunity, Transcript, User
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claims

from .test_research_and_prep import _check_grounded

CASINO_DIALOGUE = {  # dialogue 607 of CaSiNo's training split (CC BY 4.0), abridged to its chat
    "dialogue_id": 607,
    "chat_logs": [
        {"text": "Hello I need a lot of water to survive", "task_data": {}, "id": "mturk_agent_1"},
        {"text": "I have a lot of water around me I can use. So I can give you a lot of extra.",
         "task_data": {}, "id": "mturk_agent_2"},
        {"text": "Ok nice I will give you 3 food if you give me 3 water", "task_data": {},
         "id": "mturk_agent_1"},
        {"text": "OK, that works for me. But I would like a lot of firewood. I like to hunt and cook what I "
                 "kill.", "task_data": {}, "id": "mturk_agent_2"},
        {"text": "Ok I will give you 2 firewood ", "task_data": {}, "id": "mturk_agent_1"},
        {"text": "So I get 3 food and 2 firewood? And you get all of the water?", "task_data": {},
         "id": "mturk_agent_2"},
        {"text": "yes does that sound good to you?", "task_data": {}, "id": "mturk_agent_1"},
        {"text": "Yes, I am happy with that arrangement. ", "task_data": {}, "id": "mturk_agent_2"},
    ],
    "participant_info": {},
}


def _coach(session, transcript_id: str):
    return run_agent(session=session, use_case="coaching",
                     subject=Subject(type="transcript", id=transcript_id))


def _first_call_with(session, predicate, limit: int = 80):
    """The first transcript (by id) whose coaching run satisfies `predicate`, and that run."""
    for transcript_id in session.scalars(select(Transcript.id).order_by(Transcript.id).limit(limit)):
        run = _coach(session, transcript_id)
        if predicate(run):
            return transcript_id, run
    raise AssertionError(f"no call among the first {limit} fits")


def _put_off(run) -> bool:
    return any(i.kind == "objection" and ("put off" in i.label or "not answered" in i.label)
               for i in run.items)


def test_coaching_gives_call_stats_and_points_that_cite_the_call(demo_engine):
    with session_scope(demo_engine) as s:
        transcript_id, run = _first_call_with(s, lambda run: True)
        _check_grounded(s, run)
        transcript = s.get(Transcript, transcript_id)
    assert run.subject == Subject(type="opportunity", id=transcript.opportunity_id)
    assert run.inputs == {"transcript": transcript_id} and run.dropped_unsupported == 0
    stats = [i.label for i in run.items if i.section == "call_stats"]
    assert [label.split(" · ")[0] for label in stats][:2] == ["Talk ratio", "Questions"]
    assert any(label.startswith("Longest monologue · ") for label in stats)
    assert any(label.startswith("Next step · ") for label in stats)
    points = [i for i in run.items if i.kind == "coaching_point"]
    assert points and all(i.sources for i in points)
    assert all(src.uri.startswith(f"transcript:{transcript_id}#") for i in points for src in i.sources)


def test_objections_are_quoted_in_the_customers_words_and_say_how_they_were_handled(demo_engine):
    with session_scope(demo_engine) as s:
        _, run = _first_call_with(s, _put_off)
        _check_grounded(s, run)
        sellers = set(s.scalars(select(User.name)))
    objections = [i for i in run.items if i.kind == "objection"]
    for objection in objections:
        # The customer's words first, then the seller's reply the verdict is about (none when there was none).
        source, *reply = objection.sources
        assert source.quote.split(": ", 1)[0] not in sellers, "an objection must be the customer's words"
        assert source.quote.split(": ", 1)[1] in objection.text
        assert all(ref.quote.split(":", 1)[0] in sellers for ref in reply[:1])
        verdict = objection.label.split(" · ")[1].removesuffix(f", {UNTRADED}")
        assert verdict in HOW_HANDLED.values()
    # The objection that was put off comes back as an improvement, citing the objection and the reply.
    improvement = next(i for i in run.items if i.section == "improvements" and "objection" in i.label)
    assert len(improvement.sources) == 2
    assert {improvement.sources[0].uri} <= {src.uri for o in objections for src in o.sources}


def test_role_play_questions_are_built_from_the_objections_raised(demo_engine):
    with session_scope(demo_engine) as s:
        _, run = _first_call_with(s, _put_off)
    raised = {(src.uri, src.quote) for i in run.items if i.kind == "objection" for src in i.sources}
    roleplay = [i for i in run.items if i.section == "roleplay"]
    assert roleplay and all(i.kind == "question" for i in roleplay)
    for question in roleplay:
        assert {(src.uri, src.quote) for src in question.sources} <= raised
        words = question.sources[0].quote.split(": ", 1)[1]
        assert question.text.startswith("When ") and f'"{words}"' in question.text


def test_run_coaching_json_through_the_cli_quotes_what_source_show_prints(demo_store, demo_engine, cli):
    with session_scope(demo_engine) as s:
        transcript_id = s.scalars(select(Transcript.id).order_by(Transcript.id.desc())).first()
    result = cli(demo_store, "run", "coaching", "--transcript", transcript_id, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["use_case"] == "coaching" and out["dropped_unsupported"] == 0
    points = [i for i in out["items"] if i["kind"] == "coaching_point"]
    assert points and all(i["sources"] for i in points)
    for source in {(src["uri"], src["quote"]) for i in out["items"] for src in i["sources"]}:
        shown = cli(demo_store, "source", "show", source[0])
        assert shown.exit_code == 0 and source[1] in shown.stdout


def test_coaching_reads_as_markdown_with_its_section_titles(demo_store, demo_engine, cli):
    with session_scope(demo_engine) as s:
        transcript_id = s.scalars(select(Transcript.id).order_by(Transcript.id)).first()
    result = cli(demo_store, "run", "coaching", "--transcript", transcript_id)
    assert result.exit_code == 0, result.stderr
    assert "## Call at a glance" in result.stdout and "## Sources" in result.stdout
    assert "**Talk ratio · seller " in result.stdout


def test_an_unknown_transcript_exits_2_with_one_line(demo_store, cli):
    result = cli(demo_store, "run", "coaching", "--transcript", "nope")
    assert result.exit_code == 2
    assert "no transcript with id 'nope'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_seller_may_not_coach_on_another_teams_call(demo_store, demo_engine, cli):
    with session_scope(demo_engine) as s:
        transcript = s.scalars(select(Transcript).order_by(Transcript.id)).first()
        owner = s.get(User, s.get(Opportunity, transcript.opportunity_id).owner_id)
        outsider = s.scalars(select(User).where(User.role == "seller", User.manager_id != owner.manager_id)
                             .order_by(User.id)).first()
    result = cli(demo_store, "run", "coaching", "--transcript", transcript.id, "--as", outsider.id)
    assert result.exit_code == 2 and "may not see" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_imported_casino_dialogue_can_be_coached(maven_copy, cli, tmp_path):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        deal = s.scalars(select(Opportunity.id).order_by(Opportunity.id)).first()
    engine.dispose()
    path = tmp_path / "dialogue.json"
    path.write_text(json.dumps([CASINO_DIALOGUE]), encoding="utf-8")
    imported = cli(maven_copy, "import", "transcript", path, "--opportunity", deal, "--json")
    assert imported.exit_code == 0, imported.stderr
    transcript_id = json.loads(imported.stdout)["id"]

    result = cli(maven_copy, "run", "coaching", "--transcript", transcript_id, "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["dropped_unsupported"] == 0 and out["inputs"] == {"transcript": transcript_id}
    talk = next(i for i in out["items"] if i["label"].startswith("Talk ratio"))
    assert "the first speaker is taken as the seller" in talk["label"]  # no speaker is one of our users
    # The chat ends on terms both sides said yes to: a close, not a call without a next step.
    labels = [i["label"] for i in out["items"]]
    assert NEXT_STEP_CLOSED in labels and not any(label.startswith(NO_NEXT_STEP) for label in labels)
    assert not any(i["section"] in ("coverage", "coverage_gaps") for i in out["items"])  # no sales call
    assert all(src["uri"].startswith(f"transcript:{transcript_id}#u=")
               for i in out["items"] for src in i["sources"])
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        for item in out["items"]:
            for src in item["sources"]:
                assert src["quote"] in resolve_source(session=s, uri=src["uri"]).text
    engine.dispose()


@pytest.mark.slow
def test_coaching_on_every_call_of_the_demo_book_shows_no_unsupported_claim(demo_engine):
    """The issue's bar: every transcript; zero unsupported shown or dropped, every quote verbatim, and at
    least one coaching point with sources on each call (what the outside contract check asks of a random
    one)."""
    with session_scope(demo_engine) as s:
        transcripts = s.scalars(select(Transcript.id).order_by(Transcript.id)).all()
        texts: dict[str, str] = {}
        for transcript_id in transcripts:
            run = _coach(s, transcript_id)
            assert run.dropped_unsupported == 0, transcript_id
            assert any(i.kind == "coaching_point" and i.sources for i in run.items), transcript_id
            claims = [Claim(text=i.text, sources=i.sources) for i in run.items if i.kind in CITED_KINDS]
            assert all(v.supported for v in verify_claims(session=s, claims=claims)), transcript_id
            for item in run.items:
                for source in item.sources:
                    if source.uri not in texts:
                        texts[source.uri] = resolve_source(session=s, uri=source.uri).text
                    assert source.quote in texts[source.uri], (transcript_id, source.uri)
    assert len(transcripts) > 2000


def test_a_need_is_labelled_in_a_sellers_words_never_their_peoples():
    from sellerloop.agents.coaching import NEED_LABELS, _needs
    from sellerloop.composers.base import FactList
    from sellerloop.evidence.dialogue import CUSTOMER, Turn, need_statements

    text = "Our field teams need offline access, and I need a report for the board."
    turn = Turn(seq=1, speaker="Lee Okafor", text=text, side=CUSTOMER, uri="transcript:t-1#u=1-1")
    assert need_statements(text)  # the dialogue layer hears a need here
    facts = FactList()
    _needs(facts, [turn])
    labels = [fact.item_fields["label"] for fact in facts if fact.section == "call_needs"]
    assert labels and all(label in NEED_LABELS.values() for label in labels)
    assert not any("people's" in label for label in NEED_LABELS.values())

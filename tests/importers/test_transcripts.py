"""`sellerloop import transcript FILE --opportunity ID`: WebVTT, SRT, plain text and CaSiNo JSON in."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sellerloop.records.models import Account, Contact, Opportunity, Transcript, User, Utterance
from sellerloop.store.db import create_store_engine, session_scope

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
CASINO = Path(__file__).parents[2] / "data" / "casino" / "casino_train.json"
needs_casino = pytest.mark.skipif(not CASINO.exists(), reason=f"{CASINO} is not here")


@pytest.fixture
def deal(store, engine):
    """An initialised store holding one account and one opportunity to attach transcripts to."""
    with session_scope(engine) as s:
        s.add(Account(id="acme", name="Acme Corporation"))
        s.add(Opportunity(id="opp-1", name="Acme renewal", account_id="acme", stage="Engaging"))
        s.add(Opportunity(id="opp-2", name="Acme expansion", account_id="acme", stage="Prospecting"))
    return store


def _import(cli, store, path, *extra):
    result = cli(store, "import", "transcript", path, "--opportunity", "opp-1", "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _rows(store, transcript_id):
    """(transcript, [(speaker, start_s, end_s, text), ...]) as stored."""
    engine = create_store_engine(store.url)
    with session_scope(engine) as s:
        transcript = s.get(Transcript, transcript_id)
        rows = [(u.speaker, u.start_s, u.end_s, u.text) for u in transcript.utterances]
        s.expunge(transcript)
    engine.dispose()
    return transcript, rows


def _counts(cli, store):
    counts = json.loads(cli(store, "stats", "--json").stdout)
    return counts["transcripts"]["total"], counts["utterances"]["total"]


DISCOVERY_CALL = [
    ("Dana Whitfield", 1.0, 4.5, "Thanks for making the time today."),
    ("Lee Okafor", 5.0, 9.25, "Happy to. Our renewal is in March, and security review takes & eight weeks."),
    ("Dana Whitfield", 10.0, 12.0, "Then let's start the review next week."),
    ("Unknown", 13.5, 15.0, "We will send the questionnaire."),
]


def test_a_vtt_file_takes_speakers_from_voice_tags_and_name_prefixes(deal, cli):
    out = _import(cli, deal, FIXTURES / "discovery_call.vtt")
    transcript, rows = _rows(deal, out["id"])
    assert rows == DISCOVERY_CALL
    assert (transcript.opportunity_id, transcript.account_id, transcript.title, transcript.source_format,
            transcript.source_name, transcript.occurred_at, transcript.synthetic) == \
        ("opp-1", "acme", "discovery_call.vtt", "vtt", "discovery_call.vtt", None, False)
    assert out["utterances"] == 4


def test_an_srt_file_imports_with_speakers_times_and_joined_lines(deal, cli):
    out = _import(cli, deal, FIXTURES / "pricing_call.srt")
    transcript, rows = _rows(deal, out["id"])
    assert rows == [
        ("Dana Whitfield", 2.0, 5.0, "What budget have you set aside?"),
        ("Lee Okafor", 5.5, 9.12, "About forty thousand for the first year."),
        ("Dana Whitfield", 60.0, 63.0, "That works."),
    ]
    assert transcript.source_format == "srt"


def test_a_text_file_without_timestamps_continues_lines_without_a_speaker(deal, cli):
    out = _import(cli, deal, FIXTURES / "notes_untimed.txt")
    _, rows = _rows(deal, out["id"])
    assert rows == [
        ("Dana Whitfield", None, None, "Who else needs to sign off?"),
        ("Lee Okafor", None, None, "Our CFO, Priya. She joins the call on Friday at 10:30 if that works."),
        ("Dana Whitfield", None, None, "It does."),
    ]


def test_a_text_file_with_timestamps_sets_each_utterances_start(deal, cli):
    out = _import(cli, deal, FIXTURES / "notes_timed.txt")
    transcript, rows = _rows(deal, out["id"])
    assert rows == [
        ("Dana Whitfield", 5.0, 83.5, "Shall we go through the timeline?"),
        ("Lee Okafor", 83.5, 130.0, "Yes. Legal needs two weeks."),
        ("Dana Whitfield", 130.0, 4512.0, "Understood."),
        ("Lee Okafor", 4512.0, None, "One last thing."),
    ]
    assert transcript.source_format == "text"


def test_the_format_is_guessed_from_the_content_when_the_extension_says_nothing(deal, cli, tmp_path):
    path = tmp_path / "call.log"
    path.write_text((FIXTURES / "discovery_call.vtt").read_text())
    assert _import(cli, deal, path)["source_format"] == "vtt"


def test_a_byte_order_mark_and_windows_line_endings_read_the_same_and_are_the_same_transcript(
        deal, cli, tmp_path):
    path = tmp_path / "windows.vtt"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "discovery_call.vtt").read_bytes().replace(b"\n", b"\r\n"))
    windows = _import(cli, deal, path)["id"]
    assert _rows(deal, windows)[1] == DISCOVERY_CALL
    assert _import(cli, deal, FIXTURES / "discovery_call.vtt")["id"] == windows


def test_format_overrides_the_extension(deal, cli, tmp_path):
    path = tmp_path / "call.vtt"
    path.write_text("Dana: Hello there\nLee: Hi\n")
    out = _import(cli, deal, path, "--format", "text")
    assert (out["source_format"], out["utterances"]) == ("text", 2)


def test_the_cli_prints_the_new_id_and_records_list_shows_it_on_its_opportunity(deal, cli):
    out = _import(cli, deal, FIXTURES / "pricing_call.srt")
    assert out["id"].startswith("transcript-") and out["opportunity_id"] == "opp-1"
    listed = json.loads(cli(deal, "records", "list", "transcripts", "--json").stdout)
    assert [(t["id"], t["opportunity_id"], t["account_id"], t["name"]) for t in listed] == \
        [(out["id"], "opp-1", "acme", "pricing_call.srt")]


def test_importing_the_same_file_again_returns_the_transcript_already_stored(deal, cli):
    first = _import(cli, deal, FIXTURES / "discovery_call.vtt")
    before = _counts(cli, deal)
    again = _import(cli, deal, FIXTURES / "discovery_call.vtt")
    assert again["id"] == first["id"]
    assert _counts(cli, deal) == before == (1, 4)


def test_the_same_file_on_another_opportunity_is_another_transcript(deal, cli):
    first = _import(cli, deal, FIXTURES / "discovery_call.vtt")
    result = cli(deal, "import", "transcript", FIXTURES / "discovery_call.vtt",
                 "--opportunity", "opp-2", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] != first["id"]
    assert _counts(cli, deal) == (2, 8)


@needs_casino
def test_one_casino_dialogue_keeps_the_chat_verbatim_and_spells_out_the_offer(deal, cli, tmp_path):
    dialogue = json.loads(CASINO.read_text())[0]
    path = tmp_path / "one_dialogue.json"
    path.write_text(json.dumps(dialogue))
    out = _import(cli, deal, path)
    transcript, rows = _rows(deal, out["id"])
    assert transcript.title == f"CaSiNo dialogue {dialogue['dialogue_id']}"
    assert transcript.source_format == "casino"
    assert len(rows) == len(dialogue["chat_logs"])
    for (speaker, start, end, text), log in zip(rows, dialogue["chat_logs"]):
        assert (speaker, start, end) == (log["id"], None, None)
        assert text.startswith(log["text"])
    submit = [text for _, _, _, text in rows if text.startswith("Submit-Deal")]
    assert submit == [
        "Submit-Deal (I get: Water 3, Firewood 1, Food 0; you get: Water 0, Firewood 2, Food 3)"]
    assert rows[-1][3] == "Accept-Deal"


@needs_casino
def test_all_900_casino_dialogues_import_in_one_call(deal, cli):
    dialogues = json.loads(CASINO.read_text())
    started = time.perf_counter()
    result = cli(deal, "import", "transcript", CASINO, "--opportunity", "opp-1", "--json")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["transcripts"]) == 900 and out["id"] == out["transcripts"][0]["id"]

    engine = create_store_engine(deal.url)
    with session_scope(engine) as s:
        per_title = dict(s.execute(
            select(Transcript.title, func.count(Utterance.id))
            .join(Utterance, Utterance.transcript_id == Transcript.id).group_by(Transcript.title)).all())
        speakers = Counter(s.scalars(select(Utterance.speaker)))
    engine.dispose()
    assert per_title == {f"CaSiNo dialogue {d['dialogue_id']}": len(d["chat_logs"]) for d in dialogues}
    assert set(speakers) == {"mturk_agent_1", "mturk_agent_2"}
    assert elapsed < 20, f"importing CaSiNo took {elapsed:.1f} s"


# name -> (file name, content, what stderr must say). Each must exit 2 with one line and store nothing.
BAD = {
    "empty file": ("call.txt", "", "call.txt: file is empty"),
    "blank file": ("call.vtt", "\n  \n", "call.vtt: file is empty"),
    "not utf-8": ("call.txt", b"Dana: hello\nLee: caf\xe9\n", "call.txt:2: not UTF-8"),
    "bad vtt timestamp": ("call.vtt", "WEBVTT\n\n00:00:99.000 --> 00:01:00.000\nDana: hi\n",
                          "call.vtt:3: bad timestamp '00:00:99.000'"),
    "vtt cue ending before it starts": ("call.vtt", "WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nDana: hi\n",
                                        "call.vtt:3: cue ends (00:00:01.000) before it starts"),
    "vtt without its header": ("call.vtt", "00:00:01.000 --> 00:00:02.000\nDana: hi\n",
                               "call.vtt:1: not a WebVTT file"),
    "bad srt timestamp": ("call.srt", "1\n00:00:01,000 --> 00:00:02,000\nDana: hi\n\n"
                                      "2\n00:00:05,000 --> 00:00:99,000\nLee: hello\n",
                          "call.srt:6: bad timestamp '00:00:99,000'"),
    "text line without a speaker": ("call.txt", "\nthe call started late\nDana: hi\n",
                                    "call.txt:2: no speaker: expected 'Speaker: text'"),
    "bad text timestamp": ("call.txt", "[00:00:05] Dana: hi\n[00:99:00] Lee: hello\n",
                           "call.txt:2: bad timestamp [00:99:00]"),
    "malformed json": ("call.json", '[{"dialogue_id": 1,\n  "chat_logs": [}\n]\n',
                       "call.json:2: not valid JSON"),
    "json without chat_logs": ("call.json", '[{"dialogue_id": 1, "turns": []}]',
                               "call.json: not CaSiNo JSON: dialogue 1 has no 'chat_logs' list"),
    "json that is not a dialogue": ("call.json", '"hello"', "call.json: not CaSiNo JSON"),
    "json with no dialogues": ("call.json", "[]", "call.json: no dialogues"),
    "casino dialogue with no chat": ("call.json", '[{"dialogue_id": 7, "chat_logs": []}]',
                                     "call.json: no utterances in dialogue 1 (dialogue_id 7)"),
    "casino chat log without text": ("call.json",
                                     '{"dialogue_id": 7, "chat_logs": [{"id": "mturk_agent_1"}]}',
                                     "call.json: not CaSiNo JSON: dialogue 1 (dialogue_id 7), chat_logs[0]"),
    "vtt without utterances": ("call.vtt", "WEBVTT\n\nNOTE nothing was said\n",
                               "call.vtt: no utterances found"),
}


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _assert_refused(cli, store, result, expected):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert _counts(cli, store) == (0, 0)


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_exits_2_with_one_line_naming_file_and_line_and_stores_nothing(deal, cli, tmp_path, case):
    name, content, expected = BAD[case]
    path = _write(tmp_path, name, content)
    result = cli(deal, "import", "transcript", path, "--opportunity", "opp-1")
    _assert_refused(cli, deal, result, expected)


@pytest.mark.parametrize("case", ["unknown opportunity", "file not found", "unknown format"])
def test_a_bad_argument_exits_2_with_one_line_naming_the_file_and_stores_nothing(deal, cli, tmp_path, case):
    good = FIXTURES / "pricing_call.srt"
    args, expected = {
        "unknown opportunity": ((good, "--opportunity", "opp-404"),
                                "pricing_call.srt: no opportunity with id 'opp-404'"),
        "file not found": ((tmp_path / "missing.vtt", "--opportunity", "opp-1"),
                           "missing.vtt: file not found"),
        "unknown format": ((good, "--opportunity", "opp-1", "--format", "docx"),
                           "pricing_call.srt: unknown format 'docx' "
                           "(expected one of vtt, srt, text, casino)"),
    }[case]
    result = cli(deal, "import", "transcript", *args)
    _assert_refused(cli, deal, result, expected)


@needs_casino
def test_a_bad_dialogue_late_in_a_casino_file_stores_none_of_the_good_ones(deal, cli, tmp_path):
    dialogues = json.loads(CASINO.read_text())[:50]
    dialogues[49] = {"dialogue_id": 999999}
    path = _write(tmp_path, "partly_bad.json", json.dumps(dialogues))
    result = cli(deal, "import", "transcript", path, "--opportunity", "opp-1")
    _assert_refused(cli, deal, result,
                    "partly_bad.json: not CaSiNo JSON: dialogue 50 has no 'chat_logs' list")


# --- who said it --------------------------------------------------------------------------------------------

def _people(engine) -> None:
    """Our seller (Dana Whitfield, by name; the owner of the deal) and the buyer (Lee Okafor, a contact at Acme)."""
    with session_scope(engine) as s:
        s.add(User(id="u-dana", name="Dana Whitfield", email="dana@sellerloop.example"))
        s.add(Contact(id="c-lee", account_id="acme", name="Lee Okafor", email="lee.okafor@acme.example"))


def _roles(store, transcript_id) -> dict[str, str | None]:
    engine = create_store_engine(store.url)
    with session_scope(engine) as s:
        said = s.scalars(select(Utterance).where(Utterance.transcript_id == transcript_id))
        roles = {u.speaker: u.role for u in said}
    engine.dispose()
    return roles


def test_speaker_labels_are_read_as_our_user_or_the_deals_contact_and_the_rest_stay_unknown(deal, engine, cli,
                                                                                           tmp_path):
    _people(engine)
    call = tmp_path / "call.txt"
    call.write_text("Lee Okafor: Our budget is frozen until March.\n"
                    "dana@sellerloop.example: Understood, I will send a phased quote by Friday.\n"
                    "Sam from IT: And the security review?\n", encoding="utf-8")
    result = cli(deal, "import", "transcript", call, "--opportunity", "opp-1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["speakers"] == {"Lee Okafor": "customer", "dana@sellerloop.example": "seller",
                                                     "Sam from IT": None}
    assert "1 speaker(s) match no user and no contact" in result.stderr and "Sam from IT" in result.stderr
    assert _roles(deal, json.loads(result.stdout)["id"])["Sam from IT"] is None


def test_seller_names_the_labels_of_our_side_and_a_name_that_is_no_speaker_imports_nothing(deal, engine, cli,
                                                                                           tmp_path):
    call = tmp_path / "chat.txt"
    call.write_text("Buyer: We already use Quorum Labs.\nRep: What would make you switch?\n", encoding="utf-8")
    typo = cli(deal, "import", "transcript", call, "--opportunity", "opp-1", "--seller", "Repp")
    assert typo.exit_code == 2 and "--seller 'Repp' is not a speaker in this file" in typo.stderr
    assert "Traceback" not in typo.stderr and _counts(cli, deal) == (0, 0)
    named = cli(deal, "import", "transcript", call, "--opportunity", "opp-1", "--seller", "rep", "--json")
    assert named.exit_code == 0, named.stderr
    assert json.loads(named.stdout)["speakers"] == {"Buyer": None, "Rep": "seller"}


def test_coaching_takes_the_sides_the_import_read_even_when_the_customer_speaks_first(deal, engine, cli, tmp_path):
    from sellerloop.evidence.dialogue import SELLER, call_turns

    _people(engine)
    call = tmp_path / "call.txt"
    call.write_text("Lee Okafor: Thanks for calling back.\nDana Whitfield: Of course. What changed since March?\n",
                    encoding="utf-8")
    transcript_id = json.loads(cli(deal, "import", "transcript", call, "--opportunity", "opp-1", "--json").stdout)["id"]
    with session_scope(engine) as s:
        call_sides = call_turns(session=s, transcript=s.get(Transcript, transcript_id))
    assert call_sides.sides_by == "roles"
    assert [(t.speaker, t.side == SELLER) for t in call_sides.turns] == [("Lee Okafor", False),
                                                                         ("Dana Whitfield", True)]


def test_a_known_customer_who_opens_the_call_is_never_taken_for_the_seller(deal, engine, cli, tmp_path):
    from sellerloop.evidence.dialogue import SELLER, call_turns

    _people(engine)
    call = tmp_path / "call.txt"
    call.write_text("Lee Okafor: Who is this?\nPat: Pat from the vendor, following up.\n", encoding="utf-8")
    transcript_id = json.loads(cli(deal, "import", "transcript", call, "--opportunity", "opp-1", "--json").stdout)["id"]
    with session_scope(engine) as s:
        sides = call_turns(session=s, transcript=s.get(Transcript, transcript_id))
    assert [(t.speaker, t.side == SELLER) for t in sides.turns] == [("Lee Okafor", False), ("Pat", True)]

"""Call transcripts in: WebVTT, SRT, plain "Speaker: text" and CaSiNo negotiation JSON.

Each file is parsed and checked in full before anything is written: a bad file stores nothing.
Each problem is a BadInput naming the file and, where there is one, the line.

Formats (`fmt`, or guessed from the extension, then from the content):
- `vtt`: WebVTT, read with webvtt-py. The speaker is the cue's `<v Name>` voice span, else a leading
  "Name: " in the cue text, else "Unknown". Multi-line cues are joined with spaces; cue tags are removed.
- `srt`: SubRip, read with webvtt-py's SRT reader; speakers as for WebVTT.
- `text`: one utterance per "Speaker: text" line, optionally after a "[00:01:23]" or "00:01:23" timestamp
  (which becomes `start_s`; `end_s` is the next utterance's start, the last one's stays None).
  Blank lines are skipped; a line without a speaker continues the utterance before it.
- `casino`: the CaSiNo corpus JSON (a list of dialogues, or one dialogue object). One transcript per dialogue,
  one utterance per chat log, the chat id (mturk_agent_1/2) as the speaker, untimed. The text is kept
  verbatim; a "Submit-Deal" gets the offer appended in words, e.g. "Submit-Deal (I get: Water 3, ...;
  you get: Water 0, ...)", from the submitter's point of view, as the submitter is the speaker.

webvtt-py reads cue text, voice spans, identifiers, NOTE/STYLE blocks and SRT indexes well, but in its lenient
mode it silently drops (VTT) or reinterprets (SRT reads "00:00:99,000" as 1:39) a bad timestamp, and its
strict mode rejects the short timestamps real files use and says nothing about the line. So every cue timings
line is checked here first, with its line number, and webvtt-py only reads files that have passed.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import webvtt
from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, selectinload
from webvtt.errors import MalformedCaptionError, MalformedFileError

from sellerloop.errors import BadInput, NotFound
from sellerloop.importers.csvfiles import read_text
from sellerloop.records.ids import stable_id
from sellerloop.records.models import Contact, Opportunity, OpportunityContact, Transcript, User, Utterance

FORMATS = ("vtt", "srt", "text", "casino")
_EXTENSIONS = {".vtt": "vtt", ".webvtt": "vtt", ".srt": "srt", ".txt": "text", ".text": "text",
               ".json": "casino"}
UNKNOWN_SPEAKER = "Unknown"

# A speaker label: a name of at most six words that starts with a letter, then a colon and a space (or the end
# of the line). A colon followed by a digit ("at 10:30") is not a label.
_SPEAKER = re.compile(r"(?P<speaker>[^\W\d_][\w .'’&()/@#-]{0,79}?)\s*:(?:\s+|$)(?P<text>.*)", re.S)
_MAX_SPEAKER_WORDS = 6

# Cue timings lines: "START --> END [settings]". VTT writes a dot before the milliseconds, SRT a comma.
_TIMINGS = re.compile(r"\s*(?P<start>\S+)\s*-->\s*(?P<end>\S+)")
_VTT_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})\.(\d{1,3})")
_SRT_TIME = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})")

# Plain-text timestamps: "[00:01:23]", "[01:23]", "00:01:23.5 " before the speaker.
_TEXT_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
# Only a bracket holding digits and colons is a timestamp; "[crosstalk]" is text.
_BRACKETED = re.compile(r"\[(?P<stamp>\s*\d[\d:.,\s]*)\]\s*(?P<rest>.*)", re.S)
_BARE = re.compile(r"(?P<stamp>\d+:\d{1,2}(?::\d{1,2})?(?:[.,]\d{1,3})?)\s+(?P<rest>.*)", re.S)


@dataclass
class _Line:
    speaker: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class _Parsed:
    """One transcript as read from the file, before it becomes rows."""

    key: tuple  # what makes it the same transcript on a second import
    title: str
    lines: list[_Line] = field(default_factory=list)


def import_transcript_file(*, session: Session, path: Path, opportunity_id: str, fmt: str | None = None,
                           sellers: Iterable[str] = ()) -> list[Transcript]:
    """Read a transcript file and add its transcript(s) to the opportunity; returns them, utterances loaded.

    The rows are inserted in the session's transaction, and only once the whole file has read cleanly; the
    caller commits (or rolls back).

    Importing is idempotent: a transcript's id comes from the opportunity and the content (the file's text, or
    for CaSiNo the dialogue's id and chat), so importing the same file onto the same opportunity again adds
    nothing and returns the transcripts already stored, with their ids. The same file on another opportunity
    is a new transcript there.

    Each utterance gets the side of its speaker label (`speaker_roles`): "seller" for one of our users or a name
    in `sellers`, "customer" for a contact of the deal, None for a label that matches nobody (never a guess).
    """
    path = Path(path)
    if fmt is not None and fmt.lower() not in FORMATS:
        raise BadInput(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})", file=str(path))
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound(f"no opportunity with id {opportunity_id!r}", file=str(path))

    text = read_text(path)
    fmt = fmt.lower() if fmt else guess_format(path, text)
    parsed = _PARSERS[fmt](text, path)
    for item in parsed:
        if not item.lines:
            raise BadInput(f"no utterances found{_where(item, parsed)}", file=str(path))

    roles = speaker_roles(session=session, opportunity=opportunity, sellers=sellers,
                          speakers={line.speaker for item in parsed for line in item.lines}, path=path)
    ids = [stable_id("transcript", opportunity.id, fmt, *item.key) for item in parsed]
    existing = _existing(session, ids)
    result: dict[str, Transcript | None] = {}
    transcripts: list[dict] = []
    utterances: list[dict] = []
    for transcript_id, item in zip(ids, parsed):
        if transcript_id in result:  # the same dialogue twice in one file: one transcript
            continue
        result[transcript_id] = existing.get(transcript_id)
        if transcript_id in existing:
            continue
        transcripts.append(dict(
            id=transcript_id, opportunity_id=opportunity.id, account_id=opportunity.account_id,
            activity_id=None, title=item.title, occurred_at=None, source_format=fmt, source_name=path.name,
            synthetic=False))
        utterances.extend(dict(transcript_id=transcript_id, seq=seq, speaker=line.speaker,
                               role=roles.get(line.speaker), start_s=line.start_s, end_s=line.end_s,
                               text=line.text, synthetic=False)
                          for seq, line in enumerate(item.lines, start=1))
    # Rows go in as two multi-row INSERTs inside the caller's transaction (the caller commits or rolls back):
    # building and flushing 13,000 ORM objects one by one takes several times longer for a CaSiNo-sized file.
    for rows, table in ((transcripts, Transcript.__table__), (utterances, Utterance.__table__)):
        for start in range(0, len(rows), 5000):
            session.execute(table.insert(), rows[start:start + 5000])
    added = _existing(session, [t["id"] for t in transcripts])
    return [found if found is not None else added[transcript_id] for transcript_id, found in result.items()]


def speaker_roles(*, session: Session, opportunity: Opportunity, speakers: Iterable[str], sellers: Iterable[str] = (),
                  path: Path | None = None) -> dict[str, str | None]:
    """The side of each speaker label: "seller" when it is a name given in `sellers` (that settles it) or the name
    or email of one of our users, "customer" when it is the name or email of a contact of the deal (on its account,
    or on the deal itself), None when it is neither, or both. Labels compare without case or extra spaces. A name
    in `sellers` that no label carries is a typo: BadInput, nothing imported."""
    def norm(text: str | None) -> str:
        return " ".join((text or "").split()).casefold()

    named = {norm(name): name for name in sellers if name and name.strip()}
    labels = {label: norm(label) for label in speakers}  # "Rep" and "rep" are two labels of one person
    missing = [original for key, original in named.items() if key not in labels.values()]
    if missing:
        raise BadInput(f"--seller {missing[0]!r} is not a speaker in this file (its speakers: "
                       f"{', '.join(sorted(labels)[:8])})", file=str(path) if path else None)
    ours = {norm(v) for row in session.execute(select(User.name, User.email)) for v in row if v}
    contacts = select(Contact.name, Contact.email).where(or_(
        Contact.account_id == opportunity.account_id if opportunity.account_id else false(),
        Contact.id.in_(select(OpportunityContact.contact_id)
                       .where(OpportunityContact.opportunity_id == opportunity.id))))
    theirs = {norm(v) for row in session.execute(contacts) for v in row if v}
    roles: dict[str, str | None] = {}
    for label, key in labels.items():
        if key in named:  # said by the person importing: it settles a name both sides share
            roles[label] = "seller"
        else:
            seller, customer = key in ours, key in theirs
            roles[label] = "seller" if seller and not customer else "customer" if customer and not seller else None
    return roles


def guess_format(path: Path, text: str) -> str:
    """The format from the file extension, else from the first characters of its content."""
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension:
        return by_extension
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("{") or re.match(r"\[\s*[{\]]", head):
        return "casino"
    first_lines = head.splitlines()[:2]
    if len(first_lines) == 2 and first_lines[0].strip().isdigit() and "-->" in first_lines[1]:
        return "srt"
    return "text"


def _existing(session: Session, ids: list[str]) -> dict[str, Transcript]:
    found: dict[str, Transcript] = {}
    unique = sorted(set(ids))
    for i in range(0, len(unique), 500):  # stay well under SQLite's bound-parameter limit
        chunk = unique[i:i + 500]
        stmt = select(Transcript).where(Transcript.id.in_(chunk)).options(selectinload(Transcript.utterances))
        found.update((t.id, t) for t in session.scalars(stmt))
    return found


def _where(item: _Parsed, parsed: list[_Parsed]) -> str:
    return f" in {item.title}" if len(parsed) > 1 else ""


def _digest(text: str) -> str:
    return hashlib.sha256("\n".join(text.splitlines()).encode()).hexdigest()


def split_speaker(text: str) -> tuple[str | None, str]:
    """("Ana Ruiz", "Hello") from "Ana Ruiz: Hello"; (None, text) when the text starts with no label."""
    match = _SPEAKER.fullmatch(text)
    if not match or len(match["speaker"].split()) > _MAX_SPEAKER_WORDS:
        return None, text
    return match["speaker"].strip(), match["text"].strip()


# ------------------------------------------------------------------------------------------ WebVTT and SRT


def _seconds(match: re.Match, *, long_minutes: bool = False) -> float | None:
    """Seconds from a (hours, minutes, seconds, fraction) match; None when minutes or seconds are over 59.
    With long_minutes, "75:12" (minutes without hours) is 75 minutes, as notes of long calls write it."""
    hours, minutes, seconds, fraction = match.groups()
    if int(seconds) > 59 or (int(minutes) > 59 and (hours is not None or not long_minutes)):
        return None
    millis = int((fraction or "0").ljust(3, "0"))
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + millis / 1000


def _check_timings(text: str, path: Path, pattern: re.Pattern, example: str) -> None:
    """Check every cue timings line, so that a bad one is reported with its line number."""
    for number, line in enumerate(text.splitlines(), start=1):
        if "-->" not in line:
            continue
        match = _TIMINGS.match(line)
        if not match:
            raise BadInput(f"bad cue timings {line.strip()!r} (expected '{example} --> {example}')",
                           file=str(path), line=number)
        times = []
        for stamp in (match["start"], match["end"]):
            time_match = pattern.fullmatch(stamp)
            seconds = _seconds(time_match) if time_match else None
            if seconds is None:
                raise BadInput(f"bad timestamp {stamp!r} (expected e.g. {example})", file=str(path),
                               line=number)
            times.append(seconds)
        if times[1] < times[0]:
            raise BadInput(f"cue ends ({match['end']}) before it starts ({match['start']})",
                           file=str(path), line=number)


def _cue_lines(captions: Iterable, *, unescape: bool) -> list[_Line]:
    lines = []
    for caption in captions:
        text = " ".join(part.strip() for part in caption.text.splitlines() if part.strip())
        if unescape:
            text = html.unescape(text)  # WebVTT escapes &, < and > in cue text
        speaker = caption.voice.strip()[:200] if caption.voice else None  # the column holds 200
        if speaker is None:
            speaker, text = split_speaker(text)
        if not text:
            continue
        start, end = _caption_seconds(caption)
        lines.append(_Line(speaker or UNKNOWN_SPEAKER, text, start, end))
    return lines


def _caption_seconds(caption) -> tuple[float, float]:
    # webvtt-py keeps milliseconds exactly as "HH:MM:SS.mmm"; read them back as float seconds.
    def seconds(stamp: str) -> float:
        match = _VTT_TIME.fullmatch(stamp)
        assert match is not None, stamp  # webvtt-py writes its own canonical form
        value = _seconds(match)
        assert value is not None, stamp
        return value

    return seconds(caption.start), seconds(caption.end)


def _parse_vtt(text: str, path: Path) -> list[_Parsed]:
    _check_timings(text, path, _VTT_TIME, "00:01:23.500")
    body = text.lstrip("\r\n")
    try:
        captions = webvtt.from_buffer(_lines_of(body))
    except MalformedFileError:
        raise BadInput("not a WebVTT file (the first line must start with WEBVTT)", file=str(path),
                       line=_first_content_line(text)) from None
    except MalformedCaptionError as e:  # checked above, so not expected; still a bad file, not a crash
        raise BadInput(f"bad cue: {e}", file=str(path)) from None
    return [_Parsed((_digest(text),), path.name, _cue_lines(captions, unescape=True))]


def _parse_srt(text: str, path: Path) -> list[_Parsed]:
    _check_timings(text, path, _SRT_TIME, "00:01:23,500")
    body = text.lstrip("\r\n")
    try:
        captions = webvtt.from_buffer(_lines_of(body), format="srt")
    except MalformedFileError:
        raise BadInput("not an SRT file (expected a cue number, then a 'START --> END' line)", file=str(path),
                       line=_first_content_line(text)) from None
    except MalformedCaptionError as e:
        raise BadInput(f"bad cue: {e}", file=str(path)) from None
    return [_Parsed((_digest(text),), path.name, _cue_lines(captions, unescape=False))]


def _lines_of(text: str) -> list[str]:
    return text.splitlines()


def _first_content_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            return number
    return 1


# ------------------------------------------------------------------------------------------------ plain text


def _text_seconds(stamp: str) -> float | None:
    match = _TEXT_TIME.fullmatch(stamp.strip())
    return _seconds(match, long_minutes=True) if match else None


def _parse_text(text: str, path: Path) -> list[_Parsed]:
    lines: list[_Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        start = None
        bracketed = _BRACKETED.fullmatch(line)
        bare = _BARE.fullmatch(line)
        if bracketed:
            start = _text_seconds(bracketed["stamp"])
            if start is None:
                raise BadInput(f"bad timestamp [{bracketed['stamp']}] (expected e.g. [00:01:23])",
                               file=str(path), line=number)
            speaker, said = split_speaker(bracketed["rest"])
            if speaker is None:
                raise BadInput("no speaker after the timestamp (expected '[00:01:23] Speaker: text')",
                               file=str(path), line=number)
        else:
            if bare and split_speaker(bare["rest"])[0] is not None:
                # "00:01:23 Ana: hi"; a bare time not followed by a speaker is ordinary text ("10:30 works")
                start = _text_seconds(bare["stamp"])
                if start is None:
                    raise BadInput(f"bad timestamp {bare['stamp']!r} (expected e.g. 00:01:23)",
                                   file=str(path), line=number)
                speaker, said = split_speaker(bare["rest"])
            else:
                speaker, said = split_speaker(line)
        if speaker is None:
            if not lines:
                raise BadInput(f"no speaker: expected 'Speaker: text', found {_clip(line)!r}", file=str(path),
                               line=number)
            lines[-1].text = f"{lines[-1].text} {line}".strip()
            continue
        lines.append(_Line(speaker, said, start))
    lines = [line for line in lines if line.text]
    # A speaker stops when the next one starts: that is the best end time a plain-text file gives, and it lets
    # `transcript:ID#t=START-END` sources find these utterances. The last one's end stays unknown (None).
    for line, following in zip(lines, lines[1:]):
        if line.start_s is not None and following.start_s is not None and following.start_s >= line.start_s:
            line.end_s = following.start_s
    return [_Parsed((_digest(text),), path.name, lines)]


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------- CaSiNo


def _parse_casino(text: str, path: Path) -> list[_Parsed]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"not valid JSON: {e.msg} (column {e.colno})", file=str(path), line=e.lineno) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise BadInput(f"not CaSiNo JSON: expected a dialogue object or a list of them, found {_kind(data)}",
                       file=str(path))
    if not data:
        raise BadInput("no dialogues in the file (an empty list)", file=str(path))
    parsed = []
    for index, dialogue in enumerate(data, start=1):
        where = f"dialogue {index}"
        if not isinstance(dialogue, dict) or not isinstance(dialogue.get("chat_logs"), list):
            raise BadInput(f"not CaSiNo JSON: {where} has no 'chat_logs' list", file=str(path))
        dialogue_id = dialogue.get("dialogue_id")
        if dialogue_id is not None:
            where = f"{where} (dialogue_id {dialogue_id})"
        if not dialogue["chat_logs"]:
            raise BadInput(f"no utterances in {where}: 'chat_logs' is empty", file=str(path))
        lines = []
        for n, log in enumerate(dialogue["chat_logs"]):
            if not isinstance(log, dict) or not isinstance(log.get("text"), str) \
                    or not isinstance(log.get("id"), str) or not log["id"].strip():
                raise BadInput(f"not CaSiNo JSON: {where}, chat_logs[{n}] needs a string 'text' and 'id'",
                               file=str(path))
            lines.append(_Line(log["id"][:200], _casino_text(log)))
        if dialogue_id is not None:
            title, number = f"CaSiNo dialogue {dialogue_id}", dialogue_id
        else:
            title, number = f"{path.name} dialogue {index}", f"#{index}"
        # Keyed by the dialogue's own id and chat, not by the file: the same dialogue imported from another
        # file (one dialogue cut out of the corpus, say) is the same transcript.
        chat = json.dumps([[line.speaker, line.text] for line in lines], ensure_ascii=False)
        key = (number, hashlib.sha256(chat.encode()).hexdigest())
        parsed.append(_Parsed(key, title, lines))
    return parsed


def _casino_text(log: dict) -> str:
    text = log["text"]
    task = log.get("task_data")
    if text == "Submit-Deal" and isinstance(task, dict):
        mine, theirs = task.get("issue2youget"), task.get("issue2theyget")
        if isinstance(mine, dict) and isinstance(theirs, dict):
            return f"{text} (I get: {_offer(mine)}; you get: {_offer(theirs)})"
    return text


def _offer(items: dict) -> str:
    return ", ".join(f"{item} {count}" for item, count in items.items())


def _kind(value: object) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(type(value), "null")


_PARSERS = {"vtt": _parse_vtt, "srt": _parse_srt, "text": _parse_text, "casino": _parse_casino}

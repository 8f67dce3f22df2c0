"""Load playbooks and measure how well one opportunity covers them.

Which playbook: an explicit name or path, else `SELLERLOOP_PLAYBOOK` (a shipped name such as `bant`, or the
path of a team's own YAML file), else MEDDICC. Every file goes through the same pydantic validation, and a
broken file fails with one line naming the file and the problem.

Coverage reads the opportunity's records once per kind (utterances, activities, contacts on the deal, the
opportunity row) and matches every evidence rule against them in memory. Each piece of evidence cites a
source URI and quotes text that is verbatim in `resolve_source(uri).text`, so the verifier and a person
running `sellerloop source show URI` find the same words.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sellerloop.config import get_settings
from sellerloop.errors import BadInput, NotFound
from sellerloop.evidence.conversation import sentences, transcript_span_uri
from sellerloop.evidence.deals import DealEvidence
from sellerloop.evidence.sources import format_value, resolve_source
from sellerloop.playbooks.models import ElementCoverage, Evidence, EvidenceRule, Playbook
from sellerloop.records.models import (
    Activity,
    Contact,
    Opportunity,
    OpportunityContact,
    Transcript,
    User,
    Utterance,
)

SHIPPED_DIR = Path(__file__).parent / "data"
DEFAULT_PLAYBOOK = "meddicc"
PLAYBOOK_ENV = "SELLERLOOP_PLAYBOOK"
MAX_QUOTE = 300  # characters; a longer sentence is quoted around the words that matched

# Sentence boundaries: after . ! ? and whitespace, and at line breaks. Pieces stay verbatim substrings.


# ------------------------------------------------------------------------------------------------ loading


def shipped_playbooks() -> dict[str, Path]:
    """The playbooks that ship with sellerloop, by name (the file name without .yaml)."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


def load_playbook(path: Path | str) -> Playbook:
    """Read and validate one playbook file; BadInput with `FILE: problem` when it is not a valid playbook."""
    path = Path(path).expanduser()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise BadInput("no such playbook file", file=str(path)) from None
    except OSError as e:
        raise BadInput(f"cannot read playbook: {e.strerror}", file=str(path)) from None
    return _load_cached(str(path.resolve()), stamp)


@lru_cache(maxsize=32)
def _load_cached(path: str, _stamp: int) -> Playbook:
    # Keyed on the modification time too, so an edited file is read again.
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read playbook: {e}", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        line = mark.line + 1 if mark else None
        raise BadInput(f"not valid YAML: {problem}", file=path, line=line) from None
    if not isinstance(data, dict):
        raise BadInput("not a playbook: expected a YAML mapping with key, name, elements and stages",
                       file=path)
    try:
        return Playbook.model_validate(data)
    except ValidationError as e:
        raise BadInput(_describe(e, data), file=path) from None


def _describe(error: ValidationError, data: dict) -> str:
    """The first validation error as `where: what`, naming elements by key rather than by position."""
    first = error.errors()[0]
    where, node = "", data
    for part in first["loc"]:
        if isinstance(part, int):
            label = f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("key") or node.get("stage"), str):
                label = f"[{node.get('key') or node.get('stage')}]"
            where += label
        else:
            where += ("." if where else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}" if where else message


def get_playbook(name_or_path: str | Path | None = None) -> Playbook:
    """A shipped playbook by name, or a file by path; default `SELLERLOOP_PLAYBOOK`, else MEDDICC."""
    value = str(name_or_path or get_settings().playbook or DEFAULT_PLAYBOOK).strip()
    shipped = shipped_playbooks()
    if value.lower() in shipped:
        return load_playbook(shipped[value.lower()])
    path = Path(value).expanduser()
    if path.suffix.lower() in (".yaml", ".yml") or os.sep in value or path.exists():
        return load_playbook(path)
    raise BadInput(f"unknown playbook {value!r}; shipped: {', '.join(shipped)} "
                   f"(or give the path of a playbook YAML file)")


# ------------------------------------------------------------------------------------------------ coverage


@dataclass(frozen=True)
class _Sentence:
    uri: str
    kind: str  # source kind
    text: str  # verbatim substring of the source text
    speaker_side: str | None = None  # customer or seller, for utterances
    activity_kind: str | None = None
    whole: str | None = None  # the whole utterance, quoted instead of the sentence when it is short enough


@dataclass
class _DealRecords:
    """What one opportunity's evidence is made of, loaded once per kind and only when a rule needs it."""

    session: Session
    opportunity: Opportunity
    _utterances: list[_Sentence] | None = None
    _activities: list[_Sentence] | None = None
    _contacts: list[tuple[Contact, str | None]] | None = None

    _rows: list[Utterance] | None = None
    _user_names: frozenset[str] | None = None  # every user's name, when preloaded
    _owner_name: str | None = None

    def preload(self, deal: DealEvidence) -> None:
        """Take the rows from evidence already loaded, in the orders the queries below use."""
        self._user_names, self._owner_name = deal.user_names, deal.owner.name if deal.owner else None
        calls = sorted(deal.transcripts, key=lambda t: (t.occurred_at is None, _descending(t.occurred_at), t.id))
        self._rows = [u for t in calls for u in deal.utterances.get(t.id, [])]
        self._activities = self._activity_sentences(sorted(
            deal.activities, key=lambda a: (_descending(a.occurred_at), a.id)))
        self._contacts = sorted(deal.contacts, key=lambda pair: pair[0].id)

    def utterances(self) -> list[_Sentence]:
        if self._utterances is None:
            rows = self._rows if self._rows is not None else self.session.execute(
                select(Utterance).join(Transcript, Utterance.transcript_id == Transcript.id)
                .where(Transcript.opportunity_id == self.opportunity.id)
                .order_by(Transcript.occurred_at.desc().nulls_last(), Transcript.id, Utterance.seq)
            ).scalars().all()
            self._utterances = []
            if not rows:
                return self._utterances
            # Speakers who are users of ours are the seller side, and so is the deal's owner when a transcript
            # names them by first name only ("Moses:"); everyone else is the customer.
            speakers = {u.speaker for u in rows}
            if self._user_names is not None:
                names = (self._user_names & speakers) | ({self._owner_name} if self._owner_name else set())
            else:
                names = set(self.session.scalars(select(User.name).where(
                    or_(User.name.in_(speakers), User.id == self.opportunity.owner_id))))
            sellers = {name.casefold() for name in names}
            sellers |= {name.split()[0] for name in sellers if name.split()}
            self._utterances = [
                _Sentence(transcript_span_uri(u), "transcript", sentence, whole=u.text.strip(),
                          speaker_side="seller" if u.speaker.strip().casefold() in sellers else "customer")
                for u in rows for sentence in sentences(u.text)
            ]
        return self._utterances

    def activities(self) -> list[_Sentence]:
        if self._activities is None:
            rows = self.session.scalars(
                select(Activity).where(Activity.opportunity_id == self.opportunity.id)
                .order_by(Activity.occurred_at.desc(), Activity.id)
            ).all()
            self._activities = self._activity_sentences(rows)
        return self._activities

    @staticmethod
    def _activity_sentences(rows) -> list[_Sentence]:
        return [_Sentence(f"activity:{a.id}", "activity", sentence, activity_kind=a.kind)
                for a in rows for sentence in sentences(a.body or "")]

    def contacts(self) -> list[tuple[Contact, str | None]]:
        """Contacts on the deal with their role on this deal (which may differ from their usual role)."""
        if self._contacts is None:
            rows = self.session.execute(
                select(Contact, OpportunityContact.role_in_deal)
                .join(OpportunityContact, OpportunityContact.contact_id == Contact.id)
                .where(OpportunityContact.opportunity_id == self.opportunity.id).order_by(Contact.id)
            ).all()
            self._contacts = [(contact, role) for contact, role in rows]
        return self._contacts


def _descending(when: dt.datetime | None) -> float:
    return -when.timestamp() if when is not None else 0.0


def _quote(s: _Sentence, match: re.Match) -> str:
    # A whole short utterance reads better than one of its sentences: "We're also talking to Zentrix. They
    # came in cheaper on the first quote." rather than "They came in cheaper on the first quote."
    if s.whole and len(s.whole) <= MAX_QUOTE:
        return s.whole
    sentence = s.text
    if len(sentence) <= MAX_QUOTE:
        return sentence
    start = max(0, min(match.start() - MAX_QUOTE // 3, len(sentence) - MAX_QUOTE))
    return sentence[start:start + MAX_QUOTE].strip()


def _text_evidence(rule: EvidenceRule, sentences: list[_Sentence]):
    for s in sentences:
        if s.text.endswith("?"):
            continue  # asking about an element is not evidence of it
        if rule.source == "utterance" and rule.speaker != "any" and s.speaker_side != rule.speaker:
            continue
        if rule.source == "activity" and rule.kinds and s.activity_kind not in rule.kind_values:
            continue
        match = rule.matches(s.text)
        if match:
            yield Evidence(uri=s.uri, quote=_quote(s, match), kind=s.kind, rule=rule.summary())


def _rule_evidence(rule: EvidenceRule, deal: _DealRecords):
    if rule.source == "utterance":
        yield from _text_evidence(rule, deal.utterances())
    elif rule.source == "activity":
        yield from _text_evidence(rule, deal.activities())
    elif rule.source == "contact_role":
        for contact, deal_role in deal.contacts():
            role = deal_role or contact.role_in_deal
            # The citable source is the contact's own role field (opportunity_contacts has no URI form yet),
            # so only a role the contact record itself states can be quoted.
            if role in rule.roles and contact.role_in_deal == role:
                yield _field_evidence(deal.session, f"contact:{contact.id}/field/role_in_deal", rule)
    elif rule.source == "contact_title":
        for contact, _ in deal.contacts():
            if contact.title and rule.matches(contact.title):
                yield _field_evidence(deal.session, f"contact:{contact.id}/field/title", rule)
    elif rule.source == "field":
        value = getattr(deal.opportunity, rule.field)
        if value not in (None, "") and (rule.matcher is None or rule.matches(format_value(value))):
            yield _field_evidence(deal.session, f"opportunity:{deal.opportunity.id}/field/{rule.field}", rule)


def _field_evidence(session: Session, uri: str, rule: EvidenceRule) -> Evidence:
    # A field source is one short line ("Role in deal: economic_buyer"); quote it whole, exactly as the
    # resolver renders it. The row is already in the session, so this costs no query.
    source = resolve_source(session=session, uri=uri)
    return Evidence(uri=uri, quote=source.text, kind=source.kind, rule=rule.summary())


def element_coverage(*, session: Session, opportunity_id: str, playbook: Playbook | None = None,
                     max_evidence: int = 3, deal: DealEvidence | None = None) -> list[ElementCoverage]:
    """For each playbook element, in playbook order: is there evidence on this opportunity, which (at most
    `max_evidence` quotes, the strongest rules first, the newest records first), and if not, what to ask.
    `deal`: the opportunity's evidence when a caller already loaded it (evidence.deals), so nothing is read
    twice."""
    playbook = playbook or get_playbook()
    if deal is not None:  # several agents of a whole-book run ask for the same deal's coverage
        memo = deal.coverage_memo.get((id(playbook), max_evidence))
        if memo is not None and memo[0] is playbook:
            return memo[1]
    opportunity = deal.opportunity if deal is not None else session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound(f"no opportunity with id {opportunity_id!r}")
    records = _DealRecords(session, opportunity)
    if deal is not None:
        records.preload(deal)
    coverage = []
    for element in playbook.elements:
        found: list[Evidence] = []
        seen: set[tuple[str, str]] = set()
        for rule in element.evidence:
            for item in _rule_evidence(rule, records):
                if (item.uri, item.quote) not in seen:
                    seen.add((item.uri, item.quote))
                    found.append(item)
                if len(found) >= max_evidence:
                    break
            if len(found) >= max_evidence:
                break
        coverage.append(ElementCoverage(
            key=element.key, name=element.name, satisfied=bool(found), evidence=found,
            missing_questions=[] if found else list(element.questions), actions=list(element.actions)))
    if deal is not None:
        deal.coverage_memo[(id(playbook), max_evidence)] = (playbook, coverage)
    return coverage


def exit_gaps(*, playbook: Playbook, stage: str, coverage: list[ElementCoverage]) -> list[str]:
    """The elements the stage's exit criteria require that have no evidence yet, in playbook order."""
    required = set(playbook.exit_criteria(stage))
    return [c.key for c in coverage if c.key in required and not c.satisfied]

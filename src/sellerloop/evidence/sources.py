"""Sources: every piece of evidence has a stable URI, and the URI resolves to the full text behind it.

URI forms (the part before the first ':' is the kind):

    account:ID                      the account's fields, one "Label: value" line each
    account:ID/field/NAME           one field ("Annual revenue (M USD): 1100.04"); likewise opportunity:, contact:,
                                    user:; references read as names ("Owner: Moses Frase")
    opportunity:ID                  the opportunity's fields
    stage_history:OPPORTUNITY_ID    the stages the opportunity entered, with dates
    activity:ID                     an email, meeting, call or note: header lines, then the body
    transcript:ID                   the whole transcript, one "[mm:ss] Speaker: text" line per utterance
    transcript:ID#t=START-END       the utterances overlapping that span, in seconds (timed transcripts)
    transcript:ID#u=FROM-TO         utterances FROM..TO by position (untimed transcripts, e.g. chats)
    ticket:ID                       a support ticket
    signal:ID or its http(s) URL    a news item, job posting or web page
    usage:ACCOUNT_ID/METRIC         a product-usage series, one "period: value" line each
    pipeline:ACCOUNT_ID             the account's opportunities: counts and value by stage, then one line per
                                    open opportunity (a CRM report, computed from the opportunity records)

`resolve_source` is the one place that turns a URI into text. Agents quote from that text, the verifier checks
quotes against it, and `sellerloop source show URI` prints it, so a quote that is in an agent's output is
always found verbatim by anyone who looks the source up.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sellerloop.access.fields import is_masked, served_user
from sellerloop.access.service import (
    AccessDenied,
    opportunity_filter,
    require_account,
    require_contact,
    require_opportunity,
    require_transcript,
    visible_owner_ids,
)
from sellerloop.errors import BadInput
from sellerloop.evidence.models import SourceRef
from sellerloop.records.models import (
    OPEN_STAGES,
    STAGES,
    Account,
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    Product,
    Signal,
    StageChange,
    Ticket,
    Transcript,
    UsageMetric,
    User,
    Utterance,
)

RECORD_MODELS = {"account": Account, "opportunity": Opportunity, "contact": Contact, "user": User}
# Columns that are plumbing, not facts a person would cite.
HIDDEN_FIELDS = {"synthetic"}
# How a field reads in a source: the words a person (and a sentence citing it) would use. Others get their
# column name with spaces ("next_step" -> "Next step").
FIELD_LABELS = {
    "revenue_musd": "Annual revenue (M USD)", "office_location": "Headquarters",
    "year_established": "Year established", "owner_id": "Owner", "account_id": "Account",
    "parent_id": "Parent company", "product_id": "Product", "manager_id": "Manager",
    "engage_date": "Engaging since", "close_value": "Close value (USD)", "amount": "Amount (USD)",
    "role_in_deal": "Role in deal", "id": "Id",
}
# Reference columns shown by the referenced record's name rather than its id.
REFERENCES = {"owner_id": User, "manager_id": User, "account_id": Account, "parent_id": Account,
              "product_id": Product}
_SPAN = re.compile(r"^(?P<unit>[tu])=(?P<start>\d+(?:\.\d+)?)-(?P<end>\d+(?:\.\d+)?)$")


class UnknownSource(BadInput):
    """The URI is well formed but nothing in the store answers to it."""

    http_status = 404


@dataclass(frozen=True)
class ResolvedSource:
    uri: str
    kind: str  # account, opportunity, activity, transcript, ticket, signal, usage, ...
    title: str
    text: str  # the full text behind the URI; quotes are substrings of it
    record_type: str  # the page that shows it: account, opportunity, transcript, ...
    record_id: str
    observed_at: dt.datetime | dt.date | None = None
    anchor: str | None = None  # where on that page, e.g. "u-12"


def resolve_source(*, session: Session, uri: str) -> ResolvedSource:
    uri = uri.strip()
    preloaded = session.info.get(PRELOADED)
    if preloaded is not None and uri in preloaded:
        return preloaded[uri]
    if uri.startswith(("http://", "https://")):
        signal = session.scalars(select(Signal).where(Signal.url == uri).order_by(Signal.id)).first()
        if signal is None:
            raise UnknownSource(f"no signal with url {uri!r}")
        return _visible(session, _signal(signal, uri))  # by its URL as by its id: the same record access
    kind, sep, rest = uri.partition(":")
    if not sep or not rest:
        raise BadInput(f"not a source URI: {uri!r} (expected KIND:ID, e.g. activity:a-123)")
    resolver = _RESOLVERS.get(kind)
    if resolver is None:
        raise BadInput(f"unknown source kind {kind!r} in {uri!r}; known: {', '.join(sorted(_RESOLVERS))}, http(s)")
    source = _visible(session, resolver(session, uri, rest))
    if session.info.get(REMEMBER_RESOLVED):
        preloaded = preloaded if preloaded is not None else session.info.setdefault(PRELOADED, {})
        preloaded[uri] = source  # seen by this session's viewer: kept as a preloaded source is
    return source


def _visible(session: Session, source: ResolvedSource) -> ResolvedSource:
    """The source, if the session's viewer may see the record it belongs to (AccessDenied otherwise): a source
    link, a highlighted quote or a cited field must not show what the record page would not."""
    user = served_user(session)
    if user is None:
        return source
    kind, record_id = source.record_type, source.record_id
    if kind == "contact":
        require_contact(session=session, user=user, contact_id=record_id)
    elif kind == "opportunity":
        require_opportunity(session=session, user=user, opportunity_id=record_id)
    elif kind == "account" and record_id:
        require_account(session=session, user=user, account_id=record_id)
    elif kind == "transcript":
        require_transcript(session=session, user=user, transcript_id=record_id)
    elif kind != "user" or not record_id:  # the staff directory is for everyone; anything else unknown: refused
        raise AccessDenied(f"{user.name} may not see {source.uri}")
    return source


PRELOADED = "sellerloop.preloaded_sources"
REMEMBER_RESOLVED = "sellerloop.remember_resolved_sources"


def preload_sources(*, session: Session, sources: Iterable[ResolvedSource]) -> None:
    """Let resolve_source answer these URIs without a query for the rest of the session.

    For whole-book runs, which read a chunk of deals' rows in bulk and then cite them thousands of times: the
    sources are built from those rows by the same functions the resolvers use, so the text is the same. Only
    for read-only sessions (agents never write), whose rows cannot change under them."""
    session.info.setdefault(PRELOADED, {}).update((source.uri, source) for source in sources)


def remember_resolved(session: Session) -> None:
    """Keep every source this session resolves for the rest of it, as if preloaded: an agent quotes a record and
    the verifier then checks the quote against the same record, which is read once. Only for read-only
    sessions, as preload_sources."""
    session.info[REMEMBER_RESOLVED] = True


def cite_whole(*, session: Session, uri: str) -> SourceRef:
    """A SourceRef quoting the source's whole text, for short sources such as one record field."""
    source = resolve_source(session=session, uri=uri)
    return SourceRef(uri=uri, quote=source.text, kind=source.kind)


def source_exists(*, session: Session, uri: str) -> bool:
    try:
        resolve_source(session=session, uri=uri)
    except BadInput:
        return False
    return True


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def utterance_line(utterance: Utterance) -> str:
    stamp = f"[{format_seconds(utterance.start_s)}] " if utterance.start_s is not None else f"[#{utterance.seq}] "
    return f"{stamp}{utterance.speaker}: {utterance.text}"


def _get(session: Session, model, record_id: str, uri: str):
    row = session.get(model, record_id)
    if row is None:
        raise UnknownSource(f"no {model.__name__.lower()} with id {record_id!r} (from {uri!r})")
    return row


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


HIDDEN_VALUE = "(hidden)"  # a sensitive field the viewer may not see (access/fields.py)


def _field_line(session: Session, row, field: str) -> str:
    if is_masked(row, field):
        return f"{field_label(field)}: {HIDDEN_VALUE}"
    value = getattr(row, field)
    if field in REFERENCES and value is not None:
        referenced = session.get(REFERENCES[field], value)
        value = referenced.name if referenced is not None else value
    return f"{field_label(field)}: {format_value(value)}"


def cite_field(kind: str, row, field: str) -> SourceRef:
    """`KIND:ID/field/FIELD` quoted exactly as the resolver renders it, from a row in hand (no lookup). Not for
    a filled reference field (owner_id, account_id), which reads as the referenced record's name."""
    value = getattr(row, field)
    if field in REFERENCES and value is not None:
        raise ValueError(f"{field} is a reference; cite it with cite_whole, which looks the name up")
    return SourceRef(uri=f"{kind}:{row.id}/field/{field}", quote=f"{field_label(field)}: {format_value(value)}",
                     kind=kind)


def _field_lines(session: Session, row) -> list[str]:
    return [_field_line(session, row, c.name) for c in row.__table__.columns
            if c.name not in HIDDEN_FIELDS and (getattr(row, c.name) not in (None, "") or is_masked(row, c.name))]


def _record(kind: str):
    model = RECORD_MODELS[kind]

    def resolve(session: Session, uri: str, rest: str) -> ResolvedSource:
        record_id, _, field_path = rest.partition("/field/")
        row = _get(session, model, record_id, uri)
        name = getattr(row, "name", record_id)
        if field_path:
            if field_path not in row.__table__.columns or field_path in HIDDEN_FIELDS:
                raise UnknownSource(f"{kind} has no field {field_path!r} (from {uri!r})")
            return ResolvedSource(uri, kind, f"{name} · {field_label(field_path)}",
                                  _field_line(session, row, field_path), kind, record_id,
                                  anchor=f"field-{field_path}")
        return ResolvedSource(uri, kind, name, "\n".join(_field_lines(session, row)), kind, record_id)

    return resolve


def _stage_history(session: Session, uri: str, rest: str) -> ResolvedSource:
    opportunity = _get(session, Opportunity, rest, uri)
    changes = session.scalars(select(StageChange).where(StageChange.opportunity_id == rest)
                              .order_by(StageChange.id)).all()
    return stage_history_source(opportunity, changes)


def stage_history_source(opportunity: Opportunity, changes: Sequence[StageChange]) -> ResolvedSource:
    """`stage_history:ID` from rows already read (in id order), for resolve_source and for preloading."""
    lines = [f"{c.stage}: {c.entered_on.isoformat() if c.entered_on else 'date not recorded'}" for c in changes]
    return ResolvedSource(f"stage_history:{opportunity.id}", "stage_history", f"{opportunity.name} · stage history",
                          "\n".join(lines), "opportunity", opportunity.id, anchor="stage-history")


def _field_history(session: Session, uri: str, rest: str) -> ResolvedSource:
    """`field_history:OPPORTUNITY_ID[/FIELD]`: the recorded changes of an opportunity's fields, oldest first."""
    record_id, _, field = rest.partition("/")
    opportunity = _get(session, Opportunity, record_id, uri)
    stmt = select(FieldChange).where(FieldChange.object_type == "opportunity", FieldChange.record_id == record_id)
    if field:
        stmt = stmt.where(FieldChange.field == field)
    changes = session.scalars(stmt.order_by(FieldChange.changed_at, FieldChange.id)).all()
    if not changes:
        raise UnknownSource(f"no recorded changes{' of ' + field if field else ''} on opportunity {record_id!r}")
    return field_history_source(opportunity, changes, field or None)


def field_history_source(opportunity: Opportunity, changes: Sequence[FieldChange],
                         field: str | None = None) -> ResolvedSource:
    """`field_history:ID[/FIELD]` from rows already read (oldest first, only FIELD's when given)."""
    uri = f"field_history:{opportunity.id}" + (f"/{field}" if field else "")
    return ResolvedSource(uri, "field_history", f"{opportunity.name} · field history",
                          "\n".join(map(field_change_line, changes)), "opportunity", opportunity.id,
                          changes[-1].changed_at, anchor="field-history")


def field_change_line(change: FieldChange) -> str:
    by = f" · by {change.changed_by}" if change.changed_by else ""
    if is_masked(change, "new_value"):
        return f"{format_value(change.changed_at)} · {field_label(change.field)}: {HIDDEN_VALUE}{by}"
    return (f"{format_value(change.changed_at)} · {field_label(change.field)}: {change.old_value or '(empty)'}"
            f" → {change.new_value or '(empty)'}{by}")


def _people(participants: list[dict], role: str) -> str:
    return ", ".join(f"{p.get('name', '')} <{p['email']}>" if p.get("email") else p.get("name", "")
                     for p in participants or [] if p.get("role") == role)


def activity_heading(*, session: Session, activity: Activity) -> tuple[str, list[SourceRef]]:
    """An activity said in a line: the resolver's first line ("Email on 2017-12-01 10:00") and its subject line,
    each quoted on its own (the From and To lines sit between them), and a statement made of the two."""
    uri = f"activity:{activity.id}"
    lines = resolve_source(session=session, uri=uri).text.split("\n\n", 1)[0].splitlines()
    quoted = [lines[0], *(line for line in lines if line.startswith("Subject: "))][:2]
    return ". ".join(quoted), [SourceRef(uri=uri, quote=line, kind="activity") for line in quoted]


def ticket_heading(*, session: Session, ticket: Ticket) -> tuple[str, SourceRef]:
    """A ticket said in a line: the resolver's first two lines ("Ticket ID (high, open) opened ...", "Subject:
    ..."), quoted together, and a statement made of them. The row is in the session: no query."""
    uri = f"ticket:{ticket.id}"
    heading, subject = resolve_source(session=session, uri=uri).text.splitlines()[:2]
    return f"{heading}. {subject}.", SourceRef(uri=uri, quote=f"{heading}\n{subject}", kind="ticket")


def _activity(session: Session, uri: str, rest: str) -> ResolvedSource:
    a = _get(session, Activity, rest, uri)
    header = [f"{a.kind.capitalize()} on {format_value(a.occurred_at)}"]
    for role, label in (("from", "From"), ("to", "To"), ("cc", "Cc"), ("attendee", "Attendees")):
        people = _people(a.participants, role)
        if people:
            header.append(f"{label}: {people}")
    if a.subject:
        header.append(f"Subject: {a.subject}")
    text = "\n".join(header) + ("\n\n" + a.body if a.body else "")
    page, page_id = ("opportunity", a.opportunity_id) if a.opportunity_id else ("account", a.account_id or "")
    return ResolvedSource(uri, "activity", a.subject or a.kind, text, page, page_id, a.occurred_at,
                          anchor=f"activity-{a.id}")


MAX_UTTERANCE = 2**31 - 1


def _transcript(session: Session, uri: str, rest: str) -> ResolvedSource:
    transcript_id, _, fragment = rest.partition("#")
    transcript = _get(session, Transcript, transcript_id, uri)
    stmt = select(Utterance).where(Utterance.transcript_id == transcript_id).order_by(Utterance.seq)
    anchor = None
    if fragment:
        match = _SPAN.match(fragment)
        if not match or float(match["end"]) < float(match["start"]):
            raise BadInput(f"bad transcript span {fragment!r} in {uri!r} (expected t=START-END seconds "
                           "or u=FROM-TO utterance numbers)")
        start, end = float(match["start"]), float(match["end"])
        if match["unit"] == "u" and end > MAX_UTTERANCE:  # past any column's integer: bad input, not a crash
            raise BadInput(f"bad transcript span {fragment!r} in {uri!r}: utterance numbers go up to {MAX_UTTERANCE}")
        if match["unit"] == "t":
            # Overlap with [start, end]; an utterance whose end is unknown counts as the instant it starts.
            ends = func.coalesce(Utterance.end_s, Utterance.start_s)
            stmt = stmt.where(Utterance.start_s < end if end > start else Utterance.start_s <= end,
                              ends > start if end > start else ends >= start)
        else:
            stmt = stmt.where(Utterance.seq >= int(start), Utterance.seq <= int(end))
    utterances = session.scalars(stmt).all()
    if fragment:
        if not utterances:
            raise UnknownSource(f"no utterance in {fragment!r} of transcript {transcript_id!r}")
        anchor = f"u-{utterances[0].seq}"
    return ResolvedSource(uri, "transcript", transcript.title, "\n".join(map(utterance_line, utterances)),
                          "transcript", transcript_id, transcript.occurred_at, anchor=anchor)


def _ticket(session: Session, uri: str, rest: str) -> ResolvedSource:
    t = _get(session, Ticket, rest, uri)
    lines = [f"Ticket {t.id} ({t.severity}, {t.status}) opened {format_value(t.opened_at)}", f"Subject: {t.subject}"]
    if t.closed_at:
        lines.append(f"Closed: {format_value(t.closed_at)}")
    text = "\n".join(lines) + ("\n\n" + t.body if t.body else "")
    return ResolvedSource(uri, "ticket", t.subject, text, "account", t.account_id or "", t.opened_at,
                          anchor=f"ticket-{t.id}")


def _signal(signal: Signal, uri: str) -> ResolvedSource:
    published = f" ({format_value(signal.published_at)})" if signal.published_at else ""
    text = f"{signal.title}{published}\n{signal.url}" + ("\n\n" + signal.body if signal.body else "")
    return ResolvedSource(uri, "signal", signal.title, text, "account", signal.account_id or "",
                          signal.published_at, anchor=f"signal-{signal.id}")


def _signal_by_id(session: Session, uri: str, rest: str) -> ResolvedSource:
    return _signal(_get(session, Signal, rest, uri), uri)


def _usage(session: Session, uri: str, rest: str) -> ResolvedSource:
    account_id, _, metric = rest.partition("/")
    account = _get(session, Account, account_id, uri)
    points = session.scalars(select(UsageMetric).where(UsageMetric.account_id == account_id,
                                                       UsageMetric.metric == metric)
                             .order_by(UsageMetric.period_start)).all()
    if not points:
        raise UnknownSource(f"no usage series {metric!r} for account {account_id!r}")
    label = metric.replace("_", " ")
    text = "\n".join(f"{p.period_start.isoformat()}: {format_value(p.value)} {label}" for p in points)
    return ResolvedSource(uri, "usage", f"{account.name} · {metric}", text, "account", account_id,
                          points[-1].period_start, anchor=f"usage-{metric}")


def _pipeline(session: Session, uri: str, rest: str) -> ResolvedSource:
    account = _get(session, Account, rest, uri)
    owners = visible_owner_ids(session=session, user=served_user(session))
    opportunities = session.scalars(select(Opportunity).where(Opportunity.account_id == rest,
                                                              opportunity_filter(owners))
                                    .order_by(Opportunity.close_date, Opportunity.id)).all()
    by_stage: dict[str, list[Opportunity]] = {}
    for o in opportunities:
        by_stage.setdefault(o.stage, []).append(o)
    counts = ", ".join(f"{stage} {len(by_stage[stage])}" for stage in STAGES if stage in by_stage)
    lines = [f"Pipeline of {account.name}: {len(opportunities)} opportunities ({counts or 'none'})"]
    open_ones = [o for o in opportunities if o.stage in OPEN_STAGES]
    lines.append(f"Open: {len(open_ones)} opportunities, {_total_shown(open_ones)} USD")
    won = by_stage.get("Won", [])
    lines.append(f"Won: {len(won)} opportunities, {_total_shown(won)} USD")
    names = dict(session.execute(select(User.id, User.name)).all())
    for o in open_ones:
        close = f" · expected close {o.close_date.isoformat()}" if o.close_date else ""
        amount = HIDDEN_VALUE if is_masked(o, "amount") else format_value(o.amount)
        lines.append(f"- {o.name} · {o.stage} · {amount} USD{close} · {names.get(o.owner_id, '')}")
    return ResolvedSource(uri, "pipeline", f"{account.name} · pipeline", "\n".join(lines), "account", rest,
                          anchor="opportunities")


def _total_shown(opportunities) -> str:
    """The total, or (hidden) when one of the amounts is masked: a partial sum would be a wrong figure."""
    if any(is_masked(o, "amount") for o in opportunities):
        return HIDDEN_VALUE
    return format_value(_total(opportunities))


def _total(opportunities) -> float:
    return round(sum(o.amount or 0 for o in opportunities), 2)


_RESOLVERS = {
    **{kind: _record(kind) for kind in RECORD_MODELS},
    "stage_history": _stage_history,
    "field_history": _field_history,
    "activity": _activity,
    "transcript": _transcript,
    "ticket": _ticket,
    "signal": _signal_by_id,
    "usage": _usage,
    "pipeline": _pipeline,
}

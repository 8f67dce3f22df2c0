"""The `sellerloop` command (Typer). Commands are thin: they parse, call a service function, and print.

Exit codes (DESIGN.md §8): 0 success, 1 failure, 2 bad input or usage, with a one-line reason on stderr.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

try:  # Typer >= 0.26 carries its own copy of click; older ones use click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from rich.table import Table

from sellerloop.approvals.commands import approvals_app, rollback_command
from sellerloop.audit.commands import audit_app
from sellerloop.auth.commands import users_app
from sellerloop.autonomy.commands import autonomy_app
from sellerloop.config import BUNDLED_MAVEN_DIR, get_settings
from sellerloop.console import err, open_store, out, print_json
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.outcomes.commands import import_events_command, outcomes_app
from sellerloop.playbooks.commands import playbook_show
from sellerloop.policy.commands import policy_app
from sellerloop.scoring.commands import eval_app, scoring_app
from sellerloop.shadow.commands import shadow_app
from sellerloop.store.db import session_scope
from sellerloop.store.service import init_store, open_engine
from sellerloop.verifier.commands import claims_command, verify

app = typer.Typer(help="sellerloop: AI sales agents on your CRM, with a source for every fact.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  rich_markup_mode=None)  # plain click errors: the reason on one line, no box
import_app = typer.Typer(help="Load records into the store.", no_args_is_help=True)
records_app = typer.Typer(help="Look at the records in the store.", no_args_is_help=True)
source_app = typer.Typer(help="Look up the evidence behind a source URI.", no_args_is_help=True)
playbook_app = typer.Typer(help="Sales methodology playbooks (MEDDICC, BANT, SPIN or your own).",
                           no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(records_app, name="records")
app.add_typer(source_app, name="source")
app.add_typer(playbook_app, name="playbook")
run_app = typer.Typer(help="Run one agent on one record (Markdown with numbered sources, or --json).",
                      no_args_is_help=True)
app.add_typer(run_app, name="run")
app.add_typer(policy_app, name="policy")
app.add_typer(autonomy_app, name="autonomy")
app.add_typer(audit_app, name="audit")
app.add_typer(approvals_app, name="approvals")
app.add_typer(users_app, name="users")
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(scoring_app, name="scoring")
app.add_typer(eval_app, name="eval")
eval_app.command("claims")(claims_command)
app.add_typer(shadow_app, name="shadow")
import_app.command("events")(import_events_command)
app.command("rollback")(rollback_command)
playbook_app.command("show")(playbook_show)

@app.command()
def init() -> None:
    """Create the store, or bring it to the newest schema. Running it again changes nothing."""
    engine = open_engine()
    before, after = init_store(engine=engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        out.print(f"store at {where} is already at schema {after}; nothing changed")
    else:
        out.print(f"store at {where} migrated {before or 'empty'} -> {after}")


@import_app.command("maven")
def import_maven_command(
    folder: Annotated[Path, typer.Argument(help="folder with the Maven CRM CSV files")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import the Maven "CRM + Sales Opportunities" tables; repairs and reports the data set's known quirks."""
    from sellerloop.importers.maven import import_maven

    engine = open_store(initialise=True)
    with session_scope(engine) as session:
        report = import_maven(session=session, folder=folder)
    if as_json:
        print_json(report.as_dict())
        return
    out.print("imported: " + ", ".join(f"{n} {k}" for k, n in report.counts.items()))
    for quirk in report.quirks:
        out.print(f"  repaired/noted: {quirk}")


@import_app.command("transcript")
def import_transcript_command(
    file: Annotated[Path, typer.Argument(help="a WebVTT, SRT, 'Speaker: text' or CaSiNo JSON file")],
    opportunity: Annotated[str, typer.Option("--opportunity", help="the opportunity the call belongs to")],
    fmt: Annotated[str | None, typer.Option("--format", help="vtt, srt, text or casino (default: guessed)")] = None,
    sellers: Annotated[list[str] | None, typer.Option(
        "--seller", help="a speaker label that is our side (repeat for each); our users and the deal's contacts "
                         "are recognised by name or email")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the new transcript's id as JSON")] = False,
) -> None:
    """Import a call transcript onto an opportunity; prints the new transcript's id. Each speaker label is read as
    our side or the customer's; one that matches nobody is marked unknown, with a warning, never guessed."""
    from sellerloop.importers.transcripts import import_transcript_file

    engine = open_store(initialise=True)
    with session_scope(engine) as session:
        transcripts = import_transcript_file(session=session, path=file, opportunity_id=opportunity, fmt=fmt,
                                             sellers=sellers or ())
        summary = [{"id": t.id, "title": t.title, "opportunity_id": t.opportunity_id,
                    "utterances": len(t.utterances), "source_format": t.source_format,
                    "speakers": {u.speaker: u.role for u in t.utterances}} for t in transcripts]
    unknown = sorted({speaker for t in summary for speaker, role in t["speakers"].items() if role is None})
    if unknown:
        err.print(f"warning: {len(unknown)} speaker(s) match no user and no contact of the deal, so their side is "
                  f"unknown: {', '.join(unknown[:6])}{' …' if len(unknown) > 6 else ''} (name our side with "
                  "--seller, or add the contact)", markup=False, highlight=False)
    if as_json:
        print_json(summary[0] if len(summary) == 1 else {"id": summary[0]["id"], "transcripts": summary})
        return
    for t in summary:
        out.print(f"{t['id']}  {t['utterances']} utterances  ({t['source_format']}: {t['title']})")


@import_app.command("csv")
def import_csv_command(
    file: Annotated[Path, typer.Argument(help="a CSV export from your CRM")],
    mapping: Annotated[Path, typer.Option("--mapping", help="YAML mapping of its columns to sellerloop fields")],
) -> None:
    """Import a CRM export with a column mapping (see `importers/csv_mapping.py` for the mapping format)."""
    from sellerloop.importers.csv_mapping import import_csv, load_mapping

    parsed = load_mapping(mapping)
    engine = open_store(initialise=True)
    with session_scope(engine) as session:
        written = import_csv(session=session, path=file, mapping=parsed)
    out.print(f"imported {written} {parsed.record_type} from {file}")


@import_app.command("signals")
def import_signals_command(
    path_or_url: Annotated[str, typer.Argument(help="an RSS/Atom feed or an HTML page: a file or an http(s) URL")],
    account: Annotated[str, typer.Option("--account", help="the account the signals are about")],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="news, job_posting or web_page (default: news for a feed, job_posting for a jobs feed, "
                       "web_page for a page)")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.01,
                                           help="seconds to connect and per read when fetching a URL")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts and the signal ids as JSON")] = False,
) -> None:
    """Import news, job postings or a web page as signals on an account; re-importing updates them in place."""
    from sellerloop.importers.signals import import_signals

    engine = open_store(initialise=True)
    with session_scope(engine) as session:
        report = import_signals(session=session, source=path_or_url, account_id=account, kind=kind,
                                timeout=timeout)
    if as_json:
        print_json(report.as_dict())
        return
    count = len(report.signals)
    out.print(f"{count} signal{'' if count == 1 else 's'} from {path_or_url} on account {account}: "
              f"{report.new} new, {report.updated} updated", markup=False, highlight=False)
    for s in report.signals:
        out.print(f"{s['id']}  {s['kind']}  {s['title']}", markup=False, highlight=False)


def _serve_to(session, user_id: str | None) -> None:
    """`--as USER`: the session serves that person (their record access, sensitive fields masked)."""
    if user_id is not None:
        from sellerloop.access.fields import bind_viewer
        from sellerloop.access.service import get_user

        bind_viewer(session, user=get_user(session=session, user_id=user_id))


@records_app.command("list")
def records_list(
    record_type: Annotated[str, typer.Argument(help="accounts, opportunities, contacts or transcripts")],
    limit: Annotated[int | None, typer.Option(help="at most this many rows")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    acting_user: Annotated[str | None, typer.Option("--as", help="as this user: only what they may see")] = None,
) -> None:
    """List records: id and name, and for opportunities stage, account and owner."""
    from sellerloop.records.service import list_records

    engine = open_store()
    with session_scope(engine) as session:
        _serve_to(session, acting_user)
        rows = list_records(session=session, record_type=record_type, limit=limit)
    if as_json:
        print_json(rows)
        return
    columns = list(rows[0].keys()) if rows else ["id", "name"]
    cells = [["" if v is None else str(v) for v in row.values()] for row in rows]
    if not out.is_terminal:  # piped: tab-separated lines that `cut` and `awk` can read, never truncated
        sys.stdout.write("\n".join("\t".join(line) for line in [columns, *cells]) + "\n")
        return
    table = Table(*columns)
    for line in cells:
        table.add_row(*line)
    out.print(table)


@source_app.command("show")
def source_show(
    uri: Annotated[str, typer.Argument(
        help="e.g. activity:ID, transcript:ID#t=12.5-18.0, opportunity:ID/field/close_date")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON with kind, title, page and text")] = False,
    acting_user: Annotated[str | None, typer.Option("--as", help="as this user: only what they may see")] = None,
) -> None:
    """Print the full text behind a source: every quote an agent cites from it appears here verbatim."""
    from sellerloop.evidence.sources import resolve_source

    engine = open_store()
    with session_scope(engine) as session:
        _serve_to(session, acting_user)
        source = resolve_source(session=session, uri=uri)
    if as_json:
        print_json({"uri": source.uri, "kind": source.kind, "title": source.title, "text": source.text,
                     "record_type": source.record_type, "record_id": source.record_id,
                     "anchor": source.anchor, "observed_at": source.observed_at})
        return
    sys.stdout.write(source.text + "\n")


AsUser = Annotated[str | None, typer.Option("--as", help="run as this user id (their record access applies)")]
PlaybookOption = Annotated[str | None, typer.Option("--playbook", help="playbook name or file (default: settings)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON (the DESIGN.md §8 shape)")]


@run_app.command("research")
def run_research(
    account: Annotated[str, typer.Option("--account", help="the account to research")],
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """Account research: summary, the latest trigger event, and why they might buy now; every sentence cited."""
    _run_agent("research", "account", account, acting_user, playbook, as_json)


@run_app.command("prep")
def run_prep(
    opportunity: Annotated[str, typer.Option("--opportunity", help="the opportunity to prepare a meeting for")],
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """Meeting prep: agenda, questions for the playbook gaps (for the right person), expected objections."""
    _run_agent("prep", "opportunity", opportunity, acting_user, playbook, as_json)


@run_app.command("next-action")
def run_next_action(
    opportunity: Annotated[str | None, typer.Option("--opportunity", help="the opportunity to advance")] = None,
    account: Annotated[str | None, typer.Option("--account", help="or an account: its open deals together")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", help="at most this many recommendations (default: the policy's caps.recommendations_per_record)")]
    = None,
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """Next-best action: catalogue actions ranked by score, each with its reason and the playbook element it
    advances."""
    subject_type, subject_id = _one_subject(opportunity=opportunity, account=account)
    _run_agent("next-action", subject_type, subject_id, acting_user, playbook, as_json, limit=limit)


@run_app.command("follow-up")
def run_follow_up(
    opportunity: Annotated[str | None, typer.Option("--opportunity", help="the opportunity the call was about")] = None,
    transcript: Annotated[str | None, typer.Option(
        "--transcript", help="the call (default: the deal's latest)")] = None,
    eml: Annotated[Path | None, typer.Option("--eml", help="also write the email draft to this .eml file")] = None,
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """Follow-up after a call: commitments (who, what, by when), an email draft, tasks and a mutual action plan."""
    if opportunity is None and transcript is None:
        raise BadInput("give --opportunity ID, --transcript ID or both")
    subject_type, subject_id = ("opportunity", opportunity) if opportunity else ("transcript", transcript)
    run = _run_agent("follow-up", subject_type, subject_id, acting_user, playbook, as_json,
                     transcript_id=transcript if opportunity else None)
    if eml is not None:
        message = next((i.content for i in run.items if i.artifact == "email" and i.content), None)
        if message is None:
            recapped = any(i.section == "email" and i.artifact is None for i in run.items)
            raise BadInput("no email draft to write: " + ("a recap already went out after the call" if recapped
                                                           else "the call has nothing to follow up on"))
        try:
            eml.write_bytes(message.encode("utf-8"))  # as is: text mode would turn CRLF into CRCRLF on Windows
        except OSError as e:
            raise BadInput(f"cannot write {eml}: {e.strerror}") from None


@run_app.command("coaching")
def run_coaching(
    transcript: Annotated[str, typer.Option("--transcript", help="the call to coach on")],
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """Coaching on one call: talk ratio, questions, monologues, playbook coverage, objections and how they were
    handled, the next step; improvement points and role-play questions."""
    _run_agent("coaching", "transcript", transcript, acting_user, playbook, as_json)


@run_app.command("hygiene")
def run_hygiene(
    opportunity: Annotated[str, typer.Option("--opportunity", help="the opportunity to tidy")],
    acting_user: AsUser = None, playbook: PlaybookOption = None, as_json: JsonOption = False,
) -> None:
    """CRM hygiene: field-update drafts as old -> new diffs, each cited, and alerts for empty required fields.
    It drafts; it never writes."""
    _run_agent("hygiene", "opportunity", opportunity, acting_user, playbook, as_json)


def _one_subject(**given: str | None) -> tuple[str, str]:
    chosen = [(name, value) for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        raise BadInput("give exactly one of " + " or ".join(f"--{name} ID" for name in given))
    return chosen[0]


def _run_agent(use_case: str, subject_type: str, subject_id: str, acting_user: str | None,
               playbook: str | None, as_json: bool, **options):
    from sellerloop.agents.models import Subject
    from sellerloop.agents.render import to_markdown
    from sellerloop.agents.service import run_agent
    from sellerloop.composers.service import configured_composer

    engine = open_store()
    with session_scope(engine) as session:
        result = run_agent(session=session, use_case=use_case, subject=Subject(type=subject_type, id=subject_id),
                           acting_user_id=acting_user, composer=configured_composer(), playbook=playbook,
                           **options)
    sys.stdout.write(result.model_dump_json(indent=2) + "\n" if as_json else to_markdown(result))
    return result


@app.command("run-all")
def run_all_command(
    use_case: Annotated[list[str] | None, typer.Option("--use-case", help="run only this use case (repeatable; "
                                                        "default: all six)")] = None,
    acting_user: AsUser = None, playbook: PlaybookOption = None,
    restart: Annotated[bool, typer.Option("--restart", help="start a new batch instead of continuing an "
                                                             "interrupted one")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=16, help="processes to run agents in")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run agents over the whole book (the nightly refresh) and keep each record's latest output.
    An interrupted run continues where it stopped when started again with the same options."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sellerloop.runs.service import run_all

    engine = open_store()
    err = Console(stderr=True)
    with Progress(TextColumn("agent runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=as_json, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("runs", total=None)
        try:
            summary = run_all(engine=engine, use_cases=use_case or (), acting_user=acting_user, playbook=playbook,
                              restart=restart, workers=workers,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
        except KeyboardInterrupt:
            raise SellerloopError("interrupted; run the same command again to continue where it stopped") from None
    win_model = _rebuild_win_model(engine)
    if as_json:
        print_json({"batch": summary.batch_id, "resumed": summary.resumed, "skipped": summary.skipped,
                     "seconds": round(summary.seconds, 2), "write_seconds": round(summary.write_seconds, 2),
                     "use_cases": {u: vars(t) for u, t in summary.totals.items()},
                     "win_model": win_model.model_dump(mode="json") if win_model else None})
        return
    # Short headings: the table must fit an 80-column terminal with the longest use case name.
    table = Table("use case", "records", "items", "actions", "diffs", "unsupported", "failed",
                  title=f"Batch {summary.batch_id}" + (" (continued)" if summary.resumed else ""))
    for u, t in summary.totals.items():
        table.add_row(u, str(t.records), str(t.items), str(t.recommendations), str(t.field_changes),
                      str(t.dropped_unsupported), str(t.failed))
    out.print(table)
    rate = summary.records / summary.seconds if summary.seconds else 0
    out.print(f"{summary.records} agent runs in {summary.seconds:.1f} s ({rate:.0f}/s)"
              + (f"; {summary.skipped} already done by the interrupted run" if summary.skipped else ""))
    for u, t in summary.totals.items():
        if t.pending or t.executed or t.held:
            out.print(f"{u}: placed {t.pending} pending approval, {t.executed} executed within policy"
                      + (f", {t.held} held back by the caps" if t.held else ""))
        for error in t.errors:
            out.print(f"{u}: {error}")
    if win_model is not None:
        out.print(f"win probability rebuilt from {win_model.closed_deals} closed deals (book win rate "
                  f"{win_model.base_rate:.0%})")


def _rebuild_win_model(engine):
    """The nightly run is when the win-probability model is rebuilt and calibrated again (scoring/win.py); won and
    lost events count in it as they arrive in between. A book with no closed deal has nothing to learn from."""
    from sellerloop.scoring.win import rebuild

    with session_scope(engine) as session:
        try:
            return rebuild(session=session)
        except BadInput:
            return None


@app.command("embed-url")
def embed_url_command(
    acting_user: Annotated[str, typer.Option("--as", help="whose link: it shows what this user may see")],
    opportunity: Annotated[str | None, typer.Option("--opportunity", help="the opportunity to embed")] = None,
    account: Annotated[str | None, typer.Option("--account", help="the account to embed")] = None,
    minutes: Annotated[int, typer.Option("--minutes", help="how long the link works (1 to 60)")] = 15,
) -> None:
    """Print an embed link to a record's agent panels, for an iframe in Salesforce or another CRM. It needs no
    cookie (a signed token in the link) and works only on that record, for `minutes`."""
    from sellerloop.access.service import get_user
    from sellerloop.auth.service import session_secret
    from sellerloop.cards.service import embed_link

    kind, record_id = _one_subject(opportunity=opportunity, account=account)
    with session_scope(open_store()) as session:
        link = embed_link(session=session, secret=session_secret(get_settings().home),
                          user=get_user(session=session, user_id=acting_user), kind=kind, record_id=record_id,
                          minutes=minutes)
    sys.stdout.write(link["url"] + "\n")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Counts per record type, real and synthetic apart."""
    from sellerloop.records.service import count_records

    engine = open_store()
    with session_scope(engine) as session:
        counts = count_records(session=session)
    if as_json:
        print_json(counts)
        return
    table = Table("record type", "real", "synthetic", "total")
    for name, c in counts.items():
        table.add_row(name, str(c["real"]), str(c["synthetic"]), str(c["total"]))
    out.print(table)


@app.command()
def generate(
    accounts: Annotated[int, typer.Option(min=1, help="accounts to generate")] = 1000,
    activities: Annotated[int, typer.Option(min=0, help="activities to generate")] = 10000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same book")] = 1,
) -> None:
    """Build a large synthetic book (for benchmarks), marked synthetic, in the configured store."""
    from sellerloop.sample.generator import generate_book

    engine = open_store(initialise=True)
    result = generate_book(engine=engine, accounts=accounts, activities=activities, seed=seed,
                           console=err)
    out.print(result.summary())


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the web UI when done")] = True,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Set up the demo book (init, Maven import, sample layer, a writable policy), place the night's run and serve
    the web UI."""
    from sellerloop.importers.maven import import_maven
    from sellerloop.policy.service import write_demo_policy
    from sellerloop.sample.layer import build_sample_layer

    engine = open_store(initialise=True)
    with session_scope(engine) as session:
        report = import_maven(session=session, folder=BUNDLED_MAVEN_DIR)
    out.print("Maven data: " + ", ".join(f"{n} {k}" for k, n in report.counts.items()))
    with session_scope(engine) as session:
        sample = build_sample_layer(session=session, seed=get_settings().sample_seed)
    out.print("sample layer (synthetic): " + ", ".join(f"{n} {k}" for k, n in sample.items()))
    policy_file = write_demo_policy(home=get_settings().home)
    if policy_file is not None:
        out.print(f"policy: {policy_file} (writable: promote and the kill switch on /policy; follow-up tasks and "
                  "hygiene's field changes wait for a manager at L4)", markup=False)
    with session_scope(engine) as session:
        out.print("agents: " + _demo_agent_check(session))
    out.print("placed: " + _demo_placement(engine))
    with session_scope(engine) as session:
        out.print("outcomes: " + _demo_outcomes(session))
    with session_scope(engine) as session:
        accounts = _demo_sign_ins(session)
    out.print("sign in as (also in " + str(get_settings().home / DEMO_SIGN_INS) + "):", markup=False)
    for line in accounts:
        out.print("  " + line, markup=False, highlight=False)
    if serve_after:
        _serve(engine, host, port)


def _demo_placement(engine) -> str:
    """The night's run over the deals whose outputs the demo policy places (L4): the inboxes start with real
    items, as they would the morning after a real install's first night."""
    from sellerloop.runs.service import run_all

    summary = run_all(engine=engine, use_cases=("follow-up", "hygiene"))
    return ", ".join(f"{u}: {t.pending} pending approval" + (f" ({t.held} held back by the caps)" if t.held else "")
                     for u, t in summary.totals.items())


def _demo_outcomes(session) -> str:
    """What happened on the demo book's records, read off its history as outcome events, and the win-probability
    model built from its closed deals (run-all rebuilds it after each nightly run)."""
    from sellerloop.pipeline.outcomes import collect_crm_events
    from sellerloop.scoring.win import rebuild

    events = collect_crm_events(session=session)
    info = rebuild(session=session)
    return (f"{events} events from the CRM history; win probability learnt from {info.closed_deals} closed deals "
            f"(book win rate {info.base_rate:.0%})")


DEMO_SIGN_INS = "demo-sign-ins.txt"


def _demo_sign_ins(session) -> list[str]:
    """Passwords for four demo people (admin, RevOps, the manager with the most open deals, one of their
    sellers), new and random on every `demo`, printed and kept in the data folder for its owner only."""
    import os
    import secrets

    from sqlalchemy import func, select

    from sellerloop.auth.service import set_password
    from sellerloop.records.models import OPEN_STAGES, Opportunity, User

    busiest = session.execute(select(User.manager_id, func.count()).join(Opportunity, Opportunity.owner_id == User.id)
                              .where(Opportunity.stage.in_(OPEN_STAGES), User.manager_id.is_not(None))
                              .group_by(User.manager_id).order_by(func.count().desc(), User.manager_id)).first()
    manager = session.get(User, busiest[0])
    seller = session.scalars(select(User).where(User.manager_id == manager.id).order_by(User.id)).first()
    people = [*session.scalars(select(User).where(User.role.in_(("admin", "revops"))).order_by(User.id)),
              manager, seller]
    lines = []
    for person in people:
        password = secrets.token_urlsafe(9)
        set_password(session=session, user_id=person.id, password=password)
        lines.append(f"{person.role:8} {person.id:20} password {password}   ({person.name})")
    path = get_settings().home / DEMO_SIGN_INS
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def _demo_agent_check(session, deals: int = 100) -> str:
    """Run research on every account and prep on the open deals closing soonest, as the record pages will, and
    say what was shown and dropped. Nothing is stored: the pages run the agents again when opened."""
    from sqlalchemy import select

    from sellerloop.agents.models import Subject
    from sellerloop.agents.service import run_agent
    from sellerloop.records.models import OPEN_STAGES, Account, Opportunity

    runs = [run_agent(session=session, use_case="research", subject=Subject(type="account", id=a))
            for a in session.scalars(select(Account.id).order_by(Account.id))]
    runs += [run_agent(session=session, use_case="prep", subject=Subject(type="opportunity", id=o))
             for o in session.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES))
                                      .order_by(Opportunity.close_date, Opportunity.id).limit(deals))]
    items = [item for r in runs for item in r.items]
    cited = sum(bool(item.sources) for item in items)
    dropped = sum(r.dropped_unsupported for r in runs)
    return (f"research and prep ran on {len(runs)} records: {len(items)} items shown ({cited} citing sources, "
            f"the rest playbook questions), {dropped} unsupported dropped by the verifier")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Serve the web UI and API."""
    _serve(open_store(), host, port)


def _serve(engine, host: str, port: int) -> None:
    import uvicorn
    from sqlalchemy import func, select

    from sellerloop.auth.models import Credential
    from sellerloop.web.app import create_app

    with session_scope(engine) as session:
        if not session.scalar(select(func.count()).select_from(Credential)):
            out.print("nobody can sign in yet: give someone a password with `sellerloop users password USER_ID`",
                      markup=False, highlight=False)
    out.print(f"sellerloop is serving at [bold]http://{host}:{port}[/bold]  (Ctrl+C stops it)")
    uvicorn.run(create_app(engine=engine), host=host, port=port, log_level="warning")


app.command("verify")(verify)


def main(argv: list[str] | None = None) -> None:
    """Entry point. Every error is one line on stderr with its exit code (2 for usage and bad input); help and
    `--help` print as usual."""
    try:
        code = app(args=argv, prog_name="sellerloop", standalone_mode=False)
    except NoArgsIsHelpError as e:  # a bare group (`sellerloop run`): its help is the useful answer
        e.show()
        sys.exit(e.exit_code)
    except UsageError as e:
        hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        sys.stderr.write(f"Error: {' '.join(e.format_message().split())}{hint}\n")
        sys.exit(e.exit_code)
    except ClickException as e:
        sys.stderr.write(f"Error: {' '.join(e.format_message().split())}\n")
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.stderr.write("Error: aborted\n")
        sys.exit(1)
    except SellerloopError as e:
        sys.stderr.write(f"Error: {e.one_line()}\n")
        sys.exit(e.exit_code)
    if isinstance(code, int) and code:  # typer.Exit(code) comes back as a return value here
        sys.exit(code)


__all__ = ["app", "main"]

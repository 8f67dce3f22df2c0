"""`sellerloop audit verify [--json] [--expect-head SEQ:HASH]` and `sellerloop audit list [--limit N] [--json]`.

`verify` exits 0 with "N rows, chain intact" and the head to keep as an anchor, or 1 naming the first bad row
("row 17 was edited: its hash does not match its contents")."""
from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from sellerloop.console import open_store

audit_app = typer.Typer(help="The audit log: append-only, hash-chained.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON")]


@audit_app.command("verify")
def verify_command(
        expect_head: Annotated[str | None, typer.Option(
            "--expect-head", metavar="SEQ:HASH",
            help="a head printed by an earlier verify, kept elsewhere: also catches a cut-off or rewritten tail")]
        = None,
        as_json: Json = False) -> None:
    """Check that no row of the audit log was edited, deleted, inserted or moved; exit 1 naming the first."""
    from sellerloop.audit.service import ChainBroken, Head, head, verify
    from sellerloop.store.db import session_scope

    anchor = Head.parse(expect_head) if expect_head is not None else None
    with session_scope(open_store()) as session:
        result = verify(session=session, expect_head=anchor)
        last = head(session=session)
    if as_json:
        sys.stdout.write(json.dumps({"ok": result.ok, "checked": result.checked,
                                     "first_bad_seq": result.first_bad_seq, "problem": result.problem,
                                     "head": {"seq": last.seq, "hash": last.hash} if last else None},
                                    indent=2) + "\n")
        if not result.ok:
            raise typer.Exit(1)
        return
    if not result.ok:
        raise ChainBroken(result.problem)
    rows = "1 row" if result.checked == 1 else f"{result.checked} rows"
    sys.stdout.write(f"{rows}, chain intact" + (f"; head {last} (keep it to check the tail later)\n" if last
                                                 else "\n"))


@audit_app.command("list")
def list_command(limit: Annotated[int, typer.Option("--limit", min=1, help="how many rows")] = 50,
                 as_json: Json = False) -> None:
    """The newest rows of the audit log first."""
    from sellerloop.audit.service import list_entries
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        entries = list_entries(session=session, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps([{"seq": e.seq, "recorded_at": e.recorded_at.isoformat(timespec="microseconds"),
                                      "actor": e.actor, "action": e.action, "subject": e.subject,
                                      "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash}
                                     for e in entries], indent=2, ensure_ascii=False) + "\n")
        return
    for e in entries:
        sys.stdout.write(f"{e.seq:>6}  {e.recorded_at:%Y-%m-%d %H:%M:%S}  {e.actor:20s} {e.action:22s} {e.subject}\n")

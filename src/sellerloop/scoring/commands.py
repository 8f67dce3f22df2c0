"""`sellerloop eval backtest|conversations` and `sellerloop scoring rebuild|show`.

cli.py registers `eval_app` as `sellerloop eval` and `scoring_app` as `sellerloop scoring`. Errors are one line on
stderr with the error's exit code (2 for bad input), also when an app runs on its own.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sellerloop.console import open_store

eval_app = typer.Typer(help="Measure the models: against the history in the store, and the conversation "
                            "detectors against real chats.", no_args_is_help=True)
scoring_app = typer.Typer(help="Win probability per opportunity: rebuild the model, show a deal's score.",
                          no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _dump(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@eval_app.command("conversations")
def conversations_command(
    data: Annotated[Path | None, typer.Option("--data", help="the folder holding persuasionforgood/ and casino/ "
                                                            "(default: the repository's data/)")] = None,
    folds: Annotated[int, typer.Option("--folds", help="cross-validation folds over dialogues (2 to 20)")] = 5,
    as_json: Json = False,
) -> None:
    """Precision, recall and F1 of each conversation detector on real chats no one here wrote (PersuasionForGood,
    CaSiNo); a learned candidate by cross-validation over dialogues."""
    from sellerloop.evidence.evaluation import REPOSITORY_DATA, evaluate

    scores = evaluate(data=data or REPOSITORY_DATA, folds=folds)
    if as_json:
        _dump([score.as_dict() for score in scores])
        return
    table = Table("detector", "corpus", "units", "positives", "precision", "recall", "F1",
                  title="Conversation detectors on real chats")
    for score in scores:
        table.add_row(score.detector, score.corpus, str(score.units), str(score.positives),
                      f"{score.precision:.3f}", f"{score.recall:.3f}", f"{score.f1:.3f}")
    console = Console(soft_wrap=True, width=max(100, Console().width))
    console.print(table)
    for detector, note in dict.fromkeys((score.detector, score.note) for score in scores):
        console.print(f"{detector}: {note}")  # once per detector, not once per corpus


@eval_app.command("backtest")
def backtest_command(
    as_of: Annotated[str, typer.Option("--as-of", help="replay the history as of this date (YYYY-MM-DD)")],
    bins: Annotated[int, typer.Option("--bins", help="bins of the calibration table (2 to 50)")] = 10,
    static_only: Annotated[bool, typer.Option("--static-only", help="leave out days engaged: only the fields "
                                                                    "that never change while a deal is open")] = False,
    playbook: Annotated[str | None, typer.Option("--playbook", help="playbook the recommendations come from "
                                                                    "(default: settings)")] = None,
    as_json: Json = False,
) -> None:
    """Train each win-probability scorer on the deals closed by --as-of, score the deals open then that closed
    later, and report AUC, Brier score against the base rate and calibration; and what next-action would have
    flagged as stalled then, and how those deals ended."""
    from sellerloop.playbooks.service import get_playbook
    from sellerloop.scoring.backtest import parse_date, run_backtest
    from sellerloop.store.db import session_scope

    date = parse_date(as_of)
    chosen = get_playbook(playbook)
    with session_scope(open_store()) as session:
        report = run_backtest(session=session, as_of=date, bins=bins, static_only=static_only,
                              playbook=chosen)
    if as_json:
        _dump(report.as_dict())
    else:
        _print_backtest(report)


def _print_backtest(report) -> None:
    out = Console(soft_wrap=True)
    out.width = max(out.width, 100)  # piped, Rich assumes 80 columns and would cut the scorer names
    first, last = report.history
    out.print(f"Backtest as of {report.as_of} (history closes {first} to {last}; features: {report.features}); "
              f"test base rate {_pct(report.test_base_rate)}", highlight=False)
    table = Table("scorer", "train", "test", "base rate", "AUC", "Brier", "base Brier", "skill",
                  title="Win probability: deals open on the date, scored then, judged by how they ended")
    for r in report.scorers:
        table.add_row(r.scorer, str(r.n_train), str(r.n_test), _pct(r.base_rate), f"{r.auc:.3f}", f"{r.brier:.4f}",
                      f"{r.base_rate_brier:.4f}", f"{r.brier_skill:+.4f}")
    out.print(table)
    for r in report.scorers:
        calibration = Table("predicted", "deals", "mean predicted", "won", title=f"Calibration: {r.scorer}")
        for b in r.calibration:
            if b.count:
                calibration.add_row(f"{b.low:.2f}-{b.high:.2f}", str(b.count), _pct(b.mean_predicted),
                                    _pct(b.observed_win_rate))
        out.print(calibration)
    p = report.replay
    out.print(f"Next action as of {report.as_of}: a deal engaged more than {p.stalled_after_days:.0f} days was "
              f"stalled (book norm {p.norm_days:.0f} days); next-action would have recommended {p.action} on "
              f"{p.element} ({p.playbook}).", highlight=False)
    out.print(f"{p.open_deals} deals open, {p.flagged} flagged stalled; outcome known for {p.flagged_known} "
              f"flagged (won {_pct(p.flagged_win_rate)}) and {p.not_flagged_known} not flagged (won "
              f"{_pct(p.not_flagged_win_rate)}); {p.outcome_unknown} still open in the store (outcome unknown).",
              highlight=False)
    groups = Table("group", "deals", "predicted", "won",
                   title="Test deals by the sellerloop probability, lowest first")
    for q in p.quintiles:
        spread = _pct(q.min_predicted)
        if q.max_predicted != q.min_predicted:
            spread += f"-{_pct(q.max_predicted)}"
        groups.add_row(str(q.rank), str(q.count), spread, _pct(q.win_rate))
    out.print(groups)


@scoring_app.command("rebuild")
def rebuild_command(
    as_of: Annotated[str | None, typer.Option("--as-of", help="learn only from deals closed on or before this "
                                                               "date (YYYY-MM-DD; default: all)")] = None,
    as_json: Json = False,
) -> None:
    """Count every won and lost deal again and recalibrate; run it nightly (won and lost deals are also counted
    as they close)."""
    from sellerloop.scoring.backtest import parse_date
    from sellerloop.scoring.win import rebuild
    from sellerloop.store.db import session_scope

    date = parse_date(as_of) if as_of is not None else None
    with session_scope(open_store()) as session:
        info = rebuild(session=session, as_of=date)
    if as_json:
        _dump(info.model_dump(mode="json"))
        return
    sys.stdout.write(f"win probability v{info.version}: learnt from {info.closed_deals} closed deals "
                     f"({info.won} won, base rate {info.base_rate:.1%}); calibration slope {info.slope:g} "
                     f"on {info.calibrated_on} replayed scores"
                     + (" (0: every deal gets the base rate)" if info.slope == 0 else "") + "\n")


@scoring_app.command("show")
def show_command(
    opportunity: Annotated[str, typer.Option("--opportunity", help="the opportunity to score")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="count the deal's days engaged to this date "
                                                               "(default: the book's today)")] = None,
    as_json: Json = False,
) -> None:
    """A deal's win probability, the base rate, and the features that move it most, in words."""
    from sellerloop.errors import NotFound
    from sellerloop.records.models import Opportunity
    from sellerloop.scoring.backtest import parse_date
    from sellerloop.scoring.win import win_probability
    from sellerloop.store.db import session_scope

    date = parse_date(as_of) if as_of is not None else None
    with session_scope(open_store()) as session:
        record = session.get(Opportunity, opportunity)
        if record is None:
            raise NotFound(f"no opportunity with id {opportunity!r}")
        score = win_probability(session=session, opportunity=record, as_of=date)
    if as_json:
        _dump(score.model_dump(mode="json"))
        return
    head = (f"{score.opportunity_id}: win probability {score.probability:.1%} as of {score.as_of} (base rate "
            f"{score.base_rate:.1%} of {score.closed_deals} closed deals; model v{score.model_version}, "
            f"updated {score.updated_at:%Y-%m-%d %H:%M})")
    lines = [head, f"  {score.note}"]
    lines += [f"  {'+' if d.effect > 0 else '-'} {d.text}" for d in score.drivers]
    sys.stdout.write("\n".join(lines) + "\n")


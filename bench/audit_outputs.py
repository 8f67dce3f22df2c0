"""Re-check the outputs a `run-all` stored, independently of the run that made them (figures for an issue note).

    SELLERLOOP_HOME=/tmp/demo .venv/bin/python bench/audit_outputs.py

For every stored output: every source's quote is verbatim in what `resolve_source` gives for its URI, and every
item passes the verifier again (facts-only for questions, drafts and alerts, as when it was made). Per use case:
next-best action: at most 3 recommendations per record, each with a catalogue action its playbook element
lists; follow-up: the email draft parses back with the stdlib parser with To and Subject, and each commitment
cites a transcript span whose text holds the quote and starts with the owner's words; coaching: at least one
coaching point, each with sources. Prints counts; exits 1 if anything fails.
"""
from __future__ import annotations

import collections
import email
import email.policy
import sys

from sqlalchemy import select

from sellerloop.actions.catalogue import ACTION_NAMES
from sellerloop.agents.models import CITED_KINDS, AgentRun
from sellerloop.agents.outputs import AgentOutput
from sellerloop.config import get_settings
from sellerloop.evidence.sources import resolve_source
from sellerloop.playbooks.service import get_playbook
from sellerloop.store.db import session_scope
from sellerloop.store.service import open_engine
from sellerloop.verifier.service import verify_claims


def main() -> int:
    engine = open_engine(get_settings().database_url)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    problems: list[str] = []
    texts: dict[str, str | None] = {}
    with session_scope(engine) as session:
        for row in session.scalars(select(AgentOutput).order_by(AgentOutput.use_case, AgentOutput.subject_id)):
            run = AgentRun.model_validate_json(row.output)
            c = counts[row.use_case]
            c["records"] += 1
            c["items"] += len(run.items)
            c["dropped at run time"] += run.dropped_unsupported
            for item in run.items:
                for source in item.sources:
                    if source.uri not in texts:
                        texts[source.uri] = resolve_source(session=session, uri=source.uri).text
                    if source.quote not in texts[source.uri]:
                        problems.append(f"{row.use_case} {row.subject_id}: quote not in {source.uri}")
            verdicts = verify_claims(session=session, claims=run.items,
                                     facts_only=[i.kind not in CITED_KINDS for i in run.items])
            unsupported = sum(not v.supported for v in verdicts)
            c["unsupported on re-check"] += unsupported
            if unsupported:
                problems.append(f"{row.use_case} {row.subject_id}: {unsupported} unsupported on re-check")
            check = CHECKS.get(row.use_case)
            if check:
                check(run, c, problems, texts, session)
    for use_case, c in counts.items():
        print(use_case, dict(c))
    for problem in problems[:20]:
        print("PROBLEM", problem)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


def _next_action(run: AgentRun, c, problems, texts, session) -> None:
    playbook = get_playbook(run.playbook)
    recs = [i for i in run.items if i.kind == "recommendation"]
    c["max recommendations"] = max(c["max recommendations"], len(recs))
    for rec in recs:
        ok = (rec.action in ACTION_NAMES and rec.score is not None and rec.playbook_element
              and rec.action in playbook.element(rec.playbook_element).actions)
        c["recommendations naming a playbook element"] += bool(ok)
        if not ok:
            problems.append(f"next-action {run.subject.id}: {rec.action} / {rec.playbook_element}")
    if len(recs) > 3:
        problems.append(f"next-action {run.subject.id}: {len(recs)} recommendations")


def _follow_up(run: AgentRun, c, problems, texts, session) -> None:
    drafts = [i for i in run.items if i.artifact == "email" and i.content]
    for draft in drafts:
        message = email.message_from_string(draft.content, policy=email.policy.default)
        if message["To"] and message["Subject"] and message.get_content().strip():
            c["emails that parse back with To and Subject"] += 1
        else:
            problems.append(f"follow-up {run.subject.id}: email lacks To, Subject or a body")
    c["emails"] += len(drafts)
    for item in run.items:
        if item.section != "commitments":
            continue
        c["commitments"] += 1
        span = item.sources[0]
        said = texts[span.uri]
        if span.uri.startswith("transcript:") and "#" in span.uri and item.owner and f"{item.owner}: " in said:
            c["commitments citing the speaker's utterance"] += 1
        else:
            problems.append(f"follow-up {run.subject.id}: commitment not at its utterance: {span.uri}")


def _coaching(run: AgentRun, c, problems, texts, session) -> None:
    points = [i for i in run.items if i.kind == "coaching_point"]
    c["coaching points"] += len(points)
    if not points or not all(p.sources for p in points):
        problems.append(f"coaching {run.inputs.get('transcript')}: no coaching point with sources")


CHECKS = {"next-action": _next_action, "follow-up": _follow_up, "coaching": _coaching}

if __name__ == "__main__":
    sys.exit(main())

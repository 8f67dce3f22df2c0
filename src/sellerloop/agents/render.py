"""Agent output as Markdown: sections with headings, each item with numbered links to its sources."""
from __future__ import annotations

import email
import email.policy

from sellerloop.agents import coaching, follow_up, hygiene, next_action, prep, research
from sellerloop.agents.models import AgentRun

# Section headings as each agent names them in its SECTIONS: one place for the CLI and the web panels.
TITLES = {section.key: section.title for agent in (research, prep, next_action, follow_up, coaching, hygiene)
          for section in agent.SECTIONS}


def to_markdown(run: AgentRun) -> str:
    lines = [f"# {run.use_case} · {run.subject.type} {run.subject.id}",
             f"_{run.autonomy_level} · {run.placement} · composer: {run.composer}"
             + (f" · playbook: {run.playbook}" if run.playbook else "") + "_", ""]
    numbers: dict[str, int] = {}
    section = None
    for item in run.items:
        if item.section != section:
            section = item.section
            lines += ["", f"## {TITLES.get(section or '', (section or 'Items').capitalize())}", ""]
        refs = []
        for source in item.sources:
            numbers.setdefault(source.uri, len(numbers) + 1)
            refs.append(f"[{numbers[source.uri]}]")
        label = f"**{item.label}** — " if item.label else ""
        refs_text = "".join(dict.fromkeys(refs))
        extra = "; ".join(part for part in (f"owner: {item.owner}" if item.owner else "",
                                            f"due {item.due}" if item.due else "") if part)
        if item.kind == "field_change":
            target = f" of {item.target}" if item.target else ""
            lines.append(f"- {label}`{item.field}`{target}: {item.old or '(empty)'} → {item.new or '(empty)'} "
                         f"— {item.text} {refs_text}".rstrip())
        elif item.artifact == "email" and item.content:
            # The message as a person reads it (headers decoded, no MIME plumbing): a fenced block keeps its lines
            # together. The .eml itself is one download away (/opportunities/ID/follow-up.eml).
            lines += [f"- {label}{refs_text}".rstrip(), "", "```", readable_email(item.content), "```", ""]
        else:
            lines.append(f"- {label}{item.text}{f' ({extra})' if extra else ''} {refs_text}".rstrip())
    if numbers:
        lines += ["", "## Sources", ""] + [f"{n}. {uri}" for uri, n in numbers.items()]
    if run.dropped_unsupported:
        lines += ["", f"_{run.dropped_unsupported} unsupported item(s) dropped by the verifier._"]
    return "\n".join(lines).strip() + "\n"


SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")


def readable_email(content: str) -> str:
    """An RFC 5322 draft as a person reads it: the headers that matter, decoded (a dash in a subject is a dash,
    not =?utf-8?b?4oCU?=), then the plain-text body."""
    message = email.message_from_string(content, policy=email.policy.default)
    lines = [f"{name}: {message[name]}" for name in SHOWN_HEADERS if message[name]]
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    body = part.get_content() if part is not None else ""
    return "\n".join([*lines, "", body.replace("\r\n", "\n").strip("\n")]).rstrip()

"""Agent output as Markdown: sections with headings, each item with numbered links to its sources."""
from __future__ import annotations

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
            # The whole message, as the .eml holds it: a fenced block keeps its lines together.
            lines += [f"- {label}{refs_text}".rstrip(), "", "```", item.content.replace("\r\n", "\n").rstrip(), "```",
                      ""]
        else:
            lines.append(f"- {label}{item.text}{f' ({extra})' if extra else ''} {refs_text}".rstrip())
    if numbers:
        lines += ["", "## Sources", ""] + [f"{n}. {uri}" for uri, n in numbers.items()]
    if run.dropped_unsupported:
        lines += ["", f"_{run.dropped_unsupported} unsupported item(s) dropped by the verifier._"]
    return "\n".join(lines).strip() + "\n"

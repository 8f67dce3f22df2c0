"""The default composer: no model, no invention. Each item is one fact of the brief, stated as the agent built
it from the quotes, in the order the agent ranked the facts, up to each section's cap."""
from __future__ import annotations

from sellerloop.agents.models import Item
from sellerloop.composers.base import Brief, item_from_fact


class DeterministicComposer:
    name = "deterministic"

    def compose(self, brief: Brief) -> list[Item]:
        items: list[Item] = []
        for section in brief.sections:
            items.extend(item_from_fact(fact, section) for fact in brief.facts_for(section.key)[: section.max_items])
        return items

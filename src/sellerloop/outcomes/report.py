"""The outcomes report: per use case, action type, playbook element and seller, what became of the recommendations.

Each recommendation (outcomes/linking.py: an approval, or one shown in stored agent output) counts once per
grouping:

    shown            every recommendation, decided or not
    decided          a person's verdict: accepted + edited + rejected + rolled back (which was approved first)
    accepted         approved as proposed (by a person or, at L5, by the policy)
    edited           approved with edits
    acceptance rate  (accepted + edited + rolled back) / decided
    mean edit ratio  over the edited ones: the share of the text a person rewrote (0..1)
    ignored          expired, or shown with no decision and past the policy's expiry for open recommendations
    executed         carried out (rolled back ones included: they ran)
    converted        a positive event followed in its window (a reply, a meeting, a task done, a forward stage
                     move, a win); conversion rate = converted / shown
    won, lost        a win or a loss followed within half a year

The action type is the recommendation's action (`recommended_action`): a "book a meeting" a seller took up as a
task counts under book_meeting, which is what the agent recommended.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.outcomes.linking import LinkedOutcome, linked_outcomes

Grouping = Literal["use-case", "action", "element", "seller"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)
NONE_LABEL = {"element": "(no element)", "seller": "(no owner)"}
GROUP_KEY: dict[Grouping, Callable[[LinkedOutcome], str | None]] = {
    "use-case": lambda o: o.use_case,
    "action": lambda o: o.recommended_action,
    "element": lambda o: o.playbook_element,
    "seller": lambda o: o.seller,
}


@dataclass
class Figures:
    group: str
    shown: int = 0
    decided: int = 0
    accepted: int = 0
    edited: int = 0
    rejected: int = 0
    rolled_back: int = 0
    ignored: int = 0
    executed: int = 0
    converted: int = 0
    won: int = 0
    lost: int = 0
    _edit_ratios: list[float] = field(default_factory=list, repr=False)

    def add(self, o: LinkedOutcome) -> None:
        self.shown += 1
        if o.decision in ("accepted", "edited", "rejected", "rolled_back"):
            self.decided += 1
            setattr(self, o.decision, getattr(self, o.decision) + 1)
        self.ignored += o.ignored
        self.executed += o.executed
        self.converted += o.converted
        self.won += o.won is True
        self.lost += o.won is False
        if o.edit_ratio is not None:
            self._edit_ratios.append(o.edit_ratio)

    @property
    def acceptance_rate(self) -> float | None:
        return (self.accepted + self.edited + self.rolled_back) / self.decided if self.decided else None

    @property
    def mean_edit_ratio(self) -> float | None:
        return sum(self._edit_ratios) / len(self._edit_ratios) if self._edit_ratios else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.shown if self.shown else None

    def as_dict(self) -> dict:
        rates = {"acceptance_rate": self.acceptance_rate, "mean_edit_ratio": self.mean_edit_ratio,
                 "conversion_rate": self.conversion_rate}
        return {k: v for k, v in vars(self).items() if not k.startswith("_")} | {
            k: None if v is None else round(v, 4) for k, v in rates.items()}


@dataclass
class Report:
    total: Figures
    groups: dict[str, list[Figures]]  # grouping -> one row per group, the most shown first

    def as_dict(self) -> dict:
        return {"total": self.total.as_dict(),
                "groups": {by: [f.as_dict() for f in rows] for by, rows in self.groups.items()}}


def outcomes_report(*, session: Session, user_id: str | None, by: Sequence[str] = GROUPINGS,
                    since: dt.datetime | None = None, as_of: dt.datetime | None = None) -> Report:
    """The figures over the recommendations on records `user_id` may see (None: all), made at or after `since`."""
    unknown = [b for b in by if b not in GROUPINGS]
    if unknown or not by:
        raise BadInput(f"--by {', '.join(unknown) or '(nothing)'}: group by one of {', '.join(GROUPINGS)}")
    outcomes = linked_outcomes(session=session, user_id=user_id, since=since, as_of=as_of)
    return figures_of(outcomes, by=by)


def figures_of(outcomes: Sequence[LinkedOutcome], *, by: Sequence[str] = GROUPINGS) -> Report:
    total = Figures("all")
    groups: dict[str, dict[str, Figures]] = {b: {} for b in dict.fromkeys(by)}
    for o in outcomes:
        total.add(o)
        for grouping, rows in groups.items():
            name = GROUP_KEY[grouping](o) or NONE_LABEL.get(grouping, "(none)")
            rows.setdefault(name, Figures(name)).add(o)
    return Report(total, {b: sorted(rows.values(), key=lambda f: (-f.shown, f.group))
                          for b, rows in groups.items()})

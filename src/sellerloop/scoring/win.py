"""Win probability per opportunity: the product's model (scorers.CountModel), kept in `scoring_state`.

As in Odoo's predictive lead scoring, the counts are updated live on each won or lost deal (`observe_closed`) and
rebuilt from the store periodically (`rebuild`), which also calibrates the model again. Reading a score
(`win_probability`, `win_probabilities`) never fits anything: the state is read once per session and kept in
`session.info`, so scoring a page of deals costs one query for their fields.

A deal observed twice since the last rebuild is counted once (a retried outcome event), and observing it with the
other outcome moves it across. Deals are not remembered beyond the last rebuild (the document stays a few hundred
counts): a rebuild recounts everything from the store, which corrects any drift, so run it nightly.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.evidence.deals import book_context
from sellerloop.records.models import Opportunity
from sellerloop.scoring.features import (
    FEATURE_NAMES,
    DealFacts,
    learning_features,
    load_facts,
    scoring_features,
    value_words,
)
from sellerloop.scoring.models import ScoringState
from sellerloop.scoring.scorers import CountModel, Effect, SellerloopScorer

STATE_NAME = "win_probability"
SESSION_KEY = "win_probability_model"
MAX_DRIVERS = 3
MIN_DRIVER_EFFECT = 0.02  # log-odds; about half a percentage point near the middle: below that, nothing moved


class WinModelNotBuilt(BadInput):
    """No win-probability model in the store yet: `sellerloop scoring rebuild` makes one."""

    http_status = 409


class StaleWinModel(SellerloopError):
    """Someone else updated the model between reading and writing it. Not permanent: observe the deal again."""

    http_status = 409
    permanent = False


class Driver(BaseModel):
    feature: str  # e.g. seller, product, days_engaged
    value: str  # as a person reads it: a name, a band with its unit
    effect: float  # log-odds it adds to this deal's probability; positive raises it
    text: str  # the counts behind it, in words


class WinScore(BaseModel):
    opportunity_id: str
    probability: float
    base_rate: float  # of the closed deals the model learnt from
    closed_deals: int
    drivers: list[Driver]  # at most three, the strongest first
    note: str  # what the drivers do not say: why the probability is (or is not) the base rate
    as_of: dt.date  # the day the deal's age was counted to
    model_version: int
    updated_at: dt.datetime


class WinModelInfo(BaseModel):
    version: int
    updated_at: dt.datetime
    closed_deals: int
    won: int
    lost: int
    base_rate: float
    slope: float  # how much the summed evidence counts; 0 = every deal gets the base rate
    calibrated_on: int  # replayed scores the slope was fitted on at the last rebuild
    rebuilt_at: dt.datetime | None
    rebuilt_as_of: dt.date | None  # the rebuild learnt from deals closed on or before this date (None: all)
    observed_since_rebuild: int


@dataclass(frozen=True)
class _Loaded:
    model: CountModel
    state: dict
    version: int
    updated_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _read(session: Session, *, for_update: bool = False) -> tuple[ScoringState | None, _Loaded | None]:
    row = session.get(ScoringState, STATE_NAME, with_for_update=for_update, populate_existing=for_update)
    if row is None:
        return None, None
    return row, _Loaded(CountModel.from_state(row.state), row.state, row.version, row.updated_at)


def _loaded(session: Session) -> _Loaded:
    """The model as stored, read once per session."""
    cached = session.info.get(SESSION_KEY)
    if cached is None:
        _, cached = _read(session)
        if cached is None:
            raise WinModelNotBuilt("no win-probability model yet: build it with `sellerloop scoring rebuild`")
        session.info[SESSION_KEY] = cached
    return cached


def _write(session: Session, row: ScoringState | None, state: dict) -> _Loaded:
    """Store a new state if nobody else stored one since `row` was read (compare and set on `version`)."""
    at = _now()
    if row is None:
        session.add(ScoringState(name=STATE_NAME, state=state, version=1, updated_at=at))
        session.flush()
        version = 1
    else:
        version = row.version + 1
        result = session.execute(
            update(ScoringState).where(ScoringState.name == STATE_NAME, ScoringState.version == row.version)
            .values(state=state, version=version, updated_at=at).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise StaleWinModel("the win-probability model changed while it was being updated; try again")
        session.expire(row)
    loaded = session.info[SESSION_KEY] = _Loaded(CountModel.from_state(state), state, version, at)
    return loaded


def rebuild(*, session: Session, as_of: dt.date | None = None) -> WinModelInfo:
    """Count every won and lost deal in the store (closed on or before `as_of`, when given) from scratch and
    calibrate again. The same store always gives the same state."""
    deals = load_facts(session=session, closed_only=True)
    if as_of is not None:
        deals = [f for f in deals if f.close_date is not None and f.close_date <= as_of]
    if not deals:
        raise BadInput("no won or lost deals" + (f" closed on or before {as_of}" if as_of else "")
                       + " to learn win probability from; import a history (sellerloop import maven DIR) "
                         "or close some deals first")
    digest = _facts_digest(deals)
    row, loaded = _read(session, for_update=True)
    rebuilt = {"rebuilt_at": _now().isoformat(), "rebuilt_as_of": as_of.isoformat() if as_of else None}
    if loaded is not None and loaded.state.get("facts_digest") == digest and not loaded.state.get("recent"):
        # The same closed deals as the last rebuild, and nothing counted since: fitting is deterministic, so it
        # would give this very state again. The nightly run then costs a read, not a calibration (~7 s on a
        # 100k-deal book); only the moment of the rebuild moves, so events from before it are not counted again.
        return _info(_write(session, row, loaded.state | rebuilt))
    scorer = SellerloopScorer().fit(deals)
    state = scorer.model.to_state() | {"calibrated_on": scorer.calibrated_on, "recent": {},
                                       "facts_digest": digest} | rebuilt
    return _info(_write(session, row, state))


def _facts_digest(deals: Sequence[DealFacts]) -> str:
    """What a fit depends on: every field of every closed deal it learns from, in id order."""
    digest = hashlib.blake2b(digest_size=16)
    for facts in sorted(deals, key=lambda f: f.id):
        digest.update(repr(facts).encode())
    return digest.hexdigest()


def observe_closed(*, session: Session, opportunity_id: str, won: bool) -> bool:
    """Count one deal that was just won or lost, from its fields in the store (call it once its stage is Won or
    Lost). Returns False when it was already counted with this outcome since the last rebuild (nothing changes).

    The calibration stays as the last rebuild left it; the base rate and the counts move at once."""
    facts = load_facts(session=session, ids=[opportunity_id])
    if not facts:
        raise NotFound(f"no opportunity with id {opportunity_id!r}")
    row, loaded = _read(session, for_update=True)
    model, state = (loaded.model, loaded.state) if loaded else (CountModel(), {})
    recent = dict(state.get("recent") or {})
    before = recent.get(opportunity_id)
    if before is not None and before == won:
        return False
    features = learning_features(facts[0])
    if before is not None:  # counted with the other outcome since the rebuild: move it across
        model.add(features, before, step=-1)
    model.add(features, won)
    recent[opportunity_id] = won
    _write(session, row, state | model.to_state() | {"recent": recent})
    return True


def observe_events(*, session: Session, closed: Iterable[tuple[str, bool, dt.datetime]]) -> int:
    """Count won and lost events as they arrive (outcomes/events.py), each (opportunity id, won, occurred at),
    except those the last rebuild could have counted already (they happened before it); none while there is no
    model yet (the first rebuild will count them). The model is looked up once for the lot. How many counted."""
    closed = list(closed)
    if not closed:
        return 0
    try:
        rebuilt_at = _info(_loaded(session)).rebuilt_at
    except WinModelNotBuilt:
        return 0
    counted = 0
    for opportunity_id, won, occurred_at in closed:
        if rebuilt_at is None or occurred_at > rebuilt_at:
            counted += observe_closed(session=session, opportunity_id=opportunity_id, won=won)
    if counted:
        session.info.pop(SESSION_KEY, None)  # scores read later in this session see the new counts
    return counted


def model_info(*, session: Session) -> WinModelInfo:
    return _info(_loaded(session))


def _info(loaded: _Loaded) -> WinModelInfo:
    state, model = loaded.state, loaded.model
    rebuilt_at, rebuilt_as_of = state.get("rebuilt_at"), state.get("rebuilt_as_of")
    return WinModelInfo(
        version=loaded.version, updated_at=loaded.updated_at, closed_deals=model.closed, won=model.won,
        lost=model.lost, base_rate=round(model.base_rate, 4), slope=round(model.slope, 4),
        calibrated_on=int(state.get("calibrated_on", 0)),
        rebuilt_at=dt.datetime.fromisoformat(rebuilt_at) if rebuilt_at else None,
        rebuilt_as_of=dt.date.fromisoformat(rebuilt_as_of) if rebuilt_as_of else None,
        observed_since_rebuild=len(state.get("recent") or {}))


def win_probability(*, session: Session, opportunity: Opportunity, as_of: dt.date | None = None) -> WinScore:
    """P(won) of one deal as it stands on `as_of` (default: the book's today), with what moves it and why. A deal
    already won or lost gets what the model says of it as it stood just before it closed."""
    return win_probabilities(session=session, opportunities=[opportunity], as_of=as_of)[0]


def win_probabilities(*, session: Session, opportunities: Sequence[Opportunity],
                      as_of: dt.date | None = None) -> list[WinScore]:
    """`win_probability` of many deals, in the order given, with one query per 500 deals."""
    loaded = _loaded(session)
    as_of = as_of or book_context(session=session).as_of
    facts = {f.id: f for f in load_facts(session=session, ids=[o.id for o in opportunities])}
    missing = next((o.id for o in opportunities if o.id not in facts), None)
    if missing is not None:
        raise NotFound(f"no opportunity with id {missing!r}")
    return [_score(loaded, facts[o.id], as_of) for o in opportunities]


def _score(loaded: _Loaded, facts: DealFacts, as_of: dt.date) -> WinScore:
    model = loaded.model
    features = scoring_features(facts, as_of=as_of)
    moving = sorted((e for e in model.effects(features) if abs(e.effect) >= MIN_DRIVER_EFFECT),
                    key=lambda e: (-abs(e.effect), e.feature))[:MAX_DRIVERS]
    drivers = [Driver(feature=e.feature, value=value_words(facts, e.feature, e.value), effect=round(e.effect, 4),
                      text=_driver_text(facts, e, model.base_rate)) for e in moving]
    if drivers:
        note = "the base rate, moved by what deals like this one did"
    elif model.slope == 0:
        note = ("the base rate: when the last rebuild replayed the history, no field predicted what happened next "
                "better than the base rate")
    else:
        note = "the base rate: this deal's fields are as common among won deals as among lost ones"
    return WinScore(opportunity_id=facts.id, probability=round(model.probability(features), 4),
                    base_rate=round(model.base_rate, 4), closed_deals=model.closed, drivers=drivers, note=note,
                    as_of=as_of, model_version=loaded.version, updated_at=loaded.updated_at)


def _driver_text(facts: DealFacts, effect: Effect, base_rate: float) -> str:
    n = effect.won + effect.lost
    rate = f"{effect.won / n:.0%}; book {base_rate:.0%}"
    if effect.feature == "days_engaged":
        since = effect.value.split("-")[0].rstrip("+")  # the band's first day
        return (f"engaged {value_words(facts, effect.feature, effect.value)}: of the {n} closed deals still open "
                f"after {since} days, {effect.won} were won ({rate})")
    return (f"{FEATURE_NAMES[effect.feature]} {value_words(facts, effect.feature, effect.value)}: {effect.won} of "
            f"{n} closed deals won ({rate})")

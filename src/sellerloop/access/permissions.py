"""Record-access decisions through Cedar: may this person (or the agent running for them) view or approve a record?

The rules live in `access/cedar/records.cedar`, shipped with the package; a team replaces them by pointing
`SELLERLOOP_CEDAR_POLICIES` at its own file(s) or folder(s) of `*.cedar` files (separated by `os.pathsep`). The
variable is read here, on each decision, not through `sellerloop.config.Settings`, so a changed file or variable is
picked up without a restart (parsed policies are cached by path and modification time).

Every request carries the principal, the record owner and both their manager chains as entities (a user's parent
is their manager), so `resource.owner in principal` holds for the owner, their manager, that manager's manager...
The users table is read once per session transaction (cached in `session.info`, dropped when a User is flushed,
on commit and on rollback). Decisions fail closed: a policy file that cannot be read or parsed, or a Cedar
error, is a denial whose reason is the error on one line.

`visible_owner_ids` / the SQL filters in `access.py` are the set form of the shipped rule for lists and whole-book
runs; `tests/access/test_permissions.py` checks that the two agree on every (user, record) pair of a real book.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cedarpy
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from sellerloop.records.models import User

log = logging.getLogger(__name__)

CEDAR_POLICIES_ENV = "SELLERLOOP_CEDAR_POLICIES"
SHIPPED_POLICIES = Path(__file__).parent / "cedar" / "records.cedar"
ACTIONS = ("view", "approve", "view_sensitive")
RESOURCE_KINDS = ("Account", "Opportunity", "Transcript")
_USERS_KEY = "sellerloop.permissions.users"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class PolicyFileError(Exception):
    """The Cedar policies in force cannot be read or parsed (decisions then fail closed)."""


# ---- policies ------------------------------------------------------------------------------------------------

_policy_cache: dict[tuple, cedarpy.PolicySet] = {}


def policy_files() -> list[Path]:
    """The Cedar files in force: the override's files (folders give their `*.cedar`, sorted), else the shipped one."""
    raw = os.environ.get(CEDAR_POLICIES_ENV, "").strip()
    if not raw:
        return [SHIPPED_POLICIES]
    files: list[Path] = []
    for part in filter(None, (p.strip() for p in raw.split(os.pathsep))):
        path = Path(part).expanduser()
        files.extend(sorted(path.glob("*.cedar")) if path.is_dir() else [path])
    return files


def policy_files_key() -> tuple:
    """What identifies the policies in force: each file's path, modification time and size (or the error)."""
    try:
        return tuple((str(f), st.st_mtime_ns, st.st_size) for f in policy_files() for st in [f.stat()])
    except OSError as e:
        return ("unreadable", _one_line(e))


def load_policies() -> cedarpy.PolicySet:
    """The parsed policies in force; raises PolicyFileError naming the file and the reason on one line."""
    files = policy_files()
    if not files:
        raise PolicyFileError(f"{CEDAR_POLICIES_ENV} names no .cedar file")
    try:
        key = tuple((str(f), st.st_mtime_ns, st.st_size) for f in files for st in [f.stat()])
    except OSError as e:
        raise PolicyFileError(f"cannot read Cedar policies: {_one_line(e)}") from e
    cached = _policy_cache.get(key)
    if cached is not None:
        return cached
    texts = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        try:  # parse each file on its own first, so the reason names the file at fault
            cedarpy.PolicySet.from_str(text)
        except Exception as e:  # cedarpy raises ValueError; any failure must fail closed
            raise PolicyFileError(f"{f}: {_one_line(e)}") from e
        texts.append(text)
    try:
        policies = cedarpy.PolicySet.from_str("\n".join(texts))
    except Exception as e:  # e.g. two files using the same @id
        raise PolicyFileError(f"{', '.join(map(str, files))}: {_one_line(e)}") from e
    _policy_cache.clear()
    _policy_cache[key] = policies
    return policies


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---- entities ------------------------------------------------------------------------------------------------

def _users(session: Session, ids: set[str]) -> dict[str, tuple[str, str | None]]:
    """id -> (role, manager_id) for `ids`, read once per session transaction and only as far as asked: a page
    decides on a few chains, so reading every user for it (thousands in a big book) would cost more than the
    decision. Absent ids are remembered as absent; a user added or changed in the session is read again."""
    users = session.info.setdefault(_USERS_KEY, {})
    missing = {i for i in ids if i and i not in users}
    if missing:
        users.update(dict.fromkeys(missing, ("", None)))
        for chunk in _chunks(sorted(missing), 10_000):  # bound the IN list (SQLite caps bound parameters)
            users.update({uid: (role, manager) for uid, role, manager in session.execute(
                select(User.id, User.role, User.manager_id).where(User.id.in_(chunk)))})
    return users


def _chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@event.listens_for(Session, "after_flush")
def _forget_users_after_flush(session, flush_context) -> None:
    if any(isinstance(o, User) for group in (session.new, session.dirty, session.deleted) for o in group):
        session.info.pop(_USERS_KEY, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_users_after_transaction(session) -> None:
    session.info.pop(_USERS_KEY, None)


def _uid(kind: str, id_: str) -> dict:
    return {"type": kind, "id": id_}


def _user_entities(session: Session, start: list[str], principal: User | None) -> list[dict]:
    """Entities for the given users and everyone above them, read one level of the chains at a time (a manager
    cycle in the data is walked once)."""
    entities, seen = [], set()
    frontier = {u for u in start if u}
    while frontier:
        users = _users(session, frontier)
        above = set()
        for uid in sorted(frontier):
            seen.add(uid)
            if principal is not None and uid == principal.id:  # the object in hand wins over a stale read
                role, manager = principal.role, principal.manager_id
            else:
                role, manager = users.get(uid, ("", None))
            entities.append({"uid": _uid("User", uid), "attrs": {"role": role or ""},
                             "parents": [_uid("User", manager)] if manager else []})
            if manager:
                above.add(manager)
        frontier = above - seen
    return entities


# ---- decisions -----------------------------------------------------------------------------------------------

def decide(*, principal: User | None, action: str, resource_kind: str, owner_id: str | None,
           session: Session, agent: str | None = None, context: dict | None = None) -> Decision:
    """May `principal` (or, with `agent`, the agent with that use-case name running for `principal`) perform
    `action` ("view", "approve", "view_sensitive" with the field in `context`) on a record of `resource_kind`
    ("Account", "Opportunity", "Transcript") owned by `owner_id`? No principal and no agent is the local operator
    (CLI without `--as`), who sees everything, as `visible_owner_ids` says; an agent with no principal acts for
    nobody and is refused by the shipped policies."""
    return decide_any(principal=principal, action=action, resource_kind=resource_kind, owner_ids=[owner_id],
                      session=session, agent=agent, context=context)


def decide_any(*, principal: User | None, action: str, resource_kind: str, owner_ids: list[str | None],
               session: Session, agent: str | None = None, context: dict | None = None) -> Decision:
    """`decide` for several records of one kind at once (one Cedar batch): allowed as soon as one of the records,
    owned by `owner_ids` in turn, is allowed; a policy error on any of them is a denial. No records: denied."""
    if not owner_ids:
        return Decision(False, "no record to decide on")
    decisions = decide_each(principal=principal, action=action, resource_kind=resource_kind, owner_ids=owner_ids,
                            session=session, agent=agent, context=context)
    errors = [d for d in decisions if d.reason.startswith("policy error")]
    return errors[0] if errors else next((d for d in decisions if d.allowed), decisions[0])


def decide_each(*, principal: User | None, action: str, resource_kind: str, owner_ids: list[str | None],
                session: Session, agent: str | None = None, context: dict | None = None) -> list[Decision]:
    """`decide` for several records of one kind at once (one Cedar batch): one decision per owner, in order."""
    if principal is None and agent is None:
        return [Decision(True, "no acting user: the local operator sees every record")] * len(owner_ids)
    if action not in ACTIONS or resource_kind not in RESOURCE_KINDS:
        return [Decision(False, f"unknown request: action {action!r} on {resource_kind!r}")] * len(owner_ids)
    try:
        policies = load_policies()
    except PolicyFileError as e:
        log.warning("Cedar policies refused every request: %s", e)
        return [Decision(False, f"policy error: {e}")] * len(owner_ids)

    entities = _user_entities(session, [principal.id if principal else "", *(o or "" for o in owner_ids)], principal)
    if agent is not None:
        who = _uid("Agent", agent)
        entities.append({"uid": who, "parents": [],
                         "attrs": {"on_behalf_of": {"__entity": _uid("User", principal.id)}} if principal else {}})
    else:
        who = _uid("User", principal.id)
    requests = []
    for n, owner_id in enumerate(owner_ids):
        resource = _uid(resource_kind, f"record-{n}")
        entities.append({"uid": resource, "parents": [],
                         "attrs": {"owner": {"__entity": _uid("User", owner_id)}} if owner_id else {}})
        requests.append({"principal": who, "action": _uid("Action", action), "resource": resource,
                         "context": context or {}})
    try:
        results = cedarpy.is_authorized_batch(requests, policies, entities)
    except Exception as e:  # noqa: BLE001 - fail closed on anything Cedar raises
        return [Decision(False, f"policy error: {_one_line(e)}")] * len(owner_ids)
    return [_decision(result) for result in results]


def _decision(result: cedarpy.AuthzResult) -> Decision:
    diagnostics = result.diagnostics
    if diagnostics.errors:  # Cedar skips a policy that errors; a skipped forbid must not let a request through
        return Decision(False, f"policy error: {_one_line('; '.join(diagnostics.errors))}")
    names = diagnostics.id_annotations_by_reason
    matched = ", ".join(names.get(r) or r for r in diagnostics.reasons)
    if result.allowed:
        return Decision(True, f"permitted by {matched}")
    if matched:
        return Decision(False, f"forbidden by {matched}")
    return Decision(False, "no policy permits it")

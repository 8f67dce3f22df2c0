"""Promotion between autonomy levels (DESIGN.md §4: do not skip levels).

`evidence` measures, per use case and action type, the record of its work at the level it is at now; `promote`
raises one level by one step when that record meets the policy's promotion bar, writes the policy file in force
and audits the change.

What counts, and where it is read from:
  - reviewed: approvals a person decided on (approved, approved with edits, rejected); expired ones are not;
  - approved unedited: those approved as proposed; the share is of all reviewed, rejections included;
  - rollbacks: executions of the use case's actions that were undone.
  All three are read from the audit log (`approval.approved`, `approval.approved_with_edits`,
  `approval.rejected`, `execution.rolled_back`), which the approvals service and the executor append in the same
  transaction as the decision itself.

At the current level only: an approval records no level, so the window is "since the level last changed", i.e.
after the last `policy.changed` entry for that use case and action (for an action that inherits the use case's
default level, the later of the default's last change and its own), else all time. The window is measured by the
log's sequence numbers, not by timestamps: a decision and a promotion in the same second stay in order. A level
changed by hand in the file, without `promote`, leaves no entry, so the window then reaches back to the last
promotion (or all time).

Rows: the use case's default (the level of every action it does not name; its evidence is the decisions on those
actions), every action the policy names for it, and every other action it has decisions for (shown at the
inherited default level; promoting one with `action=` gives it a level of its own).

The next level must also pass the policy file's own rules (`service.refusals`: an approval policy above L3, audit
logging for L4/L5, L5 only for low-risk reversible actions), checked on the policy as it would be after the step.

`demote` lowers a level one step (never below L1) and `set_kill_switch` turns the kill switch on or off. Neither
needs evidence: going back to more human control is always allowed. Both are held to everything else `promote`
is: only admins and RevOps, never the shipped default file, the file rewritten in place (comments kept) only
after the result passes `policy check`, and a `policy.changed` audit entry in the caller's transaction. A
demotion's entry names the use case, so it starts a new evidence window at the lower level; the kill switch's
names none, because it does not change what any level has earned.

`set_shadow` runs a level one step up in shadow, or stops it (`levels.USE_CASE.shadow`; shadow/): held to the same
as the kill switch, and refused when the level above would break a rule of the policy file (`policy check` says
which). Its entry names the use case only inside `shadow`, so it opens no new evidence window either: a shadow
changes no level. Shadow evidence (what the level above would have done, compared with what people did) is shown
with the record at each level and recorded in a promotion's entry, as support; it never stands in for the record
at the current level, which is what a promotion rests on (DESIGN.md §4). A promotion ends the shadow of the level
it raises: that level is now the real one.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import ACTION_NAMES, CATALOGUE
from sellerloop.approvals.models import ApprovalRow
from sellerloop.audit.models import AuditEntry
from sellerloop.audit.service import LIMITS
from sellerloop.audit.service import append as audit
from sellerloop.errors import BadInput
from sellerloop.policy.models import DEFAULT_KEY, LEVELS, SHADOW_KEY, USE_CASES, Policy, rank
from sellerloop.policy.service import (
    DEFAULT_POLICY_FILE,
    POLICY_ENV,
    PolicyFile,
    check_policy,
    load_policy,
    policy_file_in_force,
    policy_in_force,
    refusals,
    shadow_rules,
)
from sellerloop.records.models import User
from sellerloop.shadow.service import ShadowEvidence, evidence_by_level, shadow_evidence

CHANGED = "policy.changed"
REVIEWED = {"approval.approved": "approved", "approval.approved_with_edits": "approved_with_edits",
            "approval.rejected": "rejected"}
ROLLED_BACK = "execution.rolled_back"
PROMOTERS = frozenset({"admin", "revops"})  # DESIGN §1: RevOps and admins own the policy and autonomy


class PolicyChangeRefused(BadInput):
    """A change to the policy file that is not allowed: by whom, to which file, or to what."""

    http_status = 409


class PromotionRefused(PolicyChangeRefused):
    """A promotion the policy does not allow: a skipped level, a bar not met, a rule the next level breaks."""


@dataclass(frozen=True)
class LevelEvidence:
    use_case: str
    action: str | None  # None: the use case's default level (every action it does not name)
    level: str  # the level the file sets (the kill switch is not applied here)
    inherited: bool  # an action without a level of its own: it is at the use case's default
    since: dt.datetime | None  # when the level last changed through `promote` (None: all time)
    reviewed: int
    approved_unedited: int
    approved_with_edits: int
    rejected: int
    rollbacks: int
    next_level: str | None  # None at L5
    promotion_allowed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)  # why not, one per bar or rule missed
    # What the level above did in shadow, compared with what people did: support, never part of the bar.
    shadow: ShadowEvidence | None = None

    @property
    def unedited_share(self) -> float | None:
        return self.approved_unedited / self.reviewed if self.reviewed else None

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None

    @property
    def label(self) -> str:
        return self.use_case if self.action is None else f"{self.use_case} {self.action}"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        data["reasons"] = list(self.reasons)
        data["shadow"] = self.shadow.as_dict() if self.shadow else None
        data["unedited_share"] = self.unedited_share
        data["reason"] = self.reason
        return data

    def figures(self) -> dict:
        """The evidence as recorded in the `policy.changed` audit entry."""
        return {"reviewed": self.reviewed, "approved_unedited": self.approved_unedited,
                "approved_with_edits": self.approved_with_edits, "rejected": self.rejected,
                "unedited_share": self.unedited_share, "rollbacks": self.rollbacks,
                "since": self.since.isoformat() if self.since else None}


# ------------------------------------------------------------------------------------------------ evidence


@dataclass
class _Log:
    """What the audit log says about levels: the last change of each (use case, action) and every decision."""

    changes: dict[tuple[str, str | None], tuple[int, dt.datetime]] = field(default_factory=dict)
    # (use case, action) -> [(seq, kind)], kind: approved, approved_with_edits, rejected, rolled_back
    decisions: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))


def _read_log(session: Session) -> _Log:
    log = _Log()
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.recorded_at, AuditEntry.action, AuditEntry.payload)
        .where(AuditEntry.action.in_([CHANGED, ROLLED_BACK, *REVIEWED])).order_by(AuditEntry.seq))
    rolled_back: list[tuple[int, str]] = []
    for seq, at, action, payload in rows:
        payload = payload if isinstance(payload, dict) else {}
        if action == CHANGED:
            if payload.get("use_case") in USE_CASES:
                log.changes[(payload["use_case"], payload.get("action"))] = (seq, at)
        elif action == ROLLED_BACK:
            if isinstance(payload.get("approval"), str):
                rolled_back.append((seq, payload["approval"]))
        elif isinstance(payload.get("use_case"), str) and isinstance(payload.get("action"), str):
            log.decisions[(payload["use_case"], payload["action"])].append((seq, REVIEWED[action]))
    ids = sorted({approval_id for _, approval_id in rolled_back})
    owner: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        owner.update({i: (u, a) for i, u, a in session.execute(
            select(ApprovalRow.id, ApprovalRow.use_case, ApprovalRow.action).where(ApprovalRow.id.in_(chunk)))})
    for seq, approval_id in rolled_back:
        if approval_id in owner:
            log.decisions[owner[approval_id]].append((seq, "rolled_back"))
    return log


def _measure(policy: Policy, log: _Log, use_case: str, action: str | None) -> LevelEvidence:
    levels = policy.levels[use_case]
    named = set(levels.actions)
    inherited = action is not None and action not in named
    level = levels.level_of(action)
    if action is None:
        window = [log.changes.get((use_case, None))]
        actions = sorted(set(ACTION_NAMES) - named)
    else:
        window = [log.changes.get((use_case, action))] + ([log.changes.get((use_case, None))] if inherited else [])
        actions = [action]
    window = [w for w in window if w is not None]
    after, since = max(window) if window else (0, None)
    counts: dict[str, int] = defaultdict(int)
    for name in actions:
        for seq, kind in log.decisions.get((use_case, name), ()):
            if seq > after:
                counts[kind] += 1
    reviewed = counts["approved"] + counts["approved_with_edits"] + counts["rejected"]
    following = LEVELS[rank(level)] if rank(level) < len(LEVELS) else None
    reasons: list[str] = []
    bar = policy.promotion
    if following is None:
        reasons.append(f"{level} is the highest level")
    else:
        if reviewed < bar.min_reviewed:
            reasons.append(f"{reviewed} reviewed at {level}, fewer than promotion.min_reviewed ({bar.min_reviewed})")
        elif counts["approved"] / reviewed < bar.min_approved_unedited_share:
            reasons.append(f"{counts['approved']}/{reviewed} approved unedited at {level} "
                           f"({counts['approved'] / reviewed:.1%}), below promotion.min_approved_unedited_share "
                           f"({bar.min_approved_unedited_share:.0%})")
        if counts["rolled_back"] > bar.max_rollbacks:
            reasons.append(f"{counts['rolled_back']} rollback{'s' * (counts['rolled_back'] != 1)} at {level}, "
                           f"more than promotion.max_rollbacks ({bar.max_rollbacks})")
        reasons += _rules(policy, use_case, action, following)
    return LevelEvidence(use_case=use_case, action=action, level=level, inherited=inherited, since=since,
                         reviewed=reviewed, approved_unedited=counts["approved"],
                         approved_with_edits=counts["approved_with_edits"], rejected=counts["rejected"],
                         rollbacks=counts["rolled_back"], next_level=following, promotion_allowed=not reasons,
                         reasons=tuple(reasons))


def _rules(policy: Policy, use_case: str, action: str | None, level: str) -> list[str]:
    """The policy file's rules that the policy would break one step up (the same rules as `policy check`)."""
    candidate = _raised(policy, use_case, action, level)
    checked = PolicyFile(file="", data={}, lines={}, problems=(), policy=candidate)
    found = [f"{r.path}: {r.reason}" for r in refusals(checked, policy)]
    if len(found) > 2:  # L5 for a default that many actions inherit: the first two say enough
        found = found[:2] + [f"and {len(found) - 2} more"]
    return found


def _raised(policy: Policy, use_case: str, action: str | None, level: str) -> Policy:
    """The policy after a promotion: the level raised, and its shadow (if it ran in one) ended."""
    keys = policy.levels[use_case].shadow
    raised = policy.with_level(use_case, action, level)
    key = action or DEFAULT_KEY
    return raised.with_shadow(use_case, tuple(k for k in keys if k != key)) if key in keys else raised


def evidence(*, session: Session, policy: Policy | None = None, with_shadow: bool = False) -> list[LevelEvidence]:
    """The record at the current level of every use case (its default) and action type (those the policy names,
    those with decisions and, `with_shadow`, those with shadow evidence), and whether each may move up one step.
    `with_shadow` adds the shadow evidence (it reads the CRM's history to compare, so only pages that show it ask)."""
    policy = policy or policy_in_force()
    log = _read_log(session)
    shadows = evidence_by_level(session=session, policy=policy) if with_shadow else {}
    out = []
    for use_case in USE_CASES:
        levels = policy.levels[use_case]
        decided = {a for (u, a) in log.decisions if u == use_case and a in ACTION_NAMES}
        shadowed = {a for (u, a) in shadows if u == use_case and a is not None}
        for action in [None, *sorted(set(levels.actions) | decided | shadowed)]:
            row = _measure(policy, log, use_case, action)
            out.append(replace(row, shadow=shadows.get((use_case, action))) if with_shadow else row)
    return out


def evidence_for(*, session: Session, use_case: str, action: str | None = None,
                 policy: Policy | None = None, with_shadow: bool = False) -> LevelEvidence:
    _check_names(use_case, action)
    policy = policy or policy_in_force()
    row = _measure(policy, _read_log(session), use_case, action)
    if not with_shadow:
        return row
    return replace(row, shadow=shadow_evidence(session=session, use_case=use_case, action=action, policy=policy))


def _check_names(use_case: str, action: str | None) -> None:
    if use_case not in USE_CASES:
        raise BadInput(f"unknown use case {use_case!r}; the use cases are: {', '.join(USE_CASES)}")
    if action is not None and action not in ACTION_NAMES:
        raise BadInput(f"unknown action {action!r}; the catalogue has: {', '.join(CATALOGUE)}")


# ------------------------------------------------------------------------------------------------ promotion


def promote(*, session: Session, use_case: str, action: str | None = None, by: str,
            policy_path: Path | str | None = None, to: str | None = None) -> Policy:
    """Raise `use_case`'s level (or one `action`'s) one step, if its record at the current level meets the bar
    and the next level breaks no rule; write the policy file and append a `policy.changed` audit entry (in the
    caller's transaction). `to`, if given, must be that next level. PromotionRefused (one line) otherwise."""
    _check_names(use_case, action)
    path = _editable(policy_path, "promote again", PromotionRefused)
    _changer(session, by, "change an autonomy level", PromotionRefused)
    policy = load_policy(path)
    row = _measure(policy, _read_log(session), use_case, action)
    if to is not None:
        if to not in LEVELS:
            raise BadInput(f"not a level {to!r}: use one of {', '.join(LEVELS)}")
        if rank(to) <= rank(row.level):
            raise PromotionRefused(f"{row.label} is at {row.level} already; promote only raises a level one step "
                                   "(to lower one, edit the policy file)")
        if rank(to) > rank(row.level) + 1:
            raise PromotionRefused(f"{row.level} -> {to} skips a level: {row.label} rises one step at a time, "
                                   f"to {row.next_level} first")
    if not row.promotion_allowed:
        step = f" to {row.next_level}" if row.next_level else ""
        raise PromotionRefused(f"cannot promote {row.label} from {row.level}{step}: {row.reason}")
    candidate = _raised(policy, use_case, action, row.next_level)
    text = _rewrite(path.read_bytes().decode("utf-8"), use_case, action, row.next_level)
    payload = {"use_case": use_case, "action": action, "from": row.level, "to": row.next_level,
               "file": str(path.resolve()), "evidence": row.figures(),
               "bar": policy.promotion.model_dump(mode="json")}
    # The shadow of the level above, as support (the bar above is met without it); it ends with the promotion.
    shadow = shadow_evidence(session=session, use_case=use_case, action=action, policy=policy)
    if shadow.recorded or shadow.on:
        payload["shadow"] = shadow.figures()
    if candidate.levels[use_case].shadow != policy.levels[use_case].shadow:
        text = _rewrite(text, use_case, SHADOW_KEY, _shadow_value(candidate.levels[use_case].shadow))
    _write_audited(session, path, text, candidate, by=by, payload=payload, refused=PromotionRefused)
    return candidate


def demote(*, session: Session, use_case: str, action: str | None = None, by: str,
           policy_path: Path | str | None = None, to: str | None = None) -> Policy:
    """Lower `use_case`'s level (or one `action`'s) one step, never below L1; write the policy file and append a
    `policy.changed` audit entry (in the caller's transaction). No evidence is needed to hand work back to
    people. `to`, if given, must be that lower level, so a form shown before someone else changed the level
    cannot lower it twice. PolicyChangeRefused (one line) otherwise."""
    _check_names(use_case, action)
    path = _editable(policy_path, "lower it again", PolicyChangeRefused)
    _changer(session, by, "change an autonomy level", PolicyChangeRefused)
    policy = load_policy(path)
    level = policy.levels[use_case].level_of(action)
    label = use_case if action is None else f"{use_case} {action}"
    if rank(level) == 1:
        raise PolicyChangeRefused(f"{label} is at L1, the lowest level; it cannot go lower")
    lower = LEVELS[rank(level) - 2]
    if to is not None:
        if to not in LEVELS:
            raise BadInput(f"not a level {to!r}: use one of {', '.join(LEVELS)}")
        if rank(to) != rank(level) - 1:
            raise PolicyChangeRefused(f"{label} is at {level}: lowering it one step goes to {lower}, not {to}")
    candidate = policy.with_level(use_case, action, lower)
    raw = path.read_bytes().decode("utf-8")
    _write_audited(session, path, _rewrite(raw, use_case, action, lower), candidate, by=by,
                   payload={"use_case": use_case, "action": action, "from": level, "to": lower,
                            "file": str(path.resolve())}, refused=PolicyChangeRefused)
    return candidate


def set_kill_switch(*, session: Session, on: bool, by: str, policy_path: Path | str | None = None) -> Policy:
    """Turn the kill switch on (every L4 and L5 acts as an L3 draft; nothing executes) or off; write the policy
    file and append a `policy.changed` audit entry. Asking for the state it is in already is refused rather than
    done silently: the person meant to change something, and someone else did it first."""
    path = _editable(policy_path, "try again", PolicyChangeRefused)
    _changer(session, by, "turn the kill switch on or off", PolicyChangeRefused)
    policy = load_policy(path)
    if policy.kill_switch == on:
        raise PolicyChangeRefused(f"the kill switch is {'on' if on else 'off'} already in {path}")
    candidate = Policy.model_validate(policy.model_dump(mode="json") | {"kill_switch": on})
    raw = path.read_bytes().decode("utf-8")
    _write_audited(session, path, _rewrite_top(raw, "kill_switch", "true" if on else "false"), candidate, by=by,
                   payload={"kill_switch": on, "from": policy.kill_switch, "to": on, "file": str(path.resolve())},
                   refused=PolicyChangeRefused)
    return candidate


def set_shadow(*, session: Session, use_case: str, action: str | None = None, on: bool, by: str,
               policy_path: Path | str | None = None) -> Policy:
    """Run `use_case`'s level (or one `action`'s) one step up in shadow, or stop it; write the policy file and
    append a `policy.changed` audit entry. Refused at L5 (there is no level above) and when the level above would
    break a rule of the policy file; asking for the state it is in already is refused, as for the kill switch."""
    _check_names(use_case, action)
    path = _editable(policy_path, "try again", PolicyChangeRefused)
    _changer(session, by, "run a level in shadow or stop it", PolicyChangeRefused)
    policy = load_policy(path)
    levels, key = policy.levels[use_case], action or DEFAULT_KEY
    label = use_case if action is None else f"{use_case} {action}"
    if (key in levels.shadow) == on:
        raise PolicyChangeRefused(f"{label} is {'in shadow' if on else 'not in shadow'} already in {path}")
    keys = (*levels.shadow, key) if on else tuple(k for k in levels.shadow if k != key)
    candidate = policy.with_shadow(use_case, keys)
    refused = shadow_rules(candidate, use_case) if on else []
    if refused:
        raise PolicyChangeRefused(f"{label} cannot run in shadow: {refused[0]}")
    level = levels.level_of(action)
    raw = path.read_bytes().decode("utf-8")
    # The use case goes inside `shadow`: an entry naming it at the top is a level change (see _read_log).
    _write_audited(session, path, _rewrite(raw, use_case, SHADOW_KEY, _shadow_value(keys)), candidate, by=by,
                   payload={"shadow": {"use_case": use_case, "action": action, "on": on, "level": level,
                                       "shadow_level": candidate.in_shadow(use_case).level_of(use_case, action)
                                       if on else None},
                            "file": str(path.resolve())}, refused=PolicyChangeRefused)
    return candidate


def _shadow_value(keys: tuple[str, ...]) -> str:
    """`shadow:` as written in the file: true for the use case's own level alone, else the list."""
    if not keys:
        return "false"
    return "true" if keys == (DEFAULT_KEY,) else f"[{', '.join(keys)}]"


def _editable(policy_path: Path | str | None, retry: str, refused: type[PolicyChangeRefused]) -> Path:
    """The policy file to rewrite: the one given, else the one in force; never the shipped default."""
    path = Path(policy_path).expanduser() if policy_path is not None else policy_file_in_force()
    if _same_file(path, DEFAULT_POLICY_FILE):
        raise refused(f"{path} is the shipped default policy and is not edited in place: copy it "
                      f"(e.g. to team-policy.yaml), set {POLICY_ENV} to the copy, and {retry}")
    return path


def _changer(session: Session, by: str, what: str, refused: type[PolicyChangeRefused]) -> User:
    user = session.get(User, by)
    if user is None:
        raise BadInput(f"no user with id {by!r}")
    if user.role not in PROMOTERS:
        raise refused(f"only an admin or RevOps user may {what}; {user.name} is a {user.role}")
    return user


def _write_audited(session: Session, path: Path, text: str, candidate: Policy, *, by: str, payload: dict,
                   refused: type[PolicyChangeRefused]) -> None:
    temp = _prepare(path, text, candidate, refused)
    try:
        subject = f"policy:{path.resolve()}"
        if len(subject) > LIMITS["subject"]:
            subject = "policy:…" + subject[-(LIMITS["subject"] - 8):]
        audit(session=session, actor=by, action=CHANGED, subject=subject, payload=payload)
        # The file is replaced last: a refusal or a failed audit entry leaves it as it was.
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _prepare(path: Path, text: str, expected: Policy,
             refused: type[PolicyChangeRefused] = PromotionRefused) -> Path:
    """Write `text` next to `path` and check it as a policy that replaces `path`; the temp file, if valid."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        temp.write_bytes(text.encode("utf-8"))
        os.chmod(temp, path.stat().st_mode & 0o7777)
        # A new modification time, later than the file's: a policy read is cached by path and mtime.
        stamp = max(path.stat().st_mtime_ns + 1000, temp.stat().st_mtime_ns)
        os.utime(temp, ns=(stamp, stamp))
        result = check_policy(temp, current=path)
        if not result.valid:
            first = result.refusals[0]
            changed = "promoted" if refused is PromotionRefused else "changed"
            raise refused(f"the {changed} policy would be refused: {first.path}: {first.reason}")
        if result.policy != expected:
            raise refused(f"could not rewrite {path} safely; change it by hand and check it with "
                          "`sellerloop policy check`")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _rewrite(text: str, use_case: str, action: str | None, level: str) -> str:
    """`text` with one level changed (or one action's level added), everything else as it was, comments
    included. Works on the spans PyYAML's node tree gives for the file's own nodes. `action` may also be
    SHADOW_KEY, `level` then being what `shadow:` is set to (true, false or a flow list)."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    levels = _value(root, "levels")
    node = _value(levels, use_case)
    if node is None:
        raise PromotionRefused(f"levels.{use_case} is not in the policy file; add it by hand")
    key = action or DEFAULT_KEY
    if isinstance(node, yaml.ScalarNode):
        if action is None:
            return _splice(text, node, level)
        # `follow-up: L3` -> `follow-up: {default: L3, create_task: L4}`
        return text[:node.start_mark.index] + f"{{{DEFAULT_KEY}: {node.value}, {action}: {level}}}" + \
            text[node.end_mark.index:]
    if not isinstance(node, yaml.MappingNode):
        raise PromotionRefused(f"levels.{use_case} is neither a level nor a mapping; fix the policy file")
    current = _value(node, key)
    if current is not None:
        if not isinstance(current, yaml.ScalarNode) and not (key == SHADOW_KEY and current.flow_style):
            raise PromotionRefused(f"levels.{use_case}.{key} is not a level; fix the policy file")
        return _splice(text, current, level)
    if node.flow_style:  # `{default: L3, send_email: L3}`: add before the closing brace
        close = node.end_mark.index - 1
        if text[close] != "}":
            raise PromotionRefused(f"could not find the end of levels.{use_case}; change it by hand")
        return text[:close] + (", " if node.value else "") + f"{key}: {level}" + text[close:]
    # A block mapping: a new line after the line its last entry ends on, indented like its keys.
    indent = node.value[0][0].start_mark.column
    end = text.find("\n", node.value[-1][1].end_mark.index)
    newline = "\r\n" if "\r\n" in text else "\n"
    line = f"{' ' * indent}{key}: {level}"
    if end == -1:
        return text + newline + line + newline
    if text[end - 1:end] == "\r":
        end -= 1
    return text[:end] + newline + line + text[end:]


def _value(node, key: str):
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _splice(text: str, node: yaml.Node, level: str) -> str:
    return text[:node.start_mark.index] + level + text[node.end_mark.index:]


def _rewrite_top(text: str, key: str, value: str) -> str:
    """`text` with one top-level scalar set to `value` (a new first line if the key is not there), everything
    else as it was, comments included."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode) or root.flow_style or not root.value:
        raise PolicyChangeRefused(f"could not find where to set {key}; change it by hand")
    node = _value(root, key)
    if node is None:
        first = root.value[0][0].start_mark
        newline = "\r\n" if "\r\n" in text else "\n"
        return text[:first.index] + f"{key}: {value}{newline}" + " " * first.column + text[first.index:]
    if not isinstance(node, yaml.ScalarNode):
        raise PolicyChangeRefused(f"{key} is not a single value; fix the policy file")
    return text[:node.start_mark.index] + value + text[node.end_mark.index:]

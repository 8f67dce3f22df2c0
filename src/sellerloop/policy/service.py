"""Read, check and serve the governance policy file (DESIGN.md §4–§5).

Which policy is in force: the file at `SELLERLOOP_POLICY`, else the shipped `policy/data/default.yaml`. A
file is read with PyYAML's node tree, so every problem can name the line it is on, then validated in two
steps: its shape by the pydantic models (`models.py`), then the governance rules below, which need the whole
policy to judge. Both steps collect every problem rather than stopping at the first, so `sellerloop policy
check FILE` lists every refusal at once; a policy in force with any refusal is not used (BadInput, one line).

The rules (each refusal names its path, e.g. `levels.follow-up.send_email`, and its reason):
  - every use case has a level;
  - a level above L3 needs an approval policy (`approval.approvers`);
  - L4 and L5 need audit logging on;
  - L5 only for low-risk, reversible actions: a high-risk or irreversible action needs approval at every level;
  - a policy may raise an action's risk, never lower it, and may not make an irreversible action reversible;
  - a level rises at most one step from the level in force (checked when there is a policy to compare with);
  - a use case in shadow (`levels.USE_CASE.shadow`) needs a level above the one it shadows, and that level must
    pass the rules above (`shadow_rules`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from sellerloop.actions.catalogue import ACTION_NAMES, CATALOGUE, Risk
from sellerloop.config import get_settings
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.policy.models import (
    DEFAULT_KEY,
    LEVELS,
    SHADOW_KEY,
    USE_CASES,
    ActionRisk,
    ApprovalPolicy,
    Caps,
    Policy,
    PromotionBar,
    rank,
)

POLICY_ENV = "SELLERLOOP_POLICY"
DEFAULT_POLICY_FILE = Path(__file__).parent / "data" / "default.yaml"

KeyPath = tuple  # a path into the YAML document: ("levels", "follow-up", "send_email")


@dataclass(frozen=True)
class Refusal:
    path: str  # dotted, e.g. "levels.follow-up.send_email"
    reason: str
    line: int | None = None

    def as_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason, "line": self.line}

    def one_line(self, file: str) -> str:
        where = file if self.line is None else f"{file}:{self.line}"
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


@dataclass(frozen=True)
class PolicyFile:
    """One policy file as read: its data, the line of every key, its shape problems and, if it has none, the
    Policy."""

    file: str
    data: dict
    lines: dict[KeyPath, int]
    problems: tuple[Refusal, ...]
    policy: Policy | None

    def line(self, *path) -> int | None:
        """The line of `path`, else of its nearest ancestor that is in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


@dataclass
class PolicyCheck:
    file: str
    policy: Policy | None
    refusals: list[Refusal] = field(default_factory=list)
    compared_with: str | None = None  # the policy whose levels a jump is measured from

    @property
    def valid(self) -> bool:
        return not self.refusals

    def as_dict(self) -> dict:
        return {"valid": self.valid, "file": self.file, "compared_with": self.compared_with,
                "refusals": [r.as_dict() for r in self.refusals]}


# ------------------------------------------------------------------------------------------------ reading


def read_policy_file(path: Path | str) -> PolicyFile:
    """Read one policy file and check its shape. BadInput (one line) when it is missing, unreadable, not
    YAML or not a mapping; shape problems are returned, not raised, so that all of them can be listed."""
    path = Path(path).expanduser()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise BadInput("no such policy file", file=str(path)) from None
    except OSError as e:
        raise BadInput(f"cannot read policy file: {e.strerror}", file=str(path)) from None
    return _read_cached(str(path), stamp)


@lru_cache(maxsize=32)
def _read_cached(path: str, _stamp: int) -> PolicyFile:
    # Keyed on the modification time too, so an edited file is read again.
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read policy file: {e}", file=path) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise BadInput(f"not valid YAML: {problem}", file=path, line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise BadInput("not a policy: expected a YAML mapping with levels (and caps, promotion, approval, ...)",
                       file=path, line=node.start_mark.line + 1 if node is not None else None)
    lines: dict[KeyPath, int] = {}
    problems = _walk(node, (), lines)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as e:
        problems += [_shape_refusal(err, data, lines) for err in e.errors()]
        policy = None
    problems.sort(key=lambda r: (r.line or 0, r.path))
    return PolicyFile(path, data, lines, tuple(problems), policy if not problems else None)


def _walk(node, path: KeyPath, lines: dict[KeyPath, int]) -> list[Refusal]:
    """Record the line of every key and list item under `node`; a key given twice is a problem (YAML would
    silently keep the later one, and a policy should not hide a level)."""
    problems = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            here = path + (key,)
            if here in lines:
                problems.append(Refusal(_dotted(here), f"duplicate key (first on line {lines[here]}); the later "
                                        "one would silently win", key_node.start_mark.line + 1))
            else:
                lines[here] = key_node.start_mark.line + 1
            problems += _walk(value_node, here, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault(path + (i,), item.start_mark.line + 1)
            problems += _walk(item, path + (i,), lines)
    return problems


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)


_MODEL_AT: dict[KeyPath, type[BaseModel]] = {(): Policy, ("caps",): Caps, ("promotion",): PromotionBar,
                                           ("approval",): ApprovalPolicy}


def _shape_refusal(err: dict, data: dict, lines: dict[KeyPath, int]) -> Refusal:
    """One pydantic error as a refusal whose path is the path in the file."""
    loc = list(err["loc"])
    is_key = "[key]" in loc
    loc = [p for p in loc if p != "[key]"]
    if len(loc) >= 3 and loc[0] == "levels":
        if loc[2] == "actions":  # actions sit next to `default` in the file
            del loc[2]
        elif loc[2] == DEFAULT_KEY and isinstance((data.get("levels") or {}).get(loc[1]), str):
            del loc[2]  # `research: L7`: the level is the use case's value itself
    path, kind = tuple(loc), err["type"]
    message = err["msg"].removeprefix("Value error, ")
    if kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        model = _MODEL_AT.get(path[:-1]) or (ActionRisk if path[:1] == ("actions",) else None)
        message = f"unknown key; expected one of: {', '.join(model.model_fields)}" if model else "unknown key"
    elif kind == "literal_error" and is_key and path[:1] == ("levels",) and len(path) == 2:
        message = f"unknown use case; the use cases are: {', '.join(USE_CASES)}"
    elif kind == "literal_error" and is_key:
        message = f"unknown action; the catalogue has: {', '.join(CATALOGUE)}"
    elif kind == "literal_error" and path[:1] == ("levels",):
        message = f"not a level {err.get('input')!r}: use one of {', '.join(LEVELS)}"
    line = None
    probe = path
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    return Refusal(_dotted(path), message, line)


# ------------------------------------------------------------------------------------------------ rules


def refusals(checked: PolicyFile, current: Policy | None = None, current_file: str | None = None) -> list[Refusal]:
    """Every governance rule the policy breaks (its shape problems first, if any). `current`: the policy in
    force, from which no level may rise more than one step."""
    if checked.policy is None:
        return list(checked.problems)
    policy, found = checked.policy, []

    def refuse(path: tuple, reason: str, line_path: tuple | None = None) -> None:
        found.append(Refusal(_dotted(path), reason, checked.line(*(line_path or path))))

    for action, override in policy.actions.items():
        spec = CATALOGUE[action]
        if override.risk is not None and override.risk < spec.risk:
            refuse(("actions", action, "risk"), f"{action} is {spec.risk.value} risk in the catalogue; a policy "
                   "may raise an action's risk, never lower it")
        if override.reversible and not spec.reversible:
            refuse(("actions", action, "reversible"), f"{action} cannot be undone ({spec.undo.rstrip('.')}); "
                   "a policy cannot make it reversible")

    for use_case in USE_CASES:
        levels = policy.levels.get(use_case)
        if levels is None:
            refuse(("levels", use_case), f"missing: every use case needs a level ({', '.join(LEVELS)})")
            continue
        # Levels written in the file: the use case's default, then each action it names.
        written = [(DEFAULT_KEY, levels.default)] + sorted(levels.actions.items())
        for key, level in written:
            path = ("levels", use_case, key)
            if rank(level) > 3 and policy.approval is None:
                refuse(path, f"{level} needs an approval policy: none is defined (add approval.approvers, the "
                       "roles who may approve)")
            if rank(level) > 3 and not policy.audit_logging:
                refuse(path, f"{level} needs audit logging, and audit_logging is false")
        for action in sorted(ACTION_NAMES):
            level = levels.level_of(action)
            if level != "L5":
                continue
            inherited = action not in levels.actions
            path = ("levels", use_case, action)
            line_path = ("levels", use_case, DEFAULT_KEY) if inherited else path
            via = f" (inherited from levels.{use_case}.default; set {action} to L4 or lower)" if inherited else ""
            if not policy.is_reversible(action):
                refuse(path, f"L5 is refused for {action}: it cannot be undone, and an irreversible action "
                       f"needs approval at every level{via}", line_path)
            elif policy.risk_of(action) is Risk.high:
                refuse(path, f"L5 is refused for {action}: it is high risk, and a high-risk action needs "
                       f"approval at every level{via}", line_path)
            elif policy.risk_of(action) is not Risk.low:
                refuse(path, f"L5 is refused for {action}: it is {policy.risk_of(action).value} risk, and L5 "
                       f"allows only low-risk, reversible actions{via}", line_path)
        if current is not None and use_case in current.levels:
            found += _jumps(checked, use_case, current, current_file)
        found += [Refusal(_dotted(("levels", use_case, SHADOW_KEY)), reason,
                          checked.line("levels", use_case, SHADOW_KEY))
                  for reason in shadow_rules(policy, use_case)]
    found.sort(key=lambda r: (r.line or 0, r.path))
    return list(checked.problems) + found


def shadow_rules(policy: Policy, use_case: str) -> list[str]:
    """Why the use case's shadow (`levels.USE_CASE.shadow`) may not run; empty when it may. A shadow runs one step
    above each level it names, so that level needs a level above it, and the policy as it would be one step up
    must pass the same rules as a policy file (an approval policy above L3, audit logging, L5 only for low-risk
    reversible actions): a shadow records evidence for a promotion that could actually be made."""
    levels = policy.levels[use_case]
    reasons = []
    for key in levels.shadow:
        level = levels.level_of(None if key == DEFAULT_KEY else key)
        if rank(level) == len(LEVELS):
            what = use_case if key == DEFAULT_KEY else f"{use_case} {key}"
            reasons.append(f"{what} is at {level}, the highest level: there is no level above to run in shadow")
    if reasons or not levels.shadow:
        return reasons

    def judged(candidate: Policy) -> set[tuple[str, str]]:
        return {(r.path, r.reason) for r in refusals(PolicyFile("", {}, {}, (), candidate))}

    broken = sorted(judged(policy.in_shadow(use_case)) - judged(policy.without_shadows()))
    reasons = [f"one step up in shadow, {path}: {reason}" for path, reason in broken]
    if len(reasons) > 2:  # a default that many actions inherit: the first two say enough
        reasons = reasons[:2] + [f"and {len(reasons) - 2} more"]
    return reasons


def _jumps(checked: PolicyFile, use_case: str, current: Policy, current_file: str | None) -> list[Refusal]:
    """A level may rise one step at a time from the level in force (DESIGN §4: do not skip levels)."""
    new, old = checked.policy.levels[use_case], current.levels[use_case]
    where = f" in {current_file}" if current_file else ""
    out = []

    def jump(key: str, before: str, after: str, line_key: str, via: str = "") -> None:
        path = ("levels", use_case, key)
        out.append(Refusal(_dotted(path), f"{before} -> {after} skips a level: a level rises one step at a time "
                           f"from the level in force ({before}{where}){via}",
                           checked.line("levels", use_case, line_key)))

    if rank(new.default) - rank(old.default) > 1:
        jump(DEFAULT_KEY, old.default, new.default, DEFAULT_KEY)
    for action in sorted(ACTION_NAMES):
        before, after = old.level_of(action), new.level_of(action)
        if rank(after) - rank(before) <= 1:
            continue
        if action in new.actions:
            jump(action, before, after, action)
        elif before != old.default or rank(new.default) - rank(old.default) <= 1:
            # Not already said by the default's own refusal.
            jump(action, before, after, DEFAULT_KEY, f" (inherited from levels.{use_case}.default)")
    return out


# ------------------------------------------------------------------------------------------------ checking


HOME_POLICY_FILE = "policy.yaml"  # the data folder's own policy, when there is one (the demo writes one)


def policy_file_in_force() -> Path:
    """`SELLERLOOP_POLICY`, else the data folder's policy.yaml if there is one, else the shipped default. The data
    folder's file is the team's own and writable, so admins promote and pull the kill switch from /policy."""
    settings = get_settings()
    value = settings.policy.strip()
    if value:
        return Path(value).expanduser()
    own = settings.home / HOME_POLICY_FILE
    return own if own.is_file() else DEFAULT_POLICY_FILE


def write_demo_policy(*, home: Path) -> Path | None:
    """The demo's own policy file in the data folder (once; an existing one is the team's and is kept): the
    shipped default with follow-up tasks and hygiene's field changes one step up, at L4, so a manager who signs in
    first finds real items in the team inbox; and writable, so /policy offers promotion and the kill switch."""
    path = home / HOME_POLICY_FILE
    if path.exists():
        return None
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    for line, levels in DEMO_LEVELS.items():
        if line not in text:
            raise SellerloopError(f"the shipped policy no longer has {line.strip()!r}; update DEMO_LEVELS")
        text = text.replace(line, levels)
    text = text.replace("# Today every use case stays at L1-L3: nothing is executed.\n",
                        "# The demo: follow-up tasks and hygiene's field changes wait for a manager's approval (L4).\n")
    home.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".yaml.tmp")
    temp.write_text(text, encoding="utf-8")
    checked = check_policy(temp, compare=False)
    if not checked.valid:
        temp.unlink()
        raise SellerloopError(f"the demo policy is refused: {checked.refusals[0].one_line(str(path))}")
    temp.replace(path)
    return path


DEMO_LEVELS = {
    "  follow-up: L3\n": "  follow-up:\n    default: L3\n    create_task: L4\n",
    "  hygiene: L3\n": "  hygiene:\n    default: L3\n    update_field: L4\n",
}


def check_policy(path: Path | str, *, current: Path | str | None = None, compare: bool = True) -> PolicyCheck:
    """Every refusal of the policy file at `path`. Jumps are measured from `current` (a policy file), else from
    the policy in force; `compare=False` skips that rule."""
    checked = read_policy_file(path)
    base, base_file = None, None
    if compare and checked.policy is not None:
        base_path = Path(current).expanduser() if current is not None else policy_file_in_force()
        base_file = str(base_path)
        other = read_policy_file(base_path)
        if other.policy is None:
            first = other.problems[0]
            raise BadInput(f"cannot compare with this policy: {first.path}: {first.reason}", file=base_file,
                           line=first.line)
        base = other.policy
    return PolicyCheck(checked.file, checked.policy, refusals(checked, base, base_file), base_file)


def load_policy(path: Path | str) -> Policy:
    """The policy in the file at `path`, if it breaks no rule; BadInput naming the first refusal otherwise."""
    path = Path(path).expanduser()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return read_policy_file(path).policy  # raises the one-line BadInput
    return _load_cached(str(path), stamp)


@lru_cache(maxsize=32)
def _load_cached(path: str, _stamp: int) -> Policy:
    checked = check_policy(path, compare=False)
    if not checked.valid:
        first, more = checked.refusals[0], len(checked.refusals) - 1
        also = f" (and {more} more; see `sellerloop policy check {path}`)" if more else ""
        raise BadInput(f"policy refused: {first.path}: {first.reason}{also}", file=path, line=first.line)
    return checked.policy


def policy_in_force() -> Policy:
    """The policy at `SELLERLOOP_POLICY`, else the shipped default; read again when the file changes."""
    return load_policy(policy_file_in_force())


SESSION_POLICY_KEY = "policy"


def session_policy(session) -> Policy:
    """The policy in force, read once per session: a whole-book run does not look at the file 180,000 times, and
    a changed policy (the kill switch) applies from the next session: the next page, command or chunk."""
    policy = session.info.get(SESSION_POLICY_KEY)
    if policy is None:
        policy = session.info[SESSION_POLICY_KEY] = policy_in_force()
    return policy

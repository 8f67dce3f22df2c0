"""Sensitive fields: masked, as records are loaded, for whoever may not see them.

The governance policy lists the sensitive fields (`sensitive_fields:`, e.g. `Contact.phone`); the Cedar policies
decide who may see them (`Action::"view_sensitive"`, with the field in `context.field`). A session that serves
someone (a page, an API call, `--as`, an agent run) is bound to that viewer with `bind_viewer`; from then on every
Account, Contact, Opportunity and FieldChange it loads has the fields the viewer may not see set to None *in the
loaded object only* (`set_committed_value`: the store is untouched and the object is not dirty, so nothing is ever
written back). Because this happens where rows become objects, everything built from them afterwards (pages,
JSON, agent inputs, LLM prompts, the verifier's sources) is masked without each surface having to remember.

Who sees a sensitive field (the shipped `access/cedar/records.cedar`): the record's owner and their manager
chain, admins and RevOps. So a seller who sees an account only through one of their deals there does not see its
contacts' direct lines. An agent sees a field only when the person it runs for does; an agent running for
nobody (the nightly `run-all` without `--as`) sees none, so what it stores can be shown to anyone who may see
the record. A session nobody is bound to is the local operator's (CLI without `--as`): nothing is masked.

A contact's fields belong to its account (its owner decides); a field-history row (`FieldChange`) is masked when
the field it records is sensitive for that record. Queries that select columns rather than objects are not
masked: surfaces read objects, and `tests/security/test_field_matrix.py` checks every surface for leaks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from sellerloop.access.permissions import decide_each, policy_files_key
from sellerloop.policy.service import session_policy
from sellerloop.records.models import Account, Contact, FieldChange, Opportunity, User

MODELS = {"Account": Account, "Contact": Contact, "Opportunity": Opportunity}
# FieldChange.object_type -> the Cedar kind of the record it changed.
HISTORY_KINDS = {"account": "Account", "contact": "Contact", "opportunity": "Opportunity"}
HIDDEN = "(hidden)"  # what a person reads in place of a value they may not see
_VIEWER_KEY = "sellerloop.fields.viewer"
_MASKED_ATTR = "_sellerloop_masked"


@dataclass
class Viewer:
    """Who the data in a session is for: a person, the agents running for them (or for nobody), or both. A
    field is shown only when every one of them may see it."""

    user: User | None
    agents: tuple[str, ...] = ()
    sensitive: frozenset[str] = frozenset()
    _decisions: dict = field(default_factory=dict, repr=False)
    _owners: dict = field(default_factory=dict, repr=False)

    def may_see(self, session: Session, kind: str, owner_id: str | None, name: str) -> bool:
        key = (kind, owner_id, name)
        allowed = self._decisions.get(key)
        if allowed is None:
            allowed = self._decisions[key] = self._decide(session, kind, owner_id, name)
        return allowed

    def _decide(self, session: Session, kind: str, owner_id: str | None, name: str) -> bool:
        return _allowed(session, user=self.user, agents=self.agents, name=name, owner_ids=[owner_id])[0]


def _allowed(session: Session, *, user: User | None, agents: tuple[str, ...], name: str,
             owner_ids: list[str | None]) -> list[bool]:
    """May `user` and every one of `agents` (running for them) see field `name` of records owned by each of
    `owner_ids`? One Cedar batch per principal. A contact's field is asked about as its account's."""
    kind = name.partition(".")[0]
    resource = "Account" if kind == "Contact" else kind
    allowed = [True] * len(owner_ids)
    for agent in ([None] if user is not None else []) + list(agents):
        verdicts = decide_each(principal=user, action="view_sensitive", resource_kind=resource, owner_ids=owner_ids,
                               session=session, agent=agent, context={"field": name})
        allowed = [a and v.allowed for a, v in zip(allowed, verdicts)]
    return allowed


def decide_fields(session: Session, *, user: User | None, agents: tuple[str, ...],
                  sensitive: frozenset[str], owner_ids: list[str | None]) -> dict:
    """Every decision a viewer will need about `sensitive` fields of records owned by `owner_ids`, in one Cedar
    batch per field and principal: for a whole-book run, which would otherwise ask for each new owner in each
    chunk. The result is what `bind_viewer(decisions=...)` takes."""
    decided = {(name.partition(".")[0], owner, name): allowed for name in sorted(sensitive)
               for owner, allowed in zip(owner_ids, _allowed(session, user=user, agents=agents, name=name,
                                                             owner_ids=owner_ids))}
    return {(user.id if user else None, tuple(agents), policy_files_key()): decided}


def bind_viewer(session: Session, *, user: User | None, agents: tuple[str, ...] | list[str] = (),
                sensitive: frozenset[str] | None = None, decisions: dict | None = None) -> Viewer | None:
    """Serve `session` to `user` (and/or `agents` acting for them) from now on. Binding again only ever hides
    more: the new viewer joins the one already bound (both must be allowed), and objects already loaded are
    masked again. No user and no agent is the local operator: nothing is bound, nothing is masked.

    `decisions` lets a caller that serves the same viewer in many sessions (a whole-book run's chunks) keep the
    Cedar decisions between them; it is keyed by the viewer and the policy files, so a changed file is asked
    again."""
    current: Viewer | None = session.info.get(_VIEWER_KEY)
    if sensitive is None:
        sensitive = frozenset(session_policy(session).sensitive_fields)
    if current is not None:
        if current.user is not None and user is not None and current.user.id != user.id:
            raise ValueError("a session serves one person; open another session for someone else")
        user = user or current.user
        agents = tuple(dict.fromkeys((*current.agents, *agents)))
        if (user, agents) == (current.user, current.agents):
            return current
    elif user is None and not agents:
        return None
    viewer = Viewer(user=user, agents=tuple(agents), sensitive=sensitive)
    if decisions is not None:
        key = (user.id if user else None, viewer.agents, policy_files_key())
        viewer._decisions = decisions.setdefault(key, {})
    session.info[_VIEWER_KEY] = viewer
    if viewer.sensitive:
        for obj in list(session.identity_map.values()):
            _mask(obj, session)
    return viewer


def field_hidden(session: Session, *, user: User, object_type: str, record_id: str | None, name: str) -> bool:
    """Is one field of one record (`object_type` "account", "contact", "opportunity") a sensitive field `user`
    may not see? For what holds a field's value outside the record itself: an approval's old → new."""
    kind = HISTORY_KINDS.get(object_type)
    qualified = f"{kind}.{name}"
    if kind is None or qualified not in session_policy(session).sensitive_fields:
        return False
    viewer = Viewer(user=user, sensitive=frozenset({qualified}))
    return not viewer.may_see(session, kind, _owner(session, viewer, kind, record_id), qualified)


def viewer_of(session: Session) -> Viewer | None:
    return session.info.get(_VIEWER_KEY)


def served_user(session: Session) -> User | None:
    """The person the session serves, or None for the local operator (and agents running for nobody)."""
    bound = viewer_of(session)
    return bound.user if bound is not None else None


def masked_fields(obj) -> frozenset[str]:
    """The fields of a loaded record that are masked for the session's viewer (empty when none are)."""
    return getattr(obj, _MASKED_ATTR, frozenset())


def is_masked(obj, name: str) -> bool:
    return name in masked_fields(obj)


# --- masking where rows become objects ----------------------------------------------------------------------

def _owner(session: Session, viewer: Viewer, kind: str, record_id: str | None) -> str | None:
    """The owner whose rights decide a field of this record (a contact's: its account's), read once per viewer."""
    if record_id is None:
        return None
    if kind == "Contact":
        account_id = _column(session, viewer, Contact.account_id, Contact.id, record_id)
        return _owner(session, viewer, "Account", account_id)
    model = MODELS[kind]
    loaded = session.identity_map.get(session.identity_key(model, record_id))
    if loaded is not None:
        return loaded.owner_id
    return _column(session, viewer, model.owner_id, model.id, record_id)


def _column(session: Session, viewer: Viewer, column, key, value):
    cache_key = (column.key, key.class_.__name__, value)
    if cache_key not in viewer._owners:
        # The connection, not the session: no autoflush and no object loading (and so no masking) inside a load.
        viewer._owners[cache_key] = session.connection().execute(select(column).where(key == value)).scalar()
    return viewer._owners[cache_key]


def _mask(target, session: Session | None) -> None:
    viewer: Viewer | None = session.info.get(_VIEWER_KEY) if session is not None else None
    if viewer is None or not viewer.sensitive:
        return
    if isinstance(target, FieldChange):
        kind = HISTORY_KINDS.get(target.object_type)
        name = f"{kind}.{target.field}"
        if kind is None or name not in viewer.sensitive:
            return
        owner = _owner(session, viewer, kind, target.record_id)
        if not viewer.may_see(session, kind, owner, name):
            _hide(target, ("old_value", "new_value"))
        return
    kind = type(target).__name__
    names = [n for n in viewer.sensitive if n.startswith(f"{kind}.")]
    if not names:
        return
    if kind == "Contact":
        owner = _owner(session, viewer, "Account", target.account_id)
    else:
        owner = target.owner_id
    hidden = [n.partition(".")[2] for n in names if not viewer.may_see(session, kind, owner, n)]
    if hidden:
        _hide(target, hidden)


def _hide(target, names) -> None:
    for name in names:
        set_committed_value(target, name, None)
    target.__dict__[_MASKED_ATTR] = masked_fields(target) | frozenset(names)


for _model in (Account, Contact, Opportunity, FieldChange):
    event.listen(_model, "load", lambda target, context: _mask(target, context.session))
    # A bulk UPDATE refreshes the objects it changed without a query, so with no context: the object's session.
    event.listen(_model, "refresh", lambda target, context, attrs: _mask(
        target, context.session if context is not None else object_session(target)))

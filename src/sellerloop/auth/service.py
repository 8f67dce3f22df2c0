"""Signing in: passwords (argon2id, via argon2-cffi), API tokens, embed tokens, and who a request is for.

A password is checked against its argon2id hash; a hash made with older parameters is replaced on the next good
sign-in. Sign-in with an unknown user still runs one hash check, so the answer takes as long either way and does
not tell which user ids exist. API tokens carry a random secret; the store keeps its SHA-256 and compares in
constant time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from sellerloop.auth.models import ApiToken, Credential, WebSession
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.policy.models import Role
from sellerloop.records.models import User
from sellerloop.records.refs import RecordRef

MIN_PASSWORD = 10
TOKEN_PREFIX = "sl_"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters (RFC 9106 low-memory)
_DUMMY_HASH = _hasher.hash("an unused password, so unknown users cost one hash check too")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def add_user(*, session: Session, user_id: str, name: str, role: str, manager_id: str | None = None,
             email: str | None = None, password: str | None = None) -> User:
    """A new person (`sellerloop users add`). Their record access follows from role and manager."""
    if not user_id.strip() or len(user_id) > 64:
        raise BadInput("a user id of 1 to 64 characters is required")
    if role not in {r.value for r in Role}:
        raise BadInput(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}")
    if session.get(User, user_id) is not None:
        raise BadInput(f"a user with id {user_id!r} exists already")
    if manager_id is not None and session.get(User, manager_id) is None:
        raise BadInput(f"no user with id {manager_id!r} to be the manager")
    user = User(id=user_id, name=name, role=role, manager_id=manager_id, email=email)
    session.add(user)
    session.flush()
    if password is not None:
        set_password(session=session, user_id=user_id, password=password)
    return user


def set_password(*, session: Session, user_id: str, password: str) -> None:
    """Set a person's password; every browser signed in as them is signed out (a changed password is often a
    stolen one)."""
    if session.get(User, user_id) is None:
        raise NotFound(f"no user with id {user_id!r}")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"a password needs at least {MIN_PASSWORD} characters")
    credential = session.get(Credential, user_id)
    if credential is None:
        session.add(Credential(user_id=user_id, password_hash=_hasher.hash(password), updated_at=now()))
    else:
        credential.password_hash, credential.updated_at = _hasher.hash(password), now()
    end_sessions(session=session, user_id=user_id)
    session.flush()


# --- browser sessions, kept on the server ----------------------------------------------------------------------

def start_session(*, session: Session, user_id: str) -> str:
    """A new signed-in browser session for `user_id`: the id its cookie carries (the store keeps its hash)."""
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id_sha256=_sha256(session_id), user_id=user_id, created_at=now()))
    session.flush()
    return session_id


def user_for_session(*, session: Session, session_id: str) -> User | None:
    """The user of an open browser session; None once it was ended (signed out, password changed, revoked)."""
    row = session.get(WebSession, _sha256(session_id)) if session_id else None
    if row is None or row.ended_at is not None:
        return None
    return session.get(User, row.user_id)


def end_session(*, session: Session, session_id: str) -> None:
    row = session.get(WebSession, _sha256(session_id)) if session_id else None
    if row is not None and row.ended_at is None:
        row.ended_at = now()


def end_sessions(*, session: Session, user_id: str) -> int:
    """Sign `user_id` out of every browser (`sellerloop users revoke-sessions`, a password change). How many."""
    ended = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                            .values(ended_at=now()).execution_options(synchronize_session=False))
    return ended.rowcount


def authenticate(*, session: Session, login: str, password: str) -> User | None:
    """The user whose id (or email) and password these are, or None. Never says which of the two was wrong."""
    user = session.get(User, login) or session.scalars(select(User).where(User.email == login)).first()
    credential = session.get(Credential, user.id) if user is not None else None
    try:
        _hasher.verify(credential.password_hash if credential else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if credential is None:
        return None
    if _hasher.check_needs_rehash(credential.password_hash):
        credential.password_hash, credential.updated_at = _hasher.hash(password), now()
    return user


def create_token(*, session: Session, user_id: str, name: str) -> str:
    """A new API token for `user_id`; the returned string is the only time its secret is seen."""
    if session.get(User, user_id) is None:
        raise NotFound(f"no user with id {user_id!r}")
    if not name.strip() or len(name) > 100:
        raise BadInput("a token name of 1 to 100 characters is required (what the token is for)")
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    session.add(ApiToken(id=token_id, user_id=user_id, name=name, secret_sha256=_sha256(secret), created_at=now()))
    session.flush()
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def user_for_token(*, session: Session, token: str) -> User | None:
    """The user a bearer token belongs to, if it is well formed, known, not revoked and its secret matches."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, _, secret = token[len(TOKEN_PREFIX):].partition("_")
    row = session.get(ApiToken, token_id) if token_id and secret else None
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None
    if row.last_used_at is None or now() - row.last_used_at >= TOKEN_USE_PRECISION:
        session.info[TOKEN_USED] = row.id  # written by note_token_use once the request's session is done
    return session.get(User, row.user_id)


TOKEN_USE_PRECISION = dt.timedelta(minutes=1)
TOKEN_USED = "sellerloop.token_used"  # session.info: the id of a token whose use is to be written down


def note_token_use(*, engine: Engine, token_id: str) -> None:
    """Record when a token was last used, at most once a minute, in a short transaction of its own, after the
    request's session has given its connection back. Written in the request's transaction on every call, it held
    SQLite's write lock for the whole request (50 scripts at once: errors, no answers); written on a second
    connection while the request still held its first, it starved the pool (50 scripts: 30 s time-outs). A
    minute is precise enough to tell a live token from a forgotten one."""
    at = now()
    with engine.begin() as connection:
        connection.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - TOKEN_USE_PRECISION))
            .values(last_used_at=at))


def revoke_token(*, session: Session, token_id: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id!r}")
    row.revoked_at = row.revoked_at or now()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def session_secret(home) -> str:
    """The key that signs session cookies: SELLERLOOP_SECRET_KEY, else one made once and kept in the data folder
    (readable by its owner only), so sessions survive a restart and no set-up step is needed."""
    import os
    from pathlib import Path

    configured = os.environ.get("SELLERLOOP_SECRET_KEY", "").strip()
    if configured:
        return configured
    path = Path(home) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


# --- embed tokens: a panel inside another CRM's iframe --------------------------------------------------------
#
# A page framed by Salesforce or HubSpot is a third-party context: browsers do not send our session cookie there
# (nor could anyone sign in inside it). So an embed link carries a short-lived token instead, signed with the
# app's secret (itsdangerous, like the session cookie, but under its own salt, so neither can pass for the
# other). It names one user and one record; auth/views.py accepts it only for that record's pages.

EMBED_SALT = "sellerloop.embed-link"
EMBED_MINUTES = 15
EMBED_MAX_MINUTES = 60
EMBED_KINDS = {"opportunity": "opportunities", "account": "accounts"}  # record kind -> its path segment


class EmbedTokenInvalid(SellerloopError):
    """An embed token that is expired, altered or for nobody we know. A 401 page, not a sign-in redirect: inside
    another site's iframe there is no signing in."""

    exit_code = 2
    http_status = 401


@dataclass(frozen=True)
class EmbedGrant:
    user_id: str
    record: str  # "opportunity:ID" or "account:ID"
    expires_at: dt.datetime  # UTC, naive like every stored time

    @property
    def kind(self) -> str:
        return RecordRef.of(self.record).kind

    @property
    def record_id(self) -> str:
        return RecordRef.of(self.record).id


def embed_minutes(minutes: int | None) -> int:
    minutes = EMBED_MINUTES if minutes is None else minutes
    if not 1 <= minutes <= EMBED_MAX_MINUTES:
        raise BadInput(f"minutes: an embed link lives 1 to {EMBED_MAX_MINUTES} minutes (got {minutes})")
    return minutes


def mint_embed_token(*, secret: str, user_id: str, record: str, minutes: int | None = None) -> tuple[str, EmbedGrant]:
    """A token for `user_id` to see `record` ("opportunity:ID") for `minutes` (default 15, at most 60). The caller
    has checked that the user may see the record; the pages check it again on every request."""
    ref = RecordRef.of(record)
    if ref.kind not in EMBED_KINDS or not ref.id:
        raise BadInput(f"an embed link is for an opportunity or an account, not {record!r}")
    expires = int(time.time()) + 60 * embed_minutes(minutes)
    token = URLSafeTimedSerializer(secret, salt=EMBED_SALT).dumps({"u": user_id, "r": record, "x": expires})
    return token, EmbedGrant(user_id, record, dt.datetime.fromtimestamp(expires, dt.UTC).replace(tzinfo=None))


def read_embed_token(*, secret: str, token: str) -> EmbedGrant:
    """Who and which record a token is for; EmbedTokenInvalid when it is altered, malformed or expired."""
    try:
        # max_age is the hard ceiling whatever the payload says; "x" is the lifetime the link was minted with.
        payload = URLSafeTimedSerializer(secret, salt=EMBED_SALT).loads(token, max_age=60 * EMBED_MAX_MINUTES)
    except SignatureExpired:
        raise EmbedTokenInvalid("this embed link has expired: open the panel again from your CRM") from None
    except BadSignature:
        raise EmbedTokenInvalid("this embed link is not valid (altered or signed by another server)") from None
    if not isinstance(payload, dict) or not {"u", "r", "x"} <= payload.keys():
        raise EmbedTokenInvalid("this embed link is not valid (malformed)")
    if payload["x"] <= time.time():
        raise EmbedTokenInvalid("this embed link has expired: open the panel again from your CRM")
    return EmbedGrant(payload["u"], payload["r"],
                      dt.datetime.fromtimestamp(payload["x"], dt.UTC).replace(tzinfo=None))


# --- sign-in throttle ------------------------------------------------------------------------------------------

class TooManySignIns(SellerloopError):
    """Too many wrong passwords lately, for this account or from this address. Not permanent: wait and retry."""

    exit_code = 1
    http_status = 429
    permanent = False

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class SignInThrottle:
    """Failed sign-ins counted per account and per client address over a sliding window; past the limit, that
    account or address waits. Kept in the server's memory, by hand rather than with a rate-limit library, because
    sellerloop serves from one process and all it needs is two counters; a restart forgets them, which only
    gives an attacker a few more guesses per restart against argon2id hashes."""

    def __init__(self, *, per_account: int = 5, per_address: int = 20, window: float = 300.0,
                 clock=time.monotonic):
        self.limits = {"account": per_account, "address": per_address}
        self.window, self.clock = window, clock
        self._failures: dict[tuple[str, str], list[float]] = {}

    def check(self, *, login: str, address: str) -> None:
        """TooManySignIns if this account or address is over its limit."""
        for kind, key in (("account", login.casefold()), ("address", address)):
            recent = self._recent(kind, key)
            if len(recent) >= self.limits[kind]:
                wait = max(1, int(recent[0] + self.window - self.clock()) + 1)
                raise TooManySignIns(f"too many wrong passwords for this {kind}; try again in {wait} seconds",
                                     retry_after=wait)

    def failed(self, *, login: str, address: str) -> None:
        for kind, key in (("account", login.casefold()), ("address", address)):
            self._recent(kind, key).append(self.clock())

    def succeeded(self, *, login: str) -> None:
        self._failures.pop(("account", login.casefold()), None)

    def _recent(self, kind: str, key: str) -> list[float]:
        since = self.clock() - self.window
        kept = [t for t in self._failures.get((kind, key), ()) if t > since]
        self._failures[(kind, key)] = kept
        return kept

"""The CRM card: what sellerloop has to say about one record, for one person, small and fast; and embed links.

HubSpot's app card (integrations/hubspot) calls `GET /api/hubspot/card` through `hubspot.fetch`, which signs
every request with the app's client secret (request signature v3) and appends who is looking (`userId`,
`userEmail`, `portalId`, `appId`). The card then applies the same rules as the web app: the HubSpot user is the
sellerloop user with that email, the record must be one they may see (access.service), and the session is bound
to them so every record it loads has the sensitive fields they may not see masked (access.fields).

Nothing runs per request: a card is read from what the nightly `sellerloop run-all` stored (agents.outputs
.AgentOutput), next-best action first, so it answers in milliseconds however large the book. An output stored
for another person (`run-all --as USER`) may hold what that person may see and this one may not, so only
outputs made for nobody (which see no sensitive field, access/fields.py) or for this very person are shown.

Every link leaves HubSpot for the full panel: an embed link (a short-lived signed token, auth/service.py, so it
opens in another site's iframe or a new tab without our cookie) and the plain page. Absolute links start at
SELLERLOOP_PUBLIC_URL.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sellerloop.access.fields import bind_viewer, is_masked
from sellerloop.access.service import AccessDenied
from sellerloop.agents.outputs import AgentOutput
from sellerloop.agents.service import AGENTS
from sellerloop.approvals.models import ApprovalRow, State
from sellerloop.auth.service import EMBED_KINDS, mint_embed_token
from sellerloop.config import get_settings
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.records.models import User
from sellerloop.records.service import get_account, get_opportunity

# --- HubSpot request signature v3 ---------------------------------------------------------------------------

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000  # HubSpot: reject a timestamp older than 5 minutes
# HubSpot's documented list: these encodings are decoded in the request URI before signing, and only these.
_SIGNED_DECODED = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                   "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
_SIGNED_ENCODED = re.compile("|".join(_SIGNED_DECODED), re.IGNORECASE)


class HubSpotRequestRefused(SellerloopError):
    """Not a request HubSpot signed for this app, or not a fresh one."""

    exit_code = 2
    http_status = 401


def signed_uri(uri: str) -> str:
    """The request URI as HubSpot signs it: the full URL with those characters decoded."""
    return _SIGNED_ENCODED.sub(lambda m: _SIGNED_DECODED[m.group(0).upper()], uri)


def check_hubspot_signature(*, secret: str, method: str, uri: str, body: str, timestamp: str | None,
                            signature: str | None, now_ms: int | None = None) -> None:
    """Raise HubSpotRequestRefused unless `signature` is HubSpot's v3 signature of this request: base64 of
    HMAC-SHA256(client secret, method + URI + body + timestamp), with a timestamp (ms) at most 5 minutes old."""
    if not secret:
        raise HubSpotRequestRefused("HubSpot cards are not set up on this server: set "
                                    "SELLERLOOP_HUBSPOT_CLIENT_SECRET to the HubSpot app's client secret")
    if not signature or not timestamp:
        raise HubSpotRequestRefused(f"not signed by HubSpot: the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} "
                                    "headers are required")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        raise HubSpotRequestRefused(f"{TIMESTAMP_HEADER}: milliseconds since 1970 are expected")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    # Older than 5 minutes is HubSpot's rule; as far in the future is ours (a clock that far off is not HubSpot).
    if abs(now_ms - int(timestamp)) > MAX_AGE_MS:
        raise HubSpotRequestRefused("the HubSpot request is more than 5 minutes old (or its clock is off): "
                                    "refused as a possible replay")
    source = f"{method.upper()}{signed_uri(uri)}{body}{timestamp}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise HubSpotRequestRefused("the HubSpot signature does not match this request (wrong client secret, or "
                                    "SELLERLOOP_PUBLIC_URL is not the address HubSpot called)")


# --- who and what the card is for ---------------------------------------------------------------------------

# HubSpot's names for the objects the card sits on (its objectType, plural or object type id) -> our record kind.
OBJECT_TYPES = {"deal": "opportunity", "deals": "opportunity", "0-3": "opportunity",
                "company": "account", "companies": "account", "0-2": "account"}
MAX_ID = 64
MAX_EMAIL = 320


def card_subject(*, object_type: str | None, record_id: str | None) -> tuple[str, str]:
    """(kind, record id) from the card's query; BadInput naming the parameter otherwise."""
    kind = OBJECT_TYPES.get((object_type or "").strip().lower())
    if kind is None:
        raise BadInput(f"objectType: deal or company expected (got {object_type!r})")
    record_id = (record_id or "").strip()
    if not record_id or len(record_id) > MAX_ID:
        raise BadInput(f"sellerloopId: the record's sellerloop id (1 to {MAX_ID} characters) is required; set the "
                       "sellerloop_id property on this HubSpot record")
    return kind, record_id


# users.email has no index and is matched whatever its case, so finding a person scans the users table (~1 ms on
# a book with 2,800 users, on every card). Who an email was is remembered for a few minutes, and the person's row
# is still read on every card, so a changed email or a removed user is looked up again at once.
_EMAIL_USERS: dict[str, tuple[str, float]] = {}  # lower-cased email -> (user id, when it was looked up)
EMAIL_MEMORY_SECONDS = 300


def user_for_email(*, session: Session, email: str | None) -> User:
    """The sellerloop user whose email this is, whatever its case; AccessDenied when there is none or two."""
    email = (email or "").strip()
    if not email or len(email) > MAX_EMAIL:
        raise BadInput("userEmail: the HubSpot user's email is required (hubspot.fetch adds it)")
    key = email.lower()
    known = _EMAIL_USERS.get(key)
    if known is not None and time.monotonic() - known[1] < EMAIL_MEMORY_SECONDS:
        user = session.get(User, known[0])
        if user is not None and (user.email or "").lower() == key:
            return user
    # Ids only, then the one row by key: hydrating every candidate costs more than the scan itself.
    ids = session.scalars(select(User.id).where(func.lower(User.email) == key).limit(2)).all()
    if not ids:
        raise AccessDenied(f"no sellerloop user has the email {email}: add them (`sellerloop users add ... "
                           "--email`) before they can see sellerloop in HubSpot")
    if len(ids) > 1:
        raise AccessDenied(f"more than one sellerloop user has the email {email}: give each person their own")
    _EMAIL_USERS[key] = (ids[0], time.monotonic())
    return session.get(User, ids[0])


def public_url() -> str:
    return get_settings().public_url.rstrip("/")


def page_url(kind: str, record_id: str) -> str:
    """The record's page in the web app (it asks the person to sign in there)."""
    return f"{public_url()}/{EMBED_KINDS[kind]}/{quote(record_id, safe='')}"


def embed_link(*, session: Session, secret: str, user: User, kind: str, record_id: str,
               minutes: int | None = None) -> dict:
    """An embed link for `user` to the panels of one record they may see (AccessDenied otherwise): the URL with
    its token, and when it expires."""
    if kind not in EMBED_KINDS:
        raise BadInput(f"an embed link is for an opportunity or an account, not {kind!r}")
    bind_viewer(session, user=user)
    _record(session, kind, record_id)
    token, grant = mint_embed_token(secret=secret, user_id=user.id, record=f"{kind}:{record_id}", minutes=minutes)
    return {"url": f"{public_url()}/embed/{EMBED_KINDS[kind]}/{quote(record_id, safe='')}?token={token}",
            "record": grant.record, "expires_at": grant.expires_at.isoformat() + "Z"}


def _record(session: Session, kind: str, record_id: str):
    """The record, loaded for the session's person: NotFound, or AccessDenied when they may not see it."""
    if kind == "opportunity":
        return get_opportunity(session=session, opportunity_id=record_id)
    return get_account(session=session, account_id=record_id)


# --- the card -----------------------------------------------------------------------------------------------

# Which stored outputs a card reads, in the order a seller wants them: what to do next first.
CARD_USE_CASES = {"opportunity": ("next-action", "hygiene", "prep"), "account": ("next-action", "research")}
# What a seller reads at a glance, besides the name. Sensitive ones come masked (access/fields.py).
RECORD_FIELDS = {"opportunity": ("stage", "amount", "close_date"), "account": ("sector", "revenue_musd", "employees")}
MAX_ITEMS = 5
MAX_TITLE = 200
MAX_TEXT = 600  # HubSpot caps an answer at 1 MB; five items of this stay far below it whatever the agents wrote
NO_OUTPUT = ("no agent output is stored for this {kind} yet: run `sellerloop run-all` (the nightly refresh), "
             "or open the panel to run the agents now")


def _clip(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def build_card(*, session: Session, secret: str, user: User, kind: str, record_id: str) -> dict:
    """The card for `user` on one record they may see: up to five items from the stored agent outputs (title,
    text, number of sources, links), the record's open approvals, and links to the full panel."""
    bind_viewer(session, user=user)
    record = _record(session, kind, record_id)
    subject = f"{kind}:{record_id}"
    token, grant = mint_embed_token(secret=secret, user_id=user.id, record=subject)
    embed = f"{public_url()}/embed/{EMBED_KINDS[kind]}/{quote(record_id, safe='')}?token={token}"
    page = page_url(kind, record_id)

    wanted = CARD_USE_CASES[kind]
    stored = dict(session.execute(select(AgentOutput.use_case, AgentOutput.output).where(
        AgentOutput.subject_type == kind, AgentOutput.subject_id == record_id, AgentOutput.use_case.in_(wanted))).all())
    items, generated, withheld = [], [], 0
    for use_case in wanted:
        if use_case not in stored:
            continue
        run = json.loads(stored[use_case])
        if run.get("acting_user") not in (None, user.id):
            withheld += 1  # made for someone else: it may hold what they may see and this person may not
            continue
        generated.append(run.get("generated_at"))
        for item in run.get("items", ()):
            if len(items) == MAX_ITEMS:
                break
            anchor = f"#panel-{use_case}"
            items.append({"use_case": use_case, "kind": item.get("kind"),
                          "title": _clip(item.get("label") or AGENTS[use_case].title, MAX_TITLE),
                          "text": _clip(item.get("text"), MAX_TEXT), "sources": len(item.get("sources") or ()),
                          "links": {"panel": embed + anchor, "page": page + anchor}})
    approvals = session.scalar(select(func.count()).select_from(ApprovalRow).where(
        ApprovalRow.subject == subject, ApprovalRow.state == State.proposed.value))
    note = None
    if not generated:
        note = NO_OUTPUT.format(kind="deal" if kind == "opportunity" else "account")
        if withheld:
            note += " (the stored output was made for another person)"
    return {
        "record": {"type": kind, "id": record_id, "name": record.name,
                   "fields": {name: None if is_masked(record, name) else _value(getattr(record, name))
                              for name in RECORD_FIELDS[kind]},
                   "hidden": sorted(name for name in RECORD_FIELDS[kind] if is_masked(record, name))},
        "user": {"id": user.id, "name": user.name},
        "items": items,
        "open_approvals": approvals,
        "generated_at": max(filter(None, generated), default=None),
        "note": note,
        "links": {"panel": embed, "page": page},
        "panel_expires_at": grant.expires_at.isoformat() + "Z",
    }

"""Routes for sellerloop inside another CRM.

- `GET /api/hubspot/card?objectType=deal|company&sellerloopId=ID` plus what hubspot.fetch appends (`userId`,
  `userEmail`, `portalId`, `appId`): the card as JSON (cards/service.py). Authenticated by HubSpot's request
  signature v3, not by our cookie or a bearer token: HubSpot calls it, on behalf of the person looking.
- `POST /api/embed-links` with `{"opportunity": ID}` or `{"account": ID}` and optionally `"minutes": N`: an embed
  link for the person asking (signed in, or with an API token), to a record they may see.
- `GET /embed/opportunities/{id}?token=...` and `/embed/accounts/{id}?token=...`: the record's agent panels on
  a compact page for an iframe in Salesforce or any other CRM. The token is the only credential (auth/views.py);
  the page hands it to htmx, so the panels it loads carry it as a header too.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.auth.service import EMBED_MAX_MINUTES, EMBED_MINUTES
from sellerloop.cards.service import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    build_card,
    card_subject,
    check_hubspot_signature,
    embed_link,
    page_url,
    user_for_email,
)
from sellerloop.config import get_settings
from sellerloop.errors import BadInput
from sellerloop.records.service import get_account, get_opportunity
from sellerloop.store.db import session_scope
from sellerloop.web.agent_views import record_panels
from sellerloop.web.deps import get_session, templates

router = APIRouter()


@router.get("/api/hubspot/card", response_class=JSONResponse, tags=["CRM cards"])
def hubspot_card(request: Request) -> Response:
    """The HubSpot app card for one deal or company, as the HubSpot user looking at it may see it. Query:
    `objectType` (deal or company), `sellerloopId` (the record's sellerloop id), and HubSpot's `userEmail`."""
    settings = get_settings()
    # The URL HubSpot called, as it signed it: the public address (a proxy in between changes scheme and host),
    # then the path and query exactly as they came, still encoded.
    query = request.scope.get("query_string", b"").decode("latin-1")
    path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    uri = settings.public_url.rstrip("/") + path + (f"?{query}" if query else "")
    check_hubspot_signature(secret=settings.hubspot_client_secret, method=request.method, uri=uri, body="",
                            timestamp=request.headers.get(TIMESTAMP_HEADER),
                            signature=request.headers.get(SIGNATURE_HEADER))
    params = request.query_params  # read only once HubSpot vouched for them
    kind, record_id = card_subject(object_type=params.get("objectType"), record_id=params.get("sellerloopId"))
    with session_scope(request.app.state.engine) as session:
        user = user_for_email(session=session, email=params.get("userEmail"))
        card = build_card(session=session, secret=request.app.state.secret_key, user=user, kind=kind,
                          record_id=record_id)
    return JSONResponse(card)


class EmbedLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opportunity: str | None = Field(None, min_length=1, max_length=64, description="the opportunity's id")
    account: str | None = Field(None, min_length=1, max_length=64, description="the account's id")
    minutes: int = Field(EMBED_MINUTES, ge=1, le=EMBED_MAX_MINUTES, description="how long the link works")


@router.post("/api/embed-links", tags=["CRM cards"])
def create_embed_link(body: EmbedLinkRequest, request: Request, session: Session = Depends(get_session)) -> dict:
    """An embed link to one record's panels, for the person asking; it works for `minutes` (15 by default, at
    most 60) and only on that record's pages."""
    given = [(kind, value) for kind, value in (("opportunity", body.opportunity), ("account", body.account))
             if value is not None]
    if len(given) != 1:
        raise BadInput("give exactly one of opportunity or account")
    user = served_user(session)
    if user is None:
        raise BadInput("an embed link is for a person: sign in, use an API token, or preview with ?as=USER")
    (kind, record_id), = given
    return embed_link(session=session, secret=request.app.state.secret_key, user=user, kind=kind,
                      record_id=record_id, minutes=body.minutes) | {"minutes": body.minutes}


def _embed_page(request: Request, session: Session, kind: str, record_id: str) -> Response:
    record = (get_opportunity(session=session, opportunity_id=record_id) if kind == "opportunity"
              else get_account(session=session, account_id=record_id))
    response = templates.TemplateResponse(request, "embed.html", {
        "record": record, "kind": kind, "panels": record_panels(kind, record_id),
        "token": request.state.embed_token, "page_url": page_url(kind, record_id)})
    response.headers["Cache-Control"] = "no-store"  # the token is in the address: keep the page out of caches
    response.headers["Referrer-Policy"] = "no-referrer"  # ...and out of the Referer of every link it opens
    return response


@router.get("/embed/opportunities/{opportunity_id}", response_class=HTMLResponse, include_in_schema=False)
def embed_opportunity(request: Request, opportunity_id: str, session: Session = Depends(get_session)) -> Response:
    return _embed_page(request, session, "opportunity", opportunity_id)


@router.get("/embed/accounts/{account_id}", response_class=HTMLResponse, include_in_schema=False)
def embed_account(request: Request, account_id: str, session: Session = Depends(get_session)) -> Response:
    return _embed_page(request, session, "account", account_id)

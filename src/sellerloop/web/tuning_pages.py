"""`GET /tuning`: the playbook tuning report (autonomy/tuning.py) for admins and RevOps, who own the playbook and
the autonomy levels. Sellers and managers get 403: the report covers everyone's records, and its suggestions are
about the policy they cannot change. The local operator of a server without sign-in sees it too."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import AccessDenied
from sellerloop.autonomy.service import PROMOTERS
from sellerloop.autonomy.tuning import tuning_report
from sellerloop.web.deps import get_session, templates

router = APIRouter(default_response_class=HTMLResponse)


@router.get("/tuning")
def tuning_page(request: Request, session: Session = Depends(get_session)) -> Response:
    user = served_user(session)
    if user is not None and user.role not in PROMOTERS:
        raise AccessDenied(f"the tuning report is for admins and RevOps; {user.name} is a {user.role}")
    return templates.TemplateResponse(request, "tuning.html", {"report": tuning_report(session=session)})

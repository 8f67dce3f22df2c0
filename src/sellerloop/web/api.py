"""What every JSON endpoint under /api shares: pages of results, the person a decision needs, the roles that
govern, and request text every store can hold.

The domain packages keep their own routes (records/views.py, approvals/views.py, ...); this module only holds
the few pieces they would otherwise each write again, so that paging, refusals and text limits read the same
everywhere.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import AccessDenied
from sellerloop.autonomy.service import PROMOTERS
from sellerloop.errors import BadInput
from sellerloop.records.models import User

MAX_PAGE = 1_000_000  # far past any real book; a bigger number is a typo, not a request
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 25
MAX_ID = 64  # every record and user id column is 64 characters wide
MAX_TEXT = 20_000  # one string in a request body (an edited email body is the longest there is)
MAX_JSON_ITEMS = 200  # keys and list items in an edited payload, all levels together
MAX_JSON_DEPTH = 5
MAX_KEY = 100  # a payload key: the catalogue's field names are all far shorter
A_DECISION_NEEDS_A_PERSON = "sign in or use an API token: a decision needs a person"

T = TypeVar("T")


class Problem(BaseModel):
    """Every refusal: a 4xx status and one line saying what is wrong and, where it helps, what to do."""

    detail: str = Field(description="one line, e.g. \"no opportunity with id 'X'\"")


# What every API router declares it may answer besides its success (FastAPI's own 422 never reaches a client:
# the app answers bad parameters with a 400 and one line).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "bad input, or the local operator asked for a decision"},
    401: {"model": Problem, "description": "no valid API token (or sign-in)"},
    403: {"model": Problem, "description": "not yours to see or decide on"},
    404: {"model": Problem, "description": "no such record"},
    409: {"model": Problem, "description": "it changed or was decided already"},
}


# --- paging -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def paging(page: int = Query(1, ge=1, le=MAX_PAGE, description="which page, from 1"),
           page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                                  description=f"items per page, at most {MAX_PAGE_SIZE}")) -> Paging:
    return Paging(page, page_size)


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, and enough to ask for the others."""

    items: list[T]
    total: int = Field(description="items on all pages together")
    page: int
    page_size: int
    pages: int = Field(description="how many pages there are (at least 1)")

    @classmethod
    def of(cls, items: list, *, total: int, paging: Paging) -> Page:
        return cls(items=items, total=total, page=paging.page, page_size=paging.page_size,
                   pages=max(1, math.ceil(total / paging.page_size)))

    @classmethod
    def cut(cls, everything: list, *, paging: Paging,
            shape: Callable[[Any], Any] = lambda item: item) -> Page:
        """The page out of a list already held in full (lists filtered by access in Python), each of its items
        shaped for the answer (only those: shaping may cost a query or a policy decision each)."""
        window = everything[paging.offset:paging.offset + paging.page_size]
        return cls.of([shape(item) for item in window], total=len(everything), paging=paging)


# --- who is asking ------------------------------------------------------------------------------------------

class PersonRequired(BadInput):
    """The local operator of a server started without sign-in asked for something only a named person may do.
    Not permanent: sign in (or send an API token) and ask again."""

    http_status = 400
    permanent = False


def acting_person(session: Session, why: str = A_DECISION_NEEDS_A_PERSON) -> User:
    """The person the request serves; PersonRequired for the local operator, whom no decision can be pinned on
    (the audit log and the approval history name who decided)."""
    user = served_user(session)
    if user is None:
        raise PersonRequired(why)
    return user


def require_governor(session: Session, *, to: str) -> User | None:
    """An admin or RevOps user, who own the policy and the audit log (policy.autonomy.PROMOTERS); None for the
    local operator, who acts as an admin would. AccessDenied (403) for anyone else, saying what they tried."""
    user = served_user(session)
    if user is not None and user.role not in PROMOTERS:
        raise AccessDenied(f"only an admin or RevOps user may {to}; {user.name} is a {user.role}")
    return user


# --- text every store can hold ------------------------------------------------------------------------------

def _storable(text: str, where: str) -> str:
    # PostgreSQL cannot hold a NUL in a string, and a lone surrogate cannot be encoded as UTF-8 at all: both
    # would fail deep in the driver as a 500, so they are refused here as bad input, on every backend alike.
    if "\x00" in text:
        raise ValueError(f"{where} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} is not valid Unicode text") from None
    return text


def storable_text(text: str) -> str:
    return _storable(text, "the text")


StorableText = Annotated[str, AfterValidator(storable_text)]


def storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object of bounded size whose strings (keys too) every store can hold."""
    budget = [MAX_JSON_ITEMS]

    def walk(node: Any, where: str, depth: int) -> None:
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(node, str):
            if len(node) > MAX_TEXT:
                raise ValueError(f"{where} is longer than {MAX_TEXT} characters")
            _storable(node, where)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError(f"{where} is not a finite number")
        elif isinstance(node, dict | list):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                budget[0] -= 1
                if budget[0] < 0:
                    raise ValueError(f"more than {MAX_JSON_ITEMS} keys and items in all")
                if len(str(key)) > MAX_KEY:
                    raise ValueError(f"{where} has a key longer than {MAX_KEY} characters")
                walk(child, f"{where}.{_storable(str(key), where)}", depth + 1)

    walk(value, "payload", 0)
    return value


StorableJson = Annotated[dict[str, Any], AfterValidator(storable_json)]

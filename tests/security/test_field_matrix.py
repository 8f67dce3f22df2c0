"""Sensitive fields leak nowhere: every role × record × field × surface, on a real book, on both stores.

The book is a copy of the Maven data with an admin and a RevOps user added, one contact per chosen account, and a
sentinel value in every field a policy may mark sensitive (so a leak is a string search, not a guess). The policy
in force marks all of them sensitive. Who may see what is written out here independently of access/fields.py and
the Cedar file: admins and RevOps everything; a seller or manager the fields of records owned by themselves or
anyone under them (a contact's fields follow its account's owner); an agent running for nobody none.

For each viewer, every surface is collected: the web pages (records, lists, a source opened from a link), the
JSON API of every agent (a person signed in with an API token of theirs), the CLI (`records list`, `source
show`), what each agent was given (its brief) and the prompt an LLM composer sent, and what a whole-book run
stored. Then each (viewer, record, field) the viewer may not see is looked for in each surface: the count of
those cases is printed, and a leak fails the test. The positive side is checked too (the viewer who may see a
field finds it on the record page), so the search is one that could find something.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import count

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from sqlalchemy import func, select

from sellerloop.access.permissions import CEDAR_POLICIES_ENV
from sellerloop.access.service import AccessDenied
from sellerloop.agents.models import Subject
from sellerloop.agents.outputs import AgentOutput
from sellerloop.agents.service import run_agent
from sellerloop.auth.service import create_token
from sellerloop.composers.llm import LLMComposer
from sellerloop.errors import BadInput
from sellerloop.policy.models import MASKABLE
from sellerloop.policy.service import DEFAULT_POLICY_FILE
from sellerloop.records.models import Account, Contact, FieldChange, Opportunity, User
from sellerloop.runs.service import run_all
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.web.app import create_app
from sellerloop.web.deps import money, musd, number
from tests.support.signin import with_csrf

ACCOUNT_FIELDS = [f.partition(".")[2] for f in MASKABLE if f.startswith("Account.")]
CONTACT_FIELDS = [f.partition(".")[2] for f in MASKABLE if f.startswith("Contact.")]
OPPORTUNITY_FIELDS = [f.partition(".")[2] for f in MASKABLE if f.startswith("Opportunity.")]
NOBODY = "agent-for-nobody"


def sentinel(kind: str, name: str, n: int):
    """A value no real record holds, one per (record, field)."""
    return {
        "revenue_musd": 91357.0 + n, "employees": 6420000 + n, "website": f"https://sentinel-site-{n}.example",
        "phone": f"+1 (555) 867-{5300 + n}", "title": f"Chief Sentinel Officer {n}",
        "amount": 7310000.0 + n, "close_value": 8420000.0 + n, "next_step": f"Sentinel next step number {n}",
    }[name]


def renderings(value) -> set[str]:
    """Every way a surface might print the value."""
    if isinstance(value, str):
        return {value, value.replace(" ", "")}
    whole = int(value)
    return {str(whole), f"{whole:,}", money(value), musd(value), number(whole)} - {""}


@dataclass
class Secret:
    kind: str  # Account, Contact, Opportunity
    record_id: str
    name: str
    owner_id: str | None  # whose record it is for access (a contact's: its account's owner)
    forms: set[str]


@dataclass
class Book:
    url: str
    engine: object
    handle: object
    viewers: dict[str, User | None]
    secrets: list[Secret]
    subtree: dict[str, set[str]]
    accounts: list[str]
    opportunities: list[str]
    surfaces: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # viewer -> surface -> texts

    def may_see(self, viewer: str, owner_id: str | None) -> bool:
        user = self.viewers[viewer]
        if user is None:
            return False
        if user.role in ("admin", "revops"):
            return True
        return owner_id in self.subtree[user.id]


@pytest.fixture
def book(maven_copy, monkeypatch, tmp_path) -> Book:
    monkeypatch.delenv(CEDAR_POLICIES_ENV, raising=False)
    policy = tmp_path / "policy.yaml"
    shipped = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    policy.write_text(yaml.safe_dump(shipped | {"sensitive_fields": list(MASKABLE)}), encoding="utf-8")
    monkeypatch.setenv("SELLERLOOP_POLICY", str(policy))
    engine = create_store_engine(maven_copy.url)
    numbers = count(1)
    with session_scope(engine) as s:
        s.add_all([User(id="t-admin", name="Ada Admin", role="admin"),
                   User(id="t-revops", name="Rae RevOps", role="revops")])
        users = {u.id: u for u in s.scalars(select(User))}
        # A seller who owns accounts and has deals at accounts someone else owns, and that seller's manager.
        owned_count = dict(s.execute(select(Account.owner_id, func.count()).group_by(Account.owner_id)).all())
        crossing = set(s.scalars(select(Opportunity.owner_id).join(Account, Account.id == Opportunity.account_id)
                                 .where(Account.owner_id != Opportunity.owner_id)))
        seller_id = max(sorted(crossing), key=lambda u: owned_count.get(u, 0))
        manager_id = users[seller_id].manager_id
        subtree = {uid: _below(users, uid) for uid in users}
        # Accounts: ones the seller owns, ones seen only through one of their deals, ones they cannot see.
        owned = s.scalars(select(Account.id).where(Account.owner_id == seller_id).order_by(Account.id).limit(2)).all()
        via_deal = s.scalars(select(Account.id).where(
            Account.owner_id.not_in(subtree[seller_id]),
            Account.id.in_(select(Opportunity.account_id).where(Opportunity.owner_id == seller_id)))
            .order_by(Account.id).limit(3)).all()
        # Maven's sellers each have deals at nearly every account: the unseen ones are added, with a peer's deal.
        peer = next(u for u in sorted(users) if users[u].role == "seller" and u not in subtree[manager_id])
        unseen = []
        for n in (1, 2):
            s.add(Account(id=f"t-unseen-{n}", name=f"Unseen Co {n}", owner_id=peer))
            s.add(Opportunity(id=f"t-unseen-deal-{n}", name=f"Unseen deal {n}", account_id=f"t-unseen-{n}",
                              owner_id=peer, stage="Engaging", engage_date=dt.date(2017, 6, 1)))
            unseen.append(f"t-unseen-{n}")
        s.flush()
        assert owned and len(via_deal) == 3 and len(unseen) == 2, (owned, via_deal, unseen)
        accounts = [*owned, *via_deal, *unseen]
        secrets: list[Secret] = []
        opportunities: list[str] = []
        for account_id in accounts:
            account = s.get(Account, account_id)
            for name in ACCOUNT_FIELDS:
                value = sentinel("Account", name, next(numbers))
                setattr(account, name, value)
                secrets.append(Secret("Account", account.id, name, account.owner_id, renderings(value)))
            contact = Contact(id=f"t-contact-{account_id}", account_id=account_id, name=f"Pat Person {account_id}")
            for name in CONTACT_FIELDS:
                value = sentinel("Contact", name, next(numbers))
                setattr(contact, name, value)
                secrets.append(Secret("Contact", contact.id, name, account.owner_id, renderings(value)))
            s.add(contact)
            # Up to two deals: the seller's own first, then someone else's.
            deals = s.scalars(select(Opportunity).where(Opportunity.account_id == account_id)
                              .order_by((Opportunity.owner_id == seller_id).desc(), Opportunity.id).limit(2)).all()
            for deal in deals:
                opportunities.append(deal.id)
                for name in OPPORTUNITY_FIELDS:
                    value = sentinel("Opportunity", name, next(numbers))
                    setattr(deal, name, value)
                    secrets.append(Secret("Opportunity", deal.id, name, deal.owner_id, renderings(value)))
                # Its history says what the amount was: masked with the field.
                old = sentinel("Opportunity", "amount", next(numbers))
                s.add(FieldChange(object_type="opportunity", record_id=deal.id, field="amount", old_value=str(old),
                                  new_value=str(int(deal.amount)), changed_at=dt.datetime(2017, 1, 2),
                                  changed_by="test"))
                secrets.append(Secret("Opportunity", deal.id, "amount (history)", deal.owner_id, renderings(old)))
        viewers = {"seller": users[seller_id], "manager": users[manager_id], "admin": users["t-admin"],
                   "revops": users["t-revops"], NOBODY: None}
    return Book(maven_copy.url, engine, maven_copy, viewers, secrets, subtree, accounts, opportunities)


def _below(users: dict[str, User], top: str) -> set[str]:
    found, frontier = {top}, [top]
    while frontier:
        frontier = [u.id for u in users.values() if u.manager_id in frontier and u.id not in found]
        found.update(frontier)
    return found


@dataclass
class PromptRecorder:
    """An LLM that writes nothing: it records the prompt the LLM composer sent and answers with no items."""

    prompts: list[str] = field(default_factory=list)

    def __call__(self, messages, info: AgentInfo) -> ModelResponse:
        request = next(m for m in messages if isinstance(m, ModelRequest))
        self.prompts.append((request.instructions or "") + "\n" + "\n".join(
            str(p.content) for p in request.parts if isinstance(p, UserPromptPart)))
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"items": []})])


def collect(book: Book, cli, viewer: str) -> dict[str, list[str]]:
    """Every surface's text for one viewer."""
    user = book.viewers[viewer]
    surfaces: dict[str, list[str]] = {}
    if user is not None:  # a person comes in signed in, here with an API token of theirs
        with session_scope(book.engine) as s:
            token = create_token(session=s, user_id=user.id, name="field matrix")
        web = TestClient(create_app(engine=book.engine, secret_key="test"),
                         headers={"Authorization": f"Bearer {token}"})
    else:  # the agents running for nobody: a server without sign-in, asked by nobody
        web = with_csrf(TestClient(create_app(engine=book.engine, sign_in=False, secret_key="test")))

    def get(surface: str, url: str, **params) -> None:
        keep(surface, url, web.get(url, params=params))

    def run(surface: str, use_case: str, **record) -> None:
        keep(surface, use_case, web.post("/api/runs", json={"use_case": use_case, **record}))

    def keep(surface: str, asked: str, response) -> None:
        # 403: a record this person may not see; 400: follow-up on a deal with no call or notes (Maven has none).
        assert response.status_code in (200, 403) or "nothing to follow up on" in response.text or \
            "no call transcript" in response.text, (asked, response.status_code, response.text[:300])
        surfaces.setdefault(surface, []).append(response.text)

    if user is not None:  # pages and the CLI are for people; the agent for nobody has the API and the batch
        for account_id in book.accounts:
            get("web: account page", f"/accounts/{account_id}")
            get("web: account page opened from a source link", f"/accounts/{account_id}",
                src=f"pipeline:{account_id}", hl="opportunities")
            cli_result = cli(book.handle, "source", "show", f"pipeline:{account_id}", "--as", user.id)
            surfaces.setdefault("cli: source show", []).append(cli_result.stdout + cli_result.stderr)
            cli_result = cli(book.handle, "source", "show", f"contact:t-contact-{account_id}", "--as", user.id)
            surfaces.setdefault("cli: source show", []).append(cli_result.stdout + cli_result.stderr)
        for opportunity_id in book.opportunities:
            get("web: opportunity page", f"/opportunities/{opportunity_id}")
            for source in (f"field_history:{opportunity_id}", f"opportunity:{opportunity_id}"):
                cli_result = cli(book.handle, "source", "show", source, "--as", user.id)
                surfaces.setdefault("cli: source show", []).append(cli_result.stdout + cli_result.stderr)
        get("web: account list", "/accounts")
        get("web: my inbox", "/inbox")
        get("web: audit log", "/audit")
        for account_id in book.accounts:
            get("api: account", f"/api/accounts/{account_id}")
            get("api: account contacts", f"/api/accounts/{account_id}/contacts")
        for opportunity_id in book.opportunities:
            get("api: opportunity", f"/api/opportunities/{opportunity_id}")
            get("api: drafts", "/api/drafts", opportunity=opportunity_id)
            get("api: recommendations", "/api/recommendations", opportunity=opportunity_id)
        get("api: account list", "/api/accounts", page_size=200)
        get("api: opportunity list", "/api/opportunities", page_size=200)
        for page in (1, 2, 3, 4):
            get("web: opportunity list", "/opportunities", page=page)
        for kind in ("accounts", "opportunities", "contacts"):
            cli_result = cli(book.handle, "records", "list", kind, "--json", "--as", user.id)
            surfaces.setdefault("cli: records list", []).append(cli_result.stdout)
    for account_id in book.accounts:
        run("api: research", "research", account=account_id)
        run("api: next-action", "next-action", account=account_id)
    for opportunity_id in book.opportunities:
        for use_case in ("prep", "next-action", "hygiene", "follow-up"):
            run(f"api: {use_case}", use_case, opportunity=opportunity_id)

    # What the agents were given, and what an LLM was sent: every agent on every record it runs on.
    recorder = PromptRecorder()
    composer = LLMComposer(FunctionModel(recorder, model_name="recorder"))
    briefs = []
    original = composer.compose

    def compose(brief):
        briefs.append(brief.model_dump_json())
        return original(brief)

    composer.compose = compose
    with session_scope(book.engine) as s:
        runs = [("research", "account", a) for a in book.accounts] + [
            (u, "opportunity", o) for o in book.opportunities for u in ("prep", "next-action", "hygiene", "follow-up")]
        for use_case, kind, record_id in runs:
            try:
                run_agent(session=s, use_case=use_case, subject=Subject(type=kind, id=record_id),
                          acting_user_id=user.id if user else None, composer=composer)
            except (AccessDenied, BadInput) as e:  # refused: a record they may not see, a deal with no call
                assert isinstance(e, AccessDenied) or use_case == "follow-up", e
        s.rollback()
    surfaces["agent inputs (briefs)"] = briefs
    surfaces["llm prompts"] = recorder.prompts
    assert recorder.prompts, "the LLM composer was never called: the prompt surface would be empty"
    return surfaces


@pytest.mark.slow
def test_no_surface_shows_a_sensitive_field_to_anyone_the_policies_do_not_let_see_it(book, cli, capsys):
    # What a whole-book run stores is shown to anyone who may see the record: the batch runs for nobody.
    run_all(engine=book.engine, use_cases=("research",), workers=1)
    seller = book.viewers["seller"]
    run_all(engine=book.engine, use_cases=("prep", "hygiene", "next-action"), acting_user=seller.id, workers=1)
    with session_scope(book.engine) as s:
        nightly = [o.output for o in s.scalars(select(AgentOutput).where(AgentOutput.use_case == "research"))]
        for_seller = [o.output for o in s.scalars(select(AgentOutput).where(AgentOutput.use_case != "research"))]

    cases = leaks = 0
    found: list[str] = []
    shown: dict[tuple[str, str, str], bool] = {}
    for viewer in book.viewers:
        surfaces = collect(book, cli, viewer)
        if viewer == NOBODY:
            surfaces["stored output of a run for nobody"] = nightly
        if viewer == "seller":
            surfaces["stored output of a run for the seller"] = for_seller
        for secret in book.secrets:
            visible = book.may_see(viewer, secret.owner_id)
            for surface, texts in surfaces.items():
                hit = any(form in text for text in texts for form in secret.forms)
                if visible:
                    if surface.startswith("web: ") and hit:
                        shown[(viewer, secret.record_id, secret.name)] = True
                    continue
                cases += 1
                if hit:
                    leaks += 1
                    found.append(f"{viewer} sees {secret.kind} {secret.record_id} {secret.name} in {surface}")

    with capsys.disabled():
        print(f"\nfield matrix: {len(book.viewers)} roles × {len({s.record_id for s in book.secrets})} records × "
              f"{len(MASKABLE)} fields (+ history) × surfaces: {cases} hidden cases checked, {leaks} leaks")
    assert not found, "\n".join(found[:20])
    assert cases > 1000
    # The search can find something: a viewer who may see a field finds it on the web (the page shows it).
    page_fields = {"revenue_musd", "employees", "website", "phone", "title", "amount", "next_step"}
    for viewer in ("seller", "manager", "admin", "revops"):
        for secret in book.secrets:
            if book.may_see(viewer, secret.owner_id) and secret.name in page_fields and \
                    _on_a_page_they_open(book, viewer, secret):
                assert shown.get((viewer, secret.record_id, secret.name)), (viewer, secret)


def _on_a_page_they_open(book: Book, viewer: str, secret: Secret) -> bool:
    """Record pages the test opened for this viewer show this field (an opportunity's only when its page opened,
    which it does for every chosen deal; an account's fields for every chosen account)."""
    user = book.viewers[viewer]
    if secret.kind == "Opportunity":
        return secret.owner_id in book.subtree[user.id] or user.role in ("admin", "revops")
    return True


def test_the_seller_sees_hidden_where_a_contacts_phone_is_masked_and_the_owner_sees_it(book):
    web = TestClient(create_app(engine=book.engine, sign_in=False, secret_key="test"))
    seller = book.viewers["seller"]
    for account_id in book.accounts:
        with session_scope(book.engine) as s:
            account = s.get(Account, account_id)
            phone = s.get(Contact, f"t-contact-{account_id}").phone
            owner = account.owner_id
        page = web.get(f"/accounts/{account_id}", params={"as": seller.id})
        if page.status_code == 403:
            assert owner not in book.subtree[seller.id]
            continue
        if owner in book.subtree[seller.id]:
            assert phone in page.text
        else:
            assert phone not in page.text and re.search(r'class="hidden-field"', page.text)
        assert phone in web.get(f"/accounts/{account_id}", params={"as": owner}).text

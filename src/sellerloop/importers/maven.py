"""Import the Maven Analytics "CRM + Sales Opportunities" tables (see data/maven-crm/SOURCE.md).

The importer repairs the data set's known quirks and reports each one, and is idempotent: records get ids
derived from their natural keys and are upserted, so a second import leaves the counts unchanged.
Everything is parsed and checked before anything is written, and written in one transaction.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.importers.csvfiles import Cells, read_csv
from sellerloop.records.ids import slug
from sellerloop.records.models import STAGES, Account, Opportunity, Product, StageChange, User
from sellerloop.store.upsert import upsert

FILES = {
    "accounts": ("accounts.csv", ("account", "sector", "year_established", "revenue", "employees",
                                  "office_location", "subsidiary_of")),
    "products": ("products.csv", ("product", "series", "sales_price")),
    "teams": ("sales_teams.csv", ("sales_agent", "manager", "regional_office")),
    "pipeline": ("sales_pipeline.csv", ("opportunity_id", "sales_agent", "product", "account", "deal_stage",
                                        "engage_date", "close_date", "close_value")),
}
# Known misspellings in the data set, repaired on the way in: {wrong: right}.
PRODUCT_SPELLING = {"GTXPro": "GTX Pro"}
SECTOR_SPELLING = {"technolgy": "technology"}


@dataclass
class MavenImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    quirks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"counts": self.counts, "quirks": self.quirks}


def import_maven(*, session: Session, folder: Path) -> MavenImportReport:
    if not folder.is_dir():
        raise BadInput("not a folder (expected the Maven CSV folder)", file=str(folder))
    report = MavenImportReport()
    products = _products(folder)
    users = _users(folder)
    accounts, sector_fixes = _accounts(folder)
    opportunities, stages, quirks = _opportunities(folder, accounts=accounts, products=products, users=users)
    _assign_account_owners(accounts, opportunities)

    if sector_fixes:
        report.quirks.append(f"sector typo repaired on {sector_fixes} account(s): "
                             + ", ".join(f"{k!r} -> {v!r}" for k, v in SECTOR_SPELLING.items()))
    report.quirks.extend(quirks)

    upsert(session, User, list(users.values()))
    # Parents first: a subsidiary's foreign key must find its parent in the same transaction.
    ordered = sorted(accounts.values(), key=lambda a: a["parent_id"] is not None)
    upsert(session, Account, ordered)
    upsert(session, Product, list(products.values()))
    upsert(session, Opportunity, opportunities, keep_when_null=("close_date", "next_step"))
    # Stage history is derived whole from the pipeline table; rebuild the real rows rather than merge them.
    session.execute(delete(StageChange).where(StageChange.synthetic.is_(False)))
    session.execute(StageChange.__table__.insert(), stages)

    report.counts = {"accounts": len(accounts), "users": len(users),
                     "sellers": sum(u["role"] == "seller" for u in users.values()),
                     "managers": sum(u["role"] == "manager" for u in users.values()),
                     "products": len(products), "opportunities": len(opportunities),
                     "stage_history": len(stages)}
    return report


def _products(folder: Path) -> dict[str, dict]:
    name, columns = FILES["products"]
    path = folder / name
    products = {}
    for line, row in read_csv(path, columns):
        cells = Cells(path, line, row)
        product = cells.text("product")
        products[product] = {"id": slug(product), "name": product, "series": cells.text("series", required=False),
                             "sales_price": cells.number("sales_price", required=True), "synthetic": False}
    return products


def _users(folder: Path) -> dict[str, dict]:
    """Sellers under their managers; managers become users too, with the region of their team."""
    name, columns = FILES["teams"]
    path = folder / name
    users: dict[str, dict] = {}
    for line, row in read_csv(path, columns):
        cells = Cells(path, line, row)
        seller, manager, region = cells.text("sales_agent"), cells.text("manager"), cells.text("regional_office")
        users.setdefault(manager, {"id": slug(manager), "name": manager, "email": _email(manager),
                                   "role": "manager", "manager_id": None, "team": manager, "region": region,
                                   "synthetic": False})
        users[seller] = {"id": slug(seller), "name": seller, "email": _email(seller), "role": "seller",
                         "manager_id": slug(manager), "team": manager, "region": region, "synthetic": False}
    # Managers before their sellers, so the manager foreign key resolves row by row on any database.
    return dict(sorted(users.items(), key=lambda item: item[1]["role"] != "manager"))


def _email(person: str) -> str:
    return f"{slug(person).replace('-', '.')}@maventech.example"


def _accounts(folder: Path) -> tuple[dict[str, dict], int]:
    name, columns = FILES["accounts"]
    path = folder / name
    accounts: dict[str, dict] = {}
    parents: dict[str, tuple[int, str]] = {}
    fixes = 0
    for line, row in read_csv(path, columns):
        cells = Cells(path, line, row)
        account = cells.text("account")
        sector = cells.text("sector", required=False)
        if sector in SECTOR_SPELLING:
            sector, fixes = SECTOR_SPELLING[sector], fixes + 1
        parent = cells.text("subsidiary_of", required=False)
        if parent:
            parents[account] = (line, parent)
        accounts[account] = {"id": slug(account), "name": account, "sector": sector,
                             "year_established": cells.integer("year_established"),
                             "revenue_musd": cells.number("revenue"), "employees": cells.integer("employees"),
                             "office_location": cells.text("office_location", required=False),
                             "parent_id": None, "owner_id": None, "synthetic": False}
    for account, (line, parent) in parents.items():
        if parent not in accounts:
            raise BadInput(f"column subsidiary_of: unknown parent account {parent!r}", file=str(path), line=line)
        accounts[account]["parent_id"] = accounts[parent]["id"]
    return accounts, fixes


def _opportunities(folder: Path, *, accounts: dict, products: dict, users: dict):
    name, columns = FILES["pipeline"]
    path = folder / name
    opportunities, stages = [], []
    spelling_fixes: Counter[str] = Counter()
    without_account = 0
    seen: set[str] = set()
    for line, row in read_csv(path, columns):
        cells = Cells(path, line, row)
        opportunity_id = cells.text("opportunity_id")
        if opportunity_id in seen:
            raise BadInput(f"duplicate opportunity_id {opportunity_id!r}", file=str(path), line=line)
        seen.add(opportunity_id)
        product = cells.text("product")
        if product in PRODUCT_SPELLING:
            spelling_fixes[product] += 1
            product = PRODUCT_SPELLING[product]
        if product not in products:
            raise BadInput(f"column product: unknown product {product!r}", file=str(path), line=line)
        seller = cells.text("sales_agent")
        if seller not in users:
            raise BadInput(f"column sales_agent: unknown seller {seller!r}", file=str(path), line=line)
        account = cells.text("account", required=False)
        if account is not None and account not in accounts:
            raise BadInput(f"column account: unknown account {account!r}", file=str(path), line=line)
        without_account += account is None
        stage = cells.text("deal_stage")
        if stage not in STAGES:
            raise BadInput(f"column deal_stage: unknown stage {stage!r} (expected one of {', '.join(STAGES)})",
                           file=str(path), line=line)
        engage_date, close_date = cells.date("engage_date"), cells.date("close_date")
        if engage_date and close_date and close_date < engage_date:
            raise BadInput(f"close_date {close_date} is before engage_date {engage_date}", file=str(path),
                           line=line)
        close_value = cells.number("close_value")
        list_price = products[product]["sales_price"]
        opportunities.append({
            "id": opportunity_id,
            "name": f"{account} — {product}" if account else f"{product} — account not recorded",
            "account_id": accounts[account]["id"] if account else None,
            "owner_id": users[seller]["id"], "product_id": products[product]["id"], "stage": stage,
            "amount": close_value if stage == "Won" and close_value is not None else list_price,
            "close_value": close_value, "engage_date": engage_date, "close_date": close_date,
            "next_step": None, "synthetic": False,
        })
        # Prospecting is undated in the data set; the stages after it carry their dates.
        stages.append({"opportunity_id": opportunity_id, "stage": "Prospecting", "entered_on": None,
                       "synthetic": False})
        if engage_date:
            stages.append({"opportunity_id": opportunity_id, "stage": "Engaging", "entered_on": engage_date,
                           "synthetic": False})
        if stage in ("Won", "Lost"):
            stages.append({"opportunity_id": opportunity_id, "stage": stage, "entered_on": close_date,
                           "synthetic": False})
    quirks = [f"product spelling repaired on {n} opportunit{'y' if n == 1 else 'ies'}: {wrong!r} -> "
              f"{PRODUCT_SPELLING[wrong]!r}" for wrong, n in spelling_fixes.items()]
    if without_account:
        quirks.append(f"{without_account} opportunities have no account in the source; kept without one "
                      "(their account is unknown, not guessed)")
    idle = sorted(u["name"] for u in users.values()
                  if u["role"] == "seller" and u["id"] not in {o["owner_id"] for o in opportunities})
    if idle:
        quirks.append(f"{len(idle)} sellers have no opportunities: {', '.join(idle)}")
    return opportunities, stages, quirks


def _assign_account_owners(accounts: dict, opportunities: list[dict]) -> None:
    """Maven has no account owner; the seller with the most opportunities on an account owns it (ties: by id)."""
    per_account: dict[str, Counter] = defaultdict(Counter)
    for o in opportunities:
        if o["account_id"]:
            per_account[o["account_id"]][o["owner_id"]] += 1
    for account in accounts.values():
        counts = per_account.get(account["id"])
        if counts:
            account["owner_id"] = min(counts, key=lambda owner: (-counts[owner], owner))

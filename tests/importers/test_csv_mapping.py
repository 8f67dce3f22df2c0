"""`sellerloop import csv FILE --mapping MAP.yaml`: a CRM export in, through a column mapping."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from sellerloop.records.models import Contact, Opportunity
from sellerloop.store.db import create_store_engine, session_scope

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


@pytest.fixture
def book(store, cli, maven_dir):
    assert cli(store, "import", "maven", maven_dir).exit_code == 0
    return store


def _opportunity(store, opportunity_id):
    engine = create_store_engine(store.url)
    with session_scope(engine) as s:
        opportunity = s.get(Opportunity, opportunity_id)
    engine.dispose()
    return opportunity


def test_a_hubspot_deals_export_becomes_opportunities_on_known_accounts(book, cli):
    result = cli(book, "import", "csv", FIXTURES / "hubspot_deals.csv", "--mapping", FIXTURES / "hubspot_deals.yaml")
    assert result.exit_code == 0, result.stderr
    assert "imported 3 opportunities" in result.stdout
    deal = _opportunity(book, "HS-1001")
    assert (deal.name, deal.stage, deal.amount, str(deal.close_date)) == \
        ("Acme expansion", "Engaging", 12500, "2017-12-15")
    assert (deal.account_id, deal.owner_id, deal.product_id) == ("acme-corporation", "anna-snelling", "gtx-pro")
    assert _opportunity(book, "HS-1003").account_id is None


def test_importing_the_same_export_twice_adds_nothing(book, cli):
    args = ("import", "csv", FIXTURES / "hubspot_deals.csv", "--mapping", FIXTURES / "hubspot_deals.yaml")
    cli(book, *args)
    before = json.loads(cli(book, "stats", "--json").stdout)
    cli(book, *args)
    assert json.loads(cli(book, "stats", "--json").stdout) == before


def test_rows_without_an_id_column_get_a_stable_id_from_their_key(book, cli):
    args = ("import", "csv", FIXTURES / "contacts.csv", "--mapping", FIXTURES / "contacts.yaml")
    assert cli(book, *args).exit_code == 0
    assert cli(book, *args).exit_code == 0
    engine = create_store_engine(book.url)
    with session_scope(engine) as s:
        contacts = s.scalars(select(Contact).order_by(Contact.name)).all()
    engine.dispose()
    assert [(c.name, c.title, c.account_id) for c in contacts] == [
        ("Dana Whitfield", "Chief Financial Officer", "acme-corporation"),
        ("Lee Okafor", "VP of IT", "acme-corporation")]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = {
    "unknown company": ("Deal ID,Deal Name,Deal Stage,Amount,Close Date,Company,Deal Owner,Product\n"
                        "X1,Deal,Engaging,1,12/01/2017,Nowhere Inc,Moses Frase,GTX Pro\n",
                        "deals.csv:2: column Company: no accounts match 'Nowhere Inc'"),
    "bad date": ("Deal ID,Deal Name,Deal Stage,Amount,Close Date,Company,Deal Owner,Product\n"
                 "X1,Deal,Engaging,1,2017-12-01,Cancity,Moses Frase,GTX Pro\n",
                 "deals.csv:2: column Close Date: '2017-12-01' is not a valid date (%m/%d/%Y)"),
    "bad number": ("Deal ID,Deal Name,Deal Stage,Amount,Close Date,Company,Deal Owner,Product\n"
                   "X1,Deal,Engaging,lots,12/01/2017,Cancity,Moses Frase,GTX Pro\n",
                   "deals.csv:2: column Amount: 'lots' is not a valid number"),
    "missing column": ("Deal ID,Deal Name,Deal Stage,Amount,Close Date,Company,Deal Owner\n"
                       "X1,Deal,Engaging,1,12/01/2017,Cancity,Moses Frase\n",
                       "deals.csv:1: missing column(s) Product"),
    "required field empty": ("Deal ID,Deal Name,Deal Stage,Amount,Close Date,Company,Deal Owner,Product\n"
                             "X1,Deal,Engaging,1,12/01/2017,Cancity,Moses Frase,GTX Pro\n"
                             "X2,,Engaging,1,12/01/2017,Cancity,Moses Frase,GTX Pro\n",
                             "deals.csv:3: field name is required but empty"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_row_exits_2_naming_file_and_line_and_stores_nothing(book, cli, tmp_path, case):
    text, expected = BAD[case]
    csv_path = _write(tmp_path, "deals.csv", text)
    before = cli(book, "stats", "--json").stdout
    result = cli(book, "import", "csv", csv_path, "--mapping", FIXTURES / "hubspot_deals.yaml")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli(book, "stats", "--json").stdout == before


@pytest.mark.parametrize("mapping, expected", [
    ("record_type: deals\ncolumns: {name: Name}\n", "record_type: Input should be"),
    ("record_type: opportunities\ncolumns: {colour: Colour}\n", "unknown field(s) for opportunities: colour"),
    ("record_type: [unclosed\n", "not valid YAML"),
    ("- just a list\n", "a mapping must be a YAML object"),
])
def test_an_invalid_mapping_is_refused_with_its_reason(store, cli, tmp_path, mapping, expected):
    path = _write(tmp_path, "map.yaml", mapping)
    result = cli(store, "import", "csv", FIXTURES / "contacts.csv", "--mapping", path)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr

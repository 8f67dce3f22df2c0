"""The Maven import: counts, repaired quirks, idempotency, and all-or-nothing on bad input."""
from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from sellerloop.records.models import Account, Opportunity, StageChange, User
from sellerloop.store.db import session_scope


def test_it_loads_the_maven_book_with_the_documented_counts(store, cli, maven_dir):
    result = cli(store, "import", "maven", maven_dir, "--json")
    assert result.exit_code == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert counts["accounts"] == 85
    assert counts["sellers"] == 35
    assert counts["managers"] == 6
    assert counts["products"] == 7
    assert counts["opportunities"] == 8800
    stats = json.loads(cli(store, "stats", "--json").stdout)
    assert stats["accounts"] == {"real": 85, "synthetic": 0, "total": 85}
    assert stats["users"]["real"] == 41
    assert stats["opportunities"]["real"] == 8800


def test_importing_twice_gives_the_same_counts_and_no_duplicates(store, cli, maven_dir):
    cli(store, "import", "maven", maven_dir)
    first = json.loads(cli(store, "stats", "--json").stdout)
    second_import = cli(store, "import", "maven", maven_dir)
    assert second_import.exit_code == 0, second_import.stderr
    assert json.loads(cli(store, "stats", "--json").stdout) == first


def test_it_repairs_and_reports_the_known_quirks(maven_engine, store, cli, maven_dir):
    report = json.loads(cli(store, "import", "maven", maven_dir, "--json").stdout)
    quirks = "\n".join(report["quirks"])
    assert "'GTXPro' -> 'GTX Pro'" in quirks
    assert "1425 opportunities have no account" in quirks
    assert "'technolgy' -> 'technology'" in quirks
    with session_scope(maven_engine) as s:
        assert s.scalar(select(func.count()).where(Account.sector == "technolgy")) == 0
        assert s.scalar(select(func.count()).where(Account.sector == "technology")) == 12
        assert s.scalar(select(func.count()).select_from(Opportunity)
                        .where(Opportunity.account_id.is_(None))) == 1425
        assert s.scalar(select(func.count()).select_from(Opportunity)
                        .where(Opportunity.product_id == "gtx-pro")) > 1400


def test_sellers_sit_under_their_managers_with_their_region(maven_engine):
    with session_scope(maven_engine) as s:
        seller = s.get(User, "anna-snelling")
        assert seller.role == "seller"
        assert seller.manager.name == "Dustin Brinkmann"
        assert seller.manager.role == "manager"
        assert seller.region == "Central"
        assert s.scalar(select(func.count()).select_from(User).where(User.role == "manager")) == 6


def test_stage_history_follows_the_pipeline_dates(maven_engine):
    with session_scope(maven_engine) as s:
        won = s.get(Opportunity, "1C1I7A6R")
        assert (won.stage, won.amount, str(won.close_date)) == ("Won", 1054, "2017-03-01")
        history = s.scalars(select(StageChange).where(StageChange.opportunity_id == "1C1I7A6R")
                            .order_by(StageChange.id)).all()
        assert [(h.stage, str(h.entered_on)) for h in history] == [
            ("Prospecting", "None"), ("Engaging", "2016-10-20"), ("Won", "2017-03-01")]


def _broken_copy(tmp_path, maven_dir, file, transform):
    folder = tmp_path / "maven"
    shutil.copytree(maven_dir, folder)
    path = folder / file
    path.write_bytes(transform(path.read_bytes()))
    return folder


def _replace_line(line_no, new):
    def transform(raw: bytes) -> bytes:
        lines = raw.split(b"\r\n")
        lines[line_no - 1] = new
        return b"\r\n".join(lines)
    return transform


BAD_INPUTS = {
    "missing column": ("accounts.csv", lambda raw: raw.replace(b"sector,", b"", 1),
                       "accounts.csv:1: missing column(s) sector"),
    "bad date": ("sales_pipeline.csv", _replace_line(3, b"Z063OYW0,Darcel Schlecht,GTXPro,Isdom,Won,2016-13-25,"
                                                      b"2017-03-11,4514"),
                 "sales_pipeline.csv:3: column engage_date: not a date"),
    "bad number": ("products.csv", _replace_line(4, b"MG Special,MG,fifty-five"),
                   "products.csv:4: column sales_price: not a number"),
    "not utf-8": ("accounts.csv", _replace_line(5, b"Bioholding,medical,2012,587.34,1356,Philipines\xff,"),
                  "accounts.csv:5: not UTF-8"),
    "empty file": ("sales_teams.csv", lambda raw: b"", "sales_teams.csv: file is empty"),
    "unknown reference": ("sales_pipeline.csv", _replace_line(2, b"1C1I7A6R,Nobody Here,GTX Plus Basic,Cancity,"
                                                                b"Won,2016-10-20,2017-03-01,1054"),
                          "sales_pipeline.csv:2: column sales_agent: unknown seller 'Nobody Here'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_malformed_file_exits_2_naming_file_and_line_and_stores_nothing(case, store, cli, maven_dir, tmp_path):
    file, transform, expected = BAD_INPUTS[case]
    folder = _broken_copy(tmp_path, maven_dir, file, transform)
    result = cli(store, "import", "maven", folder)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    stats = json.loads(cli(store, "stats", "--json").stdout)
    assert all(c["total"] == 0 for c in stats.values()), stats


def test_a_bad_file_after_a_good_import_leaves_the_good_import_untouched(store, cli, maven_dir, tmp_path):
    cli(store, "import", "maven", maven_dir)
    before = cli(store, "stats", "--json").stdout
    folder = _broken_copy(tmp_path, maven_dir, "sales_pipeline.csv",
                          lambda raw: raw + b"\r\nNEW00001,Anna Snelling,GTX Basic,Cancity,Won,bad,2017-01-01,1")
    assert cli(store, "import", "maven", folder).exit_code == 2
    assert cli(store, "stats", "--json").stdout == before

"""`records list` and `stats`: the stable listing interface of DESIGN.md §8."""
from __future__ import annotations

import json

import pytest


def test_opportunity_rows_carry_id_name_stage_account_and_owner(maven_store, cli):
    result = cli(maven_store, "records", "list", "opportunities", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 8800
    row = next(r for r in rows if r["id"] == "1C1I7A6R")
    assert row == row | {"name": "Cancity — GTX Plus Basic", "stage": "Won", "account_id": "cancity",
                         "owner": "Moses Frase"}


def test_account_rows_carry_id_and_name(maven_store, cli):
    rows = json.loads(cli(maven_store, "records", "list", "accounts", "--json").stdout)
    assert len(rows) == 85
    assert {"id": "acme-corporation", "name": "Acme Corporation"}.items() <= rows[0].items()


def test_the_table_output_lists_the_same_rows(maven_store, cli):
    result = cli(maven_store, "records", "list", "accounts", "--limit", "3")
    assert result.exit_code == 0
    assert "Acme Corporation" in result.stdout


def test_an_unknown_record_type_exits_2_with_a_reason(maven_store, cli):
    result = cli(maven_store, "records", "list", "widgets")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: unknown record type 'widgets'; choose one of accounts, opportunities, contacts, transcripts, "
        "users, products"]


@pytest.mark.parametrize("record_type", ["accounts", "opportunities", "users", "products"])
def test_stats_counts_real_and_synthetic_apart(maven_store, cli, record_type):
    stats = json.loads(cli(maven_store, "stats", "--json").stdout)
    expected = {"accounts": 85, "opportunities": 8800, "users": 41, "products": 7}[record_type]
    assert stats[record_type] == {"real": expected, "synthetic": 0, "total": expected}

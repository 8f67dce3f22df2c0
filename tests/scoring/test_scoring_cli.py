"""`sellerloop eval backtest` and `sellerloop scoring rebuild|show` through the real entry point: a readable table,
a stable JSON document, and bad input as one line with exit code 2."""
from __future__ import annotations

import json

import pytest


def test_backtest_prints_each_scorers_figures_and_what_would_have_been_recommended(cli, maven_store):
    result = cli(maven_store, "eval", "backtest", "--as-of", "2017-08-31")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Backtest as of 2017-08-31 (history closes 2017-03-01 to 2017-12-31; features: all)" in out
    for scorer in ("frequency_nb", "sklearn", "sellerloop"):
        assert f"│ {scorer}" in out and f"Calibration: {scorer}" in out
    assert "next-action would have recommended book_meeting on decision_process (meddicc)" in out
    assert "Traceback" not in out + result.stderr


def test_backtest_json_is_a_stable_document(cli, maven_store):
    result = cli(maven_store, "eval", "backtest", "--as-of", "2017-06-30", "--json", "--bins", "4",
                 "--static-only", "--playbook", "spin")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"as_of", "features", "history", "test_base_rate", "scorers", "replay"}
    assert (doc["as_of"], doc["features"]) == ("2017-06-30", "static")
    assert doc["history"] == {"first_close": "2017-03-01", "last_close": "2017-12-31"}
    for scorer in doc["scorers"]:
        assert set(scorer) == {"scorer", "n_train", "n_test", "base_rate", "auc", "brier", "base_rate_brier",
                               "brier_skill", "calibration"}
        assert len(scorer["calibration"]) == 4
        assert set(scorer["calibration"][0]) == {"low", "high", "count", "mean_predicted", "observed_win_rate"}
    replay = doc["replay"]
    assert (replay["playbook"], replay["element"]) == ("spin", "need_payoff")
    assert {"flagged", "flagged_win_rate", "not_flagged_win_rate", "quintiles", "flagged_deals"} <= set(replay)
    assert set(replay["flagged_deals"][0]) == {"opportunity_id", "days_engaged", "outcome", "probability"}


@pytest.mark.parametrize("args, reason", [
    (["--as-of", "31/08/2017"], "--as-of '31/08/2017' is not a date (expected YYYY-MM-DD)"),
    (["--as-of", "2017-02-30"], "is not a date"),
    (["--as-of", "2016-12-31"], "as of 2016-12-31 0 deals had closed"),
    (["--as-of", "2018-06-30"], "as of 2018-06-30 0 deals were open and closed later"),
    (["--as-of", "2017-08-31", "--bins", "1"], "--bins must be between 2 and 50, not 1"),
    (["--as-of", "2017-08-31", "--playbook", "nope"], "unknown playbook 'nope'"),
])
def test_backtest_bad_input_is_one_line_and_exit_2(cli, maven_store, args, reason):
    result = cli(maven_store, "eval", "backtest", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and reason in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_store_without_history_exits_2_saying_what_to_import(cli, store):
    assert cli(store, "init").exit_code == 0
    result = cli(store, "eval", "backtest", "--as-of", "2017-08-31")
    assert result.exit_code == 2 and "sellerloop import maven DIR" in result.stderr
    result = cli(store, "scoring", "rebuild")
    assert result.exit_code == 2 and "no won or lost deals to learn win probability from" in result.stderr
    assert result.stderr.count("\n") == 1


def test_rebuild_then_show_gives_a_deals_win_probability(cli, maven_copy):
    before = cli(maven_copy, "scoring", "show", "--opportunity", "HAXMC4IX")
    assert before.exit_code == 2 and "sellerloop scoring rebuild" in before.stderr
    rebuilt = cli(maven_copy, "scoring", "rebuild", "--json")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    info = json.loads(rebuilt.stdout)
    assert (info["closed_deals"], info["won"], info["version"]) == (6711, 4238, 1)
    shown = cli(maven_copy, "scoring", "show", "--opportunity", "HAXMC4IX", "--as-of", "2017-12-31", "--json")
    assert shown.exit_code == 0, shown.stderr
    score = json.loads(shown.stdout)
    assert score["opportunity_id"] == "HAXMC4IX" and score["as_of"] == "2017-12-31"
    assert score["probability"] == score["base_rate"] == 0.6315 and score["model_version"] == 1
    text = cli(maven_copy, "scoring", "show", "--opportunity", "HAXMC4IX").stdout
    assert text.startswith("HAXMC4IX: win probability 63.1% as of ")
    missing = cli(maven_copy, "scoring", "show", "--opportunity", "nope")
    assert missing.exit_code == 2 and "no opportunity with id 'nope'" in missing.stderr
    assert cli(maven_copy, "scoring", "rebuild", "--as-of", "2017-13-01").exit_code == 2

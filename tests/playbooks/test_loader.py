"""Playbooks load from YAML with validation: the shipped ones load, a team can point to its own file, and a
broken file fails with one line that names the file and the problem."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from sellerloop.actions import ACTION_NAMES
from sellerloop.config import get_settings
from sellerloop.errors import BadInput
from sellerloop.playbooks import PLAYBOOK_ENV, get_playbook, load_playbook, shipped_playbooks
from sellerloop.playbooks.commands import playbook_show
from sellerloop.records.models import OPEN_STAGES

MINIMAL = {
    "key": "tiny",
    "name": "Tiny",
    "elements": [
        {"key": "pain", "name": "Pain", "description": "What hurts.",
         "evidence": [{"source": "utterance", "keywords": ["spreadsheets"]}],
         "questions": ["What hurts?"], "actions": ["log_note"]},
        {"key": "buyer", "name": "Buyer", "description": "Who signs.",
         "evidence": [{"source": "contact_role", "roles": ["economic_buyer"]}],
         "questions": ["Who signs?"], "actions": ["request_intro"]},
    ],
    "stages": [{"stage": "Prospecting", "exits_to": "Engaging", "requires": ["pain"]}],
}


def write(tmp_path: Path, data, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["meddicc", "bant", "spin"])
def test_each_shipped_playbook_loads(name):
    playbook = get_playbook(name)
    assert playbook.key == name
    assert playbook.elements
    for element in playbook.elements:
        assert element.questions and element.evidence and element.description
        assert set(element.actions) <= ACTION_NAMES
    for stage in OPEN_STAGES:
        assert playbook.exit_criteria(stage), f"{name} has no exit criteria for {stage}"


def test_the_default_playbook_is_meddicc_with_its_seven_elements(monkeypatch):
    monkeypatch.delenv(PLAYBOOK_ENV, raising=False)
    playbook = get_playbook()
    assert playbook.key == "meddicc"
    assert [e.key for e in playbook.elements] == ["metrics", "economic_buyer", "decision_criteria",
                                                  "decision_process", "identify_pain", "champion", "competition"]
    assert set(shipped_playbooks()) >= {"meddicc", "bant", "spin"}


def test_economic_buyer_is_satisfied_by_a_contact_role_or_by_naming_who_signs():
    element = get_playbook("meddicc").element("economic_buyer")
    assert any(r.source == "contact_role" and "economic_buyer" in r.roles for r in element.evidence)
    said = next(r for r in element.evidence if r.source == "utterance")
    assert said.matches("Final approval sits with Dana Whitfield.")
    assert not said.matches("Honestly, I'm not sure, the economic buyer is not engaged yet.")


def test_a_team_can_point_to_its_own_playbook_file(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL)
    monkeypatch.setenv(PLAYBOOK_ENV, str(path))
    assert get_playbook().key == "tiny"
    monkeypatch.setenv(PLAYBOOK_ENV, "bant")
    get_settings.cache_clear()  # settings are read once per process, as in a real run
    assert get_playbook().key == "bant"
    assert get_playbook(path).key == "tiny"  # an explicit choice wins over the environment


def test_an_edited_file_is_read_again(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert load_playbook(path).name == "Tiny"
    changed = {**MINIMAL, "name": "Tiny, edited"}
    path.write_text(yaml.safe_dump(changed), encoding="utf-8")
    import os
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_playbook(path).name == "Tiny, edited"


def test_an_unknown_playbook_name_lists_the_shipped_ones(monkeypatch):
    with pytest.raises(BadInput) as e:
        get_playbook("challenger")
    assert "unknown playbook 'challenger'" in e.value.one_line()
    assert "meddicc" in e.value.one_line()


def broken(mutate):
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    return data


BROKEN = {
    "unknown action": (broken(lambda d: d["elements"][0].update(actions=["log_note", "send_fax"])),
                       "elements[pain].actions: unknown action 'send_fax'"),
    "duplicate element key": (broken(lambda d: d["elements"][1].update(key="pain")),
                              "duplicate element key 'pain'"),
    "stage criterion naming an unknown element": (
        broken(lambda d: d["stages"][0].update(requires=["pain", "budget"])),
        "exit criteria of stage 'Prospecting' name unknown element 'budget'"),
    "bad regex": (broken(lambda d: d["elements"][0]["evidence"][0].update(patterns=["(unclosed"])),
                  "elements[pain].evidence[0].patterns: bad regex '(unclosed'"),
    "unknown evidence source": (broken(lambda d: d["elements"][0]["evidence"][0].update(source="telepathy")),
                                "elements[pain].evidence[0].source: Input should be"),
    "unknown contact role": (broken(lambda d: d["elements"][1]["evidence"][0].update(roles=["best_friend"])),
                             "unknown contact role(s) ['best_friend']"),
    "rule with nothing to match": (broken(lambda d: d["elements"][0]["evidence"][0].pop("keywords")),
                                   "an utterance rule needs keywords or patterns"),
    "unknown opportunity field": (broken(lambda d: d["elements"][0]["evidence"].append(
        {"source": "field", "field": "mood"})), "opportunity has no field 'mood'"),
    "unknown stage": (broken(lambda d: d["stages"][0].update(stage="Negotiating")),
                      "stages[Negotiating].stage: unknown open stage 'Negotiating'"),
    "missing questions": (broken(lambda d: d["elements"][0].pop("questions")),
                          "elements[pain].questions: missing"),
    "misspelt key": (broken(lambda d: d["elements"][0].update(qestions=["?"])),
                     "elements[pain].qestions: unknown key"),
    "not YAML": ("key: tiny\nelements: [\n  - {key: pain\n", "not valid YAML"),
    "not a mapping": ("- just\n- a list\n", "not a playbook: expected a YAML mapping"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_playbook_fails_with_one_line_naming_file_and_problem(tmp_path, case):
    data, expected = BROKEN[case]
    path = write(tmp_path, data)
    with pytest.raises(BadInput) as e:
        load_playbook(path)
    line = e.value.one_line()
    assert "\n" not in str(e.value)
    assert line.startswith(str(path.resolve())), line
    assert expected in line, line
    assert e.value.exit_code == 2


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "key: tiny\nname: [unclosed\n")
    with pytest.raises(BadInput) as e:
        load_playbook(path)
    assert e.value.line is not None and f"{path.resolve()}:{e.value.line}: not valid YAML" in e.value.one_line()


def test_a_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no such playbook file"):
        get_playbook(tmp_path / "nope.yaml")


@pytest.fixture
def show():
    app = typer.Typer()
    app.command()(playbook_show)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_playbook_show_prints_elements_evidence_questions_criteria_and_actions(show, monkeypatch):
    monkeypatch.delenv(PLAYBOOK_ENV, raising=False)
    result = show()
    assert result.exit_code == 0, result.output
    for text in ("MEDDICC", "Economic buyer", "economic_buyer", "Who owns the budget this would come from?",
                 "Stage exit criteria", "Prospecting", "request_intro", r"\bfinal (approval"):
        assert text in result.output


def test_playbook_show_json_is_the_whole_playbook(show, tmp_path):
    result = show("--file", write(tmp_path, MINIMAL), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["key"] == "tiny"
    assert data["elements"][1]["evidence"][0]["roles"] == ["economic_buyer"]
    assert data["stages"][0]["requires"] == ["pain"]
    assert json.loads(show("--file", "spin", "--json").output)["key"] == "spin"


def test_playbook_show_reports_a_broken_file_as_bad_input(show, tmp_path):
    path = write(tmp_path, BROKEN["unknown action"][0])
    result = show("--file", path)
    assert isinstance(result.exception, BadInput)  # cli.main turns it into one line on stderr and exit 2

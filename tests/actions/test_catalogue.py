"""The action catalogue is a closed, immutable list: each action has a payload schema, a risk class and
whether it can be undone, and nothing outside it can be proposed."""
from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from sellerloop.actions import (
    ACTION_NAMES,
    CATALOGUE,
    Risk,
    UnknownAction,
    get_action,
    is_reversible,
    risk_of,
    validate_payload,
)
from sellerloop.errors import BadInput

CORE = {"create_task", "update_field", "log_note", "send_email", "add_to_sequence", "book_meeting",
        "share_asset", "route_lead"}

VALID = {
    "create_task": {"subject": "Send the security FAQ", "due_date": "2018-01-09", "opportunity_id": "OPP1"},
    "update_field": {"object": "opportunity", "record_id": "OPP1", "field": "next_step", "old": None,
                     "new": "Security review on Friday"},
    "log_note": {"body": "Champion confirmed the pilot scope.", "opportunity_id": "OPP1"},
    "send_email": {"to": ["dana@cancity.example"], "subject": "Recap", "body": "Thanks for the call."},
    "add_to_sequence": {"contact_id": "c-1", "sequence": "post-demo nurture"},
    "book_meeting": {"title": "Technical deep dive", "attendees": ["dana@cancity.example"],
                     "start": "2018-01-10T15:00:00"},
    "share_asset": {"asset": "Security FAQ", "to": ["dana@cancity.example"]},
    "route_lead": {"object": "account", "record_id": "cancity", "owner_id": "u-2"},
    "add_contact_role": {"opportunity_id": "OPP1", "contact_id": "c-1", "role": "economic_buyer"},
    "request_intro": {"via_contact_id": "c-1", "target": "the CFO", "message": "Could you introduce us?"},
}


def test_the_catalogue_holds_the_actions_a_sales_team_needs():
    assert CORE <= ACTION_NAMES
    assert set(VALID) == set(ACTION_NAMES)


def test_every_action_has_a_description_a_risk_class_and_an_undo_note():
    for name, spec in CATALOGUE.items():
        assert spec.name == name
        assert spec.description and spec.undo
        assert isinstance(spec.risk, Risk)
        assert issubclass(spec.payload_model, BaseModel)
        assert spec.payload_schema()["properties"]


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_valid_payload_becomes_its_actions_model(name):
    payload = validate_payload(name, VALID[name])
    assert isinstance(payload, get_action(name).payload_model)


def test_a_name_outside_the_catalogue_is_refused_with_the_known_names():
    with pytest.raises(UnknownAction) as e:
        get_action("delete_account")
    assert "unknown action 'delete_account'" in e.value.one_line()
    assert "create_task" in e.value.one_line()
    assert e.value.exit_code == 2
    with pytest.raises(UnknownAction):
        validate_payload("wire_money", {"amount": 1})


def test_the_catalogue_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        CATALOGUE["wire_money"] = CATALOGUE["send_email"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del CATALOGUE["send_email"]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        CATALOGUE["send_email"].risk = Risk.low  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ACTION_NAMES.add("wire_money")  # type: ignore[attr-defined]
    payload = validate_payload("create_task", VALID["create_task"])
    with pytest.raises(ValidationError):
        payload.subject = "something else"


def test_a_payload_with_a_field_the_schema_does_not_know_is_refused():
    with pytest.raises(BadInput) as e:
        validate_payload("send_email", {**VALID["send_email"], "bcc": ["attacker@evil.example"]})
    assert e.value.one_line() == "send_email payload: bcc: Extra inputs are not permitted"


@pytest.mark.parametrize("name, payload, expected", [
    ("create_task", {"subject": "Call back"}, "create_task payload: due_date: Field required"),
    ("create_task", {"subject": "Call back", "due_date": "next week"}, "due_date: Input should be a valid date"),
    ("send_email", {"to": ["not-an-address"], "subject": "Hi", "body": "x"}, "to: not an email address"),
    ("send_email", {"to": [], "subject": "Hi", "body": "x"}, "to: List should have at least 1 item"),
    ("update_field", {"object": "opportunity", "record_id": "O", "field": "stage", "old": "Engaging",
                      "new": "Engaging"}, "old and new are the same"),
    ("update_field", {"object": "invoice", "record_id": "O", "field": "x", "old": 1, "new": 2}, "object: Input"),
    ("add_contact_role", {"opportunity_id": "O", "contact_id": "c", "role": "best_friend"}, "role: Input should be"),
    ("log_note", {"body": "floating note"}, "needs opportunity_id, account_id or contact_id"),
])
def test_a_bad_payload_gives_one_line_naming_the_field(name, payload, expected):
    with pytest.raises(BadInput) as e:
        validate_payload(name, payload)
    line = e.value.one_line()
    assert expected in line
    assert "\n" not in line and line.startswith(f"{name} payload: ")


def test_a_payload_that_is_not_an_object_is_refused():
    with pytest.raises(BadInput, match="must be an object"):
        validate_payload("create_task", ["subject", "due"])


def test_external_email_is_high_risk_and_cannot_be_undone():
    assert risk_of("send_email", VALID["send_email"]) is Risk.high
    assert not is_reversible("send_email")


def test_irreversible_actions_are_always_high_risk():
    for spec in CATALOGUE.values():
        if not spec.reversible:
            assert spec.risk is Risk.high, spec.name


@pytest.mark.parametrize("field", ["stage", "amount", "close_date", "close_value"])
def test_changing_stage_amount_or_close_date_raises_update_field_to_high(field):
    payload = {"object": "opportunity", "record_id": "OPP1", "field": field, "old": "a", "new": "b"}
    assert risk_of("update_field", payload) is Risk.high


def test_other_field_changes_stay_medium_risk():
    assert get_action("update_field").risk is Risk.medium
    assert risk_of("update_field", VALID["update_field"]) is Risk.medium
    # The rule is about the opportunity's forecast fields, not any object's field of that name.
    assert risk_of("update_field", {"object": "account", "record_id": "a", "field": "amount", "old": 1,
                                    "new": 2}) is Risk.medium


def test_risk_of_takes_a_validated_model_as_well_as_a_dict():
    model = validate_payload("update_field", {"object": "opportunity", "record_id": "O", "field": "close_date",
                                              "old": "2018-01-31", "new": "2018-03-15"})
    assert risk_of("update_field", model) is Risk.high
    with pytest.raises(BadInput):
        risk_of("update_field", {"object": "opportunity"})


def test_low_risk_reversible_actions_exist_for_autonomous_use():
    low = {name for name, spec in CATALOGUE.items() if spec.risk is Risk.low and spec.reversible}
    assert {"create_task", "log_note", "route_lead"} <= low


def test_risks_order_by_severity():
    assert Risk.low < Risk.medium < Risk.high
    assert max(Risk.high, Risk.low) is Risk.high
    assert sorted([Risk.high, Risk.low, Risk.medium]) == [Risk.low, Risk.medium, Risk.high]


def test_dates_in_payloads_are_parsed():
    payload = validate_payload("create_task", VALID["create_task"])
    assert payload.due_date == dt.date(2018, 1, 9)

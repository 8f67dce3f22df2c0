"""Record references (`kind:id`), read and written in one place (records/refs.py)."""
from __future__ import annotations

import pytest

from sellerloop.errors import BadInput
from sellerloop.records.models import Account, Contact, Opportunity, Transcript, User
from sellerloop.records.refs import RecordRef, get_record, owner_of


def test_a_reference_reads_back_as_it_was_written():
    ref = RecordRef.parse("opportunity:d-1:with-colon")
    assert (ref.kind, ref.id) == ("opportunity", "d-1:with-colon") and str(ref) == "opportunity:d-1:with-colon"


@pytest.mark.parametrize("text", ["", "opportunity:", ":d-1", "deal:d-1", "opportunity", None])
def test_a_malformed_reference_is_bad_input_naming_the_kinds(text):
    with pytest.raises(BadInput, match="opportunity:ID or account:ID"):
        RecordRef.parse(text, kinds=("opportunity", "account"))


def test_a_stored_reference_of_an_unknown_kind_names_no_record(session):
    assert get_record(session=session, ref=RecordRef.of("deal:d-1")) is None
    assert owner_of(session=session, ref=RecordRef.of("nonsense")) is None


def test_the_owner_of_a_contact_is_its_accounts_and_of_a_call_its_deals_else_its_accounts(session):
    for rows in ([User(id="u-acct", name="Ann"), User(id="u-deal", name="Dan")],
                 [Account(id="a-1", name="Acme", owner_id="u-acct")],
                 [Opportunity(id="d-1", name="Acme renewal", account_id="a-1", owner_id="u-deal", stage="Engaging"),
                  Contact(id="c-1", name="Cy", account_id="a-1"), Contact(id="c-2", name="Lone")],
                 [Transcript(id="t-deal", title="Call", opportunity_id="d-1", account_id="a-1", source_format="text"),
                  Transcript(id="t-acct", title="Call", account_id="a-1", source_format="text")]):
        session.add_all(rows)
        session.flush()  # parents first: the tables' foreign keys
    owners = {text: owner_of(session=session, ref=RecordRef.of(text))
              for text in ("account:a-1", "opportunity:d-1", "contact:c-1", "contact:c-2", "transcript:t-deal",
                           "transcript:t-acct", "account:missing")}
    assert owners == {"account:a-1": "u-acct", "opportunity:d-1": "u-deal", "contact:c-1": "u-acct",
                      "contact:c-2": None, "transcript:t-deal": "u-deal", "transcript:t-acct": "u-acct",
                      "account:missing": None}

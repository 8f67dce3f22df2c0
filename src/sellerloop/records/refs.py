"""A record's reference, `kind:id` (`account:ID`, `opportunity:ID`, `contact:ID`, `transcript:ID`): what approvals,
outcomes, embed links and pages store to name the record they are about. Read and written here only, with the row it
names and the owner whose team it belongs to."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.records.models import Account, Contact, Opportunity, Transcript

RECORD_KINDS = {"account": Account, "opportunity": Opportunity, "contact": Contact, "transcript": Transcript}


@dataclass(frozen=True, slots=True)
class RecordRef:
    kind: str
    id: str

    @classmethod
    def parse(cls, text: str | None, *, kinds: Iterable[str] = RECORD_KINDS) -> RecordRef:
        """`kind:id` as a person or a client wrote it: BadInput unless the kind is one of `kinds` and the id is
        there."""
        kinds = tuple(kinds)
        ref = cls.of(text)
        if ref.kind not in kinds or not ref.id:
            raise BadInput(f"{text!r}: name the record as {' or '.join(f'{kind}:ID' for kind in kinds)}")
        return ref

    @classmethod
    def of(cls, text: str | None) -> RecordRef:
        """A stored reference, taken as it is (an unknown kind names no record: get_record finds none)."""
        kind, _, record_id = (text or "").partition(":")
        return cls(kind, record_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def get_record(*, session: Session, ref: RecordRef) -> Account | Opportunity | Contact | Transcript | None:
    """The row `ref` names, or None. No access check: the caller has one (access/service.py)."""
    model = RECORD_KINDS.get(ref.kind)
    return session.get(model, ref.id) if model is not None and ref.id else None


def owner_of(*, session: Session, ref: RecordRef) -> str | None:
    """Whose record it is: an account's or a deal's owner; a contact's, its account's; a call's, its deal's (else its
    account's). None for a record with no owner or none at all."""
    row = get_record(session=session, ref=ref)
    if isinstance(row, Contact):
        row = session.get(Account, row.account_id) if row.account_id else None
    elif isinstance(row, Transcript):
        row = (session.get(Opportunity, row.opportunity_id) if row.opportunity_id
               else session.get(Account, row.account_id) if row.account_id else None)
    return row.owner_id if row is not None else None

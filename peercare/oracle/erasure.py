"""Erasing a customer: what links a person named by a ticketing system to anything PeerCare keeps.

The chain never holds a customer's id: their ratings carry a random pseudonym kept in the key store
(`KeyStore.pseudonyms`), and their conversations are sealed under per-conversation keys. Erasing the
customer (`erase_customer`, in one call):

1. deletes their pseudonym's row in the key store (the chain keeps the pseudonym, now nobody's);
2. erases (destroys the key of) the conversation of every ticket they opened at the brand;
3. forgets them in the oracle's database: their tickets' `requester_id` becomes `ERASED_PERSON`, and
   the stored webhook events of those tickets (which hold what the ticketing system sent, in the
   clear) keep only their kind and that they were erased, under a key that names no one. An event
   still waiting is not handled. (A replay of an erased event is taken as new, and records nothing:
   its ticket's customer is erased.)

Later events of those tickets record nothing more about them. The erasure records say who asked,
when and why, and which pseudonym and conversations were erased, never who the person was.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from peercare.content.keystore import PseudonymErasure
from peercare.content.vault import Vault
from peercare.db.database import Database
from peercare.db.tables.oracle import Brand, EventStatus, Question, WebhookEvent
from peercare.oracle.processor import ERASED_PERSON


class ErasureRefused(ValueError):
    """The request cannot be carried out as asked (unknown brand, empty id, no reason)."""


@dataclass(frozen=True)
class CustomerErasure:
    pseudonym: PseudonymErasure | None  # None when they never rated (no pseudonym was drawn)
    tickets: int  # tickets of theirs whose conversation and stored events were erased
    conversations: int
    events: int


def erase_customer(
    database: Database, vault: Vault, brand_id: int, source: str, customer_id: str, *, erased_by: str, reason: str
) -> CustomerErasure:
    """Erase the customer `customer_id` of `brand_id`'s `source` system (see the module's text).
    Idempotent: erasing again finds nothing left and changes nothing."""
    if not customer_id.strip():
        raise ErasureRefused("customer id: empty")
    if not erased_by.strip() or not reason.strip():
        raise ErasureRefused("an erasure records who asked for it and why: both are required")
    with database.read() as session:
        if session.get(Brand, brand_id) is None:
            raise ErasureRefused(f"brand {brand_id} is not served by this oracle")
        questions = session.execute(
            select(Question.ticket_id, Question.content_cid).where(
                Question.brand_id == brand_id, Question.source == source, Question.requester_id == customer_id
            )
        ).all()
    pseudonym = vault.keys.erase_pseudonym(brand_id, source, customer_id, erased_by=erased_by, reason=reason)
    for _, cid in questions:  # keys first: from here on no copy of the conversation can be read
        vault.erase(cid, erased_by=erased_by, reason=reason)
    tickets = [ticket for ticket, _ in questions]
    events = 0
    with database.transaction() as session:
        for question in session.scalars(
            select(Question).where(
                Question.brand_id == brand_id, Question.source == source, Question.ticket_id.in_(tickets)
            )
        ):
            question.requester_id = ERASED_PERSON
        for event in session.scalars(
            select(WebhookEvent).where(
                WebhookEvent.brand_id == brand_id, WebhookEvent.source == source, WebhookEvent.ticket_id.in_(tickets)
            )
        ):
            event.payload = {"kind": event.kind, "erased": True}
            event.event_key = f"erased:{event.id}"  # a source's event key may name the person
            if event.status == EventStatus.PENDING:
                event.status, event.error = EventStatus.FAILED, "its customer was erased on request"
            events += 1
    return CustomerErasure(pseudonym, len(tickets), len(questions), events)

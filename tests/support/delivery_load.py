"""Deliveries for the kill tests: three per ticket (an offer note, an escalation note and an answer)
queued for brand 1's Zendesk channel on the Zendesk stand-in, as the router and the answer route
queue them, and what the stand-in holds afterwards: which deliveries it applied, how many times."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.db.database import Database
from peercare.db.tables.deliveries import Delivery, DeliveryStatus
from peercare.oracle.deliveries import queue
from tests.support.ticketing_standins import ZendeskStandin

EMAIL, TOKEN = "bot@acme.example", "zendesk-api-token"
MARKER = "[peercare-delivery "  # the line every PeerCare comment carries (`clients.marker_line`)
TICKETS = 100  # on the stand-in, three deliveries each


@contextmanager
def zendesk_with_tickets(tickets: int) -> Iterator[ZendeskStandin]:
    with ZendeskStandin(email=EMAIL, api_token=TOKEN) as standin:
        for ticket in range(1, tickets + 1):
            standin.add_ticket(ticket, subject=f"Ticket {ticket}")
        yield standin


def note_payload(question_id: str) -> dict[str, Any]:
    """A routing note's payload (an offer or an escalation), as the router queues it."""
    return {
        "question_id": question_id,
        "round": 0,
        "mode": "direct",
        "offers": [{"advocate": "0x" + "22" * 20, "role": "answerer", "share_bps": 0}],
        "why": "offered directly",
        "commitment": "0x" + "cd" * 32,
        "assignee_agent_id": None,
        "tags": [],
    }


def _payload(kind: str, ticket: int) -> dict[str, Any]:
    if kind == "answer":
        return {"question_id": f"q{ticket}", "answer_id": f"a{ticket}", "advocate": "0x" + "11" * 20, "body": "Fixed"}
    return note_payload(f"q{ticket}")


def queue_deliveries(session: Session, zendesk: ZendeskStandin, tickets: int) -> list[str]:
    """Brand 1 (configured already) gets a Zendesk channel to the stand-in and three deliveries per
    ticket; returns their keys."""
    queue.set_channel(session, 1, "zendesk", base_url=zendesk.base_url, secret=TOKEN, username=EMAIL, now_ms=0)
    keys = []
    for ticket in range(1, tickets + 1):
        for kind, key in (
            ("offer", f"offer:{ticket}:0"),
            ("escalation", f"escalation:{ticket}:1"),
            ("answer", f"answer:{ticket}"),
        ):
            queue.enqueue(
                session,
                key=key,
                brand_id=1,
                source="zendesk",
                ticket_id=str(ticket),
                kind=kind,
                payload=_payload(kind, ticket),
                now_ms=int(time.time() * 1000),
            )
            keys.append(key)
    return keys


def applied(zendesk: ZendeskStandin, tickets: int) -> Counter[str]:
    """Per delivery key, how many comments on the stand-in's tickets carry it."""
    return Counter(
        line.removeprefix(MARKER).rstrip("]")
        for ticket in range(1, tickets + 1)
        for comment in zendesk.comments(ticket)
        for line in comment.body.splitlines()
        if line.startswith(MARKER)
    )


def delivered(database: Database) -> int:
    """How many deliveries the queue holds as delivered."""
    with database.read() as session:
        return session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED)) or 0

"""Health tests' helpers: a ticket opened through the webhooks, an oracle with an unfunded
signer, the outbox rows sent, a condition wait."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import func, select

from peercare.db.tables.oracle import OutboxStatus, OutboxTx, Question
from peercare.db.tables.routing import RouteRound
from tests.support.world import World

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 60.0) -> T:
    """Poll `probe` until it returns something (not None, not False); that is the result."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.1)


def open_ticket(world: World) -> str:
    ticket = f"HEALTH-{uuid.uuid4().hex[:10]}"
    data = {"subject": "Stuck?", "body": "Is it stuck?", "tags": ["wallets"], "requester_id": f"cust-{ticket}"}
    world.deliver(world.brand2_id, "ticket_created", f"{ticket}-open", ticket, **data)
    return ticket


def sent_rows(world: World) -> list[OutboxTx]:
    with world.oracle.database.read() as session:
        return list(session.scalars(select(OutboxTx).where(OutboxTx.status == OutboxStatus.SENT).order_by(OutboxTx.id)))


#: What opening a ticket makes the oracle write: its question, then (once the router decided its
#: first round) the routing batch anchoring that round.
WRITES_PER_TICKET = 2


def quiet(world: World) -> None:
    """Until the oracle has nothing left to write: every question routed, every round anchored, and
    every write mined (a test counting the writes of its own ticket starts from here)."""

    def done() -> bool:
        with world.oracle.database.read() as session:
            unrouted = session.scalar(
                select(func.count())
                .select_from(Question)
                .outerjoin(RouteRound, RouteRound.question_id == Question.question_id)
                .where(RouteRound.question_id.is_(None))
            )
            unanchored = session.scalar(select(func.count()).where(RouteRound.batch_id.is_(None)))
        return unrouted == 0 and unanchored == 0

    wait_for(done, "every question routed and every round anchored")
    world.drain()


def a_tickets_writes_sent(world: World) -> list[OutboxTx]:
    """Once both writes of the ticket just opened are signed (sent, not mined), in outbox order: its
    question's batch and its routing anchor (either may be sealed first)."""

    def both() -> list[OutboxTx] | None:
        found = sent_rows(world)
        return found if len(found) == WRITES_PER_TICKET else None

    rows = wait_for(both, "the ticket's question and its routing anchor to be signed")
    assert sorted(row.kind for row in rows) == ["anchor_routing", "post_question_batch"]
    return rows


@contextmanager
def oracle_without_funds(world: World) -> Iterator[None]:
    """The oracle's balance at zero: the node refuses the signer's transactions ("insufficient
    funds") until the `with` block ends; then the balance is put back and everything is mined."""
    world.drain()
    address = world.dev.oracle.address
    balance = world.dev.rpc("eth_getBalance", address, "latest")
    world.dev.rpc("anvil_setBalance", address, "0x0")
    try:
        yield
    finally:
        world.dev.rpc("anvil_setBalance", address, balance)
        world.drain()

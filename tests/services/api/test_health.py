"""GET /api/v1/health reports the chain, the content store, the database and the indexer's lag, and
says "degraded", with the reasons in words, while chain writes do not flow.

Stalls are made for real on the world's chain: with the oracle's balance at zero the node refuses
every transaction the signer sends ("insufficient funds"), and with the base fee far above the fee
ceiling it refuses every transaction the signer can price ("max fee per gas less than block base
fee"). Either way the rows stay SENT and unmined until the test puts the chain back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from peercare.api.app import create_app
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, TxAttempt
from tests.support.health_support import (
    WRITES_PER_TICKET,
    a_tickets_writes_sent,
    open_ticket,
    oracle_without_funds,
    quiet,
    sent_rows,
    wait_for,
)
from tests.support.signer_support import queue_question
from tests.support.world import World

HIGH_BASE_FEE = 10**15  # wei: 2,000 times the default fee ceiling; blocks take about a minute to decay under it


def health_client(world: World, **settings: Any) -> TestClient:
    """A second application on the world's database and chain, with some settings changed."""
    context = world.oracle.context
    return TestClient(create_app(replace(context, settings=context.settings.model_copy(update=settings))))


def health(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def queued_count(world: World) -> int:
    with world.oracle.database.read() as session:
        return len(session.scalars(select(OutboxTx.id).where(OutboxTx.status == OutboxStatus.QUEUED)).all())


def newest_max_fee(world: World, outbox_id: int) -> int:
    with world.oracle.database.read() as session:
        attempt = session.scalars(
            select(TxAttempt).where(TxAttempt.outbox_id == outbox_id).order_by(TxAttempt.id.desc()).limit(1)
        ).one()
        return attempt.max_fee_per_gas


def latest_base_fee(world: World) -> int:
    return int(world.dev.rpc("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)


@contextmanager
def base_fee_over_the_ceiling(world: World) -> Iterator[None]:
    """Blocks whose base fee is far above the signer's fee ceiling: the signer signs at the ceiling
    and the node refuses it, until the `with` block ends and the base fee is put back."""
    world.drain()
    before = latest_base_fee(world)
    ceiling = world.oracle.settings.max_fee_ceiling_wei
    world.dev.rpc("anvil_setNextBlockBaseFeePerGas", hex(HIGH_BASE_FEE))
    wait_for(lambda: latest_base_fee(world) > 2 * ceiling, "a block whose base fee is over the fee ceiling")
    try:
        yield
    finally:
        world.dev.rpc("anvil_setNextBlockBaseFeePerGas", hex(before))
        world.drain()


def test_health_reports_every_dependency_reachable_and_the_indexer_caught_up(world: World) -> None:
    world.drain()
    response = world.client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["reasons"] == []
    assert body["chain"]["ok"] and body["content_store"]["ok"] and body["database"]["ok"]
    assert body["database"]["detail"] == "sqlite"
    assert body["indexed_block"] is not None and 0 <= body["indexer_lag_blocks"] <= 1
    assert body["head_block"] - body["indexed_block"] == body["indexer_lag_blocks"]
    writes = body["writes"]
    assert writes["in_flight"] == 0 and writes["oldest_unmined_age_s"] is None and writes["at_fee_ceiling"] == 0
    assert writes["max_in_flight"] == world.oracle.settings.max_in_flight
    assert writes["signer_address"] == world.dev.oracle.address
    assert writes["chain_nonce"] == writes["signer_next_nonce"]  # everything signed is mined


def test_health_is_degraded_while_a_transaction_waits_unmined_and_ok_once_it_is_mined(world: World) -> None:
    quick = health_client(world, stall_after_s=1.0)
    quiet(world)
    with oracle_without_funds(world):
        open_ticket(world)
        row, _ = a_tickets_writes_sent(world)
        body = wait_for(lambda: (b := health(quick))["status"] == "degraded" and b, "health to say degraded")
        stall, lag = body["reasons"]
        assert stall.startswith(f"oldest unmined transaction (outbox {row.id}, {row.kind}) waiting ")
        assert stall.endswith(" s, over the 1 s threshold")
        writes = body["writes"]
        assert writes["in_flight"] == WRITES_PER_TICKET and writes["oldest_unmined_outbox_id"] == row.id
        assert writes["oldest_unmined_age_s"] > 1.0
        assert writes["chain_nonce"] == row.nonce and writes["signer_next_nonce"] == row.nonce + WRITES_PER_TICKET
        assert lag == (
            f"the chain's nonce lags the signer's: the chain has mined {row.nonce} transactions of "
            f"{world.dev.oracle.address}, the signer's next nonce is {row.nonce + WRITES_PER_TICKET} "
            f"({WRITES_PER_TICKET} not mined)"
        )
        assert health(world.client)["status"] == "ok"  # the default threshold (60 s) is not reached yet
    body = health(quick)
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert body["writes"]["in_flight"] == 0 and body["writes"]["chain_nonce"] == body["writes"]["signer_next_nonce"]


def test_health_says_the_signer_is_at_its_in_flight_cap_while_writes_queue_behind_it(world: World) -> None:
    cap = world.oracle.settings.max_in_flight
    stamp = time.time_ns()
    with oracle_without_funds(world):
        # More writes than the cap (tickets would be batched into a few): questions posted one by one.
        for n in range(cap + 1):
            queue_question(world.oracle.database, world.dev, f"cap-{stamp}-{n}")
        wait_for(lambda: len(sent_rows(world)) == cap and queued_count(world) >= 1, f"{cap} rows sent, more queued")
        body = health(world.client)
        assert body["status"] == "degraded"
        assert body["reasons"] == [
            f"the signer is at its in-flight cap: {cap} transactions sent and not mined "
            f"(max_in_flight {cap}); new writes wait"
        ]
        assert body["writes"]["in_flight"] == cap
    assert health(world.client)["status"] == "ok"


def test_health_says_a_transaction_at_the_fee_ceiling_can_no_longer_be_replaced(world: World) -> None:
    ceiling = world.oracle.settings.max_fee_ceiling_wei
    higher_ceiling = health_client(world, max_fee_ceiling_wei=10 * ceiling)
    with base_fee_over_the_ceiling(world):
        open_ticket(world)
        row = wait_for(lambda: next(iter(sent_rows(world)), None), "the ticket's question to be signed")
        assert newest_max_fee(world, row.id) == ceiling  # the signer offers no more than the ceiling
        body = health(world.client)
        assert body["status"] == "degraded"
        assert body["reasons"] == [
            f"at the fee ceiling: outbox {row.id} ({row.kind}) offers {ceiling} wei per gas, and a "
            f"replacement would exceed max_fee_ceiling_wei {ceiling}: the signer can no longer replace it"
        ]
        assert body["writes"]["at_fee_ceiling"] == 1
        assert health(higher_ceiling)["status"] == "ok"  # with room to raise the fee, a young row is fine
    assert health(world.client)["status"] == "ok"


def test_health_is_down_with_the_reason_when_the_chain_does_not_answer(world: World) -> None:
    response = health_client(world, rpc_url="http://127.0.0.1:9").get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and not body["chain"]["ok"]
    assert body["reasons"][0].startswith("chain unreachable: ")
    assert body["database"]["ok"] and body["writes"]["in_flight"] == 0

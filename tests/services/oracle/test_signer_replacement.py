"""A transaction the node took and never mined is replaced, so the oracle keeps writing.

The node here is anvil behind a proxy that answers one broadcast with its hash and never forwards
it, and answers every later send of the same bytes with "already imported": the signer's plain
rebroadcast can never cure that (nor anvil parking a ready transaction as "queued" for good, as
foundry issue 10122 does). Only new bytes at the same nonce, with a higher fee, get through; and
the chain must keep mining blocks meanwhile (mixed mining) for "after 3 blocks" to mean anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from peercare.chain.revert_reasons import RevertReasons
from peercare.chain.rpc import Rpc
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus
from peercare.oracle.signer import GWEI, Signer
from peercare.runtime import Worker
from tests.support.devchain import DevLedger
from tests.support.faultproxy import FaultProxy
from tests.support.signer_support import (
    CHAIN_ID,
    attempts,
    outbox,
    question_posted,
    queue_question,
    receipt_of,
    sent_count,
)

PROXY_PORT = 8716
ROWS = 5
REPLACE_AFTER_BLOCKS = 3
LANDED = (OutboxStatus.MINED, OutboxStatus.CONFIRMED)


@pytest.fixture
def proxy(dev_ledger: DevLedger) -> Iterator[FaultProxy]:
    with FaultProxy(dev_ledger.url, PROXY_PORT) as running:
        yield running


@pytest.fixture
def rpc(proxy: FaultProxy) -> Iterator[Rpc]:
    client = Rpc(proxy.url, max_attempts=2, backoff_base_s=0.0)
    yield client
    client.close()


def make_signer(database: Database, rpc: Rpc, dev: DevLedger, **options: object) -> Signer:
    return Signer(
        database,
        rpc,
        dev.oracle,
        CHAIN_ID,
        confirmations=0,
        replace_after_blocks=REPLACE_AFTER_BLOCKS,
        replace_after_s=1.0,
        revert_reasons=RevertReasons.from_deployment(dev.deployment),
        **options,  # type: ignore[arg-type]
    )


def wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout_s:.0f} s")
        time.sleep(0.05)


def test_a_swallowed_broadcast_is_replaced_within_the_configured_blocks_and_each_row_is_mined_once(
    database: Database, dev_ledger: DevLedger, proxy: FaultProxy, rpc: Rpc, caplog: pytest.LogCaptureFixture
) -> None:
    assert dev_ledger.mixed_mining, "the chain must mine blocks on its own while the row is stuck"
    tickets = [f"S-{index}" for index in range(ROWS)]
    ids = [queue_question(database, dev_ledger, ticket) for ticket in tickets]
    before = sent_count(dev_ledger)
    signer = make_signer(database, rpc, dev_ledger)
    proxy.swallow_broadcasts(1)  # the lowest nonce: every row behind it waits in the node's pool
    stall_start = dev_ledger.w3.eth.block_number
    stop = threading.Event()
    runner = Worker("signer", signer.step, idle_s=0.05)  # as the oracle runs it (peercare/runtime.py)
    caplog.set_level(logging.INFO, logger="peercare.oracle.signer")
    runner.start(stop)
    thread = runner.thread
    assert thread is not None
    try:
        wait_until(lambda: all(row.status in LANDED for row in outbox(database)), 60, "every row mined")
    finally:
        stop.set()
        thread.join(timeout=30)

    rows = outbox(database)
    assert [row.id for row in rows] == ids and all(row.status in LANDED for row in rows)
    (swallowed_raw,) = proxy.swallowed
    first, *replacements = attempts(database, ids[0])
    assert first.raw == swallowed_raw and receipt_of(dev_ledger, first.tx_hash) is None
    assert replacements and all(attempt.nonce == first.nonce for attempt in replacements)
    assert rows[0].tx_hash == replacements[-1].tx_hash
    assert replacements[0].max_fee_per_gas * 8 >= first.max_fee_per_gas * 9  # a bump nodes accept
    # Mined within the configured blocks of the stall (one more for the step that first saw it in
    # flight, one for the block that includes the replacement).
    assert rows[0].block_number is not None
    assert rows[0].block_number - stall_start <= REPLACE_AFTER_BLOCKS + 2
    # Exactly once: one transaction per row on chain, each question posted.
    assert sent_count(dev_ledger) == before + ROWS
    assert len({row.nonce for row in rows}) == ROWS
    assert all(question_posted(dev_ledger, ticket) for ticket in tickets)
    assert any("replaced: nonce" in record.getMessage() for record in caplog.records)


def test_at_the_fee_ceiling_a_stuck_row_is_not_replaced_and_the_operator_is_warned(
    database: Database, dev_ledger: DevLedger, proxy: FaultProxy, rpc: Rpc, caplog: pytest.LogCaptureFixture
) -> None:
    ceiling = GWEI + 1  # the first attempt already offers it (its tip is 1 gwei): no 10% bump fits
    row_id = queue_question(database, dev_ledger, "C-1")
    signer = make_signer(database, rpc, dev_ledger, max_fee_ceiling_wei=ceiling)
    proxy.swallow_broadcasts(1)
    caplog.set_level(logging.INFO, logger="peercare.oracle.signer")

    def warned() -> bool:
        signer.step()
        return any("at the ceiling" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)

    wait_until(warned, 60, "a WARNING that the row is at the fee ceiling")
    for _ in range(3):  # said once, not every round
        signer.step()
    warnings = [r for r in caplog.records if "at the ceiling" in r.getMessage()]
    assert len(warnings) == 1 and "PEERCARE_MAX_FEE_CEILING_WEI" in warnings[0].getMessage()
    (row,) = outbox(database)
    assert row.id == row_id and row.status == OutboxStatus.SENT
    assert all(attempt.max_fee_per_gas <= ceiling for attempt in attempts(database, row_id))
    assert not question_posted(dev_ledger, "C-1")

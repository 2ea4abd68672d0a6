"""The signer writes each outbox row to the chain exactly once: in id order with consecutive nonces,
through crashes, lost responses, foreign transactions on its key, reverts, fee spikes and reorgs.

Rows are real ledger calls (`postQuestion` by brand 1's oracle), so their effect can be read back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from peercare.chain.revert_reasons import RevertReasons
from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable
from peercare.core.enums import OutboxKind
from peercare.core.ledger_ids import question_id
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, SignerState
from peercare.oracle.signer import Signer, SignerError
from tests.support.devchain import DevLedger
from tests.support.signer_support import (
    CHAIN_ID,
    GAS_LIMIT,
    SOURCE,
    Clock,
    LossyRpc,
    attempts,
    outbox,
    question_posted,
    queue_question,
    receipt_of,
    send_foreign_transaction,
    sent_count,
)

LANDED = (OutboxStatus.MINED, OutboxStatus.CONFIRMED)


# The signer tests read the chain through an RPC client that can lose replies on purpose.
@pytest.fixture
def rpc(dev_ledger: DevLedger) -> Iterator[LossyRpc]:
    client = LossyRpc(dev_ledger.url, dev_ledger.mixed_mining)
    yield client
    client.close()


class LateReceiptsRpc(Rpc):
    """Answers the next `rounds` batches that look up receipts with null receipts, as anvil does for a
    moment after a block is mined: it counts the block's nonces before it serves their receipts."""

    def __init__(self, url: str) -> None:
        super().__init__(url, max_attempts=2, backoff_base_s=0.0)
        self.rounds = 0

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any | RpcError]:
        results = super().batch(calls)
        if self.rounds and any(method == "eth_getTransactionReceipt" for method, _ in calls):
            self.rounds -= 1
            hidden = [method == "eth_getTransactionReceipt" for method, _ in calls]
            return [None if hide else result for hide, result in zip(hidden, results, strict=True)]
        return results


@pytest.fixture
def late_rpc(dev_ledger: DevLedger) -> Iterator[LateReceiptsRpc]:
    client = LateReceiptsRpc(dev_ledger.url)
    yield client
    client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def empty_mempool(dev_ledger: DevLedger) -> Iterator[None]:
    """`evm_revert` keeps the mempool: a transaction left pending would be mined in a later test."""
    yield
    dev_ledger.rpc("anvil_dropAllTransactions")


@pytest.fixture
def restore_base_fee(dev_ledger: DevLedger) -> Iterator[None]:
    """anvil keeps the next block's base fee across `evm_revert`: put back the one the test found."""
    base_fee = dev_ledger.w3.eth.get_block("latest")["baseFeePerGas"]
    try:
        yield
    finally:
        dev_ledger.rpc("anvil_setNextBlockBaseFeePerGas", hex(base_fee))


@pytest.fixture
def manual_mining(dev_ledger: DevLedger) -> Iterator[None]:
    """Blocks only on `evm_mine` (automine is node configuration: a snapshot does not restore it)."""
    dev_ledger.rpc("evm_setAutomine", False)
    try:
        yield
    finally:
        dev_ledger.rpc("anvil_dropAllTransactions")  # or switching automine on would mine them
        dev_ledger.rpc("evm_setAutomine", True)


def make_signer(database: Database, rpc: Rpc, dev: DevLedger, clock: Clock, **options: Any) -> Signer:
    # The chain mines a block every second: with the test clock moved on by a test about
    # rebroadcasts, a row could otherwise be replaced by the age rule. Tests of replacement set it.
    options.setdefault("replace_after_blocks", 1_000_000)
    return Signer(
        database,
        rpc,
        dev.oracle,
        CHAIN_ID,
        clock=clock,
        revert_reasons=RevertReasons.from_deployment(dev.deployment),
        **options,
    )


def statuses(database: Database) -> list[str]:
    return [row.status for row in outbox(database)]


def wait_for_sent_count(dev: DevLedger, count: int, timeout_s: float = 10.0) -> None:
    """Wait until the oracle account has `count` transactions on chain (anvil mines what reached it
    on its own schedule); the caller asserts the count."""
    deadline = time.monotonic() + timeout_s
    while sent_count(dev) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def mine(dev: DevLedger, blocks: int = 1) -> None:
    for _ in range(blocks):
        dev.rpc("evm_mine")


# ---------------------------------------------------------------------- order, nonces, finality


def test_queued_rows_are_mined_in_id_order_with_consecutive_nonces_and_confirmed_later(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, manual_mining: None
) -> None:
    tickets = [f"T-{index}" for index in range(5)]
    ids = [queue_question(database, dev_ledger, ticket) for ticket in tickets]
    signer = make_signer(database, rpc, dev_ledger, clock, confirmations=2)
    signer.start()
    first_nonce = sent_count(dev_ledger)

    signer.step()
    assert statuses(database) == [OutboxStatus.SENT] * 5
    rows = outbox(database)
    assert [row.id for row in rows] == ids
    assert [row.nonce for row in rows] == list(range(first_nonce, first_nonce + 5))

    mine(dev_ledger)
    signer.step()
    rows = outbox(database)
    assert [row.status for row in rows] == [OutboxStatus.MINED] * 5
    block = dev_ledger.w3.eth.get_block(rows[0].block_number, full_transactions=False)
    assert ["0x" + tx.hex() for tx in block["transactions"]] == [row.tx_hash for row in rows]
    assert all(question_posted(dev_ledger, ticket) for ticket in tickets)

    mine(dev_ledger)
    signer.step()
    assert statuses(database) == [OutboxStatus.MINED] * 5  # one block deep: not final yet
    mine(dev_ledger)
    signer.step()
    assert statuses(database) == [OutboxStatus.CONFIRMED] * 5
    assert sent_count(dev_ledger) == first_nonce + 5
    with database.transaction() as session:
        state = session.get(SignerState, dev_ledger.oracle.address)
        assert state is not None and state.next_nonce == first_nonce + 5


def test_max_in_flight_bounds_the_rows_sent_and_not_yet_mined(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, manual_mining: None
) -> None:
    for index in range(5):
        queue_question(database, dev_ledger, f"F-{index}")
    signer = make_signer(database, rpc, dev_ledger, clock, max_in_flight=2)
    signer.start()
    signer.step()
    assert statuses(database) == [OutboxStatus.SENT] * 2 + [OutboxStatus.QUEUED] * 3
    mine(dev_ledger)
    signer.step()  # two mined, two more sent
    assert statuses(database) == [OutboxStatus.MINED] * 2 + [OutboxStatus.SENT] * 2 + [OutboxStatus.QUEUED]


# ---------------------------------------------------------------------- crashes and lost broadcasts


def test_rows_signed_before_a_crash_reach_the_chain_exactly_once_after_a_restart(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    tickets = ["C-1", "C-2", "C-3"]
    for ticket in tickets:
        queue_question(database, dev_ledger, ticket)
    before = sent_count(dev_ledger)
    crashed = make_signer(database, rpc, dev_ledger, clock)
    crashed.start()
    crashed._sign_queued(dev_ledger.w3.eth.get_block("latest")["baseFeePerGas"])
    del crashed  # committed, never broadcast
    assert statuses(database) == [OutboxStatus.SENT] * 3
    assert sent_count(dev_ledger) == before

    for _restart in range(2):  # a second restart finds nothing to resend twice
        signer = make_signer(database, rpc, dev_ledger, clock)
        signer.start()
        signer.step()
    assert all(status in LANDED for status in statuses(database))
    assert sent_count(dev_ledger) == before + 3
    assert all(question_posted(dev_ledger, ticket) for ticket in tickets)
    assert all(len(attempts(database, row.id)) == 1 for row in outbox(database))


@pytest.mark.parametrize("reached_node", [True, False], ids=["lost-after-the-node", "lost-before-the-node"])
def test_a_broadcast_lost_in_flight_then_a_restart_sends_each_row_once(
    database: Database, dev_ledger: DevLedger, rpc: LossyRpc, clock: Clock, reached_node: bool
) -> None:
    for ticket in ("L-1", "L-2"):
        queue_question(database, dev_ledger, ticket)
    before = sent_count(dev_ledger)
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()
    rpc.lose = reached_node
    with pytest.raises(RpcUnavailable):
        signer.step()
    assert statuses(database) == [OutboxStatus.SENT] * 2
    if reached_node:  # wait for both, not for a third
        wait_for_sent_count(dev_ledger, before + 2)
    assert sent_count(dev_ledger) == before + (2 if reached_node else 0)

    restarted = make_signer(database, rpc, dev_ledger, clock)
    restarted.start()
    restarted.step()
    assert statuses(database) == [OutboxStatus.MINED] * 2
    assert sent_count(dev_ledger) == before + 2
    assert question_posted(dev_ledger, "L-1") and question_posted(dev_ledger, "L-2")


# ---------------------------------------------------------------------- the key used elsewhere


def test_a_foreign_transaction_on_our_nonce_resyncs_and_the_row_is_mined_once_with_a_new_nonce(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    signer = make_signer(database, rpc, dev_ledger, clock, confirmations=2)
    signer.start()
    nonce = sent_count(dev_ledger)
    send_foreign_transaction(dev_ledger, dev_ledger.oracle)  # takes `nonce` behind the signer's back
    row_id = queue_question(database, dev_ledger, "X-1")

    signer.step()  # signed with `nonce`: the node answers "nonce too low"
    (row,) = outbox(database)
    assert (row.status, row.nonce) == (OutboxStatus.SENT, nonce)
    signer.step()
    assert outbox(database)[0].status == OutboxStatus.SENT  # the foreign nonce is not yet deep enough

    mine(dev_ledger, 2)
    signer.step()  # the nonce is deep enough and no attempt has a receipt: suspected, not yet decided
    assert outbox(database)[0].status == OutboxStatus.SENT
    signer.step()  # the same a round later: requeued, re-signed with the next free nonce and sent
    signer.step()
    (row,) = outbox(database)
    assert (row.status, row.nonce) == (OutboxStatus.MINED, nonce + 1)
    assert [attempt.nonce for attempt in attempts(database, row_id)] == [nonce, nonce + 1]
    assert question_posted(dev_ledger, "X-1")
    assert sent_count(dev_ledger) == nonce + 2  # the foreign transaction and ours, nothing else


def test_a_receipt_served_late_is_not_taken_for_a_foreign_transaction_on_our_nonce(
    database: Database, dev_ledger: DevLedger, late_rpc: LateReceiptsRpc, clock: Clock
) -> None:
    signer = make_signer(database, late_rpc, dev_ledger, clock, confirmations=0)
    signer.start()
    nonce = sent_count(dev_ledger)
    row_id = queue_question(database, dev_ledger, "R-1")
    signer.step()  # signed and sent
    wait_for_sent_count(dev_ledger, nonce + 1)
    assert sent_count(dev_ledger) == nonce + 1, "anvil did not mine the transaction"

    late_rpc.rounds = 1
    signer.step()  # the nonce is used and the node serves no receipt yet: nothing is decided
    (row,) = outbox(database)
    assert (row.status, row.nonce) == (OutboxStatus.SENT, nonce)
    signer.step()  # the receipt is there
    (row,) = outbox(database)
    assert (row.status, row.nonce) in {(status, nonce) for status in LANDED}
    assert len(attempts(database, row_id)) == 1
    assert sent_count(dev_ledger) == nonce + 1


def test_start_takes_the_chain_nonce_when_the_account_was_used_while_stopped(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    make_signer(database, rpc, dev_ledger, clock).start()
    send_foreign_transaction(dev_ledger, dev_ledger.oracle)
    send_foreign_transaction(dev_ledger, dev_ledger.oracle)
    queue_question(database, dev_ledger, "S-1")
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()
    signer.step()
    signer.step()
    (row,) = outbox(database)
    assert row.status == OutboxStatus.MINED
    assert row.nonce == sent_count(dev_ledger) - 1
    assert len(attempts(database, row.id)) == 1


# ---------------------------------------------------------------------- reverts and refusals


def test_a_reverted_row_fails_with_the_decoded_error_and_later_rows_go_through(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    first = queue_question(database, dev_ledger, "R-1")
    duplicate = queue_question(database, dev_ledger, "R-1")
    later = queue_question(database, dev_ledger, "R-2")
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()
    signer.step()
    signer.step()
    rows = {row.id: row for row in outbox(database)}
    assert rows[first].status == OutboxStatus.MINED
    assert rows[later].status == OutboxStatus.MINED
    failed = rows[duplicate]
    assert failed.status == OutboxStatus.FAILED
    qid = question_id(dev_ledger.brand_id, SOURCE, "R-1")
    assert failed.error == f"QuestionAlreadyPosted(questionId=0x{qid.hex()})"
    assert failed.block_number is not None and failed.gas_used is not None
    assert receipt_of(dev_ledger, failed.tx_hash or "")["status"] == "0x0"

    mine(dev_ledger, 2)
    signer.step()
    assert statuses(database) == [OutboxStatus.CONFIRMED, OutboxStatus.FAILED, OutboxStatus.CONFIRMED]


def test_a_row_the_node_refuses_fails_and_a_filler_keeps_later_nonces_moving(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    refused = queue_question(database, dev_ledger, "G-1", gas_limit=1_000)  # below the intrinsic gas
    later = queue_question(database, dev_ledger, "G-2")
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()
    nonce = sent_count(dev_ledger)
    signer.step()
    rows = outbox(database)
    assert rows[0].id == refused
    assert rows[0].status == OutboxStatus.FAILED and "intrinsic gas too low" in (rows[0].error or "")
    filler = rows[2]
    assert (filler.kind, filler.nonce, filler.status) == (OutboxKind.NONCE_FILLER, nonce, OutboxStatus.SENT)

    signer.step()  # the filler is sent, which lets the later row (nonce + 1) be mined
    signer.step()
    rows = {row.id: row for row in outbox(database)}
    assert rows[filler.id].status == OutboxStatus.MINED
    assert (rows[later].status, rows[later].nonce) == (OutboxStatus.MINED, nonce + 1)
    assert question_posted(dev_ledger, "G-2") and not question_posted(dev_ledger, "G-1")
    assert sent_count(dev_ledger) == nonce + 2


def test_a_transient_refusal_is_retried_after_a_back_off(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock
) -> None:
    oracle = dev_ledger.oracle.address
    balance = dev_ledger.rpc("eth_getBalance", oracle, "latest")
    queue_question(database, dev_ledger, "B-1")
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()
    before = sent_count(dev_ledger)
    dev_ledger.rpc("anvil_setBalance", oracle, "0x0")
    signer.step()  # "insufficient funds": kept SENT, retried later
    assert statuses(database) == [OutboxStatus.SENT]
    dev_ledger.rpc("anvil_setBalance", oracle, balance)
    signer.step()
    assert sent_count(dev_ledger) == before  # still backing off
    clock.advance(1.0)
    signer.step()
    signer.step()
    assert statuses(database) == [OutboxStatus.MINED]
    assert sent_count(dev_ledger) == before + 1


# ---------------------------------------------------------------------- fees


def test_an_underpriced_row_is_repriced_with_the_same_nonce_and_only_one_attempt_is_mined(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, manual_mining: None, restore_base_fee: None
) -> None:
    row_id = queue_question(database, dev_ledger, "P-1")
    signer = make_signer(database, rpc, dev_ledger, clock, reprice_after_s=30.0)
    signer.start()
    signer.step()
    (first,) = attempts(database, row_id)

    spike = 10 * first.max_fee_per_gas
    dev_ledger.rpc("anvil_setNextBlockBaseFeePerGas", hex(spike))
    mine(dev_ledger)  # an empty block: the row's max fee is below its base fee
    assert dev_ledger.w3.eth.get_block("latest")["baseFeePerGas"] == spike
    signer.step()
    assert len(attempts(database, row_id)) == 1  # not waiting long enough yet

    clock.advance(31.0)
    signer.step()
    first_again, second = attempts(database, row_id)
    assert first_again.id == first.id and second.nonce == first.nonce
    assert second.max_priority_fee_per_gas * 8 >= first.max_priority_fee_per_gas * 9
    assert second.max_fee_per_gas >= 2 * spike + second.max_priority_fee_per_gas

    mine(dev_ledger)
    signer.step()
    (row,) = outbox(database)
    assert (row.status, row.tx_hash) == (OutboxStatus.MINED, second.tx_hash)
    assert receipt_of(dev_ledger, first.tx_hash) is None
    assert question_posted(dev_ledger, "P-1")


# ---------------------------------------------------------------------- reorgs


def test_a_row_orphaned_by_a_reorg_is_sent_again_and_mined_once(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, automine_only: None
) -> None:
    mine(dev_ledger)  # the reorg must not reach the snapshot's block, which holds the pool's funding
    queue_question(database, dev_ledger, "O-1")
    signer = make_signer(database, rpc, dev_ledger, clock, confirmations=2)
    signer.start()
    before = sent_count(dev_ledger)
    signer.step()
    signer.step()
    (mined,) = outbox(database)
    assert mined.status == OutboxStatus.MINED

    dev_ledger.rpc("anvil_reorg", 2, [])  # replaces the top two blocks with empty ones
    assert receipt_of(dev_ledger, mined.tx_hash or "") is None
    signer.step()  # back to SENT and broadcast again (automine includes it at once)
    signer.step()
    (row,) = outbox(database)
    assert row.status == OutboxStatus.MINED and row.block_hash != mined.block_hash
    assert row.nonce == mined.nonce and len(attempts(database, row.id)) == 1

    mine(dev_ledger, 2)
    signer.step()
    assert statuses(database) == [OutboxStatus.CONFIRMED]
    assert sent_count(dev_ledger) == before + 1
    assert question_posted(dev_ledger, "O-1")


def test_a_nonce_freed_by_a_reorg_below_our_rows_is_filled_and_the_rows_go_through(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, automine_only: None
) -> None:
    mine(dev_ledger)  # the reorg must not reach the snapshot's block
    make_signer(database, rpc, dev_ledger, clock).start()
    gap = sent_count(dev_ledger)
    send_foreign_transaction(dev_ledger, dev_ledger.oracle)  # takes `gap`
    queue_question(database, dev_ledger, "Z-1")
    signer = make_signer(database, rpc, dev_ledger, clock)
    signer.start()  # adopts the chain's count: the row gets gap + 1
    signer.step()
    signer.step()
    assert outbox(database)[0].status == OutboxStatus.MINED

    dev_ledger.rpc("anvil_reorg", 2, [])  # drops both: the foreign transaction does not come back
    signer.step()  # reorged out, rebroadcast: waits in the pool behind the free nonce
    signer.step()  # the gap is noticed
    assert [row.kind for row in outbox(database)] == ["post_question"]
    clock.advance(31.0)
    signer.step()  # still there: a filler takes the nonce
    signer.step()
    signer.step()
    row, filler = outbox(database)
    assert (filler.kind, filler.nonce, filler.status) == (OutboxKind.NONCE_FILLER, gap, OutboxStatus.MINED)
    assert (row.status, row.nonce) == (OutboxStatus.MINED, gap + 1)
    assert sent_count(dev_ledger) == gap + 2
    assert question_posted(dev_ledger, "Z-1")


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize("stored", ["other chain", "other address"])
def test_start_refuses_a_database_kept_for_another_signer(
    database: Database, dev_ledger: DevLedger, rpc: Rpc, clock: Clock, stored: str
) -> None:
    address, chain_id = dev_ledger.oracle.address, CHAIN_ID
    if stored == "other chain":
        chain_id = 1
    else:
        address = dev_ledger.brand_admin.address
    with database.transaction() as session:
        session.add(SignerState(address=address, chain_id=chain_id, next_nonce=0))
    queue_question(database, dev_ledger, "N-1")
    signer = make_signer(database, rpc, dev_ledger, clock)
    with pytest.raises(SignerError, match="chain 1" if stored == "other chain" else "belongs to"):
        signer.start()
    assert statuses(database) == [OutboxStatus.QUEUED]


def test_start_refuses_a_node_of_another_chain(database: Database, dev_ledger: DevLedger, rpc: Rpc) -> None:
    signer = Signer(database, rpc, dev_ledger.oracle, 1)
    with pytest.raises(SignerError, match="serves chain 31337"):
        signer.start()


def test_signatures_are_those_of_eth_account(database: Database, dev_ledger: DevLedger, rpc: Rpc) -> None:
    """The signer signs without eth-account's per-call key derivation; the bytes must not differ."""
    row_id = queue_question(database, dev_ledger, "E-1")
    signer = make_signer(database, rpc, dev_ledger, Clock())
    with database.transaction() as session:
        row = session.get(OutboxTx, row_id)
        assert row is not None
        attempt = signer._sign_row(session, row, 7, 3 * 10**9, 50 * 10**9, 0)
        expected = dev_ledger.oracle.sign_transaction(
            {
                "type": 2,
                "chainId": CHAIN_ID,
                "nonce": 7,
                "to": dev_ledger.ledger.address,
                "value": 0,
                "data": row.data,
                "gas": GAS_LIMIT,
                "maxPriorityFeePerGas": 3 * 10**9,
                "maxFeePerGas": 50 * 10**9,
            }
        )
    assert attempt.raw == "0x" + expected.raw_transaction.hex()
    assert attempt.tx_hash == "0x" + expected.hash.hex()

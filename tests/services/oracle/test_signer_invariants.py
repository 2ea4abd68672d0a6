"""Exactly once under any interleaving: Hypothesis drives the signer through queueing, steps, crashes
between signing and sending, lost broadcasts, restarts, mining, reorgs, transactions sent elsewhere
with the oracle's key, and time passing. Whatever the order, once the chain settles every row is
confirmed and the oracle account has exactly one transaction per row, plus the foreign ones and the
no-op fillers of nonces that a reorg freed."""

from __future__ import annotations

import os
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select

from peercare.chain.revert_reasons import RevertReasons
from peercare.chain.rpc import RpcUnavailable
from peercare.core.enums import OutboxKind
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, SignerState, TxAttempt
from peercare.oracle.signer import Signer
from tests.support.devchain import DevLedger
from tests.support.signer_support import (
    CHAIN_ID,
    Clock,
    LossyRpc,
    outbox,
    question_posted,
    queue_question,
    receipt_of,
    send_foreign_transaction,
    sent_count,
)

CONFIRMATIONS = 2  # reorgs below are 2 deep: never deeper than what the signer waits for
SETTLE_ROUNDS = 40


class ExactlyOnce(RuleBasedStateMachine):
    def __init__(self, database: Database, dev: DevLedger, rpc: LossyRpc, reasons: RevertReasons) -> None:
        super().__init__()
        self.database, self.dev, self.rpc, self.reasons = database, dev, rpc, reasons
        with database.transaction() as session:
            for table in (TxAttempt, OutboxTx, SignerState):
                session.execute(delete(table))
        dev.rpc("evm_mine")  # a reorg must never reach the fixture's snapshot block (it funds the pool)
        self.floor = dev.w3.eth.block_number
        self.snapshot = dev.snapshot()
        self.clock = Clock()
        self.before = sent_count(dev)
        self.tickets: list[str] = []
        self.foreign: set[str] = set()  # the same transaction may be sent again after a reorg
        self.signer = self.new_signer()
        self.signer.start()

    def new_signer(self) -> Signer:
        return Signer(
            self.database,
            self.rpc,
            self.dev.oracle,
            CHAIN_ID,
            confirmations=CONFIRMATIONS,
            max_in_flight=3,
            clock=self.clock,
            revert_reasons=self.reasons,
        )

    @rule(count=st.integers(1, 3))
    def queue(self, count: int) -> None:
        for _ in range(count):
            self.tickets.append(f"H-{len(self.tickets)}")
            queue_question(self.database, self.dev, self.tickets[-1])

    @rule()
    def step(self) -> None:
        self.signer.step()

    @rule(reached_node=st.booleans())
    def step_losing_the_broadcasts(self, reached_node: bool) -> None:
        self.rpc.lose = reached_node
        try:
            self.signer.step()
        except RpcUnavailable:
            pass
        finally:
            self.rpc.lose = None

    @rule()
    def crash_between_signing_and_sending(self) -> None:
        self.signer._sign_queued(self.dev.w3.eth.get_block("latest")["baseFeePerGas"])
        self.restart()

    @rule()
    def restart(self) -> None:
        self.signer = self.new_signer()
        self.signer.start()

    @rule(blocks=st.integers(1, 2))
    def mine(self, blocks: int) -> None:
        for _ in range(blocks):
            self.dev.rpc("evm_mine")

    @rule()
    def reorg(self) -> None:
        if self.dev.w3.eth.block_number - self.floor >= 2:
            self.dev.rpc("anvil_reorg", 2, [])

    @rule()
    def transaction_sent_elsewhere_with_our_key(self) -> None:
        self.foreign.add(send_foreign_transaction(self.dev, self.dev.oracle))

    @rule()
    def time_passes(self) -> None:
        self.clock.advance(31.0)

    @invariant()
    def one_nonce_per_row(self) -> None:
        with self.database.transaction() as session:
            held = list(
                session.scalars(
                    select(OutboxTx.nonce).where(
                        OutboxTx.status.in_([OutboxStatus.SENT, OutboxStatus.MINED, OutboxStatus.CONFIRMED])
                    )
                )
            )
        assert len(held) == len(set(held))

    @invariant()
    def never_more_transactions_than_rows(self) -> None:
        fillers = sum(row.kind == OutboxKind.NONCE_FILLER for row in outbox(self.database))
        assert sent_count(self.dev) - self.before <= len(self.tickets) + len(self.foreign) + fillers

    def teardown(self) -> None:
        try:
            self.settle()
            rows = outbox(self.database)
            questions = [row for row in rows if row.kind != OutboxKind.NONCE_FILLER]
            assert [row.status for row in questions] == [OutboxStatus.CONFIRMED] * len(self.tickets)
            # A filler took a nonce that a reorg freed (it dropped a foreign transaction); not needed
            # when the foreign transaction came back first.
            fillers = [row for row in rows if row.kind == OutboxKind.NONCE_FILLER]
            assert all(row.status in (OutboxStatus.CONFIRMED, OutboxStatus.FAILED) for row in fillers)
            foreign = sum(receipt_of(self.dev, tx) is not None for tx in self.foreign)  # a reorg may drop them
            used = len(self.tickets) + foreign + sum(row.status == OutboxStatus.CONFIRMED for row in fillers)
            assert sent_count(self.dev) - self.before == used
            assert all(question_posted(self.dev, ticket) for ticket in self.tickets)
        finally:
            self.dev.rpc("anvil_dropAllTransactions")  # evm_revert keeps the mempool
            self.dev.revert(self.snapshot)

    def settle(self) -> None:
        for _ in range(SETTLE_ROUNDS):
            self.clock.advance(31.0)  # rebroadcasts what a reorg dropped, fills a gap it left
            self.signer.step()
            if all(row.status in (OutboxStatus.CONFIRMED, OutboxStatus.FAILED) for row in outbox(self.database)):
                return
            self.dev.rpc("evm_mine")


def test_every_row_reaches_the_chain_exactly_once_whatever_happens(database: Database, dev_ledger: DevLedger) -> None:
    reasons = RevertReasons.from_deployment(dev_ledger.deployment)
    rpc = LossyRpc(dev_ledger.url, dev_ledger.mixed_mining)

    def machine() -> Any:
        return ExactlyOnce(database, dev_ledger, rpc, reasons)

    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=int(os.environ.get("PEERCARE_SIGNER_EXAMPLES", "4")),  # more for a soak run
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                database=None,
            ),
        )
    finally:
        rpc.close()

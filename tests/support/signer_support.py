"""The signer tests' chain helpers: the outbox and its attempts, queuing a question, a clock, a
lossy RPC."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable
from peercare.core.ledger_ids import question_id, short_string
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxTx, TxAttempt
from tests.support.devchain import DevLedger

CHAIN_ID = 31337

GAS_LIMIT = 400_000

SOURCE = short_string("zendesk")

QUESTION_OPEN = 1


class Clock:
    """An injectable wall clock that moves only when told."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LossyRpc(Rpc):
    """Loses the next batch of broadcasts: after the node got it (`reached=True`) or before.

    It also lets anvil settle before each batch of receipt lookups. With automine on, anvil mines
    what it was sent on its own schedule and serves a block's receipts a moment after it counts its
    nonces; the signer decides nothing on a missing receipt, but these tests count states after a
    fixed number of rounds, so each round must see everything the node was sent as mined."""

    SETTLE_S = 5.0

    def __init__(self, url: str, mixed_mining: bool) -> None:
        super().__init__(url, max_attempts=2, backoff_base_s=0.0)
        self.mixed_mining = mixed_mining  # anvil answers getAutomine false in mixed mining
        self.lose: bool | None = None  # None: deliver; True/False: lose after/before reaching the node

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any | RpcError]:
        if self.lose is not None and any(method == "eth_sendRawTransaction" for method, _ in calls):
            reached, self.lose = self.lose, None
            if reached:
                super().batch(calls)
            raise RpcUnavailable("connection reset", fault="connection error", attempts=2, url="test")
        lookups = [params[0] for method, params in calls if method == "eth_getTransactionReceipt"]
        if lookups:
            self._settle(lookups)
        return super().batch(calls)

    def _settle(self, hashes: list[str]) -> None:
        """Wait (at most `SETTLE_S`) until none of `hashes` waits in anvil's pool with the sender's next
        nonce (one behind a nonce gap cannot be mined) and each mined one has its receipt. With
        automine off, blocks come only from the test: there is nothing to wait for."""
        if not self.mixed_mining and not super().call("anvil_getAutomine", []):
            return
        deadline = time.monotonic() + self.SETTLE_S
        while time.monotonic() < deadline:
            found = [tx for tx in super().batch([("eth_getTransactionByHash", [h]) for h in hashes]) if tx]
            pooled = [tx for tx in found if isinstance(tx, dict) and tx.get("blockNumber") is None]
            mined = [tx["hash"] for tx in found if isinstance(tx, dict) and tx.get("blockNumber") is not None]
            counts = super().batch([("eth_getTransactionCount", [tx["from"], "latest"]) for tx in pooled])
            receipts = super().batch([("eth_getTransactionReceipt", [tx_hash]) for tx_hash in mined])
            minable = any(tx["nonce"] == count for tx, count in zip(pooled, counts, strict=True))
            if not minable and all(isinstance(r, dict) for r in receipts):
                return
            time.sleep(0.01)


def queue_question(database: Database, dev: DevLedger, ticket: str, *, gas_limit: int = GAS_LIMIT) -> int:
    """Queue brand 1's oracle posting ticket `ticket` as a question; returns the outbox id."""
    deadline = dev.w3.eth.get_block("latest")["timestamp"] + 30 * 86_400
    args = [dev.brand_id, SOURCE, ticket, short_string("billing"), 10**18, deadline, b"\x11" * 32]
    data = dev.ledger.encode_abi("postQuestion", args=args)
    with database.transaction() as session:
        row = OutboxTx(
            kind="post_question",
            brand_id=dev.brand_id,
            to=dev.ledger.address,
            data=data,
            gas_limit=gas_limit,
            created_at_ms=0,
        )
        session.add(row)
        session.flush()
        return row.id


def question_posted(dev: DevLedger, ticket: str) -> bool:
    qid = question_id(dev.brand_id, SOURCE, ticket)
    try:
        return bool(dev.ledger.functions.question(qid).call()[2] == QUESTION_OPEN)
    except Exception:  # the ledger reverts UnknownQuestion
        return False


def outbox(database: Database) -> list[OutboxTx]:
    with database.transaction() as session:
        return list(session.scalars(select(OutboxTx).order_by(OutboxTx.id)))


def attempts(database: Database, outbox_id: int) -> list[TxAttempt]:
    with database.transaction() as session:
        return list(session.scalars(select(TxAttempt).where(TxAttempt.outbox_id == outbox_id).order_by(TxAttempt.id)))


def sent_count(dev: DevLedger) -> int:
    """Transactions the oracle account has on chain: any double-send shows up here."""
    return int(dev.w3.eth.get_transaction_count(dev.oracle.address, "latest"))


def receipt_of(dev: DevLedger, tx_hash: str) -> Any:
    return dev.rpc("eth_getTransactionReceipt", tx_hash)


def send_foreign_transaction(dev: DevLedger, account: LocalAccount) -> str:
    """A transaction from the oracle's key that the signer knows nothing about."""
    w3 = dev.w3
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    tx = {
        "type": 2,
        "chainId": CHAIN_ID,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "to": account.address,
        "value": 1,  # never byte-identical to a filler (a 0-value self-transfer) with the same nonce
        "gas": 21_000,
        "maxFeePerGas": 2 * base_fee + 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.02)["status"] == 1
    return "0x" + tx_hash.hex()

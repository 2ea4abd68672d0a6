"""The signer: the one component that writes to the chain, from the persistent outbox, exactly once.

At most once: a row gets one nonce, assigned in the database transaction that also stores its
signed transaction; re-pricing re-signs only with that nonce, and a nonce can be used by one
transaction only. A row gets a new nonce only when its old one was used, `confirmations` blocks
deep, by a transaction that is none of its attempts (so none of them can ever be mined).
At least once: a signed transaction is committed before it is broadcast, and a SENT row is
broadcast again (after a restart, a lost response, an evicted mempool entry or a reorg) until one
of its attempts has a receipt on the canonical chain `confirmations` blocks deep.
Live: a row not mined after `replace_after_blocks` blocks and `replace_after_s` seconds is replaced
by a new attempt at its nonce with a higher fee (a node that swallowed or parked the old bytes
takes new ones), up to `max_fee_ceiling_wei`, where the operator is warned instead.
docs/signer.md has the whole argument, the nonce rules and the settings.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.dynamic_fee_transaction import DynamicFeeTransaction
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from peercare.chain.revert_reasons import RevertReasons, revert_data
from peercare.chain.rpc import Rpc, RpcError, RpcUnavailable
from peercare.core.enums import OutboxKind
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, SignerState, TxAttempt
from peercare.oracle.outbox import GAS_LIMITS

log = logging.getLogger("peercare.oracle.signer")

GWEI = 10**9
BATCH_LIMIT = 200  # JSON-RPC requests per HTTP request: nodes cap batches (geth: 1,000)
RETRY_BASE_S = 0.5
RETRY_MAX_S = 60.0

# Broadcast rejections, matched on the message lower-cased without spaces, underscores or dashes
# (geth, anvil, Nethermind and Besu spell them differently).
_ACCEPTED = ("alreadyknown", "alreadyimported", "knowntransaction", "alreadyexists")
_NONCE_USED = ("noncetoolow", "oldnonce")
# Refusals about the row itself (its gas limit or size), the same for every attempt and every
# retry: the row fails. Everything else (funds, fees, a full pool...) is retried with back-off.
_PERMANENT = (
    "intrinsicgastoolow",
    "intrinsicgastoohigh",  # anvil: gas limit above the block gas limit
    "exceedsblockgaslimit",
    "oversizeddata",
    "maxinitcodesizeexceeded",
)

Verdict = Literal["sent", "accepted", "nonce used", "permanent", "transient"]


class SignerError(RuntimeError):
    """Signing would be unsafe with this node, account or database: fix the configuration."""


@dataclass(frozen=True)
class Head:
    number: int
    hash: str
    base_fee: int


@dataclass
class _Outcome:
    """A state change decided from the chain, applied only if the row is still as it was read."""

    outbox_id: int
    expected: str
    nonce: int | None
    fields: dict[str, Any]
    message: str
    args: tuple[Any, ...] = ()
    resync_nonce: int | None = None  # requeue: next_nonce becomes at least this
    broadcast_now: bool = False


@dataclass
class _InFlight:
    row: OutboxTx
    attempts: list[TxAttempt] = field(default_factory=list)  # at the row's nonce, oldest first


def verdict(result: Any) -> Verdict:
    """What an `eth_sendRawTransaction` answer means for the row."""
    if not isinstance(result, RpcError):
        return "sent"
    message = re.sub(r"[\s_\-]", "", result.message.lower())
    if any(marker in message for marker in _ACCEPTED):
        return "accepted"
    if any(marker in message for marker in _NONCE_USED):
        return "nonce used"
    if any(marker in message for marker in _PERMANENT):
        return "permanent"
    return "transient"


def bumped(value: int) -> int:
    """`value` plus 12.5%, rounded up: above the 10% nodes require to replace a pending transaction."""
    return value + (value + 7) // 8


class Signer:
    """Signs and sends the outbox's rows with one account, tracks them to finality. One thread."""

    def __init__(
        self,
        database: Database,
        rpc: Rpc,
        account: LocalAccount,
        chain_id: int,
        *,
        confirmations: int = 2,
        max_in_flight: int = 64,
        priority_fee_wei: int = GWEI,
        reprice_after_s: float = 30.0,
        replace_after_blocks: int = 3,
        replace_after_s: float = 12.0,
        max_fee_ceiling_wei: int = 500 * GWEI,
        clock: Callable[[], float] = time.time,
        revert_reasons: RevertReasons | None = None,
    ) -> None:
        if confirmations < 0 or max_in_flight < 1 or priority_fee_wei < 0 or reprice_after_s <= 0:
            raise ValueError("confirmations >= 0, max_in_flight >= 1, priority_fee_wei >= 0, reprice_after_s > 0")
        if replace_after_blocks < 1 or replace_after_s <= 0 or max_fee_ceiling_wei <= priority_fee_wei:
            raise ValueError("replace_after_blocks >= 1, replace_after_s > 0, max_fee_ceiling_wei > priority_fee_wei")
        self._db = database
        self._rpc = rpc
        self.address = to_checksum_address(account.address)
        # Derived once: eth-account re-derives the public key on every signature, half its cost.
        self._key = PrivateKey(bytes(account.key))
        self.chain_id = chain_id
        self.confirmations = confirmations
        self.max_in_flight = max_in_flight
        self.priority_fee_wei = priority_fee_wei
        self.reprice_after_s = reprice_after_s
        self.replace_after_blocks = replace_after_blocks
        self.replace_after_s = replace_after_s
        self.max_fee_ceiling_wei = max_fee_ceiling_wei
        self._clock = clock
        self._reasons = revert_reasons or RevertReasons()
        self._started = False
        # In memory only: after a restart every SENT row is simply broadcast again.
        self._next_broadcast_at: dict[int, float] = {}
        self._failures: dict[int, int] = {}
        self._gap_since: float | None = None
        # Rows whose nonce the last round saw used with no receipt for any attempt: (row id, nonce).
        self._used_elsewhere: set[tuple[int, int]] = set()
        # The head when each in-flight attempt was first seen in flight (after a restart: the head
        # then, which only delays a replacement), and the attempts already reported at the ceiling.
        self._seen_at_block: dict[str, int] = {}
        self._at_ceiling: set[str] = set()

    def __repr__(self) -> str:
        return f"Signer({self.address}, chain {self.chain_id})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Check the node and the database belong to this account and chain, rebroadcast what was
        signed but maybe never sent, and take the chain's nonce if the account was used elsewhere."""
        node_chain = _int(self._rpc.call("eth_chainId", []))
        if node_chain != self.chain_id:
            raise SignerError(f"the node serves chain {node_chain}, the signer is configured for chain {self.chain_id}")
        created = self._claim_state(self._pending_count())
        self._next_broadcast_at.clear()
        self._failures.clear()
        if not created:
            self._broadcast_due(self._head())
            self._adopt_chain_nonce(self._pending_count())
        self._started = True

    def step(self) -> int:
        """One round: receipts, re-pricing, signing queued rows, broadcasting. Returns work done."""
        if not self._started:
            self.start()
        head = self._head()
        work = self._track(head)
        work += self._replace(head)
        work += self._sign_queued(head.base_fee)
        return work + self._broadcast_due(head)

    # ------------------------------------------------------------------ nonce state

    def _claim_state(self, pending: int) -> bool:
        """Store (address, chain id) on first start; refuse a database kept for another signer."""
        with self._db.transaction() as session:
            states = list(session.scalars(select(SignerState)))
            for state in states:
                if state.address.lower() != self.address.lower():
                    raise SignerError(
                        f"the database's signer state belongs to {state.address}, not {self.address}: "
                        "one database serves one signing account"
                    )
                if state.chain_id != self.chain_id:
                    raise SignerError(
                        f"the database's signer state is for chain {state.chain_id}, not {self.chain_id}: "
                        "its nonces and transactions mean nothing on this chain"
                    )
            if states:
                return False
            session.add(SignerState(address=self.address, chain_id=self.chain_id, next_nonce=pending))
        log.info("signer %s on chain %d: first start, next nonce %d", self.address, self.chain_id, pending)
        return True

    def _adopt_chain_nonce(self, chain_count: int) -> None:
        with self._db.transaction() as session:
            state = self._locked_state(session)
            if chain_count > state.next_nonce:
                log.info(
                    "signer %s: the account was used elsewhere, next nonce %d -> %d",
                    self.address,
                    state.next_nonce,
                    chain_count,
                )
                state.next_nonce = chain_count

    def _locked_state(self, session: Session) -> SignerState:
        state = session.get(SignerState, self.address, with_for_update=True)
        if state is None:
            raise SignerError("no signer state: start() the signer first")
        return state

    # ------------------------------------------------------------------ (1) receipts

    def _track(self, head: Head) -> int:
        with self._db.transaction() as session:
            in_flight = self._in_flight(session)
            landed = list(
                session.scalars(
                    select(OutboxTx)
                    .where(
                        or_(
                            OutboxTx.status == OutboxStatus.MINED,
                            # A reverted row is re-checked until final: a reorg may replay it elsewhere.
                            and_(
                                OutboxTx.status == OutboxStatus.FAILED,
                                OutboxTx.block_number > head.number - self.confirmations,
                            ),
                        )
                    )
                    .order_by(OutboxTx.id)
                )
            )
        if not in_flight and not landed:
            return 0
        hashes = [attempt.tx_hash for flight in in_flight for attempt in flight.attempts]
        numbers = sorted({row.block_number for row in landed if row.block_number is not None})
        calls: list[tuple[str, list[Any]]] = [("eth_getTransactionReceipt", [tx_hash]) for tx_hash in hashes]
        calls += [("eth_getBlockByNumber", [hex(number), False]) for number in numbers]
        safe = head.number - self.confirmations
        if in_flight:
            calls.append(("eth_getTransactionCount", [self.address, "pending"]))
            if safe >= 0:
                calls.append(("eth_getTransactionCount", [self.address, hex(safe)]))
        results = self._batch(calls)
        receipts = dict(zip(hashes, results[: len(hashes)], strict=True))
        blocks = dict(zip(numbers, results[len(hashes) : len(hashes) + len(numbers)], strict=True))
        counts = [_int_or_none(count) for count in results[len(hashes) + len(numbers) :]] + [None, None]
        pending, safe_count = counts[0], counts[1]
        suspected = self._used_elsewhere
        self._used_elsewhere = set()
        outcomes = [
            outcome
            for flight in in_flight
            if (outcome := self._receipt_outcome(flight, receipts, safe_count, pending, suspected)) is not None
        ]
        outcomes += [outcome for row in landed if (outcome := self._landed_outcome(row, blocks, head)) is not None]
        work = self._apply(outcomes)
        if not outcomes:
            work += self._fill_gap(in_flight, landed, pending, head.base_fee)
        return work

    def _fill_gap(
        self, in_flight: Sequence[_InFlight], landed: Sequence[OutboxTx], pending: int | None, base_fee: int
    ) -> int:
        """Nonces below our lowest SENT one that the chain has not used and no row of ours holds
        (a foreign transaction that a reorg dropped, say) block every row behind them: once the gap
        has lasted `reprice_after_s`, no-op transactions fill it."""
        held = {row.nonce for row in landed}
        lowest = min((flight.row.nonce for flight in in_flight if flight.row.nonce is not None), default=None)
        missing = [] if pending is None or lowest is None else [n for n in range(pending, lowest) if n not in held]
        if not missing:
            self._gap_since = None
            return 0
        now = self._clock()
        if self._gap_since is None:
            self._gap_since = now
            log.warning(
                "signer %s: nonces %d..%d are unused and not ours; waiting", self.address, missing[0], missing[-1]
            )
            return 0
        if now - self._gap_since < self.reprice_after_s:
            return 0
        if len(missing) > self.max_in_flight:
            log.error(
                "signer %s: %d nonces below our lowest in-flight one (%d) are unused: was the chain reset? "
                "not filling a gap that large",
                self.address,
                len(missing),
                lowest,
            )
            return 0
        now_ms = self._now_ms()
        with self._db.transaction() as session:
            for nonce in missing:
                filler = self._add_filler(session, nonce, base_fee, now_ms)
                log.info("outbox %d (%s) fills unused nonce %d: tx %s", filler.id, filler.kind, nonce, filler.tx_hash)
        self._gap_since = None
        return len(missing)

    def _receipt_outcome(
        self,
        flight: _InFlight,
        receipts: dict[str, Any],
        safe_count: int | None,
        pending: int | None,
        suspected: set[tuple[int, int]],
    ) -> _Outcome | None:
        row = flight.row
        replies = [receipts[attempt.tx_hash] for attempt in flight.attempts]
        if any(isinstance(reply, RpcError) for reply in replies):
            return None  # unknown this round: decide nothing
        receipt = next((reply for reply in replies if reply), None)
        if receipt is not None:
            return self._mined_outcome(row, receipt)
        if safe_count is None or pending is None or row.nonce is None or row.nonce >= safe_count:
            return None
        # The nonce is used, `confirmations` deep, and no attempt had a receipt. A node may answer a
        # batch's calls in any order, and anvil counts a mined block's nonces before it serves its
        # receipts, so this alone does not prove the nonce went elsewhere: decide only when the
        # previous round saw the same, so this round's receipt lookups came after a count that
        # already showed the nonce used.
        if (row.id, row.nonce) not in suspected:
            self._used_elsewhere.add((row.id, row.nonce))
            return None
        # The nonce is used, `confirmations` deep, and by none of our attempts: none can ever be mined.
        if row.kind == OutboxKind.NONCE_FILLER:
            return _Outcome(
                row.id,
                OutboxStatus.SENT,
                row.nonce,
                {"status": OutboxStatus.FAILED, "error": f"nonce {row.nonce} was used by another transaction"},
                "outbox %d (%s): nonce %d used elsewhere, filler not needed",
                (row.id, row.kind, row.nonce),
            )
        return _Outcome(
            row.id,
            OutboxStatus.SENT,
            row.nonce,
            {"status": OutboxStatus.QUEUED, "nonce": None, "tx_hash": None, "sent_at_ms": None},
            "outbox %d (%s) resynced: nonce %d was used by a transaction not ours (tx %s); queued again",
            (row.id, row.kind, row.nonce, row.tx_hash),
            resync_nonce=pending,
        )

    def _mined_outcome(self, row: OutboxTx, receipt: dict[str, Any]) -> _Outcome:
        fields: dict[str, Any] = {
            "tx_hash": receipt["transactionHash"],
            "block_number": _int(receipt["blockNumber"]),
            "block_hash": receipt["blockHash"],
            "gas_used": _int(receipt["gasUsed"]),
        }
        if _int(receipt["status"]) == 1:
            fields["status"] = OutboxStatus.MINED
            message = "outbox %d (%s) mined in block %d: tx %s"
            return _Outcome(
                row.id,
                OutboxStatus.SENT,
                row.nonce,
                fields,
                message,
                (row.id, row.kind, fields["block_number"], fields["tx_hash"]),
            )
        fields["status"] = OutboxStatus.FAILED
        fields["error"] = self._revert_reason(row, receipt)
        message = "outbox %d (%s) failed in block %d: tx %s reverted with %s"
        args = (row.id, row.kind, fields["block_number"], fields["tx_hash"], fields["error"])
        return _Outcome(row.id, OutboxStatus.SENT, row.nonce, fields, message, args)

    def _landed_outcome(self, row: OutboxTx, blocks: dict[int, Any], head: Head) -> _Outcome | None:
        assert row.block_number is not None
        block = blocks.get(row.block_number)
        if isinstance(block, RpcError):
            return None
        if block is None or block.get("hash") != row.block_hash:
            # Its block left the canonical chain: the transaction is pending again, or dropped.
            fields = {"status": OutboxStatus.SENT, "block_number": None, "block_hash": None, "gas_used": None}
            if row.status == OutboxStatus.FAILED:
                fields["error"] = None
            message = "outbox %d (%s) reorged out of block %d: tx %s, rebroadcasting"
            args = (row.id, row.kind, row.block_number, row.tx_hash)
            return _Outcome(row.id, row.status, row.nonce, fields, message, args, broadcast_now=True)
        if row.status == OutboxStatus.MINED and head.number - row.block_number >= self.confirmations:
            message = "outbox %d (%s) confirmed in block %d: tx %s"
            args = (row.id, row.kind, row.block_number, row.tx_hash)
            return _Outcome(row.id, row.status, row.nonce, {"status": OutboxStatus.CONFIRMED}, message, args)
        return None

    def _apply(self, outcomes: Sequence[_Outcome]) -> int:
        if not outcomes:
            return 0
        applied = 0
        with self._db.transaction() as session:
            state = self._locked_state(session) if any(o.resync_nonce is not None for o in outcomes) else None
            ids = [outcome.outbox_id for outcome in outcomes]
            rows = {row.id: row for row in session.scalars(select(OutboxTx).where(OutboxTx.id.in_(ids)))}
            for outcome in outcomes:
                row = rows.get(outcome.outbox_id)
                if row is None or row.status != outcome.expected or row.nonce != outcome.nonce:
                    continue  # changed since it was read
                for name, value in outcome.fields.items():
                    setattr(row, name, value)
                if state is not None and outcome.resync_nonce is not None:
                    state.next_nonce = max(state.next_nonce, outcome.resync_nonce)
                log.info(outcome.message, *outcome.args)
                applied += 1
        for outcome in outcomes:
            if outcome.broadcast_now or outcome.fields.get("status") != OutboxStatus.SENT:
                self._next_broadcast_at.pop(outcome.outbox_id, None)
                self._failures.pop(outcome.outbox_id, None)
        return applied

    def _revert_reason(self, row: OutboxTx, receipt: dict[str, Any]) -> str:
        """Replay the call at its block (then at the block before) to read the revert data that a
        receipt does not carry."""
        block = _int(receipt["blockNumber"])
        call = {"from": self.address, "to": row.to, "data": row.data, "gas": hex(row.gas_limit)}
        tags = [hex(block), hex(block - 1)] if block > 0 else [hex(block)]
        try:
            replies = self._rpc.batch([("eth_call", [call, tag]) for tag in tags])
        except (RpcUnavailable, RpcError):  # the reason is a courtesy: the receipt already decided
            replies = []
        for reply in replies:
            if isinstance(reply, RpcError):
                data = revert_data(reply.data)
                if data is not None and len(data) > 2:
                    return self._reasons.describe(data)
        if _int(receipt["gasUsed"]) >= row.gas_limit:
            return f"out of gas (used all {row.gas_limit})"
        return "reverted"

    # ------------------------------------------------------------------ (2) replacement

    def _replace(self, head: Head) -> int:
        """Re-sign, at the same nonce and with a higher fee, every SENT row whose newest attempt has
        waited `replace_after_s` and either `replace_after_blocks` blocks or is priced below the base
        fee. Only one attempt per nonce can ever be mined, so a replacement never writes twice; it
        is what gets a transaction out of a node that swallowed it or parked it for good."""
        now_ms = self._now_ms()
        cutoff_ms = now_ms - int(self.replace_after_s * 1000)
        replaced = 0
        with self._db.transaction() as session:
            in_flight = self._in_flight(session)
            current = {flight.attempts[-1].tx_hash for flight in in_flight}
            self._seen_at_block = {h: n for h, n in self._seen_at_block.items() if h in current}
            self._at_ceiling &= current
            for flight in in_flight:
                latest, row = flight.attempts[-1], flight.row
                seen_at = self._seen_at_block.setdefault(latest.tx_hash, head.number)
                waited_blocks = head.number - seen_at
                underpriced = latest.max_fee_per_gas < head.base_fee
                if latest.created_at_ms > cutoff_ms or (waited_blocks < self.replace_after_blocks and not underpriced):
                    continue
                assert row.nonce is not None
                tip = max(bumped(latest.max_priority_fee_per_gas), self.priority_fee_wei)
                max_fee = min(max(bumped(latest.max_fee_per_gas), 2 * head.base_fee + tip), self.max_fee_ceiling_wei)
                if max_fee < bumped(latest.max_fee_per_gas):  # nodes refuse a bump under 10%
                    self._warn_at_ceiling(row, latest, waited_blocks, head)
                    continue
                attempt = self._sign_row(session, row, row.nonce, min(tip, max_fee), max_fee, now_ms)
                log.info(
                    "outbox %d (%s) replaced: nonce %d not mined after %d blocks and %.0f s, "
                    "max fee %d -> %d wei (base fee %d), tx %s -> %s",
                    row.id,
                    row.kind,
                    row.nonce,
                    waited_blocks,
                    (now_ms - latest.created_at_ms) / 1000,
                    latest.max_fee_per_gas,
                    max_fee,
                    head.base_fee,
                    latest.tx_hash,
                    attempt.tx_hash,
                )
                self._seen_at_block[attempt.tx_hash] = head.number
                self._next_broadcast_at.pop(row.id, None)
                replaced += 1
        return replaced

    def _warn_at_ceiling(self, row: OutboxTx, latest: TxAttempt, waited_blocks: int, head: Head) -> None:
        if latest.tx_hash in self._at_ceiling:
            return
        self._at_ceiling.add(latest.tx_hash)
        log.warning(
            "outbox %d (%s): nonce %d not mined after %d blocks, and its max fee %d wei is at the ceiling "
            "(PEERCARE_MAX_FEE_CEILING_WEI=%d, base fee %d): not replaced; every later write waits behind it. "
            "Raise the ceiling or check the node",
            row.id,
            row.kind,
            row.nonce,
            waited_blocks,
            latest.max_fee_per_gas,
            self.max_fee_ceiling_wei,
            head.base_fee,
        )

    # ------------------------------------------------------------------ (3) signing and sending

    def _sign_queued(self, base_fee: int) -> int:
        """Assign consecutive nonces to the oldest queued rows, sign them and store the signed
        transactions, all in one database transaction. Broadcasting comes after the commit."""
        now_ms = self._now_ms()
        max_fee = min(2 * base_fee + self.priority_fee_wei, self.max_fee_ceiling_wei)
        tip = min(self.priority_fee_wei, max_fee)
        with self._db.transaction() as session:
            state = self._locked_state(session)
            sent = session.scalar(
                select(func.count()).select_from(OutboxTx).where(OutboxTx.status == OutboxStatus.SENT)
            )
            room = self.max_in_flight - (sent or 0)
            if room <= 0:
                return 0
            rows = list(
                session.scalars(
                    select(OutboxTx).where(OutboxTx.status == OutboxStatus.QUEUED).order_by(OutboxTx.id).limit(room)
                )
            )
            for row in rows:
                self._sign_row(session, row, state.next_nonce, tip, max_fee, now_ms)
                row.status, row.nonce, row.sent_at_ms = OutboxStatus.SENT, state.next_nonce, now_ms
                state.next_nonce += 1
        return len(rows)

    def _sign_row(self, session: Session, row: OutboxTx, nonce: int, tip: int, max_fee: int, now_ms: int) -> TxAttempt:
        transaction = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to_checksum_address(row.to),
            "value": 0,
            "data": row.data,
            "gas": row.gas_limit,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": max_fee,
            "accessList": [],
        }
        # eth-account's own path, without re-deriving the key (tests pin equality with sign_transaction).
        typed = DynamicFeeTransaction.from_dict(transaction)
        signature = self._key.sign_msg_hash(typed.hash())
        typed.dictionary.update(v=signature.v, r=signature.r, s=signature.s)
        raw = bytes([DynamicFeeTransaction.transaction_type]) + typed.payload()
        attempt = TxAttempt(
            outbox_id=row.id,
            nonce=nonce,
            tx_hash="0x" + keccak(raw).hex(),  # typed.hash() is the hash that is signed
            raw="0x" + raw.hex(),
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=tip,
            created_at_ms=now_ms,
        )
        session.add(attempt)
        row.tx_hash = attempt.tx_hash
        return attempt

    def _broadcast_due(self, head: Head) -> int:
        """Send the latest attempt of every SENT row that is due: new, repriced, reorged out, or
        not seen mined for `reprice_after_s` (the node may have dropped it). Lowest nonce first."""
        now = self._clock()
        with self._db.transaction() as session:
            due = [
                flight for flight in self._in_flight(session) if self._next_broadcast_at.get(flight.row.id, 0.0) <= now
            ]
        if not due:
            return 0
        due.sort(key=lambda flight: flight.row.nonce or 0)
        results = self._batch([("eth_sendRawTransaction", [flight.attempts[-1].raw]) for flight in due])
        refused: list[tuple[int, int, str]] = []
        for flight, result in zip(due, results, strict=True):
            row, attempt = flight.row, flight.attempts[-1]
            outcome = verdict(result)
            log.debug(
                "outbox %d (%s) broadcast: nonce %d, tx %s: %s",
                row.id,
                row.kind,
                attempt.nonce,
                attempt.tx_hash,
                outcome,
            )
            if outcome == "permanent":
                assert isinstance(result, RpcError)
                refused.append((row.id, attempt.nonce, result.message))
            elif outcome == "transient":
                assert isinstance(result, RpcError)
                failures = self._failures[row.id] = self._failures.get(row.id, 0) + 1
                delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** min(failures - 1, 16))
                self._next_broadcast_at[row.id] = now + delay
                log.warning(
                    "outbox %d (%s) broadcast refused: %s (tx %s); retry %d in %.1f s",
                    row.id,
                    row.kind,
                    result.message,
                    attempt.tx_hash,
                    failures,
                    delay,
                )
            else:
                # Sent, known, or nonce used (by this row or not: the receipts tell, see _track).
                self._failures.pop(row.id, None)
                self._next_broadcast_at[row.id] = now + self.reprice_after_s
        if refused:
            self._fail_refused(refused, head.base_fee)
        return len(due)

    def _fail_refused(self, refused: Sequence[tuple[int, int, str]], base_fee: int) -> None:
        """A row the node will never take fails; a no-op transaction takes its nonce, or every
        later nonce would wait behind the gap forever."""
        now_ms = self._now_ms()
        with self._db.transaction() as session:
            for outbox_id, nonce, message in refused:
                row = session.get(OutboxTx, outbox_id)
                if row is None or row.status != OutboxStatus.SENT or row.nonce != nonce:
                    continue
                row.status, row.error = OutboxStatus.FAILED, f"refused by the node: {message}"
                filler = self._add_filler(session, nonce, base_fee, now_ms)
                log.info(
                    "outbox %d (%s) failed: refused by the node (%s); filler outbox %d takes nonce %d, tx %s",
                    row.id,
                    row.kind,
                    message,
                    filler.id,
                    nonce,
                    filler.tx_hash,
                )
                self._next_broadcast_at.pop(outbox_id, None)
                self._failures.pop(outbox_id, None)

    def _add_filler(self, session: Session, nonce: int, base_fee: int, now_ms: int) -> OutboxTx:
        filler = OutboxTx(
            kind=OutboxKind.NONCE_FILLER,  # written here, not by `outbox.enqueue`: born signed, at its nonce
            brand_id=None,
            to=self.address,
            data="0x",
            gas_limit=GAS_LIMITS[OutboxKind.NONCE_FILLER],
            status=OutboxStatus.SENT,
            nonce=nonce,
            created_at_ms=now_ms,
            sent_at_ms=now_ms,
        )
        session.add(filler)
        session.flush()
        tip = self.priority_fee_wei
        self._sign_row(session, filler, nonce, tip, 2 * base_fee + tip, now_ms)
        return filler

    # ------------------------------------------------------------------ helpers

    def _in_flight(self, session: Session) -> list[_InFlight]:
        """SENT rows, in id order, with their attempts at their current nonce, oldest first."""
        pairs = session.execute(
            select(OutboxTx, TxAttempt)
            .join(TxAttempt, and_(TxAttempt.outbox_id == OutboxTx.id, TxAttempt.nonce == OutboxTx.nonce))
            .where(OutboxTx.status == OutboxStatus.SENT)
            .order_by(OutboxTx.id, TxAttempt.id)
        )
        flights: dict[int, _InFlight] = {}
        for row, attempt in pairs:
            flights.setdefault(row.id, _InFlight(row)).attempts.append(attempt)
        return list(flights.values())

    def _head(self) -> Head:
        block = self._rpc.call("eth_getBlockByNumber", ["latest", False])
        if block.get("baseFeePerGas") is None:
            raise SignerError("the chain has no EIP-1559 base fee: the signer sends type-2 transactions only")
        return Head(number=_int(block["number"]), hash=block["hash"], base_fee=_int(block["baseFeePerGas"]))

    def _pending_count(self) -> int:
        return _int(self._rpc.call("eth_getTransactionCount", [self.address, "pending"]))

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        results: list[Any] = []
        for start in range(0, len(calls), BATCH_LIMIT):
            results += self._rpc.batch(calls[start : start + BATCH_LIMIT])
        return results

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _int_or_none(value: Any) -> int | None:
    return None if isinstance(value, RpcError) or value is None else _int(value)

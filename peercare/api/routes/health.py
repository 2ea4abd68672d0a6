"""`GET /api/v1/health`: whether the chain, the content store and the database answer, whether
chain writes flow (the signer's unmined transactions, its in-flight cap, the chain's nonce, the fee
ceiling) and how far the indexer is behind the chain's head, with the reasons in words.

Everything comes from the database and the chain, never from a signer's memory: several processes
may serve the API while only one of them runs the signer. `read_writes` and `read_chain` are shared
with `GET /metrics` (peercare/api/metrics.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session

from peercare.api.context import ApiContext
from peercare.api.schemas.health import Check, Health, Writes
from peercare.api.security import Context
from peercare.chain.rpc import Rpc, RpcError
from peercare.config import Settings
from peercare.content.embedded import EmbeddedStore
from peercare.content.ipfs import IpfsStore
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, SignerState, TxAttempt
from peercare.oracle.signer import bumped

#: More blocks behind the head than this (beyond the confirmations it waits for) is "degraded".
LAG_DEGRADED = 20
#: Rows named in the fee-ceiling reason; the rest are counted.
NAMED_ROWS = 3
router = APIRouter(prefix="/api/v1", tags=["health"])


@dataclass(frozen=True)
class Unmined:
    """A SENT outbox row."""

    outbox_id: int
    kind: str
    sent_at_ms: int  # when its nonce was first signed
    max_fee_per_gas: int  # of its newest transaction


@dataclass(frozen=True)
class WritesInDatabase:
    in_flight: int
    oldest: Unmined | None
    at_fee_ceiling: list[Unmined]  # in id order
    signer_address: str | None
    next_nonce: int | None
    indexed_block: int | None


def read_writes(session: Session, fee_ceiling_wei: int) -> WritesInDatabase:
    """Four small queries: SENT rows are read through the (status, id) index, their newest
    transactions through tx_attempts' outbox_id index, and both other tables hold one row."""
    sent = OutboxTx.status == OutboxStatus.SENT
    in_flight = session.scalar(select(func.count()).select_from(OutboxTx).where(sent)) or 0
    oldest_row = session.execute(
        select(OutboxTx.id, OutboxTx.kind, func.coalesce(OutboxTx.sent_at_ms, OutboxTx.created_at_ms))
        .where(sent)
        .order_by(func.coalesce(OutboxTx.sent_at_ms, OutboxTx.created_at_ms), OutboxTx.id)
        .limit(1)
    ).first()
    # Each SENT row's newest attempt at its nonce. Amounts are decimal text: compared in Python.
    newest = (
        select(func.max(TxAttempt.id))
        .join(OutboxTx, and_(TxAttempt.outbox_id == OutboxTx.id, TxAttempt.nonce == OutboxTx.nonce))
        .where(sent)
        .group_by(TxAttempt.outbox_id)
    )
    fees = session.execute(
        select(OutboxTx.id, OutboxTx.kind, OutboxTx.sent_at_ms, TxAttempt.max_fee_per_gas)
        .join(TxAttempt, TxAttempt.outbox_id == OutboxTx.id)
        .where(TxAttempt.id.in_(newest))
        .order_by(OutboxTx.id)
    ).all()
    max_fee = {outbox_id: fee for outbox_id, _, _, fee in fees}
    oldest = None
    if oldest_row is not None:
        oldest = Unmined(oldest_row[0], oldest_row[1], oldest_row[2], max_fee.get(oldest_row[0], 0))
    # The signer raises a fee by 12.5% at least (nodes want 10%): above the ceiling it stops.
    at_ceiling = [
        Unmined(outbox_id, kind, sent_at_ms or 0, fee)
        for outbox_id, kind, sent_at_ms, fee in fees
        if bumped(fee) > fee_ceiling_wei
    ]
    state = session.scalars(select(SignerState).limit(1)).first()
    cursor = session.get(ix.IndexerCursor, 1)
    return WritesInDatabase(
        in_flight=in_flight,
        oldest=oldest,
        at_fee_ceiling=at_ceiling,
        signer_address=None if state is None else state.address,
        next_nonce=None if state is None else state.next_nonce,
        indexed_block=None if cursor is None else cursor.block_number,
    )


def read_chain(url: str, signer_address: str | None) -> tuple[int, int | None]:
    """The head block and the signer's transaction count at it (None without a signer yet), in one
    request. Raises when the node does not answer."""
    calls: list[tuple[str, list[object]]] = [("eth_blockNumber", [])]
    if signer_address is not None:
        calls.append(("eth_getTransactionCount", [signer_address, "latest"]))
    with Rpc(url, timeout_s=2.0, max_attempts=1) as rpc:
        replies = rpc.batch(calls)
    numbers = []
    for reply in replies:
        if isinstance(reply, RpcError):
            raise reply
        numbers.append(int(reply, 16))
    return numbers[0], (numbers[1] if len(numbers) > 1 else None)


def degradations(
    settings: Settings, writes: WritesInDatabase, head: int | None, chain_nonce: int | None, now_ms: int
) -> list[str]:
    """Why writes or indexing do not flow, in words; empty when they do."""
    reasons = []
    oldest = writes.oldest
    age_s = None if oldest is None else max(0.0, (now_ms - oldest.sent_at_ms) / 1000)
    stalled = oldest is not None and age_s is not None and age_s > settings.stall_after_s
    if stalled:
        assert oldest is not None and age_s is not None
        reasons.append(
            f"oldest unmined transaction (outbox {oldest.outbox_id}, {oldest.kind}) waiting {age_s:.0f} s, "
            f"over the {settings.stall_after_s:g} s threshold"
        )
    if writes.in_flight >= settings.max_in_flight:
        reasons.append(
            f"the signer is at its in-flight cap: {writes.in_flight} transactions sent and not mined "
            f"(max_in_flight {settings.max_in_flight}); new writes wait"
        )
    if stalled and chain_nonce is not None and writes.next_nonce is not None and chain_nonce < writes.next_nonce:
        reasons.append(
            f"the chain's nonce lags the signer's: the chain has mined {chain_nonce} transactions of "
            f"{writes.signer_address}, the signer's next nonce is {writes.next_nonce} "
            f"({writes.next_nonce - chain_nonce} not mined)"
        )
    if writes.at_fee_ceiling:
        rows = writes.at_fee_ceiling
        named = ", ".join(f"outbox {row.outbox_id} ({row.kind})" for row in rows[:NAMED_ROWS])
        more = f" and {len(rows) - NAMED_ROWS} more" if len(rows) > NAMED_ROWS else ""
        fee = max(row.max_fee_per_gas for row in rows)
        offers, it = ("offers", "it") if len(rows) == 1 else ("offer up to", "them")
        reasons.append(
            f"at the fee ceiling: {named}{more} {offers} {fee} wei per gas, and a replacement would exceed "
            f"max_fee_ceiling_wei {settings.max_fee_ceiling_wei}: the signer can no longer replace {it}"
        )
    if writes.indexed_block is None:
        reasons.append("the indexer has not indexed any block yet")
    elif head is not None and head - writes.indexed_block > settings.confirmations + LAG_DEGRADED:
        reasons.append(
            f"the indexer is {head - writes.indexed_block} blocks behind the chain's head "
            f"(allowed: {settings.confirmations} confirmations + {LAG_DEGRADED})"
        )
    return reasons


def health_of(context: ApiContext, now_ms: int | None = None) -> Health:
    settings = context.settings
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    writes: WritesInDatabase | None = None
    try:
        with context.database.read() as session:
            session.execute(text("SELECT 1"))
            writes = read_writes(session, settings.max_fee_ceiling_wei)
        database = Check(ok=True, detail=context.database.engine.dialect.name)
    except Exception as exc:
        database = Check(ok=False, detail=f"unreachable: {type(exc).__name__}"[:300])
    head: int | None = None
    chain_nonce: int | None = None
    try:
        head, chain_nonce = read_chain(settings.effective_rpc_url, None if writes is None else writes.signer_address)
        chain = Check(ok=True, detail=f"block {head}")
    except Exception as exc:
        chain = Check(ok=False, detail=f"unreachable: {type(exc).__name__}: {exc}"[:300])
    content = _content_check(context)
    indexed = None if writes is None else writes.indexed_block
    lag = None if head is None or indexed is None else max(0, head - indexed)
    checks = (("chain", chain), ("content store", content), ("database", database))
    down = [f"{name} {check.detail}" for name, check in checks if not check.ok]
    reasons = down + ([] if writes is None else degradations(settings, writes, head, chain_nonce, now_ms))
    status: Literal["ok", "degraded", "down"] = "down" if down else "degraded" if reasons else "ok"
    return Health(
        status=status,
        reasons=reasons,
        chain=chain,
        content_store=content,
        database=database,
        head_block=head,
        indexed_block=indexed,
        indexer_lag_blocks=lag,
        writes=None if writes is None else _writes_report(settings, writes, chain_nonce, now_ms),
    )


def _writes_report(settings: Settings, writes: WritesInDatabase, chain_nonce: int | None, now_ms: int) -> Writes:
    oldest = writes.oldest
    return Writes(
        in_flight=writes.in_flight,
        max_in_flight=settings.max_in_flight,
        oldest_unmined_outbox_id=None if oldest is None else oldest.outbox_id,
        oldest_unmined_kind=None if oldest is None else oldest.kind,
        oldest_unmined_age_s=None if oldest is None else round(max(0.0, (now_ms - oldest.sent_at_ms) / 1000), 3),
        signer_address=writes.signer_address,
        signer_next_nonce=writes.next_nonce,
        chain_nonce=chain_nonce,
        at_fee_ceiling=len(writes.at_fee_ceiling),
    )


def _content_check(context: ApiContext) -> Check:
    details = []
    for store in context.vault.stores:
        try:
            if isinstance(store, IpfsStore):
                details.append(f"IPFS {store.version()}")
            elif isinstance(store, EmbeddedStore):
                if not os.access(store.blocks, os.W_OK):
                    raise OSError(f"{store.blocks} is not writable")
                details.append("embedded")
            else:
                details.append(type(store).__name__)
        except Exception as exc:
            return Check(ok=False, detail=f"unreachable: {type(exc).__name__}: {exc}"[:300])
    return Check(ok=True, detail=", ".join(details))


@router.get(
    "/health",
    response_model=Health,
    summary="Chain, content store and database reachable; writes flowing; indexer lag in blocks",
    responses={503: {"model": Health, "description": "something the service needs is unreachable"}},
)
def health(context: Context) -> Health | JSONResponse:
    report = health_of(context)
    if report.status == "down":
        return JSONResponse(report.model_dump(), status_code=503)
    return report

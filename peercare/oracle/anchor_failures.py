"""When a batch's anchor failed for good, and when to recover it: shared by the answer batches
(`peercare.oracle.processor`) and the rating batches (`peercare.oracle.rating_batches`).

A failed anchor's leaves go back among the pending ones and into a new batch. Repeated failures of
one brand's anchors of one kind back off (30 s, doubling, at most an hour), so an oracle that lost
its role does not spend gas in a loop.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.db.tables.oracle import OutboxStatus, OutboxTx
from peercare.db.tables.projections import IndexedBlock, IndexerCursor

#: Back-off before recovering a brand's n-th failed anchor in a row: none for the first, then 30 s,
#: doubling, at most an hour (a revoked oracle signer would otherwise re-anchor in a loop).
RECOVERY_BACKOFF_MS = 30_000
RECOVERY_BACKOFF_MAX_MS = 3_600_000


def failed_for_good(session: Session, row: OutboxTx) -> bool:
    """Whether a FAILED row can no longer be mined: refused by the node (never mined), or
    reverted in a block the indexer has passed and still holds (the signer re-checks a failure
    until it is `confirmations` deep: a reorganisation may replay it elsewhere)."""
    if row.block_number is None:
        return True
    cursor = session.get(IndexerCursor, 1)
    if cursor is None or cursor.block_number < row.block_number:
        return False
    indexed = session.get(IndexedBlock, row.block_number)
    return indexed is None or indexed.hash == (row.block_hash or "").lower()


def recovery_due_ms(session: Session, anchor: OutboxTx) -> int:
    """When a failed anchor may be recovered: at once for a brand's first failure in a row (of
    anchors of its kind), then after a back-off doubling with each further failure since its last
    anchor that landed."""
    same = (OutboxTx.kind == anchor.kind, OutboxTx.brand_id == anchor.brand_id)
    landed = session.scalar(
        select(func.max(OutboxTx.id)).where(*same, OutboxTx.status.in_([OutboxStatus.MINED, OutboxStatus.CONFIRMED]))
    )
    failures: int = (
        session.scalar(
            select(func.count()).where(
                *same, OutboxTx.status == OutboxStatus.FAILED, OutboxTx.id > (landed or 0), OutboxTx.id <= anchor.id
            )
        )
        or 0
    )
    if failures <= 1:
        return 0
    delay = min(RECOVERY_BACKOFF_MAX_MS, RECOVERY_BACKOFF_MS << min(failures - 2, 20))
    return int(anchor.sent_at_ms or anchor.created_at_ms) + delay

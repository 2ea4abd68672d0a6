"""The one writer of outbox rows: every chain write is queued here, in the caller's transaction,
and the signer sends the rows in id order (peercare/oracle/signer.py).

Gas limits are generous fixed figures per kind (measured use is well below; see
docs/benchmarks.md), because estimating against the latest block fails for a write whose
predecessor is still pending. A write that proves a batched answer pays per proof step on top.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from peercare.core.enums import OutboxKind
from peercare.db.database import insert_or_ignore
from peercare.db.tables.oracle import OutboxStatus, OutboxTx

GAS_LIMITS: Mapping[OutboxKind, int] = {
    OutboxKind.POST_QUESTION: 300_000,
    # `postQuestionBatch` writes one fresh slot and emits one event, whatever the batch's size:
    # 59,100 gas for 100 questions in `make gas`.
    OutboxKind.POST_QUESTION_BATCH: 150_000,
    # `openBatchedQuestion`: 70,664 gas in `make gas` with a 7-step proof (proof steps on top).
    OutboxKind.OPEN_QUESTION: 150_000,
    OutboxKind.RELEASE_QUESTION_BATCH: 100_000,  # 37,266 gas in `make gas`
    OutboxKind.RELAY_ANSWER: 200_000,
    # `withdrawEarningsWithSig`: 73,930 gas in `make gas` (a token transfer to a fresh holder).
    OutboxKind.RELAY_WITHDRAWAL: 150_000,
    OutboxKind.ANCHOR_BATCH: 150_000,
    OutboxKind.ANCHOR_ROUTING: 100_000,  # one brand check and one event: nothing is stored
    OutboxKind.ANCHOR_RATINGS: 100_000,  # the same for ratings
    OutboxKind.ACCEPT: 200_000,
    # Per acceptance in an `acceptBatchedAnswers`: the base cost is shared, and a batch's limit is
    # this times its acceptances plus their proof steps and shares.
    OutboxKind.ACCEPT_BATCH: 120_000,
    OutboxKind.RATE: 150_000,
    # `publishRoot` writes two fresh slots and emits one event: 93,652 gas measured on anvil.
    OutboxKind.PUBLISH_REPUTATION: 150_000,
    OutboxKind.NONCE_FILLER: 21_000,
}
#: Added to a write's limit per step of the Merkle proof of a batched answer or question.
GAS_PER_PROOF_STEP = 5_000
#: Added to an acceptance's limit per swarm share it credits: a fresh earnings slot (22,100) and a
#: `RewardCredited` event (about 2,000), with room for the share's calldata and validation.
GAS_PER_SWARM_SHARE = 30_000


def gas_limit(kind: OutboxKind, proof_steps: int = 0, shares: int = 0, items: int = 1) -> int:
    return GAS_LIMITS[kind] * items + GAS_PER_PROOF_STEP * proof_steps + GAS_PER_SWARM_SHARE * shares


def enqueue(
    session: Session,
    kind: OutboxKind,
    *,
    to: str,
    data: str,
    brand_id: int | None,
    now_ms: int,
    proof_steps: int = 0,
    shares: int = 0,
    items: int = 1,
) -> OutboxTx:
    """Queue one write (`items`: how many it makes, for a batch); the row (flushed: it has its id)."""
    row = OutboxTx(
        kind=kind.value,
        brand_id=brand_id,
        to=to,
        data=data,
        gas_limit=gas_limit(kind, proof_steps, shares, items),
        created_at_ms=now_ms,
    )
    session.add(row)
    session.flush()
    return row


def enqueue_once(
    session: Session,
    kind: OutboxKind,
    dedupe_key: str,
    *,
    to: str,
    data: str,
    brand_id: int | None,
    now_ms: int,
    proof_steps: int = 0,
    shares: int = 0,
) -> int | None:
    """`enqueue` for a write that may happen at most once: insert-or-ignore on the outbox's unique
    `dedupe_key`. The new row's id, or None when a row with that key exists (queued by another
    writer whose transaction committed first: on PostgreSQL this insert waits for it)."""
    session.flush()  # the rows queued before this one keep the lower ids: the signer sends in id order
    statement = (
        insert_or_ignore(session, OutboxTx, [OutboxTx.dedupe_key])
        .values(
            kind=kind.value,
            brand_id=brand_id,
            to=to,
            data=data,
            gas_limit=gas_limit(kind, proof_steps, shares),
            status=OutboxStatus.QUEUED,
            created_at_ms=now_ms,
            dedupe_key=dedupe_key,
        )
        .returning(OutboxTx.id)
    )
    return session.scalar(statement)

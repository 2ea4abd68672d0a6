"""Acceptances of batched questions in one transaction: the oracle's default way to pay bounties.

Each acceptance used to be its own transaction (`acceptBatchedAnswer`, about 80,000 gas, a quarter
of it the transaction's base cost and the cold reads every acceptance of a brand repeats). A solve
now records a `PendingAcceptance` (one per question: its key is what accepts a question at most
once), and its brand's collecting acceptances go out together in one `acceptBatchedAnswers`,
sealed by size (at most `MAX_PER_CALL`) or age like the other batches. Each acceptance's proofs
(its question in its batch, its answer in its batch) and swarm shares are computed when the call
is sealed, so an answer whose batch was anchored again meanwhile proves against the new one.

The call is all or nothing on chain. A call that failed for good (`anchor_failures`) is split:
each of its acceptances is queued again on its own (outbox key "retry-of:<call>:<question>"), so
one acceptance the ledger refuses (its question expired, say) fails alone and the others are paid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.core.enums import OutboxKind
from peercare.db.database import insert_or_ignore
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, PendingAcceptance
from peercare.oracle.anchor_failures import failed_for_good
from peercare.oracle.batching import ACCEPTANCES, seal_due
from peercare.oracle.outbox import enqueue

log = logging.getLogger("peercare.oracle.acceptance_batches")

#: Acceptances per call at most: a swarm acceptance with proofs is up to about 250,000 gas, and a
#: call must stay well inside a block (30 M gas on the local chain and on Ethereum).
MAX_PER_CALL = 50

#: (question ref, answer ref, shares) of one acceptance, its proof steps and its shares' count.
Item = tuple[tuple[Any, ...], int, int]
#: Builds an acceptance's item for the call, from its answer id.
ItemBuilder = Callable[[Session, str], Item]
#: Queues one acceptance on its own (a call that failed is split), with this outbox key; the new
#: row's id, or None if it was queued before.
SingleQueuer = Callable[[Session, str, str], int | None]


class AcceptanceBatcher:
    """Collects, seals and splits acceptance calls, inside the processor's transaction."""

    def __init__(
        self,
        ledger_address: str,
        encode_call: Callable[[list[Any]], str],
        item_of: ItemBuilder,
        queue_single: SingleQueuer,
        *,
        batch_size: int,
        batch_max_age_ms: int,
    ) -> None:
        self.ledger_address = ledger_address
        self.encode_call = encode_call
        self.item_of = item_of
        self.queue_single = queue_single
        self.batch_size = max(1, min(batch_size, MAX_PER_CALL))
        self.batch_max_age_ms = batch_max_age_ms

    def add(self, session: Session, question_id: str, answer_id: str, brand_id: int, now_ms: int) -> bool:
        """Record the acceptance of `answer_id` for `question_id`; False if the question has one."""
        statement = (
            insert_or_ignore(session, PendingAcceptance, [PendingAcceptance.question_id])
            .values(question_id=question_id, answer_id=answer_id, brand_id=brand_id, created_at_ms=now_ms)
            .returning(PendingAcceptance.question_id)
        )
        return session.scalar(statement) is not None

    def seal_due(self, session: Session, now_ms: int) -> int:
        """Queue one call per due group of a brand's collecting acceptances (a full call, or the
        oldest old enough). Returns the calls queued."""

        def seal(session: Session, brand_id: int, acceptances: list[PendingAcceptance]) -> None:
            self._seal(session, brand_id, acceptances, now_ms)

        return seal_due(
            session, ACCEPTANCES, seal, batch_size=self.batch_size, max_age_ms=self.batch_max_age_ms, now_ms=now_ms
        )

    def _seal(self, session: Session, brand_id: int, acceptances: list[PendingAcceptance], now_ms: int) -> None:
        items, steps, shares = [], 0, 0
        for acceptance in acceptances:
            item, item_steps, item_shares = self.item_of(session, acceptance.answer_id)
            items.append(item)
            steps, shares = steps + item_steps, shares + item_shares
        outbox = enqueue(
            session,
            OutboxKind.ACCEPT_BATCH,
            to=self.ledger_address,
            data=self.encode_call(items),
            brand_id=brand_id,
            now_ms=now_ms,
            proof_steps=steps,
            shares=shares,
            items=len(items),
        )
        for acceptance in acceptances:
            acceptance.outbox_id = outbox.id
        session.flush()
        log.info("queued %d acceptances of brand %d in one call (outbox %d)", len(items), brand_id, outbox.id)

    def recover_failed(self, session: Session) -> int:
        """Split every call that failed for good into single acceptances. Returns the calls split."""
        dead = session.scalars(
            select(OutboxTx)
            .where(
                OutboxTx.kind == OutboxKind.ACCEPT_BATCH,
                OutboxTx.status == OutboxStatus.FAILED,
                select(PendingAcceptance.question_id).where(PendingAcceptance.outbox_id == OutboxTx.id).exists(),
            )
            .order_by(OutboxTx.id)
        ).all()
        split = 0
        for call in dead:
            if not failed_for_good(session, call):
                continue
            acceptances = session.scalars(select(PendingAcceptance).where(PendingAcceptance.outbox_id == call.id)).all()
            for acceptance in acceptances:
                key = f"retry-of:{call.id}:{acceptance.question_id}"
                single = self.queue_single(session, acceptance.answer_id, key)
                if single is None:  # split before, by another processor
                    single = session.scalar(select(OutboxTx.id).where(OutboxTx.dedupe_key == key))
                acceptance.outbox_id = single
            log.warning(
                "acceptance call %d of brand %s failed: %s; its %d acceptances are queued one by one",
                call.id,
                call.brand_id,
                call.error,
                len(acceptances),
            )
            split += 1
        return split

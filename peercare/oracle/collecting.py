"""What the oracle holds that is not queued for the chain yet: items waiting for their batch to be
sealed (by size or age). Whoever waits for the oracle to have written everything (the demo, the
tests) waits for this to be zero, besides pending events and unmined writes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.db.tables.oracle import Answer, PendingAcceptance, Question, SentRating


def collecting(session: Session, brand_id: int | None = None) -> int:
    """Questions, answers, acceptances and ratings (of `brand_id`, or of every brand) waiting for
    their batch: none of them has a batch or an outbox row yet."""
    waiting = (
        (Question, Question.brand_id, Question.batch_id.is_(None) & Question.outbox_id.is_(None)),
        (Answer, Answer.brand_id, Answer.batch_id.is_(None) & Answer.outbox_id.is_(None)),
        (PendingAcceptance, PendingAcceptance.brand_id, PendingAcceptance.outbox_id.is_(None)),
        (SentRating, SentRating.brand_id, SentRating.batch_id.is_(None) & SentRating.outbox_id.is_(None)),
    )
    total = 0
    for table, brand, unsealed in waiting:
        query = select(func.count()).select_from(table).where(unsealed)
        if brand_id is not None:
            query = query.where(brand == brand_id)
        total += session.scalar(query) or 0
    return total

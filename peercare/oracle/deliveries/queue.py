"""The durable queue of deliveries to the brands' ticketing systems: `enqueue` writes one in the
caller's transaction (so a delivery exists exactly when the change it reports does), `retry_delay`
is the back-off between attempts, `retry_parked` puts a parked delivery back in the queue."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from peercare.db.database import insert_or_ignore
from peercare.db.tables.deliveries import Delivery, DeliveryChannel, DeliveryStatus

BACKOFF_BASE_S = 1.0  # the first retry waits about this long
BACKOFF_CAP_S = 300.0  # no wait is longer (a system's Retry-After may ask for more: it is honoured)
MAX_ATTEMPTS = 25  # then the delivery is parked with its last error (about 1.5 hours of trying)


def enqueue(
    session: Session,
    *,
    key: str,
    brand_id: int,
    source: str,
    ticket_id: str,
    kind: str,
    payload: dict[str, Any],
    now_ms: int,
    question_id: str | None = None,
) -> bool:
    """Queue a delivery to brand `brand_id`'s `source` system, unless one with `key` exists (a
    replayed cause queues nothing twice) or the brand has no channel to that system (there is no one
    to tell). Returns whether it was queued."""
    if session.get(DeliveryChannel, (brand_id, source)) is None:
        return False
    statement = (
        insert_or_ignore(session, Delivery, ["key"])
        .values(
            key=key,
            brand_id=brand_id,
            source=source,
            ticket_id=ticket_id,
            question_id=question_id,
            kind=kind,
            payload=payload,
            status=DeliveryStatus.PENDING,
            attempts=0,
            uncertain=False,
            next_attempt_at_ms=now_ms,
            created_at_ms=now_ms,
        )
        .returning(Delivery.id)
    )
    return session.execute(statement).first() is not None


def retry_delay(attempts: int, retry_after_s: float | None, rng: random.Random) -> float:
    """Seconds before attempt `attempts + 1`: exponential with full jitter over its upper half (so
    deliveries failing together do not retry together), at least what the system's `Retry-After`
    asked for."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    delay = ceiling * (0.5 + rng.random() / 2)
    return float(max(delay, retry_after_s or 0.0))


def retry_parked(session: Session, brand_id: int, delivery_id: int, now_ms: int) -> bool:
    """Put brand `brand_id`'s parked delivery back in the queue, attempts reset; False if there is
    no such parked delivery."""
    changed = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.brand_id == brand_id, Delivery.status == DeliveryStatus.PARKED)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at_ms=now_ms)
        .returning(Delivery.id)
    ).first()
    return changed is not None


def set_channel(
    session: Session, brand_id: int, source: str, *, base_url: str, secret: str, username: str | None, now_ms: int
) -> DeliveryChannel:
    """Create or replace brand `brand_id`'s outbound channel to `source`."""
    row = session.get(DeliveryChannel, (brand_id, source)) or DeliveryChannel(
        brand_id=brand_id, source=source, created_at_ms=now_ms
    )
    row.base_url, row.secret, row.username = base_url, secret, username
    session.add(row)
    session.flush()
    return row


def deliveries_of(
    session: Session, brand_id: int, after_id: int, limit: int, *, status: str | None = None
) -> list[Delivery]:
    """Brand `brand_id`'s deliveries after `after_id` (only those in `status`, if given), oldest first."""
    query = select(Delivery).where(Delivery.brand_id == brand_id, Delivery.id > after_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query.order_by(Delivery.id).limit(limit)))


def deliveries_of_question(session: Session, brand_id: int, question_id: str) -> list[Delivery]:
    """Everything queued for the brand's ticketing system about one question, oldest first."""
    query = (
        select(Delivery).where(Delivery.brand_id == brand_id, Delivery.question_id == question_id).order_by(Delivery.id)
    )
    return list(session.scalars(query))

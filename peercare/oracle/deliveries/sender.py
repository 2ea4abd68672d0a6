"""The worker that sends queued deliveries (`runtime.Worker("deliveries", ...)`).

Each attempt is announced before it is made: attempts + 1 and `uncertain` set, committed, then the
request. A definite answer clears `uncertain`; a lost one (timeout after sending, connection closed
before the response, the process killed mid-request) leaves it set, and the next attempt asks the
system whether the delivery was already applied before applying it (`clients.deliver`'s
`after_uncertain`). So a delivery is applied once whatever crashes, and retried until it is:
with back-off and jitter, honouring `Retry-After`, parked with its reason after `MAX_ATTEMPTS` or
at once when it cannot succeed as it is (credentials refused, unknown ticket, invalid request).
The writers run in one process per database (`runtime.Oracle`), so one sender works the queue.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select

from peercare.db.database import Database
from peercare.db.tables.deliveries import Delivery, DeliveryChannel, DeliveryStatus
from peercare.oracle.deliveries import clients
from peercare.oracle.deliveries.queue import MAX_ATTEMPTS, retry_delay

log = logging.getLogger("peercare.oracle.deliveries")

BATCH = 20  # deliveries attempted per step


class DeliverySender:
    def __init__(
        self,
        database: Database,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        batch: int = BATCH,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.client = client or httpx.Client(trust_env=False)
        self.timeout_s = timeout_s
        self.batch = batch
        self.clock = clock
        self.rng = rng or random.Random()

    def close(self) -> None:
        self.client.close()

    def step(self) -> int:
        """Attempt the due deliveries; returns how many were attempted."""
        now_ms = int(self.clock() * 1000)
        with self.database.read() as session:
            due = list(
                session.scalars(
                    select(Delivery.id)
                    .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at_ms <= now_ms)
                    .order_by(Delivery.next_attempt_at_ms, Delivery.id)
                    .limit(self.batch)
                )
            )
        for delivery_id in due:
            self._attempt(delivery_id)
        return len(due)

    def _attempt(self, delivery_id: int) -> None:
        with self.database.transaction() as session:
            row = session.get(Delivery, delivery_id)
            if row is None or row.status != DeliveryStatus.PENDING:
                return
            channel_row = session.get(DeliveryChannel, (row.brand_id, row.source))
            after_uncertain = row.uncertain
            row.attempts += 1
            row.uncertain = True  # until a definite answer says otherwise (module docstring)
            attempts = row.attempts
            message = clients.Delivery(
                key=row.key,
                kind=row.kind,  # type: ignore[arg-type]
                brand_id=row.brand_id,
                ticket_id=row.ticket_id,
                payload=dict(row.payload),
            )
            channel = (
                None
                if channel_row is None
                else clients.Channel(
                    source=channel_row.source,  # type: ignore[arg-type]
                    base_url=channel_row.base_url,
                    secret=channel_row.secret,
                    username=channel_row.username,
                )
            )
        if channel is None:
            outcome = clients.Outcome("park", f"brand {message.brand_id} has no {row.source} channel any more")
        else:
            try:
                outcome = clients.deliver(
                    channel, message, client=self.client, timeout_s=self.timeout_s, after_uncertain=after_uncertain
                )
            except Exception as exc:  # a bug in a client must not stop the queue: park what it could not send
                log.exception("delivery %s: the %s client failed", message.key, channel.source)
                outcome = clients.Outcome("park", f"the {channel.source} client failed: {type(exc).__name__}")
        self._record(delivery_id, outcome, attempts, after_uncertain)

    def _record(self, delivery_id: int, outcome: clients.Outcome, attempts: int, after_uncertain: bool) -> None:
        now_ms = int(self.clock() * 1000)
        with self.database.transaction() as session:
            row = session.get(Delivery, delivery_id)
            if row is None:
                return
            if outcome.status == "delivered":
                row.status, row.uncertain, row.delivered_at_ms = DeliveryStatus.DELIVERED, False, now_ms
                row.last_error = None if outcome.detail.startswith("delivered") else outcome.detail
                log.info("delivery %s: %s", row.key, outcome.detail)
                return
            row.last_error = outcome.detail
            # Still unknown whether an earlier attempt was applied, or this one may have been.
            row.uncertain = after_uncertain or outcome.uncertain
            if outcome.status == "park" or attempts >= MAX_ATTEMPTS:
                row.status = DeliveryStatus.PARKED
                if outcome.status != "park":
                    row.last_error = f"gave up after {attempts} attempts: {outcome.detail}"
                log.warning("delivery %s parked: %s", row.key, row.last_error)
                return
            delay = retry_delay(attempts, outcome.retry_after_s, self.rng)
            row.next_attempt_at_ms = now_ms + int(delay * 1000)
            log.info("delivery %s: %s; retrying in %.1f s", row.key, outcome.detail, delay)

"""The worker that sends queued deliveries (`runtime.Worker("deliveries", ...)`).

Each attempt is announced before it is made: attempts + 1 and `uncertain` set, committed, then the
request. A definite answer clears `uncertain`; a lost one (timeout after sending, connection closed
before the response, the process killed mid-request) leaves it set, and the next attempt asks the
system whether the delivery was already applied before applying it (`clients.deliver`'s
`after_uncertain`). So a delivery is applied once whatever crashes, and retried until it is:
with back-off and jitter, honouring `Retry-After`, parked with its reason after `MAX_ATTEMPTS` or
at once when it cannot succeed as it is (credentials refused, unknown ticket, invalid request).

A step announces a batch in one commit, sends its requests side by side (never two to one ticket)
and records their outcomes in one commit: two commits per batch, not per delivery, on the database
the processor, signer and indexer are writing to (per delivery, the sender drained a few a second
while the demo's replay was being handled).
The writers run in one process per database (`runtime.Oracle`), so one sender works the queue.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from peercare.db.database import Database
from peercare.db.tables.deliveries import Delivery, DeliveryChannel, DeliveryStatus
from peercare.oracle.deliveries import clients
from peercare.oracle.deliveries.queue import MAX_ATTEMPTS, retry_delay

log = logging.getLogger("peercare.oracle.deliveries")

BATCH = 32  # deliveries attempted per step: two commits for all of them
CONCURRENCY = 8  # requests in flight at once (to different tickets)
SCAN_FACTOR = 4  # due rows read per delivery attempted (several may wait on one ticket)


@dataclass(frozen=True)
class _Attempt:
    """One delivery announced as attempted (committed before its request is made)."""

    delivery_id: int
    message: clients.Delivery
    channel: clients.Channel | None
    source: str
    attempts: int
    after_uncertain: bool


class DeliverySender:
    def __init__(
        self,
        database: Database,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.client = client or httpx.Client(trust_env=False)
        self.timeout_s = timeout_s
        self.batch = batch
        self.clock = clock
        self.rng = rng or random.Random()
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="peercare-delivery")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def step(self) -> int:
        """Attempt up to `batch` due deliveries, at most one per ticket: announced in one commit, sent
        side by side, their outcomes recorded in one commit; returns how many were attempted."""
        attempts = self._announce(int(self.clock() * 1000))
        if not attempts:
            return 0
        outcomes = list(self.pool.map(self._send, attempts))
        self._record(list(zip(attempts, outcomes, strict=True)))
        return len(attempts)

    def _announce(self, now_ms: int) -> list[_Attempt]:
        """Pick the due deliveries, oldest first, one per ticket (two requests on one ticket at once
        could undo each other: Freshdesk's tags are read, then written), and mark each attempted:
        attempts + 1 and `uncertain` (module docstring)."""
        announced: list[_Attempt] = []
        with self.database.transaction() as session:
            due = session.scalars(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at_ms <= now_ms)
                .order_by(Delivery.next_attempt_at_ms, Delivery.id)
                .limit(self.batch * SCAN_FACTOR)
            )
            tickets: set[tuple[int, str, str]] = set()
            channels: dict[tuple[int, str], DeliveryChannel | None] = {}
            for row in due:
                ticket = (row.brand_id, row.source, row.ticket_id)
                if ticket in tickets:
                    continue
                tickets.add(ticket)
                key = (row.brand_id, row.source)
                if key not in channels:
                    channels[key] = session.get(DeliveryChannel, key)
                announced.append(self._mark(row, channels[key]))
                if len(announced) == self.batch:
                    break
        return announced

    @staticmethod
    def _mark(row: Delivery, channel_row: DeliveryChannel | None) -> _Attempt:
        after_uncertain = row.uncertain
        row.attempts += 1
        row.uncertain = True  # until a definite answer says otherwise (module docstring)
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
        return _Attempt(row.id, message, channel, row.source, row.attempts, after_uncertain)

    def _send(self, attempt: _Attempt) -> clients.Outcome:
        message, channel = attempt.message, attempt.channel
        if channel is None:
            return clients.Outcome("park", f"brand {message.brand_id} has no {attempt.source} channel any more")
        try:
            return clients.deliver(
                channel, message, client=self.client, timeout_s=self.timeout_s, after_uncertain=attempt.after_uncertain
            )
        except Exception as exc:  # a bug in a client must not stop the queue: park what it could not send
            log.exception("delivery %s: the %s client failed", message.key, channel.source)
            return clients.Outcome("park", f"the {channel.source} client failed: {type(exc).__name__}")

    def _record(self, results: list[tuple[_Attempt, clients.Outcome]]) -> None:
        now_ms = int(self.clock() * 1000)
        with self.database.transaction() as session:
            for attempt, outcome in results:
                row = session.get(Delivery, attempt.delivery_id)
                if row is not None:
                    self._apply(row, outcome, attempt.attempts, attempt.after_uncertain, now_ms)

    def _apply(
        self, row: Delivery, outcome: clients.Outcome, attempts: int, after_uncertain: bool, now_ms: int
    ) -> None:
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

"""Delivering the plan's events through the brand's generic webhook: in parallel across tickets, yet
one at a time in plan order for each ticket and each advocate's signed answers (the order the oracle
handles them, hence the order of their nonces), retrying what may pass later; a second run re-sends
everything and the oracle answers "duplicate"."""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TextIO

import click
import httpx

from peercare.demo.advocate_answers import AnswerSigner
from peercare.demo.brand_setup import BrandSetup
from peercare.demo.connection import Connection
from peercare.demo.errors import DemoError
from peercare.demo.plan import SOURCE, Delivery, Plan
from peercare.oracle.webhooks.generic_client import generic_headers

CREDENTIALS_DELAY_S = 15.0  # the intake re-reads webhook secrets every few seconds
CONCURRENCY = 8  # deliveries in flight at once (of different tickets and advocates)


@dataclass
class Sent:
    accepted: int = 0
    duplicate: int = 0
    ignored: int = 0
    signed: int = 0  # deliveries that carried an advocate's signature

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.ignored

    def __add__(self, other: Sent) -> Sent:
        return Sent(
            self.accepted + other.accepted,
            self.duplicate + other.duplicate,
            self.ignored + other.ignored,
            self.signed + other.signed,
        )


def send_all(
    conn: Connection,
    plan: Plan,
    setup: BrandSetup,
    *,
    rate: float,
    bar_file: TextIO | None,
    concurrency: int = CONCURRENCY,
    before: Callable[[Delivery], None] | None = None,
) -> Sent:
    """Deliver every event of the plan, at most `rate` per second (0: no limit) and `concurrency` at
    once. A delivery is sent only once the oracle has acknowledged (stored) the deliveries it must
    follow (`Plan.predecessors`), so the oracle handles each ticket's events, and each advocate's
    signed answers, in plan order; other tickets go in parallel, first in plan order first.
    `before`, if given, runs in the sending thread before each delivery (`offers.OfferTaker`)."""
    signer = AnswerSigner(conn, plan, setup.brand_id)
    path = f"/api/v1/webhooks/{setup.brand_id}/{SOURCE}"
    sent = Sent()
    deliveries = list(plan.deliveries())
    waiting_on = [len(earlier) for earlier in plan.predecessors()]
    followers: list[list[int]] = [[] for _ in deliveries]
    for n, earlier in enumerate(plan.predecessors()):
        for m in earlier:
            followers[m].append(n)
    ready = [n for n, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    started = time.monotonic()
    credentials_until = started + CREDENTIALS_DELAY_S

    def deliver(delivery: Delivery) -> str:
        if before is not None:
            before(delivery)
        extra = {}
        if delivery.signer is not None:
            extra["signature"] = signer.signature(delivery)
        body = delivery.body(**extra)
        return _post(conn.http, path, body, setup.secret, setup.brand_id, delivery, credentials_until)

    submitted = 0
    in_flight: dict[Future[str], int] = {}
    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="peercare-demo-send") as pool,
        click.progressbar(length=len(deliveries), label="sending webhooks", file=bar_file, show_pos=True) as bar,
    ):
        while ready or in_flight:
            while ready and len(in_flight) < concurrency:
                if rate > 0 and (pause := started + submitted / rate - time.monotonic()) > 0:
                    if in_flight:
                        break  # collect answers meanwhile
                    time.sleep(pause)
                n = heapq.heappop(ready)
                in_flight[pool.submit(deliver, deliveries[n])] = n
                submitted += 1
            timeout = None if not (rate > 0 and ready) else max(0.0, started + submitted / rate - time.monotonic())
            finished, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                n = in_flight.pop(future)
                status = future.result()  # a DemoError stops everything: what was stored stays stored
                sent.signed += deliveries[n].signer is not None
                if status == "accepted":
                    sent.accepted += 1
                elif status == "duplicate":
                    sent.duplicate += 1
                else:
                    sent.ignored += 1
                for m in followers[n]:
                    waiting_on[m] -= 1
                    if waiting_on[m] == 0:
                        heapq.heappush(ready, m)
                bar.update(1)
    return sent


def _post(
    http: httpx.Client,
    path: str,
    body: bytes,
    secret: str,
    brand_id: int,
    delivery: Delivery,
    credentials_until: float,
) -> str:
    """POST one delivery; retry what may pass later (the secret not loaded yet, 429 once its
    Retry-After has passed, 503, transport)."""
    for attempt in range(1, 61):
        try:
            response = http.post(path, content=body, headers=generic_headers(secret, body, brand_id=brand_id))
        except httpx.TransportError as exc:
            if attempt >= 10:
                raise DemoError(f"{delivery.event_id}: the API stopped answering ({type(exc).__name__})") from None
            time.sleep(min(5.0, 0.2 * 2**attempt))
            continue
        if response.status_code == 200:
            return str(response.json().get("status"))
        if response.status_code == 429:  # the brand's webhook burst is spent: wait as told (jittered), go on
            time.sleep(retry_after(response) + random.uniform(0.0, 0.5))
            continue
        retry = response.status_code == 503 and attempt < 10
        retry |= response.status_code == 404 and time.monotonic() < credentials_until
        if not retry:
            raise DemoError(_refusal(response, delivery, path))
        time.sleep(0.5 if response.status_code == 404 else min(5.0, 0.2 * 2**attempt))
    raise DemoError(_refusal(response, delivery, path))


def retry_after(response: httpx.Response) -> float:
    """The 429's `Retry-After` in seconds (1 when absent or not a number of seconds), at most 60."""
    value = response.headers.get("retry-after", "")
    return min(60.0, float(value)) if value.isdigit() else 1.0


def _refusal(response: httpx.Response, delivery: Delivery, path: str) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    hint = ""
    if response.status_code == 404:
        hint = (
            " (the API does not know this brand's generic webhook: is `peercare up` using the same "
            "PEERCARE_DATA_DIR or PEERCARE_DATABASE_URL as this command?)"
        )
    return f"{delivery.event_id}: POST {path} answered {response.status_code}: {detail}{hint}"

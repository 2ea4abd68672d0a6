"""Webhook intake: `POST /api/v1/webhooks/{brand_id}/{source}`.

A delivery is authenticated and parsed (`webhooks.verify_and_parse`), then stored, and only then
acknowledged. Storage is a group commit: concurrent deliveries wait on one writer thread that
inserts whatever has arrived in one transaction (one WAL sync for many events), so acknowledging
stays fast under load without ever acknowledging an event that is not on disk. The unique key
(brand, source, event key) makes a replay a no-op that answers "duplicate".
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.api.limits import WebhookLimits
from peercare.api.problems import Problem
from peercare.db.database import Database, insert_or_ignore
from peercare.db.tables.oracle import WebhookCredential, WebhookEvent
from peercare.oracle.events import TicketEvent
from peercare.oracle.webhooks import SOURCES, Credential, WebhookRejected, verify_and_parse

if TYPE_CHECKING:
    from peercare.api.metrics import Metrics

log = logging.getLogger("peercare.api.intake")

MAX_BODY_BYTES = 512 * 1024  # a ticket body is capped at 100,000 characters; this leaves room for the envelope
CREDENTIALS_TTL_S = 5.0  # a rotated or removed secret takes effect within this; a new one at once


def now_ms() -> int:
    return int(time.time() * 1000)


class Credentials:
    """Webhook credentials by (brand, source), re-read from the database every few seconds. A key
    missing from the cache is looked up on its own (one primary-key read), so a webhook configured
    a moment ago answers at once instead of 404 until the next reload."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: dict[tuple[int, str], Credential] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self, brand_id: int, source: str) -> Credential | None:
        with self._lock:
            if time.monotonic() - self._loaded_at > CREDENTIALS_TTL_S:
                self._reload()
            found = self._cache.get((brand_id, source))
            if found is None:
                found = self._read_one(brand_id, source)
            return found

    def _read_one(self, brand_id: int, source: str) -> Credential | None:
        with self.database.read() as session:
            row = session.get(WebhookCredential, (brand_id, source))
            if row is None:
                return None
            credential = _credential(row)
        self._cache[(brand_id, source)] = credential
        return credential

    def _reload(self) -> None:
        # A read: on SQLite a write transaction would queue this delivery behind a processor step.
        with self.database.read() as session:
            rows = session.scalars(select(WebhookCredential)).all()
            self._cache = {(row.brand_id, row.source): _credential(row) for row in rows}
        self._loaded_at = time.monotonic()


def _credential(row: WebhookCredential) -> Credential:
    return Credential(row.secret, row.basic_username, row.basic_password_sha256)


def event_row(brand_id: int, source: str, event: TicketEvent) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "source": source,
        "event_key": event.event_key,
        "kind": event.kind,
        "ticket_id": event.ticket_id,
        "occurred_at_ms": int(event.occurred_at.timestamp() * 1000),
        "received_at_ms": now_ms(),
        "payload": event.model_dump(mode="json"),
        "status": "pending",
        "attempts": 0,
    }


_Pending = tuple[dict[str, Any], "Future[tuple[int, bool]]"]


class EventWriter:
    """One thread that stores events in groups; `submit` returns a future of (event id, is new)."""

    def __init__(self, database: Database, max_group: int = 1000) -> None:
        self.database = database
        self.max_group = max_group
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="peercare-intake-writer", daemon=True)
        self._insert_statement = insert_or_ignore(database.engine, WebhookEvent, ["brand_id", "source", "event_key"])
        self.groups = 0  # commits so far (the benchmark reports events per commit)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def submit(self, row: dict[str, Any]) -> Future[tuple[int, bool]]:
        future: Future[tuple[int, bool]] = Future()
        self._queue.put((row, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        try:
            results = self._store([row for row, _ in group])
        except Exception as exc:  # the database is down: every waiting delivery gets a 503, nothing is lost
            log.exception("storing %d webhook events failed", len(group))
            for _, future in group:
                future.set_exception(exc)
            return
        self.groups += 1
        for (_row, future), result in zip(group, results, strict=True):
            future.set_result(result)

    def _store(self, rows: list[dict[str, Any]]) -> list[tuple[int, bool]]:
        keys = [(r["brand_id"], r["source"], r["event_key"]) for r in rows]
        by_key = dict(zip(keys, rows, strict=True))  # a key delivered twice in one group is stored once
        with self.database.transaction() as session:
            before = self._ids(session, list(by_key))
            new = [row for key, row in by_key.items() if key not in before]
            ids = before
            if new:
                # One statement shape whatever the group's size, so SQLAlchemy compiles it once;
                # ON CONFLICT covers a concurrent writer (another process) that got there first.
                session.execute(self._insert_statement, new)
                ids = before | self._ids(session, [key for key in by_key if key not in before])
        seen: set[tuple[int, str, str]] = set()
        results = []
        for key in keys:  # only the first delivery of a newly stored key is new
            results.append((ids[key], key not in before and key not in seen))
            seen.add(key)
        return results

    @staticmethod
    def _ids(session: Session, keys: list[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
        """The stored ids of `keys`: one indexed lookup per brand and source (its event keys IN a
        list), not a row-value IN, which SQLite answers by scanning every stored event."""
        by_source: dict[tuple[int, str], list[str]] = {}
        for brand_id, source, event_key in keys:
            by_source.setdefault((brand_id, source), []).append(event_key)
        found: dict[tuple[int, str, str], int] = {}
        for (brand_id, source), event_keys in by_source.items():
            query = select(WebhookEvent.event_key, WebhookEvent.id).where(
                WebhookEvent.brand_id == brand_id, WebhookEvent.source == source, WebhookEvent.event_key.in_(event_keys)
            )
            found.update(((brand_id, source, key), event_id) for key, event_id in session.execute(query))
        return found


class Intake:
    """What the webhook route needs: credentials and the writer."""

    def __init__(self, database: Database) -> None:
        self.credentials = Credentials(database)
        self.writer = EventWriter(database)


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Problem(413, f"the body is {declared} bytes; webhooks are limited to {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Problem(413, f"the body exceeds {MAX_BODY_BYTES} bytes, the limit for webhooks")
    return bytes(body)


def webhook_router(intake: Intake, metrics: Metrics | None = None, limits: WebhookLimits | None = None) -> APIRouter:
    """The webhook route; with `metrics`, every delivery that reaches it is counted and timed by
    source and outcome (accepted, duplicate, ignored, or the refusal's status code); with `limits`,
    authentic deliveries are rate limited per brand and source, refused ones per client address."""
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/api/v1/webhooks/{brand_id}/{source}",
        summary="Receive a ticketing system's webhook (see docs/webhooks.md for the formats)",
        responses={
            401: {"description": "forged or stale"},
            404: {"description": "not configured"},
            413: {"description": "too large"},
            422: {"description": "malformed body"},
            429: {"description": "the brand and source's burst is spent (or this address's refusals): retry after"},
        },
    )
    async def receive_webhook(brand_id: int, source: str, request: Request) -> dict[str, Any]:
        started = time.perf_counter()
        outcome, status = "500", 500  # unless it answers
        try:
            answer = await _receive(brand_id, source, request)
            outcome, status = answer["status"], 200
            return answer
        except Problem as exc:
            outcome, status = str(exc.status), exc.status
            raise
        finally:
            if metrics is not None:
                metrics.observe_webhook(source, outcome, status, time.perf_counter() - started)

    async def _receive(brand_id: int, source: str, request: Request) -> dict[str, Any]:
        if limits is not None:
            limits.check_address(request.scope)
        try:
            return await _authenticated(brand_id, source, request)
        except Problem as exc:
            if limits is not None and exc.status in (401, 404, 413):  # not known to come from the brand
                limits.charge_address(request.scope)
            raise

    async def _authenticated(brand_id: int, source: str, request: Request) -> dict[str, Any]:
        if source not in SOURCES:
            raise Problem(404, f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
        credential = intake.credentials.get(brand_id, source)
        if credential is None:
            raise Problem(404, f"no {source} webhook is configured for brand {brand_id}")
        body = await _read_capped(request)
        try:
            event = verify_and_parse(source, credential, request.headers, body, time.time(), brand_id=brand_id)
        except WebhookRejected as exc:
            if exc.status != 401 and limits is not None:  # authentic, malformed: the brand's own count
                limits.charge_source(brand_id, source)
            raise Problem(exc.status, exc.detail, errors=exc.errors or None) from None
        if limits is not None:
            limits.charge_source(brand_id, source)
        if event.kind == "ignored":
            return {"status": "ignored", "reason": event.reason}
        try:
            event_id, new = await asyncio.wrap_future(intake.writer.submit(event_row(brand_id, source, event)))
        except Exception:
            raise Problem(503, "the event could not be stored; retry later (nothing was recorded)") from None
        return {"status": "accepted" if new else "duplicate", "event_id": event_id}

    return router

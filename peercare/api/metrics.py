"""`GET /metrics`: Prometheus text (prefix `peercare_`), one registry per application.

Two kinds of metrics:

- Derived from the database and the chain when scraped (`WritesCollector`): outbox rows by state,
  the oldest unmined transaction's age, replacements, the signer's in-flight count and cap, the
  chain's nonce lag, the indexer's lag. Every process serving the API reports the same values,
  whichever of them runs the signer, and a restart loses nothing.
- Observed in this process: webhook deliveries (count and latency, by source and outcome) and the
  workers' step durations (`Worker(..., observe_step=metrics.observe_step)`, peercare/runtime.py).

A registry per application, not prometheus_client's global one: a process (a test run) may build
several applications, and each must report only its own requests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from peercare.api.context import ApiContext
from peercare.api.routes.health import read_chain, read_writes
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, TxAttempt
from peercare.oracle.webhooks import SOURCES

log = logging.getLogger("peercare.api.metrics")

STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
router = APIRouter()


class Metrics:
    """The application's registry and the metrics its code observes."""

    def __init__(self, context: ApiContext) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(WritesCollector(context))
        self.webhook_requests = Counter(
            "peercare_webhook_requests",
            "Webhook deliveries by source and outcome (accepted, duplicate, ignored, or the refusal's status code).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            "peercare_webhook_request_duration_seconds",
            "Time to answer a webhook delivery (authenticated, parsed and committed), by source and status class.",
            ["source", "status"],
            buckets=WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "peercare_worker_step_duration_seconds",
            "Duration of one step of a worker (processor, signer, indexer, router), by outcome (work, idle, error).",
            ["worker", "outcome"],
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )

    def observe_webhook(self, source: str, outcome: str, status: int, seconds: float) -> None:
        label = source if source in SOURCES else "unknown"  # the path is the caller's: keep labels bounded
        self.webhook_requests.labels(source=label, outcome=outcome).inc()
        self.webhook_seconds.labels(source=label, status=f"{status // 100}xx").observe(seconds)

    def observe_step(self, worker: str, step: Callable[[], int]) -> int:
        """Run one step of `worker` and record its duration: outcome "work" if it did something,
        "idle" if not, "error" if it raised (the exception goes on to the worker)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            done = step()
            outcome = "work" if done else "idle"
            return done
        finally:
            self.step_seconds.labels(worker=worker, outcome=outcome).observe(time.perf_counter() - started)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)


class WritesCollector:
    """Reads the outbox, the signer's state, the indexer's cursor and the chain at scrape time: a
    few small queries (plus a count of outbox rows by state, which reads the whole (status, id)
    index) and one JSON-RPC batch."""

    def __init__(self, context: ApiContext) -> None:
        self._context = context
        self._replacements = _Replacements()

    def describe(self) -> Iterator[Metric]:
        """The names, without reading anything (registering must not touch the database)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        database_up, chain_up, outbox, oldest, replacements, in_flight, cap, ceiling, nonce_lag, index_lag = families
        settings = self._context.settings
        cap.add_metric([], settings.max_in_flight)
        writes = None
        try:
            with self._context.database.read() as session:
                writes = read_writes(session, settings.max_fee_ceiling_wei)
                by_state = dict(session.execute(select(OutboxTx.status, func.count()).group_by(OutboxTx.status)).all())
                replaced = self._replacements.count(session)
        except Exception as exc:
            log.warning("metrics: the database did not answer: %s: %s", type(exc).__name__, exc)
            database_up.add_metric([], 0)
        else:
            database_up.add_metric([], 1)
            for state in OutboxStatus:
                outbox.add_metric([state.value], by_state.get(state.value, 0))
            now_ms = int(time.time() * 1000)
            oldest.add_metric([], 0 if writes.oldest is None else max(0, now_ms - writes.oldest.sent_at_ms) / 1000)
            replacements.add_metric([], replaced)
            in_flight.add_metric([], writes.in_flight)
            ceiling.add_metric([], len(writes.at_fee_ceiling))
        signer = None if writes is None else writes.signer_address
        try:
            head, chain_nonce = read_chain(settings.effective_rpc_url, signer)
        except Exception as exc:
            log.warning("metrics: the chain did not answer: %s: %s", type(exc).__name__, exc)
            chain_up.add_metric([], 0)
        else:
            chain_up.add_metric([], 1)
            if writes is not None and writes.next_nonce is not None and chain_nonce is not None:
                nonce_lag.add_metric([], max(0, writes.next_nonce - chain_nonce))
            if writes is not None and writes.indexed_block is not None:
                index_lag.add_metric([], max(0, head - writes.indexed_block))
        yield from families

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
    ]:
        return (
            GaugeMetricFamily("peercare_database_up", "1 if the database answered this scrape, else 0."),
            GaugeMetricFamily("peercare_chain_up", "1 if the chain's node answered this scrape, else 0."),
            GaugeMetricFamily("peercare_outbox_rows", "Outbox rows (chain writes) by state.", labels=["state"]),
            GaugeMetricFamily(
                "peercare_oldest_unmined_tx_age_seconds",
                "Age of the oldest SENT outbox row (signed, not mined) since its nonce was signed; 0 if none.",
            ),
            CounterMetricFamily(
                "peercare_tx_replacements",
                "Transactions signed to replace another at the same nonce (attempts after a row's first at its nonce).",
            ),
            GaugeMetricFamily("peercare_signer_in_flight", "SENT outbox rows: signed transactions not yet mined."),
            GaugeMetricFamily("peercare_signer_in_flight_cap", "The signer's cap on SENT rows (max_in_flight)."),
            GaugeMetricFamily(
                "peercare_signer_at_fee_ceiling",
                "SENT rows whose newest transaction cannot be replaced without exceeding max_fee_ceiling_wei.",
            ),
            GaugeMetricFamily(
                "peercare_chain_nonce_lag",
                "The signer's next nonce minus the chain's transaction count of the signer at its latest block.",
            ),
            GaugeMetricFamily("peercare_indexer_lag_blocks", "Blocks from the indexer's cursor to the head."),
        )


class _Replacements:
    """Counts attempts that have an earlier attempt at the same (outbox row, nonce): count(attempts)
    minus count(distinct (outbox_id, nonce)). The first scrape counts the whole table; later ones
    only the attempts added since, each checked through the outbox_id index. That is exact because
    attempts are only ever appended, by the signer's one thread, so ids commit in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted_to = 0  # attempt ids up to this one are counted
        self._total = 0

    def count(self, session: Session) -> int:
        with self._lock:
            newest = session.scalar(select(func.max(TxAttempt.id))) or 0
            if newest > self._counted_to:
                earlier = aliased(TxAttempt)
                has_earlier = exists().where(
                    and_(
                        earlier.outbox_id == TxAttempt.outbox_id,
                        earlier.nonce == TxAttempt.nonce,
                        earlier.id < TxAttempt.id,
                    )
                )
                self._total += (
                    session.scalar(
                        select(func.count())
                        .select_from(TxAttempt)
                        .where(TxAttempt.id > self._counted_to, TxAttempt.id <= newest, has_earlier)
                    )
                    or 0
                )
                self._counted_to = newest
            return self._total

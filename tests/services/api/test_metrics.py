"""GET /metrics serves Prometheus text: gauges read from the database and the chain at scrape time,
webhook intake counts and latencies, workers' step durations; each application its own registry."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from peercare.api.app import create_app
from peercare.api.metrics import Metrics
from peercare.db.tables.oracle import TxAttempt
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from peercare.runtime import Worker
from tests.support.health_support import (
    WRITES_PER_TICKET,
    a_tickets_writes_sent,
    open_ticket,
    oracle_without_funds,
    quiet,
    sent_rows,
    wait_for,
)
from tests.support.oracle_process import SECRET
from tests.support.world import World

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def replacements_in_database(world: World) -> int:
    with world.oracle.database.read() as session:
        attempts = session.execute(select(TxAttempt.outbox_id, TxAttempt.nonce)).all()
    return len(attempts) - len(set(attempts))


@pytest.fixture(scope="module")
def other_app(world: World) -> Iterator[TestClient]:
    """Another application on the same database and chain, as another process would serve it."""
    with TestClient(create_app(world.oracle.context)) as client:
        yield client


def test_metrics_serves_the_outbox_signer_and_indexer_gauges_outside_the_api_schema(world: World) -> None:
    world.drain()
    samples = scrape(world.client)
    assert value(samples, "peercare_database_up") == 1 and value(samples, "peercare_chain_up") == 1
    assert value(samples, "peercare_outbox_rows", state="confirmed") > 0
    for state in ("queued", "sent", "mined"):
        assert (("peercare_outbox_rows", frozenset({("state", state)}))) in samples
        assert value(samples, "peercare_outbox_rows", state=state) == 0
    assert value(samples, "peercare_signer_in_flight") == 0
    assert value(samples, "peercare_signer_in_flight_cap") == world.oracle.settings.max_in_flight
    assert value(samples, "peercare_oldest_unmined_tx_age_seconds") == 0
    assert value(samples, "peercare_chain_nonce_lag") == 0
    assert value(samples, "peercare_signer_at_fee_ceiling") == 0
    assert 0 <= value(samples, "peercare_indexer_lag_blocks") <= 1
    assert value(samples, "peercare_tx_replacements_total") == replacements_in_database(world)
    assert "/metrics" not in world.client.get("/openapi.json").json()["paths"]


def test_webhook_deliveries_are_counted_and_timed_by_source_and_outcome(world: World) -> None:
    before = scrape(world.client)
    open_ticket(world)
    ticket = f"METRICS-{uuid.uuid4().hex[:10]}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = {"subject": "Twice?", "body": "Sent twice", "tags": ["wallets"], "requester_id": f"cust-{ticket}"}
    body = generic_body("ticket_created", f"{ticket}-open", ticket, now, **data)
    url = f"/api/v1/webhooks/{world.brand2_id}/generic"
    signers = (SECRET, SECRET, "forged")
    for headers in (generic_headers(secret, body, brand_id=world.brand2_id) for secret in signers):
        assert world.client.post(url, content=body, headers=headers).status_code in (200, 401)
    assert world.client.post(f"/api/v1/webhooks/{world.brand2_id}/nonsense", content=b"{}").status_code == 404
    after = scrape(world.client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "peercare_webhook_requests_total"
    assert moved(requests, source="generic", outcome="accepted") == 2  # open_ticket's and this ticket's
    assert moved(requests, source="generic", outcome="duplicate") == 1
    assert moved(requests, source="generic", outcome="401") == 1
    assert moved(requests, source="unknown", outcome="404") == 1  # the path's source is not a label value
    latency = "peercare_webhook_request_duration_seconds"
    assert moved(f"{latency}_count", source="generic", status="2xx") == 3
    assert moved(f"{latency}_count", source="generic", status="4xx") == 1
    assert moved(f"{latency}_sum", source="generic", status="2xx") > 0
    assert moved(f"{latency}_bucket", source="generic", status="2xx", le="+Inf") == 3
    world.drain()


def test_outbox_and_signer_gauges_follow_a_write_from_sent_to_confirmed(world: World) -> None:
    quiet(world)
    before = scrape(world.client)
    with oracle_without_funds(world):
        open_ticket(world)
        row, _ = a_tickets_writes_sent(world)
        stuck = wait_for(
            lambda: (s := scrape(world.client))["peercare_oldest_unmined_tx_age_seconds", frozenset()] > 0 and s,
            "the unmined transaction to age",
        )
        assert value(stuck, "peercare_outbox_rows", state="sent") == WRITES_PER_TICKET
        assert value(stuck, "peercare_signer_in_flight") == WRITES_PER_TICKET
        assert value(stuck, "peercare_chain_nonce_lag") == WRITES_PER_TICKET
        assert value(stuck, "peercare_oldest_unmined_tx_age_seconds") <= (time.time() * 1000 - row.sent_at_ms) / 1000
    world.drain()
    after = scrape(world.client)
    confirmed = "peercare_outbox_rows"
    assert value(after, confirmed, state="confirmed") - value(before, confirmed, state="confirmed") == WRITES_PER_TICKET
    assert value(after, "peercare_outbox_rows", state="sent") == 0
    assert value(after, "peercare_signer_in_flight") == 0 and value(after, "peercare_chain_nonce_lag") == 0
    assert value(after, "peercare_oldest_unmined_tx_age_seconds") == 0


def test_replacements_are_counted_from_the_database_alike_by_every_application(
    world: World, other_app: TestClient
) -> None:
    replacements = "peercare_tx_replacements_total"
    before = value(scrape(world.client), replacements)
    assert value(scrape(other_app), replacements) == before == replacements_in_database(world)
    with oracle_without_funds(world):  # refused for lack of funds: replaced after replace_after_s and 3 blocks
        open_ticket(world)
        row = wait_for(lambda: next(iter(sent_rows(world)), None), "the ticket's question to be signed")

        def replaced() -> bool:
            with world.oracle.database.read() as session:
                return len(session.scalars(select(TxAttempt.id).where(TxAttempt.outbox_id == row.id)).all()) > 1

        wait_for(replaced, "the signer to replace the unmined transaction", timeout_s=90)
    expected = replacements_in_database(world)
    assert expected > before
    assert value(scrape(world.client), replacements) == expected
    assert value(scrape(other_app), replacements) == expected


def test_worker_steps_are_timed_by_worker_and_outcome(world: World) -> None:
    metrics = Metrics(world.oracle.context)  # an application's metrics, without the application
    outcomes = iter([1, 0, 1])
    stop = threading.Event()

    def step() -> int:
        try:
            return next(outcomes)
        except StopIteration:
            stop.set()  # this step is the worker's last
            raise RuntimeError("the step fails") from None

    worker = Worker("processor", step, idle_s=0.01, observe_step=metrics.observe_step)
    worker.start(stop)
    assert worker.thread is not None
    worker.thread.join(timeout=30)
    assert not worker.thread.is_alive() and worker.errors == 1
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
    }
    count = "peercare_worker_step_duration_seconds_count"
    assert value(samples, count, worker="processor", outcome="work") == 2
    assert value(samples, count, worker="processor", outcome="idle") == 1
    assert value(samples, count, worker="processor", outcome="error") == 1


def test_the_running_oracles_workers_report_their_steps(world: World) -> None:
    world.drain()  # the oracle's own workers have stepped, through `Oracle.workers`
    samples = scrape(world.client)
    count = "peercare_worker_step_duration_seconds_count"
    for worker in ("processor", "signer", "indexer", "router"):
        steps = sum(value(samples, count, worker=worker, outcome=outcome) for outcome in ("work", "idle", "error"))
        assert steps > 0, f"the {worker} worker reported no step"

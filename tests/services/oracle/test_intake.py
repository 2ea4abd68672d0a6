"""Webhook intake over HTTP: a delivery is stored before it is acknowledged; forged, stale,
replayed, oversized and malformed deliveries are refused with a problem document and change
nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from peercare.api import problems
from peercare.api.intake import MAX_BODY_BYTES, Intake, webhook_router
from peercare.db.database import Database
from peercare.db.tables.oracle import WebhookCredential, WebhookEvent
from peercare.oracle.brands import configure_brand
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers

SECRET = "brand-one-secret"
URL = "/api/v1/webhooks/1/generic"


@pytest.fixture
def intake(database: Database) -> Iterator[Intake]:
    with database.transaction() as session:
        configure_brand(session, 1, "Acme", answer_window_s=60)
        session.flush()
        session.add(WebhookCredential(brand_id=1, source="generic", secret=SECRET))
    intake = Intake(database)
    intake.writer.start()
    yield intake
    intake.writer.stop()


@pytest.fixture
def client(intake: Intake) -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.include_router(webhook_router(intake))
    return TestClient(app)


def signed(body: bytes, secret: str = SECRET, brand_id: int = 1, timestamp: int | None = None) -> dict[str, str]:
    """Headers signing `body` for brand `brand_id`'s generic webhook (brand 1's is `URL`)."""
    return generic_headers(secret, body, timestamp, brand_id=brand_id)


def ticket_body(ticket: str = "T-1", event_id: str = "evt-1", occurred_at: str | None = None) -> bytes:
    occurred_at = occurred_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return generic_body(
        "ticket_created",
        event_id,
        ticket,
        occurred_at,
        subject="Sync stuck",
        body="My node does not sync",
        tags=["sync"],
        requester_id="cust-1",
    )


def stored(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent)) or 0


def test_a_webhook_configured_after_the_credentials_were_cached_answers_at_once(
    client: TestClient, database: Database
) -> None:
    body = ticket_body()
    assert client.post(URL, content=body, headers=signed(body)).status_code == 200  # cached
    with database.transaction() as session:
        configure_brand(session, 2, "Beta", answer_window_s=60)
        session.flush()
        session.add(WebhookCredential(brand_id=2, source="generic", secret="brand-two-secret"))
    other = ticket_body("T-2", "evt-2")
    response = client.post(
        "/api/v1/webhooks/2/generic", content=other, headers=signed(other, "brand-two-secret", brand_id=2)
    )
    assert response.status_code == 200, response.text
    unknown = client.post("/api/v1/webhooks/3/generic", content=other, headers=signed(other, "x", brand_id=3))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no generic webhook is configured for brand 3"


def test_a_signed_delivery_is_stored_then_acknowledged(client: TestClient, database: Database) -> None:
    body = ticket_body()
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    with database.transaction() as session:
        row = session.get(WebhookEvent, response.json()["event_id"])
        assert row is not None and row.kind == "ticket_created" and row.status == "pending"
        assert row.payload["subject"] == "Sync stuck" and row.event_key == "evt-1"


def test_a_replayed_delivery_is_acknowledged_as_duplicate_and_stored_once(
    client: TestClient, database: Database
) -> None:
    body = ticket_body()
    first = client.post(URL, content=body, headers=signed(body))
    again = client.post(URL, content=body, headers=signed(body))
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "event_id": first.json()["event_id"]}
    assert stored(database) == 1


def test_concurrent_deliveries_of_the_same_event_store_it_once(client: TestClient, database: Database) -> None:
    body = ticket_body()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.post(URL, content=body, headers=signed(body)), range(16)))
    statuses = sorted(r.json()["status"] for r in results)
    assert statuses == ["accepted"] + ["duplicate"] * 15
    assert stored(database) == 1


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (lambda b, h: (b, {**h, "X-PeerCare-Signature": "v2=" + "0" * 64}), "no v2 signature"),
        (lambda b, h: (b.replace(b"stuck", b"STUCK"), h), "no v2 signature"),
        (lambda b, h: (b, signed(b, "wrong-secret")), "no v2 signature"),
        (lambda b, h: (b, signed(b, timestamp=int(time.time()) - 301)), "X-PeerCare-Timestamp"),
        (lambda b, h: (b, {"Content-Type": "application/json"}), "X-PeerCare-Timestamp"),
    ],
    ids=["forged-signature", "altered-body", "wrong-secret", "stale", "unsigned"],
)
def test_forged_or_stale_deliveries_get_401_and_change_nothing(
    client: TestClient, database: Database, tamper: object, detail: str
) -> None:
    body = ticket_body()
    body, headers = tamper(body, signed(body))  # type: ignore[operator]
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"] and response.json()["status"] == 401
    assert stored(database) == 0


def test_a_malformed_body_gets_422_naming_the_field(client: TestClient, database: Database) -> None:
    body = generic_body(
        "ticket_created",
        "evt-2",
        "T-2",
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        subject="s",
        body="b",
        tags="not-a-list",
        requester_id="c",
    )
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 422
    assert ["data", "tags"] in [e["loc"] for e in response.json()["errors"]]
    assert stored(database) == 0


def test_unconfigured_brands_and_unknown_sources_get_404(client: TestClient, database: Database) -> None:
    body = ticket_body()
    assert (
        client.post("/api/v1/webhooks/2/generic", content=body, headers=signed(body, brand_id=2)).json()["detail"]
        == "no generic webhook is configured for brand 2"
    )
    assert client.post("/api/v1/webhooks/1/jira", content=body).status_code == 404
    assert client.post("/api/v1/webhooks/1/zendesk", content=body).status_code == 404
    assert stored(database) == 0


def test_an_oversized_body_gets_413_before_it_is_read_whole(client: TestClient, database: Database) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 413
    assert stored(database) == 0


def test_a_database_outage_answers_503_and_acknowledges_nothing(
    client: TestClient, database: Database, intake: Intake
) -> None:
    def broken(rows: object) -> object:
        raise ConnectionError("database is down")

    intake.writer._store = broken  # type: ignore[method-assign,assignment]  # a fault we cannot cause for real
    body = ticket_body()
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 503 and "nothing was recorded" in response.json()["detail"]


def test_one_group_of_several_brands_and_sources_stores_each_key_once_and_names_its_id(database: Database) -> None:
    """The writer's group commit: the same event key under another brand or source is another
    event; a key sent twice in the group, or stored by an earlier group, is one."""
    from peercare.api.intake import EventWriter, event_row
    from peercare.oracle.events import event_from_json

    with database.transaction() as session:
        configure_brand(session, 1, "Acme")
        configure_brand(session, 2, "Globex")

    def row(brand_id: int, source: str, key: str) -> dict[str, object]:
        event = {"kind": "ticket_solved", "event_key": key, "ticket_id": "T", "occurred_at": "2026-12-01T00:00:00Z"}
        return event_row(brand_id, source, event_from_json(event))

    writer = EventWriter(database)
    [(earlier, _)] = writer._store([row(2, "zendesk", "k")])
    keys = [(1, "generic", "k"), (1, "zendesk", "k"), (2, "zendesk", "k"), (1, "generic", "k"), (2, "generic", "j")]
    results = writer._store([row(*key) for key in keys])
    with database.read() as session:
        ids = {(e.brand_id, e.source, e.event_key): e.id for e in session.scalars(select(WebhookEvent))}
    assert len(ids) == 4
    assert [event_id for event_id, _ in results] == [ids[key] for key in keys]
    assert ids[2, "zendesk", "k"] == earlier
    assert [new for _, new in results] == [True, True, False, False, True]

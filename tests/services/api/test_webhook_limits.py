"""Webhook routes are rate limited per brand and source: authentic deliveries past a source's burst
get 429 with Retry-After and record nothing, without touching another brand's bucket; refused
deliveries (forged, unconfigured) count against their client address, never the brand's."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from peercare.api.app import create_app
from peercare.api.limits import RateLimiter
from peercare.db.tables.oracle import WebhookEvent
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from tests.support.oracle_process import SECRET
from tests.support.world import World

BURST = 3
HELP_DESK = ("203.0.113.7", 40000)  # the brands' ticketing system
STRANGER = ("198.51.100.9", 40001)


@dataclass
class Limited:
    help_desk: TestClient
    stranger: TestClient


@pytest.fixture
def limited(world: World) -> Iterator[Limited]:
    """The world's API and webhooks with bursts of 3 and no refill to speak of: 3 authentic
    deliveries per brand and source, 3 requests (or refused deliveries) per address."""
    context = world.oracle.context
    settings = context.settings.model_copy(update={"webhook_burst": BURST, "webhook_rate_per_s": 0.001})
    context = replace(context, settings=settings, limiter=RateLimiter(rate_per_s=0.001, burst=BURST))
    app = create_app(context, world.oracle.intake)
    with TestClient(app, client=HELP_DESK) as help_desk, TestClient(app, client=STRANGER) as stranger:
        yield Limited(help_desk, stranger)


def _ticket(brand_id: int, secret: str = SECRET) -> tuple[str, bytes, dict[str, str]]:
    """A new ticket's creation, signed for `brand_id`'s generic webhook: (event id, body, headers)."""
    ticket = f"LIMIT-{uuid.uuid4().hex[:10]}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = {"subject": "Bursts", "body": "Many at once", "tags": ["wallets"], "requester_id": f"cust-{ticket}"}
    body = generic_body("ticket_created", f"{ticket}-open", ticket, now, **data)
    return f"{ticket}-open", body, generic_headers(secret, body, brand_id=brand_id)


def _deliver(client: TestClient, brand_id: int, secret: str = SECRET) -> tuple[str, int]:
    event, body, headers = _ticket(brand_id, secret)
    response = client.post(f"/api/v1/webhooks/{brand_id}/generic", content=body, headers=headers)
    return event, response.status_code


def _recorded(world: World, *events: str) -> int:
    with world.oracle.database.read() as session:
        query = select(func.count()).select_from(WebhookEvent).where(WebhookEvent.event_key.in_(events))
        return session.scalar(query) or 0


def test_authentic_deliveries_past_a_sources_burst_get_429_with_retry_after_and_record_nothing(
    world: World, limited: Limited
) -> None:
    brand = world.dev.brand_id
    accepted = [_deliver(limited.help_desk, brand) for _ in range(BURST)]
    assert [status for _, status in accepted] == [200] * BURST

    event, body, headers = _ticket(brand)
    refused = limited.help_desk.post(f"/api/v1/webhooks/{brand}/generic", content=body, headers=headers)

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    problem = refused.json()
    assert problem["status"] == 429 and problem["title"] == "Too Many Requests"
    assert problem["instance"] == f"/api/v1/webhooks/{brand}/generic"
    assert problem["detail"].startswith(
        f"too many deliveries to brand {brand}'s generic webhook: at most {BURST} at once, then 0.001 per second;"
    )
    assert problem["detail"].endswith("(nothing was recorded)")
    assert _recorded(world, event) == 0
    assert _recorded(world, *(e for e, _ in accepted)) == BURST


def test_one_brands_spent_burst_leaves_another_brands_deliveries_alone(world: World, limited: Limited) -> None:
    for _ in range(BURST + 1):
        _deliver(limited.help_desk, world.dev.brand_id)
    assert _deliver(limited.help_desk, world.dev.brand_id)[1] == 429
    event, status = _deliver(limited.help_desk, world.brand2_id)
    assert status == 200 and _recorded(world, event) == 1


def test_forged_deliveries_count_against_their_address_and_never_spend_the_brands_burst(
    world: World, limited: Limited
) -> None:
    brand = world.dev.brand_id
    forged = [_deliver(limited.stranger, brand, secret="guessed") for _ in range(BURST + 2)]

    assert [status for _, status in forged] == [401] * BURST + [429] * 2
    assert _recorded(world, *(e for e, _ in forged)) == 0
    # Refused before its body is read; the brand's own deliveries, from their address, still pass.
    event, body, headers = _ticket(brand)
    too_many = limited.stranger.post(f"/api/v1/webhooks/{brand}/generic", content=body, headers=headers)
    assert too_many.status_code == 429
    assert too_many.json()["detail"].startswith("too many refused webhook deliveries from this address")
    assert _recorded(world, event) == 0
    assert [_deliver(limited.help_desk, brand)[1] for _ in range(BURST)] == [200] * BURST


def test_deliveries_to_unconfigured_webhooks_count_against_their_address(world: World, limited: Limited) -> None:
    body = b"{}"
    statuses = [
        limited.stranger.post(f"/api/v1/webhooks/{n}/generic", content=body).status_code
        for n in range(9_000_000, 9_000_000 + BURST + 1)
    ]
    assert statuses == [404] * BURST + [429]

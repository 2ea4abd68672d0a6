"""The generic webhook's signature binds the brand: a delivery signed for one brand, replayed to
another brand configured with the same secret (the world's two brands share one), is refused
with 401 and records nothing."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select

from peercare.db.tables.oracle import WebhookEvent
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from tests.support.oracle_process import SECRET
from tests.support.world import World


def _recorded(world: World, brand_id: int, event: str) -> int:
    with world.oracle.database.read() as session:
        query = select(func.count()).select_from(WebhookEvent)
        query = query.where(WebhookEvent.brand_id == brand_id, WebhookEvent.event_key == event)
        return session.scalar(query) or 0


def test_a_delivery_signed_for_one_brand_replayed_to_another_sharing_its_secret_is_refused(world: World) -> None:
    first, second = world.dev.brand_id, world.brand2_id
    ticket = f"REPLAY-{uuid.uuid4().hex[:10]}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = {"subject": "Mine", "body": "For brand 1", "tags": ["wallets"], "requester_id": f"cust-{ticket}"}
    body = generic_body("ticket_created", f"{ticket}-open", ticket, now, **data)
    headers = generic_headers(SECRET, body, brand_id=first)
    assert world.client.post(f"/api/v1/webhooks/{first}/generic", content=body, headers=headers).status_code == 200

    replay = world.client.post(f"/api/v1/webhooks/{second}/generic", content=body, headers=headers)

    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.json()["detail"] == f"no v2 signature in X-PeerCare-Signature matches the body and brand {second}"
    assert _recorded(world, second, f"{ticket}-open") == 0
    assert _recorded(world, first, f"{ticket}-open") == 1

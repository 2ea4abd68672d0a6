"""Sending events in PeerCare's generic webhook format (docs/webhooks.md, verified by `generic`):
what the demo, the benchmark and a brand's own integration do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from peercare.oracle.webhooks.generic import (
    GENERIC_SCHEME,
    GENERIC_SIGNATURE,
    GENERIC_TIMESTAMP,
    generic_signed_message,
)


def generic_body(kind: str, event_id: str, ticket_id: str, occurred_at: str, **data: Any) -> bytes:
    """The body of one generic event: `data` holds the kind's own fields."""
    envelope = {"type": kind, "id": event_id, "ticket_id": ticket_id, "occurred_at": occurred_at, "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode()


def generic_signature(secret: str, timestamp: int, body: bytes, *, brand_id: int) -> str:
    """The hex HMAC-SHA256, with the brand's secret, of "<timestamp>.<brand id>." + body."""
    return hmac.new(secret.encode(), generic_signed_message(timestamp, brand_id, body), hashlib.sha256).hexdigest()


def generic_headers(secret: str, body: bytes, timestamp: int | None = None, *, brand_id: int) -> dict[str, str]:
    """Headers that sign `body` for brand `brand_id`'s generic webhook with the brand's secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        GENERIC_TIMESTAMP: str(timestamp),
        GENERIC_SIGNATURE: f"{GENERIC_SCHEME}={generic_signature(secret, timestamp, body, brand_id=brand_id)}",
    }

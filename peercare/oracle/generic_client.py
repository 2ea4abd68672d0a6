"""Sending events in PeerCare's generic webhook format (docs/webhooks.md): what the demo, the
benchmark and a brand's own integration do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from peercare.oracle.webhooks import GENERIC_SIGNATURE, GENERIC_TIMESTAMP


def generic_body(kind: str, event_id: str, ticket_id: str, occurred_at: str, **data: Any) -> bytes:
    """The body of one generic event: `data` holds the kind's own fields."""
    envelope = {"type": kind, "id": event_id, "ticket_id": ticket_id, "occurred_at": occurred_at, "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode()


def generic_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers that sign `body` with the brand's secret (HMAC-SHA256 over "<timestamp>." + body)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        GENERIC_TIMESTAMP: str(timestamp),
        GENERIC_SIGNATURE: f"v1={signature}",
    }

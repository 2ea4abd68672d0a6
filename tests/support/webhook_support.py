"""Deliveries as each ticketing system sends them (Zendesk, Freshdesk, the generic signed
webhook), signed with the tests' credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from peercare.oracle.webhooks import Credential

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC).timestamp()

STAMP = "2026-11-22T09:00:00Z"  # == NOW

ZENDESK = Credential(secret="zd-signing-secret-4f1c")

GENERIC = Credential(secret="whsec-brand-7-current")

BRAND = 7  # the brand the generic deliveries are addressed to (their signature binds it)

FRESHDESK_PASSWORD = "correct horse battery staple"

FRESHDESK = Credential(
    secret="fd-token-91b2",
    basic_username="peercare",
    basic_password_sha256=hashlib.sha256(FRESHDESK_PASSWORD.encode()).hexdigest(),
)

WALLET = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"

SIGNATURE = "0x" + "1b" * 65


def zendesk_signature(secret: str, message: bytes) -> str:
    """base64(HMAC-SHA256) with the secret's text as the key, as Zendesk documents it."""
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def zendesk_delivery(
    payload: dict[str, Any], *, secret: str = ZENDESK.secret, timestamp: str = STAMP
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = {
        "X-Zendesk-Webhook-Signature": zendesk_signature(secret, timestamp.encode() + body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
    }
    return headers, body


def generic_signature(secret: str, timestamp: int, body: bytes, brand_id: int = BRAND) -> str:
    """v2: hex HMAC-SHA256 of "<timestamp>.<brand id>." + body, as docs/webhooks.md says."""
    return hmac.new(secret.encode(), f"{timestamp}.{brand_id}.".encode() + body, hashlib.sha256).hexdigest()


def generic_delivery(
    payload: dict[str, Any],
    *,
    secrets: tuple[str, ...] = (GENERIC.secret,),
    timestamp: int = int(NOW),
    brand_id: int = BRAND,
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signatures = ",".join(f"v2={generic_signature(secret, timestamp, body, brand_id)}" for secret in secrets)
    return {"X-PeerCare-Timestamp": str(timestamp), "X-PeerCare-Signature": signatures}, body


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def freshdesk_delivery(
    payload: dict[str, Any],
    *,
    token: str = FRESHDESK.secret,
    username: str = "peercare",
    password: str = FRESHDESK_PASSWORD,
) -> tuple[dict[str, str], bytes]:
    headers = {"X-PeerCare-Token": token, "Authorization": basic_auth(username, password)}
    return headers, json.dumps(payload).encode()


def zendesk_event(
    kind: str, event: dict[str, Any], *, event_id: str = "cbe4028c-7239-495d-b020-f22348516046", **detail: Any
) -> dict[str, Any]:
    """A Zendesk ticket event envelope, fields as in Zendesk's published examples."""
    return {
        "type": f"zen:event-type:ticket.{kind}",
        "account_id": 22129848,
        "id": event_id,
        "time": "2026-11-22T08:59:58.672717030Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:5158",
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2026-11-22T08:59:58Z",
            "description": "My router drops Wi-Fi every evening at 8pm.",
            "external_id": None,
            "id": "5158",
            "is_public": True,
            "priority": "HIGH",
            "requester_id": "8447388090494",
            "status": "OPEN",
            "subject": "Wi-Fi drops every evening",
            "tags": ["Router", "wifi", "router"],
            "type": "PROBLEM",
            "updated_at": "2026-11-22T08:59:58Z",
            "via": {"channel": "web_service"},
            **detail,
        },
        "event": event,
    }


def zendesk_comment(body: str, *, comment_id: str = "9876543210", public: bool = True) -> dict[str, Any]:
    author = {"id": "8447388090777", "is_staff": False, "name": "Ada (advocate)"}
    return zendesk_event(
        "comment_added", {"comment": {"id": comment_id, "body": body, "is_public": public, "author": author}}
    )


def zendesk_satisfaction(rating: str = "4", **fields: Any) -> dict[str, Any]:
    """PeerCare's satisfaction envelope as a Zendesk trigger renders it (docs/webhooks.md)."""
    return {
        "type": "peercare:ticket.satisfaction_rated",
        "time": "2026-11-22T08:59Z",
        "ticket_id": "5158",
        "rater_id": "8447388090494",
        "rating": rating,
        "tags": "wifi peercare_solution_9876543210 router",
        **fields,
    }


def freshdesk_body(event: str, **fields: Any) -> dict[str, Any]:
    return {"freshdesk_webhook": {"event": event, "ticket_id": "42", "occurred_at": "2026-11-22T08:59:30Z", **fields}}


def generic_body(
    kind: str, data: dict[str, Any], *, event_id: str = "evt_01", ticket_id: str = "T-1"
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": event_id,
        "occurred_at": "2026-11-22T10:59:00+02:00",
        "ticket_id": ticket_id,
        "data": data,
    }

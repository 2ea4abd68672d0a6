"""Generic webhooks: PeerCare's own format for a brand's own system (docs/webhooks.md, "Generic"):
one event per request as `{type, id, occurred_at, ticket_id, data}`, with Stripe-style `v2=` HMAC
signatures over the timestamp, the brand id and the body (so a secret shared by two brands signs for
one only), several at once during a secret rotation. `generic_client` is the sending side.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from peercare.oracle.events import TicketEvent
from peercare.oracle.webhooks.common import (
    ABSENT,
    EVENT_KINDS,
    MODELS,
    Credential,
    Headers,
    Loc,
    Reader,
    WebhookRejected,
    build,
    check_fresh,
    decode,
    hmac_sha256,
    reject,
)

GENERIC_TIMESTAMP = "X-PeerCare-Timestamp"
GENERIC_SIGNATURE = "X-PeerCare-Signature"
#: The generic signature's scheme: v2 signs "<timestamp>.<brand id>." + body. v1 signed
#: "<timestamp>." + body, which a secret reused by two brands let anyone replay to the other: refused.
GENERIC_SCHEME = "v2"

_COMMON = ("kind", "event_key", "ticket_id", "occurred_at")


def verify_and_parse(
    credential: Credential, headers: Headers, body: bytes, now: float, brand_id: int | None
) -> TicketEvent:
    """The normalised event of one authentic, fresh generic delivery to brand `brand_id`, which the
    signature binds (so it is needed)."""
    if brand_id is None:
        raise ValueError("a generic delivery is verified for a brand: its signature binds the brand id")
    _verify(credential, headers, body, now, brand_id)
    return _parse(decode(body))


# --- authentication -------------------------------------------------------------------------------


def generic_signed_message(timestamp: int | str, brand_id: int, body: bytes) -> bytes:
    """What a v2 generic signature signs: "<timestamp>.<brand id>." then the body's bytes."""
    return f"{timestamp}.{brand_id}.".encode("ascii") + body


def _verify(credential: Credential, headers: Headers, body: bytes, now: float, brand_id: int) -> None:
    timestamp = headers.require(GENERIC_TIMESTAMP)
    header = headers.require(GENERIC_SIGNATURE)
    if not re.fullmatch(r"[0-9]{1,12}", timestamp):
        raise WebhookRejected(401, f"{GENERIC_TIMESTAMP} is not unix seconds (an integer)")
    parts = [part.strip() for part in header.split(",")]
    prefix = GENERIC_SCHEME + "="
    candidates = [part[len(prefix) :] for part in parts if part.startswith(prefix)]
    if not candidates:
        if any(part.startswith("v1=") for part in parts):
            raise WebhookRejected(
                401,
                f"{GENERIC_SIGNATURE} has only v1= signatures, which do not bind the brand: sign with "
                f'{GENERIC_SCHEME}= over "<timestamp>.<brand id>." + body',
            )
        raise WebhookRejected(401, f"{GENERIC_SIGNATURE} has no {prefix} signature")
    signed = generic_signed_message(timestamp, brand_id, body)
    expected = hmac_sha256(credential.secret, signed).hex().encode("ascii")
    matched = False
    for candidate in candidates:  # several during a secret rotation; every one is compared
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8"))
    if not matched:
        raise WebhookRejected(
            401, f"no {GENERIC_SCHEME} signature in {GENERIC_SIGNATURE} matches the body and brand {brand_id}"
        )
    check_fresh(int(timestamp), now, GENERIC_TIMESTAMP)


# --- reading bodies -------------------------------------------------------------------------------


def _parse(obj: dict[str, Any]) -> TicketEvent:
    reader = Reader(obj)
    reader.forbid_extra((), {"type", "id", "occurred_at", "ticket_id", "data"})
    kind = reader.choice(("type",), EVENT_KINDS)
    data = reader.get(("data",))
    if data is not ABSENT and not isinstance(data, dict):
        reader.fail(("data",), "Input should be a JSON object", "dict_type")
    if kind is None or not isinstance(data, dict):
        raise reject(reader.errors)
    fields = set(MODELS[kind].model_fields) - set(_COMMON)
    reader.forbid_extra(("data",), fields)
    values = {
        "event_key": reader.get(("id",)),
        "ticket_id": reader.get(("ticket_id",)),
        "occurred_at": reader.time(("occurred_at",)),
        **{name: data[name] for name in fields if name in data},
    }
    if kind == "comment_added":
        values.setdefault("author_wallet", None)  # optional in the generic format
    where: dict[str, Loc] = {
        "kind": ("type",),
        "event_key": ("id",),
        "ticket_id": ("ticket_id",),
        "occurred_at": ("occurred_at",),
    }
    return build(reader, kind, values, {**where, **{name: ("data", name) for name in fields}})

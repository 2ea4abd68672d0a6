"""Ticketing webhooks: authenticate one delivery, then turn its body into one normalised event.

`verify_and_parse` is all the HTTP route calls. Authentication always comes first, so a forged
request learns nothing about parsing; every secret, signature and password is compared with
`hmac.compare_digest`. The formats, headers and signing recipes are in docs/webhooks.md; each source
is one module, registered in `_SOURCES` under the name the route's `{source}` uses:

- `zendesk`: Zendesk's own signature, base64(HMAC-SHA256(secret, timestamp + body)), over its
  event-subscription envelope (plus one PeerCare envelope for satisfaction, sent by a trigger);
- `freshdesk`: unsigned, so a per-brand token header and HTTP basic auth, over a JSON template the
  brand pastes into an automation rule;
- `generic`: PeerCare's own format, Stripe-style `v2=` HMAC signatures over the timestamp, the brand
  id and the body (so a secret shared by two brands signs for one only), allowing secret rotation;
  `generic_client` signs deliveries in it.

What they share (the credential, the error, headers, freshness, reading a body) is in `common`.
A rejection is a `WebhookRejected`: 401 for anything about authenticity (including staleness),
422 for a body that is not what the source's format promises, with pydantic-like errors whose
`loc` is a path in that body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from peercare.oracle.events import TicketEvent
from peercare.oracle.webhooks import freshdesk, generic, zendesk
from peercare.oracle.webhooks.common import MAX_AGE_S, Credential, Headers, WebhookRejected
from peercare.oracle.webhooks.freshdesk import FRESHDESK_TOKEN
from peercare.oracle.webhooks.generic import (
    GENERIC_SCHEME,
    GENERIC_SIGNATURE,
    GENERIC_TIMESTAMP,
    generic_signed_message,
)
from peercare.oracle.webhooks.zendesk import ZENDESK_SIGNATURE, ZENDESK_TIMESTAMP

__all__ = [
    "FRESHDESK_TOKEN",
    "GENERIC_SCHEME",
    "GENERIC_SIGNATURE",
    "GENERIC_TIMESTAMP",
    "MAX_AGE_S",
    "SOURCES",
    "ZENDESK_SIGNATURE",
    "ZENDESK_TIMESTAMP",
    "Credential",
    "WebhookRejected",
    "generic_signed_message",
    "verify_and_parse",
]

# Each source's own verify_and_parse: (credential, headers, body, now, brand id) -> event.
_VerifyAndParse = Callable[[Credential, Headers, bytes, float, int | None], TicketEvent]
_SOURCES: dict[str, _VerifyAndParse] = {
    "zendesk": zendesk.verify_and_parse,
    "freshdesk": freshdesk.verify_and_parse,
    "generic": generic.verify_and_parse,
}
SOURCES = tuple(_SOURCES)  # ("zendesk", "freshdesk", "generic")


def verify_and_parse(
    source: str,
    credential: Credential,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    brand_id: int | None = None,
) -> TicketEvent:
    """The normalised event of one authentic, fresh delivery to brand `brand_id` (the route's;
    the generic signature binds it, so a generic delivery needs it); `now` is unix seconds."""
    if source not in _SOURCES:
        raise ValueError(f"unknown webhook source {source!r}; expected one of {', '.join(SOURCES)}")
    return _SOURCES[source](credential, Headers(headers), body, now, brand_id)

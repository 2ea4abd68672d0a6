"""Freshdesk webhooks: Freshdesk's automation rules send them with the action "Trigger webhook",
which signs nothing; so a per-brand token header and HTTP basic auth, over a JSON template the brand
pastes into each rule (its `{{ticket.*}}` placeholders rendered by Freshdesk). The template, the
header and the rules are in docs/webhooks.md ("Freshdesk").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from peercare.content.document import canonical_json
from peercare.oracle.events import TicketEvent
from peercare.oracle.webhooks.common import (
    ABSENT,
    EVENT_KINDS,
    Credential,
    Headers,
    Loc,
    Reader,
    WebhookRejected,
    build,
    check_fresh,
    comment_tag,
    decode,
    parse_priority,
    parse_rating,
    reject,
)

FRESHDESK_TOKEN = "X-PeerCare-Token"
AUTHORIZATION = "Authorization"


def verify_and_parse(
    credential: Credential, headers: Headers, body: bytes, now: float, brand_id: int | None
) -> TicketEvent:
    """The normalised event of one authentic, fresh Freshdesk delivery (nothing is signed, so
    `brand_id` is not used; freshness is the body's `occurred_at`)."""
    _verify(credential, headers)
    return _parse(decode(body), now)


# --- authentication -------------------------------------------------------------------------------


def _verify(credential: Credential, headers: Headers) -> None:
    if credential.basic_username is None or credential.basic_password_sha256 is None:
        raise ValueError("a freshdesk credential needs basic_username and basic_password_sha256")
    token = headers.require(FRESHDESK_TOKEN)
    if not hmac.compare_digest(token.encode("utf-8"), credential.secret.encode("utf-8")):
        raise WebhookRejected(401, f"{FRESHDESK_TOKEN} does not match the brand's token")
    authorization = headers.get(AUTHORIZATION)
    if authorization is None:
        raise WebhookRejected(401, f"the {AUTHORIZATION} header (HTTP basic auth) is missing")
    username, password = _basic_credentials(authorization)
    # Both comparisons always run, and one message covers both: which half was wrong is not said.
    user_ok = hmac.compare_digest(username.encode("utf-8"), credential.basic_username.encode("utf-8"))
    password_digest = hashlib.sha256(password.encode("utf-8")).hexdigest().encode("ascii")
    password_ok = hmac.compare_digest(password_digest, credential.basic_password_sha256.lower().encode("ascii"))
    if not (user_ok and password_ok):
        raise WebhookRejected(401, "the HTTP basic-auth username or password is wrong")


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError(scheme)
        username, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        if not colon:
            raise ValueError("no colon")
    except (ValueError, binascii.Error):
        raise WebhookRejected(
            401, f"the {AUTHORIZATION} header is not HTTP basic auth (Basic base64(username:password))"
        ) from None
    return username, password


# --- reading bodies -------------------------------------------------------------------------------

_FD: Loc = ("freshdesk_webhook",)  # the template wraps its fields in one object


def _parse(obj: dict[str, Any], now: float) -> TicketEvent:
    reader = Reader(obj)
    occurred_at = reader.time((*_FD, "occurred_at"))
    if isinstance(occurred_at, datetime):  # unsigned: the only freshness there is, checked before the rest
        check_fresh(occurred_at.timestamp(), now, "freshdesk_webhook.occurred_at")
    kind = reader.choice((*_FD, "event"), EVENT_KINDS)
    if kind is None:
        raise reject(reader.errors)
    # Freshdesk sends no delivery id; a hash of the whole rendered template is the same for a
    # re-delivery and differs between events (their times or contents differ).
    digest = hashlib.sha256(canonical_json(obj["freshdesk_webhook"])).hexdigest()
    common = {
        "event_key": f"{kind}:{digest}",
        "ticket_id": reader.ident((*_FD, "ticket_id")),
        "occurred_at": occurred_at,
    }
    values = _FIELDS[kind](reader, digest)
    renamed = _NAMES.get(kind, {})
    where = {name: (*_FD, renamed.get(name, name)) for name in (*common, *values)}
    return build(reader, kind, {**common, **values}, where)


# Normalised fields whose name in the template differs (the rest have the same name).
_NAMES = {
    "ticket_created": {"body": "description"},
    "comment_added": {"body": "comment", "author_wallet": "comment", "signature": "comment"},
}


def _created(reader: Reader, digest: str) -> dict[str, Any]:
    tags = reader.get((*_FD, "tags"), required=False)
    if isinstance(tags, str):  # {{ticket.tags}} renders as "a, b, c"
        tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
    return {
        "subject": reader.get((*_FD, "subject")),
        "body": reader.get((*_FD, "description")),
        "tags": [] if tags is ABSENT or tags is None else tags,
        "requester_id": reader.ident((*_FD, "requester_id")),
        "priority": parse_priority(reader.ident((*_FD, "priority"), required=False)),
    }


def _comment(reader: Reader, digest: str) -> dict[str, Any]:
    body, wallet, signature = comment_tag(reader, (*_FD, "comment"), reader.get((*_FD, "comment")))
    comment_id = reader.ident((*_FD, "comment_id"), required=False)
    public = reader.optional((*_FD, "public"))
    if isinstance(public, str) and public.lower() in ("true", "false"):
        public = public.lower() == "true"
    return {
        # No placeholder gives a comment id; the delivery's digest is one, stable across re-deliveries.
        "comment_id": f"fd-{digest[:24]}" if comment_id is ABSENT else comment_id,
        "author_id": reader.ident((*_FD, "author_id")),
        "author_wallet": wallet,
        "body": body,
        "public": True if public is ABSENT else public,
        "signature": signature,
    }


def _solved(reader: Reader, digest: str) -> dict[str, Any]:
    return {"solved_by_comment_id": reader.ident((*_FD, "solved_by_comment_id"), required=False)}


def _rated(reader: Reader, digest: str) -> dict[str, Any]:
    return {
        "rating": parse_rating(reader, (*_FD, "rating"), reader.get((*_FD, "rating"))),
        "rater_id": reader.ident((*_FD, "rater_id")),
        "comment_id": reader.ident((*_FD, "comment_id"), required=False),
    }


_FIELDS: dict[str, Callable[[Reader, str], dict[str, Any]]] = {
    "ticket_created": _created,
    "comment_added": _comment,
    "ticket_solved": _solved,
    "satisfaction_rated": _rated,
}

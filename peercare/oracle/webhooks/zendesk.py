"""Zendesk webhooks: Zendesk's own signature, base64(HMAC-SHA256(secret, timestamp + body)), over its
event-subscription envelope (developer.zendesk.com: "Verifying webhook authenticity", "Ticket
events"), plus one PeerCare envelope for satisfaction, sent by a trigger (Zendesk has no CSAT event).
The headers, the subscriptions and the trigger are in docs/webhooks.md ("Zendesk").
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from peercare.oracle.events import TicketEvent
from peercare.oracle.webhooks.common import (
    ABSENT,
    Credential,
    Headers,
    Loc,
    Reader,
    WebhookRejected,
    build,
    check_fresh,
    comment_tag,
    decode,
    hmac_sha256,
    parse_priority,
    parse_rating,
    parse_time,
    reject,
)

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"

ZENDESK_TICKET_EVENT = "zen:event-type:ticket."
ZENDESK_SATISFACTION = "peercare:ticket.satisfaction_rated"  # our envelope: Zendesk has no CSAT event
SOLUTION_TAG = "peercare_solution_"  # ticket tag naming the comment that solved it


def verify_and_parse(
    credential: Credential, headers: Headers, body: bytes, now: float, brand_id: int | None
) -> TicketEvent:
    """The normalised event of one authentic, fresh Zendesk delivery (the signature does not bind
    the brand: `brand_id` is not used)."""
    _verify(credential, headers, body, now)
    return _parse(decode(body))


# --- authentication -------------------------------------------------------------------------------


def _verify(credential: Credential, headers: Headers, body: bytes, now: float) -> None:
    signature = headers.require(ZENDESK_SIGNATURE)
    timestamp = headers.require(ZENDESK_TIMESTAMP)
    expected = base64.b64encode(hmac_sha256(credential.secret, timestamp.encode("utf-8") + body))
    if not hmac.compare_digest(expected, signature.encode("utf-8")):
        raise WebhookRejected(401, f"{ZENDESK_SIGNATURE} does not match the body")
    try:
        sent_at = parse_time(timestamp)
    except ValueError as exc:
        raise WebhookRejected(401, f"{ZENDESK_TIMESTAMP} is {exc}") from None
    check_fresh(sent_at.timestamp(), now, ZENDESK_TIMESTAMP)


# --- reading bodies -------------------------------------------------------------------------------


def _parse(obj: dict[str, Any]) -> TicketEvent:
    reader = Reader(obj)
    kind = reader.get(("type",))
    if kind == ZENDESK_SATISFACTION:
        return _satisfaction(reader)
    if not (isinstance(kind, str) and kind.startswith(ZENDESK_TICKET_EVENT)):
        if kind is not ABSENT:
            reader.fail(
                ("type",), f"Input should be a {ZENDESK_TICKET_EVENT}* event or {ZENDESK_SATISFACTION}", "literal_error"
            )
        raise reject(reader.errors)
    common = {
        "event_key": reader.get(("id",)),
        "ticket_id": reader.ident(("detail", "id")),
        "occurred_at": reader.time(("time",)),
    }
    where: dict[str, Loc] = {"event_key": ("id",), "ticket_id": ("detail", "id"), "occurred_at": ("time",)}
    parse = _TYPES.get(kind.removeprefix(ZENDESK_TICKET_EVENT))
    if parse is None:
        return build(reader, "ignored", {**common, "reason": f"{kind} is not used by PeerCare"}, where)
    return parse(reader, common, where)


# Where each TicketCreated field is in a ticket event's `detail`.
_DETAIL = {
    "subject": "subject",
    "body": "description",
    "tags": "tags",
    "requester_id": "requester_id",
    "priority": "priority",
}


def _created(reader: Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    values = {
        "subject": reader.get(("detail", "subject")),
        "body": reader.get(("detail", "description")),
        "tags": reader.get(("detail", "tags")),
        "requester_id": reader.ident(("detail", "requester_id")),
        "priority": parse_priority(reader.optional(("detail", "priority"))),
    }
    paths = {name: ("detail", source) for name, source in _DETAIL.items()}
    return build(reader, "ticket_created", {**common, **values}, {**where, **paths})


def _comment(reader: Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    comment: Loc = ("event", "comment")
    body, wallet, signature = comment_tag(reader, (*comment, "body"), reader.get((*comment, "body")))
    values = {
        "comment_id": reader.ident((*comment, "id")),
        "author_id": reader.ident((*comment, "author", "id")),
        "author_wallet": wallet,
        "body": body,
        "public": reader.get((*comment, "is_public")),
        "signature": signature,
    }
    paths: dict[str, Loc] = {
        "comment_id": (*comment, "id"),
        "author_id": (*comment, "author", "id"),
        "author_wallet": (*comment, "body"),
        "body": (*comment, "body"),
        "public": (*comment, "is_public"),
    }
    return build(reader, "comment_added", {**common, **values}, {**where, **paths})


def _status(reader: Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    current = reader.get(("event", "current"))
    if not isinstance(current, str):
        if current is not ABSENT:
            reader.fail(("event", "current"), "Input should be a valid string", "string_type")
        raise reject(reader.errors)
    if current.upper() != "SOLVED":
        return build(reader, "ignored", {**common, "reason": f"status changed to {current[:50]}, not SOLVED"}, where)
    solved_by = _solution_comment(reader, ("detail", "tags"), reader.get(("detail", "tags"), required=False))
    values = {**common, "solved_by_comment_id": solved_by}
    return build(reader, "ticket_solved", values, {**where, "solved_by_comment_id": ("detail", "tags")})


_TypeParser = Callable[[Reader, dict[str, Any], dict[str, Loc]], TicketEvent]
_TYPES: dict[str, _TypeParser] = {
    "created": _created,
    "comment_added": _comment,
    "status_changed": _status,
}


def _satisfaction(reader: Reader) -> TicketEvent:
    """PeerCare's envelope for a trigger-connected webhook, since Zendesk has no CSAT event type."""
    ticket_id = reader.ident(("ticket_id",))
    occurred_at = reader.time(("time",))
    rating = parse_rating(reader, ("rating",), reader.get(("rating",)))
    key = "-"  # stands in when an input is invalid: that input is reported, the key need not be
    if isinstance(ticket_id, str) and isinstance(occurred_at, datetime) and isinstance(rating, int):
        # A trigger has no event id; the ticket, its update time and the rating name one rating.
        key = f"satisfaction:{ticket_id}:{occurred_at.timestamp():.0f}:{rating}"
    values = {
        "event_key": key,
        "ticket_id": ticket_id,
        "occurred_at": occurred_at,
        "rating": rating,
        "rater_id": reader.ident(("rater_id",)),
        "comment_id": _solution_comment(reader, ("tags",), reader.get(("tags",), required=False)),
    }
    where: dict[str, Loc] = {
        "event_key": ("ticket_id",),
        "ticket_id": ("ticket_id",),
        "occurred_at": ("time",),
        "rating": ("rating",),
        "rater_id": ("rater_id",),
        "comment_id": ("tags",),
    }
    return build(reader, "satisfaction_rated", values, where)


def _solution_comment(reader: Reader, loc: Loc, tags: Any) -> Any:
    """The comment id in a `peercare_solution_<comment id>` ticket tag, if there is one."""
    if isinstance(tags, str):  # a trigger's {{ticket.tags}} renders space-separated
        tags = tags.split()
    if not isinstance(tags, list):
        return ABSENT
    ids = {tag[len(SOLUTION_TAG) :] for tag in tags if isinstance(tag, str) and tag.lower().startswith(SOLUTION_TAG)}
    if len(ids) > 1:
        reader.fail(loc, f"more than one {SOLUTION_TAG} tag names the solving comment", "value_error")
        return ABSENT
    return ids.pop() if ids else ABSENT

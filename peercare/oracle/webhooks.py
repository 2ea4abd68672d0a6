"""Ticketing webhooks: authenticate one delivery, then turn its body into one normalised event.

`verify_and_parse` is all the HTTP route calls. Authentication always comes first, so a forged
request learns nothing about parsing; every secret, signature and password is compared with
`hmac.compare_digest`. The formats, headers and signing recipes are in docs/webhooks.md:

- zendesk: Zendesk's own signature, base64(HMAC-SHA256(secret, timestamp + body)), over its
  event-subscription envelope (plus one PeerCare envelope for satisfaction, sent by a trigger);
- freshdesk: unsigned, so a per-brand token header and HTTP basic auth, over a JSON template the
  brand pastes into an automation rule;
- generic: PeerCare's own format, Stripe-style `v2=` HMAC signatures over the timestamp, the brand
  id and the body (so a secret shared by two brands signs for one only), allowing secret rotation.

A rejection is a `WebhookRejected`: 401 for anything about authenticity (including staleness),
422 for a body that is not what the source's format promises, with pydantic-like errors whose
`loc` is a path in that body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from peercare.content.document import canonical_json
from peercare.oracle.events import (
    AnswerSignature,
    CommentAdded,
    Ignored,
    SatisfactionRated,
    TicketCreated,
    TicketEvent,
    TicketSolved,
)

SOURCES = ("zendesk", "freshdesk", "generic")
MAX_AGE_S = 300  # older, or further in the future, than this: stale (401)

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
FRESHDESK_TOKEN = "X-PeerCare-Token"
AUTHORIZATION = "Authorization"
GENERIC_TIMESTAMP = "X-PeerCare-Timestamp"
GENERIC_SIGNATURE = "X-PeerCare-Signature"
#: The generic signature's scheme: v2 signs "<timestamp>.<brand id>." + body. v1 signed
#: "<timestamp>." + body, which a secret reused by two brands let anyone replay to the other: refused.
GENERIC_SCHEME = "v2"

ZENDESK_TICKET_EVENT = "zen:event-type:ticket."
ZENDESK_SATISFACTION = "peercare:ticket.satisfaction_rated"  # our envelope: Zendesk has no CSAT event
SOLUTION_TAG = "peercare_solution_"  # ticket tag naming the comment that solved it
EVENT_KINDS = ("ticket_created", "comment_added", "ticket_solved", "satisfaction_rated")

Loc = tuple[str | int, ...]
_ABSENT: Final = object()
_EventModel = type[TicketCreated] | type[CommentAdded] | type[TicketSolved] | type[SatisfactionRated] | type[Ignored]
_MODELS: dict[str, _EventModel] = {
    "ticket_created": TicketCreated,
    "comment_added": CommentAdded,
    "ticket_solved": TicketSolved,
    "satisfaction_rated": SatisfactionRated,
    "ignored": Ignored,
}
_COMMON = ("kind", "event_key", "ticket_id", "occurred_at")


@dataclass(frozen=True)
class Credential:
    """What a brand configured for one source."""

    secret: str  # HMAC key (zendesk, generic) / the X-PeerCare-Token value (freshdesk)
    basic_username: str | None = None  # freshdesk only
    basic_password_sha256: str | None = None  # freshdesk only: hex sha256 of the basic-auth password

    def __post_init__(self) -> None:
        # An empty key would let anyone sign; refuse the configuration rather than every request.
        if not self.secret:
            raise ValueError("a webhook credential needs a non-empty secret")
        digest = self.basic_password_sha256
        if digest is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise ValueError("basic_password_sha256 is the hex SHA-256 of the password (64 hex characters)")


class WebhookRejected(Exception):
    """The delivery is refused: `status` 401 (not authentic, or stale) or 422 (malformed body)."""

    status: int
    detail: str
    errors: list[dict[str, Any]]

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


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
    if source not in SOURCES:
        raise ValueError(f"unknown webhook source {source!r}; expected one of {', '.join(SOURCES)}")
    found = _Headers(headers)
    if source == "zendesk":
        _verify_zendesk(credential, found, body, now)
        return _parse_zendesk(_decode(body))
    if source == "freshdesk":
        _verify_freshdesk(credential, found)
        return _parse_freshdesk(_decode(body), now)
    if brand_id is None:
        raise ValueError("a generic delivery is verified for a brand: its signature binds the brand id")
    _verify_generic(credential, found, body, now, brand_id)
    return _parse_generic(_decode(body))


# --- authentication -------------------------------------------------------------------------------


class _Headers:
    """Request headers by case-insensitive name; a header sent twice with different values is refused."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._values: dict[str, str] = {}
        self._ambiguous: set[str] = set()
        for name, value in headers.items():
            key = name.lower()
            if key in self._values and self._values[key] != value.strip():
                self._ambiguous.add(key)
            self._values[key] = value.strip()

    def get(self, name: str) -> str | None:
        if name.lower() in self._ambiguous:
            raise WebhookRejected(401, f"{name} is sent more than once with different values")
        return self._values.get(name.lower()) or None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise WebhookRejected(401, f"the {name} header is missing")
        return value


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def _check_fresh(sent_at: float, now: float, what: str) -> None:
    age = now - sent_at
    if age > MAX_AGE_S:
        raise WebhookRejected(401, f"{what} is {_seconds(age)} s old; deliveries older than {MAX_AGE_S} s are refused")
    if age < -MAX_AGE_S:
        raise WebhookRejected(
            401, f"{what} is {_seconds(-age)} s in the future; more than {MAX_AGE_S} s ahead of our clock is refused"
        )


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _verify_zendesk(credential: Credential, headers: _Headers, body: bytes, now: float) -> None:
    signature = headers.require(ZENDESK_SIGNATURE)
    timestamp = headers.require(ZENDESK_TIMESTAMP)
    expected = base64.b64encode(_hmac_sha256(credential.secret, timestamp.encode("utf-8") + body))
    if not hmac.compare_digest(expected, signature.encode("utf-8")):
        raise WebhookRejected(401, f"{ZENDESK_SIGNATURE} does not match the body")
    try:
        sent_at = _parse_time(timestamp)
    except ValueError as exc:
        raise WebhookRejected(401, f"{ZENDESK_TIMESTAMP} is {exc}") from None
    _check_fresh(sent_at.timestamp(), now, ZENDESK_TIMESTAMP)


def _verify_freshdesk(credential: Credential, headers: _Headers) -> None:
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


def generic_signed_message(timestamp: int | str, brand_id: int, body: bytes) -> bytes:
    """What a v2 generic signature signs: "<timestamp>.<brand id>." then the body's bytes."""
    return f"{timestamp}.{brand_id}.".encode("ascii") + body


def _verify_generic(credential: Credential, headers: _Headers, body: bytes, now: float, brand_id: int) -> None:
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
    expected = _hmac_sha256(credential.secret, signed).hex().encode("ascii")
    matched = False
    for candidate in candidates:  # several during a secret rotation; every one is compared
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8"))
    if not matched:
        raise WebhookRejected(
            401, f"no {GENERIC_SCHEME} signature in {GENERIC_SIGNATURE} matches the body and brand {brand_id}"
        )
    _check_fresh(int(timestamp), now, GENERIC_TIMESTAMP)


# --- reading bodies -------------------------------------------------------------------------------


def _error(loc: Loc, msg: str, type_: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": type_}


def _reject(errors: list[dict[str, Any]]) -> WebhookRejected:
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return WebhookRejected(422, f"the body is invalid at {where}: {first['msg']}{more}", errors)


def _raise_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body, parse_constant=_raise_constant)
    except (ValueError, RecursionError) as exc:
        raise _reject([_error((), f"Invalid JSON: {exc}", "json_invalid")]) from None
    if not isinstance(obj, dict):
        raise _reject([_error((), "Input should be a JSON object", "dict_type")])
    return obj


def _parse_time(text: str) -> datetime:
    """An ISO-8601 date and time with a UTC offset; Zendesk's nanoseconds are cut to microseconds."""
    if len(text) > 64:
        raise ValueError("too long to be an ISO-8601 time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO-8601 date and time") from None
    if value.tzinfo is None:
        raise ValueError("an ISO-8601 time without a UTC offset (add Z or +00:00)")
    return value


class _Reader:
    """Fields of a decoded body by path, with every problem recorded at its path in that body."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.errors: list[dict[str, Any]] = []

    def fail(self, loc: Loc, msg: str, type_: str) -> None:
        self.errors.append(_error(loc, msg, type_))

    def get(self, loc: Loc, *, required: bool = True) -> Any:
        node: Any = self.root
        for depth, key in enumerate(loc):
            if not isinstance(node, dict):
                self._fail_once(loc[:depth], "Input should be a JSON object", "dict_type")
                return _ABSENT
            if key not in node:
                if required:  # reported where the path breaks: a missing object, not each of its fields
                    self._fail_once(loc[: depth + 1], "Field required", "missing")
                return _ABSENT
            node = node[key]
        return node

    def optional(self, loc: Loc) -> Any:
        """A field that may be absent, null or (as an empty template placeholder renders) ""."""
        value = self.get(loc, required=False)
        return _ABSENT if value is None or value == "" else value

    def ident(self, loc: Loc, *, required: bool = True) -> Any:
        """An id: sources send numbers or strings; the normalised form is a string."""
        value = self.get(loc) if required else self.optional(loc)
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def time(self, loc: Loc) -> Any:
        value = self.get(loc)
        if value is _ABSENT:
            return _ABSENT
        if not isinstance(value, str):
            self.fail(loc, "Input should be an ISO-8601 date and time string", "datetime_type")
            return _ABSENT
        try:
            return _parse_time(value)
        except ValueError as exc:
            self.fail(
                loc,
                f"Input should be an ISO-8601 date and time with a UTC offset, e.g. 2026-11-22T09:00:00Z ({exc})",
                "datetime_parsing",
            )
            return _ABSENT

    def choice(self, loc: Loc, allowed: tuple[str, ...]) -> str | None:
        value = self.get(loc)
        if value is _ABSENT:
            return None
        if value not in allowed:
            expected = ", ".join(repr(item) for item in allowed)
            self.fail(loc, f"Input should be one of {expected}", "literal_error")
            return None
        return str(value)

    def forbid_extra(self, loc: Loc, allowed: set[str]) -> None:
        node = self.get(loc) if loc else self.root
        if isinstance(node, dict):
            for key in sorted(set(node) - allowed):
                self.fail((*loc, key), "Extra inputs are not permitted", "extra_forbidden")

    def _fail_once(self, loc: Loc, msg: str, type_: str) -> None:
        if not any(error["loc"] == list(loc) for error in self.errors):
            self.fail(loc, msg, type_)


def _build(reader: _Reader, kind: str, values: dict[str, Any], where: Mapping[str, Loc]) -> TicketEvent:
    """The normalised event from values read out of a body. `where` maps each normalised field to
    its path in the body, so that the model's own checks report the source's location; absent
    values are left out so that the model reports them as missing."""
    present = {name: value for name, value in values.items() if value is not _ABSENT}
    errors = list(reader.errors)
    try:
        event = _MODELS[kind].model_validate({"kind": kind, **present})
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            name, *rest = error["loc"]
            loc = (*where.get(str(name), (name,)), *rest)
            if not any(_within(loc, tuple(known["loc"])) for known in reader.errors):
                errors.append(_error(loc, error["msg"], error["type"]))
    if errors:
        raise _reject(errors)
    return event


def _within(loc: Loc, prefix: Loc) -> bool:
    return loc[: len(prefix)] == prefix


# --- the [peercare ...] tag in a comment ----------------------------------------------------------

# Only a tag at the very end counts (whitespace and closing HTML tags may follow it, as Freshdesk
# renders comments as HTML): a tag quoted in the middle of a later reply stays plain text.
_TAG = re.compile(r"\[peercare(?:\s([^\]]*))?\](?=(?:\s|</[A-Za-z][A-Za-z0-9]*\s*>)*\Z)", re.IGNORECASE)
_TAG_KEYS = ("wallet", "nonce", "deadline", "sig")


def _comment_tag(reader: _Reader, loc: Loc, body: Any) -> tuple[Any, Any, Any]:
    """Split `[peercare wallet=0x... nonce=.. deadline=.. sig=0x...]` off the end of a comment: the
    ticketing systems have no field for an advocate's wallet or signature, so the advocate's app
    appends this tag. Returns (body without the tag, wallet, signature)."""
    tag = _TAG.search(body) if isinstance(body, str) else None
    if tag is None:
        return body, None, None
    text = (body[: tag.start()].rstrip() + body[tag.end() :]).strip()
    fields: dict[str, str] = {}
    for pair in (tag.group(1) or "").split():
        key, equals, value = pair.partition("=")
        if not equals or key.lower() not in _TAG_KEYS or key.lower() in fields:
            reader.fail(loc, f"the [peercare] tag has a malformed, unknown or repeated entry {pair!r}", "value_error")
            return text, _ABSENT, None
        fields[key.lower()] = value
    return text, fields.get("wallet"), _tag_signature(reader, loc, fields)


def _tag_signature(reader: _Reader, loc: Loc, fields: dict[str, str]) -> AnswerSignature | None:
    parts = [key for key in ("nonce", "deadline", "sig") if key in fields]
    if not parts:
        return None
    if len(parts) < 3 or "wallet" not in fields:
        reader.fail(loc, "the [peercare] tag needs wallet, nonce, deadline and sig together", "value_error")
        return None
    try:
        return AnswerSignature(
            nonce=_tag_int(fields["nonce"]), deadline=_tag_int(fields["deadline"]), signature=fields["sig"]
        )
    except (ValueError, ValidationError) as exc:
        reader.fail(loc, f"the [peercare] tag's signature is invalid: {_first_message(exc)}", "value_error")
        return None


def _tag_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,78}", text):
        raise ValueError(f"{text!r} is not a non-negative integer")
    return int(text)


def _first_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
    return str(exc)


def _solution_comment(reader: _Reader, loc: Loc, tags: Any) -> Any:
    """The comment id in a `peercare_solution_<comment id>` ticket tag, if there is one."""
    if isinstance(tags, str):  # a trigger's {{ticket.tags}} renders space-separated
        tags = tags.split()
    if not isinstance(tags, list):
        return _ABSENT
    ids = {tag[len(SOLUTION_TAG) :] for tag in tags if isinstance(tag, str) and tag.lower().startswith(SOLUTION_TAG)}
    if len(ids) > 1:
        reader.fail(loc, f"more than one {SOLUTION_TAG} tag names the solving comment", "value_error")
        return _ABSENT
    return ids.pop() if ids else _ABSENT


def _rating(reader: _Reader, loc: Loc, value: Any) -> Any:
    """1-5 as a number or digits; Zendesk's binary rating reads good as 5 and bad as 1."""
    if isinstance(value, str):
        word = value.strip().lower()
        if re.fullmatch(r"[0-9]{1,3}", word):
            return int(word)
        if word.startswith("good"):
            return 5
        if word.startswith("bad"):
            return 1
        reader.fail(loc, "Input should be a rating from 1 to 5 (or good / bad)", "int_parsing")
        return _ABSENT
    return value


def _priority(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# --- zendesk --------------------------------------------------------------------------------------


def _parse_zendesk(obj: dict[str, Any]) -> TicketEvent:
    reader = _Reader(obj)
    kind = reader.get(("type",))
    if kind == ZENDESK_SATISFACTION:
        return _zendesk_satisfaction(reader)
    if not (isinstance(kind, str) and kind.startswith(ZENDESK_TICKET_EVENT)):
        if kind is not _ABSENT:
            reader.fail(
                ("type",), f"Input should be a {ZENDESK_TICKET_EVENT}* event or {ZENDESK_SATISFACTION}", "literal_error"
            )
        raise _reject(reader.errors)
    common = {
        "event_key": reader.get(("id",)),
        "ticket_id": reader.ident(("detail", "id")),
        "occurred_at": reader.time(("time",)),
    }
    where: dict[str, Loc] = {"event_key": ("id",), "ticket_id": ("detail", "id"), "occurred_at": ("time",)}
    parse = _ZENDESK_TYPES.get(kind.removeprefix(ZENDESK_TICKET_EVENT))
    if parse is None:
        return _build(reader, "ignored", {**common, "reason": f"{kind} is not used by PeerCare"}, where)
    return parse(reader, common, where)


# Where each TicketCreated field is in a ticket event's `detail`.
_ZENDESK_DETAIL = {
    "subject": "subject",
    "body": "description",
    "tags": "tags",
    "requester_id": "requester_id",
    "priority": "priority",
}


def _zendesk_created(reader: _Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    values = {
        "subject": reader.get(("detail", "subject")),
        "body": reader.get(("detail", "description")),
        "tags": reader.get(("detail", "tags")),
        "requester_id": reader.ident(("detail", "requester_id")),
        "priority": _priority(reader.optional(("detail", "priority"))),
    }
    paths = {name: ("detail", source) for name, source in _ZENDESK_DETAIL.items()}
    return _build(reader, "ticket_created", {**common, **values}, {**where, **paths})


def _zendesk_comment(reader: _Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    comment: Loc = ("event", "comment")
    body, wallet, signature = _comment_tag(reader, (*comment, "body"), reader.get((*comment, "body")))
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
    return _build(reader, "comment_added", {**common, **values}, {**where, **paths})


def _zendesk_status(reader: _Reader, common: dict[str, Any], where: dict[str, Loc]) -> TicketEvent:
    current = reader.get(("event", "current"))
    if not isinstance(current, str):
        if current is not _ABSENT:
            reader.fail(("event", "current"), "Input should be a valid string", "string_type")
        raise _reject(reader.errors)
    if current.upper() != "SOLVED":
        return _build(reader, "ignored", {**common, "reason": f"status changed to {current[:50]}, not SOLVED"}, where)
    solved_by = _solution_comment(reader, ("detail", "tags"), reader.get(("detail", "tags"), required=False))
    values = {**common, "solved_by_comment_id": solved_by}
    return _build(reader, "ticket_solved", values, {**where, "solved_by_comment_id": ("detail", "tags")})


_ZendeskParser = Callable[[_Reader, dict[str, Any], dict[str, Loc]], TicketEvent]
_ZENDESK_TYPES: dict[str, _ZendeskParser] = {
    "created": _zendesk_created,
    "comment_added": _zendesk_comment,
    "status_changed": _zendesk_status,
}


def _zendesk_satisfaction(reader: _Reader) -> TicketEvent:
    """PeerCare's envelope for a trigger-connected webhook, since Zendesk has no CSAT event type."""
    ticket_id = reader.ident(("ticket_id",))
    occurred_at = reader.time(("time",))
    rating = _rating(reader, ("rating",), reader.get(("rating",)))
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
    return _build(reader, "satisfaction_rated", values, where)


# --- freshdesk ------------------------------------------------------------------------------------

_FD: Loc = ("freshdesk_webhook",)  # the template wraps its fields in one object


def _parse_freshdesk(obj: dict[str, Any], now: float) -> TicketEvent:
    reader = _Reader(obj)
    occurred_at = reader.time((*_FD, "occurred_at"))
    if isinstance(occurred_at, datetime):  # unsigned: the only freshness there is, checked before the rest
        _check_fresh(occurred_at.timestamp(), now, "freshdesk_webhook.occurred_at")
    kind = reader.choice((*_FD, "event"), EVENT_KINDS)
    if kind is None:
        raise _reject(reader.errors)
    # Freshdesk sends no delivery id; a hash of the whole rendered template is the same for a
    # re-delivery and differs between events (their times or contents differ).
    digest = hashlib.sha256(canonical_json(obj["freshdesk_webhook"])).hexdigest()
    common = {
        "event_key": f"{kind}:{digest}",
        "ticket_id": reader.ident((*_FD, "ticket_id")),
        "occurred_at": occurred_at,
    }
    values = _FRESHDESK_FIELDS[kind](reader, digest)
    renamed = _FRESHDESK_NAMES.get(kind, {})
    where = {name: (*_FD, renamed.get(name, name)) for name in (*common, *values)}
    return _build(reader, kind, {**common, **values}, where)


# Normalised fields whose name in the template differs (the rest have the same name).
_FRESHDESK_NAMES = {
    "ticket_created": {"body": "description"},
    "comment_added": {"body": "comment", "author_wallet": "comment", "signature": "comment"},
}


def _freshdesk_created(reader: _Reader, digest: str) -> dict[str, Any]:
    tags = reader.get((*_FD, "tags"), required=False)
    if isinstance(tags, str):  # {{ticket.tags}} renders as "a, b, c"
        tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
    return {
        "subject": reader.get((*_FD, "subject")),
        "body": reader.get((*_FD, "description")),
        "tags": [] if tags is _ABSENT or tags is None else tags,
        "requester_id": reader.ident((*_FD, "requester_id")),
        "priority": _priority(reader.ident((*_FD, "priority"), required=False)),
    }


def _freshdesk_comment(reader: _Reader, digest: str) -> dict[str, Any]:
    body, wallet, signature = _comment_tag(reader, (*_FD, "comment"), reader.get((*_FD, "comment")))
    comment_id = reader.ident((*_FD, "comment_id"), required=False)
    public = reader.optional((*_FD, "public"))
    if isinstance(public, str) and public.lower() in ("true", "false"):
        public = public.lower() == "true"
    return {
        # No placeholder gives a comment id; the delivery's digest is one, stable across re-deliveries.
        "comment_id": f"fd-{digest[:24]}" if comment_id is _ABSENT else comment_id,
        "author_id": reader.ident((*_FD, "author_id")),
        "author_wallet": wallet,
        "body": body,
        "public": True if public is _ABSENT else public,
        "signature": signature,
    }


def _freshdesk_solved(reader: _Reader, digest: str) -> dict[str, Any]:
    return {"solved_by_comment_id": reader.ident((*_FD, "solved_by_comment_id"), required=False)}


def _freshdesk_rated(reader: _Reader, digest: str) -> dict[str, Any]:
    return {
        "rating": _rating(reader, (*_FD, "rating"), reader.get((*_FD, "rating"))),
        "rater_id": reader.ident((*_FD, "rater_id")),
        "comment_id": reader.ident((*_FD, "comment_id"), required=False),
    }


_FRESHDESK_FIELDS: dict[str, Callable[[_Reader, str], dict[str, Any]]] = {
    "ticket_created": _freshdesk_created,
    "comment_added": _freshdesk_comment,
    "ticket_solved": _freshdesk_solved,
    "satisfaction_rated": _freshdesk_rated,
}


# --- generic --------------------------------------------------------------------------------------


def _parse_generic(obj: dict[str, Any]) -> TicketEvent:
    reader = _Reader(obj)
    reader.forbid_extra((), {"type", "id", "occurred_at", "ticket_id", "data"})
    kind = reader.choice(("type",), EVENT_KINDS)
    data = reader.get(("data",))
    if data is not _ABSENT and not isinstance(data, dict):
        reader.fail(("data",), "Input should be a JSON object", "dict_type")
    if kind is None or not isinstance(data, dict):
        raise _reject(reader.errors)
    fields = set(_MODELS[kind].model_fields) - set(_COMMON)
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
    return _build(reader, kind, values, {**where, **{name: ("data", name) for name in fields}})

"""What every webhook source shares: a brand's `Credential`, the `WebhookRejected` error, request
headers (`Headers`), the freshness window, and reading a decoded body into a normalised event.

Reading records every problem at its path in the body (`Reader`) and `build` turns what was read
into one of the models of `peercare.oracle.events`, reporting the model's own checks at the source's
paths too; so a 422 lists pydantic-like errors whose `loc` is a path in the body the source sent.
Also here: the `[peercare ...]` tag an advocate's app appends to a comment, which Zendesk and
Freshdesk carry the same way (neither has a field for an advocate's wallet or signature).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from peercare.oracle.events import (
    AnswerSignature,
    CommentAdded,
    Ignored,
    SatisfactionRated,
    TicketCreated,
    TicketEvent,
    TicketSolved,
)

MAX_AGE_S = 300  # older, or further in the future, than this: stale (401)
EVENT_KINDS = ("ticket_created", "comment_added", "ticket_solved", "satisfaction_rated")

Loc = tuple[str | int, ...]
ABSENT: Final = object()
_EventModel = type[TicketCreated] | type[CommentAdded] | type[TicketSolved] | type[SatisfactionRated] | type[Ignored]
MODELS: dict[str, _EventModel] = {
    "ticket_created": TicketCreated,
    "comment_added": CommentAdded,
    "ticket_solved": TicketSolved,
    "satisfaction_rated": SatisfactionRated,
    "ignored": Ignored,
}


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


# --- authentication -------------------------------------------------------------------------------


class Headers:
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


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def check_fresh(sent_at: float, now: float, what: str) -> None:
    age = now - sent_at
    if age > MAX_AGE_S:
        raise WebhookRejected(401, f"{what} is {_seconds(age)} s old; deliveries older than {MAX_AGE_S} s are refused")
    if age < -MAX_AGE_S:
        raise WebhookRejected(
            401, f"{what} is {_seconds(-age)} s in the future; more than {MAX_AGE_S} s ahead of our clock is refused"
        )


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


# --- reading bodies -------------------------------------------------------------------------------


def _error(loc: Loc, msg: str, type_: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": type_}


def reject(errors: list[dict[str, Any]]) -> WebhookRejected:
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return WebhookRejected(422, f"the body is invalid at {where}: {first['msg']}{more}", errors)


def _raise_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body, parse_constant=_raise_constant)
    except (ValueError, RecursionError) as exc:
        raise reject([_error((), f"Invalid JSON: {exc}", "json_invalid")]) from None
    if not isinstance(obj, dict):
        raise reject([_error((), "Input should be a JSON object", "dict_type")])
    return obj


def parse_time(text: str) -> datetime:
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


class Reader:
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
                return ABSENT
            if key not in node:
                if required:  # reported where the path breaks: a missing object, not each of its fields
                    self._fail_once(loc[: depth + 1], "Field required", "missing")
                return ABSENT
            node = node[key]
        return node

    def optional(self, loc: Loc) -> Any:
        """A field that may be absent, null or (as an empty template placeholder renders) ""."""
        value = self.get(loc, required=False)
        return ABSENT if value is None or value == "" else value

    def ident(self, loc: Loc, *, required: bool = True) -> Any:
        """An id: sources send numbers or strings; the normalised form is a string."""
        value = self.get(loc) if required else self.optional(loc)
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def time(self, loc: Loc) -> Any:
        value = self.get(loc)
        if value is ABSENT:
            return ABSENT
        if not isinstance(value, str):
            self.fail(loc, "Input should be an ISO-8601 date and time string", "datetime_type")
            return ABSENT
        try:
            return parse_time(value)
        except ValueError as exc:
            self.fail(
                loc,
                f"Input should be an ISO-8601 date and time with a UTC offset, e.g. 2026-11-22T09:00:00Z ({exc})",
                "datetime_parsing",
            )
            return ABSENT

    def choice(self, loc: Loc, allowed: tuple[str, ...]) -> str | None:
        value = self.get(loc)
        if value is ABSENT:
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


def build(reader: Reader, kind: str, values: dict[str, Any], where: Mapping[str, Loc]) -> TicketEvent:
    """The normalised event from values read out of a body. `where` maps each normalised field to
    its path in the body, so that the model's own checks report the source's location; absent
    values are left out so that the model reports them as missing."""
    present = {name: value for name, value in values.items() if value is not ABSENT}
    errors = list(reader.errors)
    try:
        event = MODELS[kind].model_validate({"kind": kind, **present})
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            name, *rest = error["loc"]
            loc = (*where.get(str(name), (name,)), *rest)
            if not any(_within(loc, tuple(known["loc"])) for known in reader.errors):
                errors.append(_error(loc, error["msg"], error["type"]))
    if errors:
        raise reject(errors)
    return event


def _within(loc: Loc, prefix: Loc) -> bool:
    return loc[: len(prefix)] == prefix


# --- the [peercare ...] tag in a comment ----------------------------------------------------------

# Only a tag at the very end counts (whitespace and closing HTML tags may follow it, as Freshdesk
# renders comments as HTML): a tag quoted in the middle of a later reply stays plain text.
_TAG = re.compile(r"\[peercare(?:\s([^\]]*))?\](?=(?:\s|</[A-Za-z][A-Za-z0-9]*\s*>)*\Z)", re.IGNORECASE)
_TAG_KEYS = ("wallet", "nonce", "deadline", "sig")


def comment_tag(reader: Reader, loc: Loc, body: Any) -> tuple[Any, Any, Any]:
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
            return text, ABSENT, None
        fields[key.lower()] = value
    return text, fields.get("wallet"), _tag_signature(reader, loc, fields)


def _tag_signature(reader: Reader, loc: Loc, fields: dict[str, str]) -> AnswerSignature | None:
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


# --- values two sources write alike ---------------------------------------------------------------


def parse_rating(reader: Reader, loc: Loc, value: Any) -> Any:
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
        return ABSENT
    return value


def parse_priority(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value

"""Send ONE delivery to ONE brand's ticketing system and classify what happened (docs/webhooks.md,
"Outbound: what PeerCare sends back"). The queue (`queue`, `sender`) owns retries, back-off and
parking; this module owns the requests and the verdict, and never raises for anything the remote
system or the network does.

- generic: one signed POST of `{id, type, brand_id, ticket_id, data}` to the brand's URL, signed
  like the inbound generic format (`v2=` HMAC over "<timestamp>.<brand id>." + body); the receiver
  dedupes on `X-PeerCare-Delivery`.
- zendesk: one Update Ticket (`PUT /api/v2/tickets/{id}.json`) carrying the comment, the tags
  (`additional_tags`, which adds) and the assignee, applied by Zendesk as one change.
- freshdesk: a note (`POST .../notes`) or a reply (`POST .../reply`), then, for a routing note, the
  ticket's tags and responder (`GET` the ticket, `PUT` the union of its tags and ours: Freshdesk's
  `tags` replaces).

Exactly once: every comment, note and reply ends with the line `[peercare-delivery <key>]`. With
`after_uncertain=True` (an earlier attempt may have been applied) the zendesk and freshdesk clients
first list the ticket's comments or conversations and, if that line is there, skip posting and
re-apply only what is idempotent (tags, assignee, responder). The line is `[peercare-delivery …]`,
not `[peercare …]`: the inbound webhooks read a `[peercare …]` tag at the end of a comment as an
advocate's wallet and signature, and would refuse PeerCare's own comments when they come back.

`Outcome.uncertain` is True whenever something may already be applied: a write that timed out or
lost its connection after sending, a 5xx answer to a write, a delivery whose first step (the note)
landed before a later step failed, or any failure of an attempt made with `after_uncertain=True`.
The next attempt must then pass `after_uncertain=True`.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from peercare.oracle.webhooks.generic_client import generic_headers

__all__ = [
    "DELIVERY_HEADER",
    "ESCALATED_TAG",
    "EVENT_TYPES",
    "ROUTED_TAG",
    "Channel",
    "Delivery",
    "Kind",
    "Outcome",
    "Source",
    "deliver",
    "marker_line",
]

Source = Literal["generic", "zendesk", "freshdesk"]
Kind = Literal["offer", "escalation", "answer"]

DELIVERY_HEADER = "X-PeerCare-Delivery"  # generic: the delivery's key, which the receiver dedupes on
EVENT_TYPES: dict[str, str] = {"offer": "routing.offer", "escalation": "routing.escalation", "answer": "routing.answer"}
ROUTED_TAG = "peercare_routed"  # added to every ticket PeerCare routes (offer and escalation)
ESCALATED_TAG = "peercare_escalated"  # added as well for an escalation
MAX_KEY_LENGTH = 120
MAX_PAGES = 50  # of comments (Zendesk, 100 a page) or conversations (Freshdesk, 100 a page) searched for the marker
_ERROR_TEXT_LIMIT = 300  # characters of a system's error text kept in a detail


@dataclass(frozen=True)
class Channel:
    """One brand's outbound configuration for one ticketing system.

    base_url: generic, the brand's full receiving URL; zendesk / freshdesk, the account's base
    (https://acme.zendesk.com, https://acme.freshdesk.com; any http(s) base). secret: generic, the
    HMAC secret; zendesk, the API token; freshdesk, the API key. username: zendesk, the agent's email
    (basic auth "{email}/token" : token); None otherwise."""

    source: Source
    base_url: str
    secret: str
    username: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One thing to tell one ticket. key: unique, at most 120 characters, no whitespace or "]".
    ticket_id: the ticket's id in that system (digits for zendesk and freshdesk).

    offer / escalation payload: {"question_id", "round", "mode": "direct"|"swarm", "offers":
    [{"advocate", "role", "share_bps"}], "why", "commitment", "assignee_agent_id": str | None,
    "tags": [str]}; answer payload: {"question_id", "answer_id", "advocate", "body"}."""

    key: str
    kind: Kind
    brand_id: int
    ticket_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """status: delivered, retry (later, after `retry_after_s` at least when set) or park (it cannot
    succeed as it is). detail: one line, for logs and the brand's view; never a secret or a header.
    uncertain: something may already be applied: the next attempt must pass after_uncertain=True."""

    status: Literal["delivered", "retry", "park"]
    detail: str
    retry_after_s: float | None = None
    uncertain: bool = False


def marker_line(key: str) -> str:
    """The last line of every comment, note and reply PeerCare posts for delivery `key`."""
    return f"[peercare-delivery {key}]"


def is_delivered_by_peercare(text: str) -> bool:
    """Whether a comment coming back from a ticketing system is one PeerCare posted (it ends with a
    `marker_line`): the processor must not take PeerCare's reply of an answer for a new answer."""
    lines = [line.strip() for line in html.unescape(re.sub(r"<[^>]+>", "\n", text)).splitlines() if line.strip()]
    return bool(lines) and lines[-1].startswith("[peercare-delivery ") and lines[-1].endswith("]")


def deliver(
    channel: Channel,
    delivery: Delivery,
    *,
    client: httpx.Client,
    timeout_s: float = 10.0,
    after_uncertain: bool = False,
) -> Outcome:
    """Send `delivery` through `channel` once and say what happened (module docstring)."""
    attempt = _Attempt(channel, client, timeout_s, after_uncertain)
    try:
        _check_key(delivery.key)
        if delivery.kind not in EVENT_TYPES:
            raise _Invalid(f"unknown delivery kind {delivery.kind!r}")
        if channel.source == "generic":
            return _generic(attempt, delivery)
        if channel.source == "zendesk":
            return _zendesk(attempt, delivery)
        if channel.source == "freshdesk":
            return _freshdesk(attempt, delivery)
        raise _Invalid(f"unknown source {channel.source!r}")
    except _Invalid as invalid:
        return attempt.outcome("park", f"not sent, a bug in PeerCare or in the channel: {invalid}")
    except _Stop as stop:
        return stop.outcome


# --- one attempt: requests, and what their answers mean -------------------------------------------


class _Invalid(Exception):
    """The delivery or the channel cannot be sent as it is (nothing was sent because of it)."""


class _Stop(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class _Attempt:
    """The requests of one attempt, with the channel's auth and timeouts; any answer other than 2xx
    (or no answer) ends the attempt with a `_Stop` carrying its classified outcome."""

    def __init__(self, channel: Channel, client: httpx.Client, timeout_s: float, after_uncertain: bool) -> None:
        self.channel = channel
        self.client = client
        self.timeout = httpx.Timeout(timeout_s, connect=min(3.0, timeout_s))
        self.after_uncertain = after_uncertain
        self.base = channel.base_url.rstrip("/")
        self.applied: list[str] = []  # what this attempt's writes applied, for the detail
        self._secrets = [channel.secret] if len(channel.secret) >= 4 else []  # redacted from details

    def auth(self) -> httpx.Auth | None:
        if self.channel.source == "zendesk":
            if not self.channel.username:
                raise _Invalid("a zendesk channel needs the agent's email as its username")
            return httpx.BasicAuth(f"{self.channel.username}/token", self.channel.secret)
        if self.channel.source == "freshdesk":
            return httpx.BasicAuth(self.channel.secret, "X")  # the password is a dummy (Freshdesk's examples send X)
        return None  # generic: the signature authenticates

    def outcome(
        self,
        status: Literal["delivered", "retry", "park"],
        detail: str,
        *,
        retry_after_s: float | None = None,
        uncertain: bool = False,
    ) -> Outcome:
        if status != "delivered":
            if self.applied:
                detail = f"{'; '.join(self.applied)}, then {detail}"
            uncertain = uncertain or bool(self.applied) or self.after_uncertain
        return Outcome(status, self._clean(detail), retry_after_s, uncertain if status != "delivered" else False)

    def send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        write: bool,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        not_found: str = "ticket not found",
    ) -> httpx.Response:
        """The 2xx answer to one request; anything else stops the attempt. `write`: the request may
        change something, so losing its answer leaves the delivery uncertain."""
        try:
            response = self.client.request(
                method,
                url,
                json=json_body,
                content=content,
                headers=headers,
                auth=self.auth(),
                timeout=self.timeout,
                follow_redirects=False,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never connected: nothing was sent.
            raise self.stop("retry", f"{what}: could not connect ({type(exc).__name__})") from None
        except httpx.UnsupportedProtocol:
            raise self.stop("park", f"{what}: the channel's URL is not http(s): fix the brand's channel") from None
        except httpx.TimeoutException as exc:
            raise self.stop("retry", f"{what}: no answer in time ({type(exc).__name__})", uncertain=write) from None
        except httpx.TransportError as exc:  # e.g. the connection closed before the response
            raise self.stop("retry", f"{what}: connection lost ({type(exc).__name__})", uncertain=write) from None
        except httpx.InvalidURL:
            raise self.stop("park", f"{what}: the channel's URL is invalid: fix the brand's channel") from None
        if 200 <= response.status_code < 300:
            return response
        raise self._refused(response, what, write=write, not_found=not_found)

    def json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self.stop("retry", f"{what}: the answer ({response.status_code}) is not JSON") from None

    def _refused(self, response: httpx.Response, what: str, *, write: bool, not_found: str) -> _Stop:
        code = response.status_code
        head = f"{what}: {code}"
        retry_after = _retry_after(response.headers.get("Retry-After"))
        wait = "" if retry_after is None else f", retry after {retry_after:g} s"
        if code == 429:
            return self.stop("retry", f"{head} rate limited{wait}", retry_after_s=retry_after)
        if code == 408:
            return self.stop("retry", f"{head} request timeout{wait}", retry_after_s=retry_after)
        if code == 409:
            return self.stop("retry", f"{head} update conflict{wait}", retry_after_s=retry_after)
        if code == 501:
            return self.stop(
                "park",
                f"{head} not implemented, PeerCare sent something the system does not support (a bug in "
                f"PeerCare): {self._error_text(response)}",
            )
        if code >= 500:
            # A 5xx answer to a write may come after the change was made (a gateway timing out, say).
            return self.stop("retry", f"{head} server error{wait}", retry_after_s=retry_after, uncertain=write)
        if code in (401, 403):
            return self.stop("park", f"{head} credentials refused: fix the brand's channel")
        if code == 404:
            return self.stop("park", f"{head} {not_found}")
        if code in (400, 422):
            return self.stop("park", f"{head} refused: {self._error_text(response)}")
        return self.stop("park", f"{head} unexpected answer")

    def stop(
        self,
        status: Literal["retry", "park"],
        detail: str,
        *,
        retry_after_s: float | None = None,
        uncertain: bool = False,
    ) -> _Stop:
        return _Stop(self.outcome(status, detail, retry_after_s=retry_after_s, uncertain=uncertain))

    def _error_text(self, response: httpx.Response) -> str:
        try:
            text = json.dumps(response.json(), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            text = response.text
        text = self._clean(text) or "(no body)"
        return text if len(text) <= _ERROR_TEXT_LIMIT else text[: _ERROR_TEXT_LIMIT - 1] + "…"

    def _clean(self, text: str) -> str:
        """One line, without the channel's secrets (a system may echo what it was sent)."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return " ".join(text.split())


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- what each kind says ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Routing:
    """An offer or escalation as the ticketing systems receive it."""

    lines: list[str]  # the note, without the marker line
    tags: list[str]  # ours first, then the payload's, without repeats
    assignee: int | None


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise _Invalid(f"a delivery key is 1-{MAX_KEY_LENGTH} characters")
    if not key.isprintable() or any(char.isspace() or char == "]" for char in key):
        raise _Invalid("a delivery key has no whitespace, control character or ']'")


def _get(payload: dict[str, Any], name: str, kind: type, where: str = "payload") -> Any:
    value = payload.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Invalid(f"{where}.{name} is missing or not {'a list' if kind is list else kind.__name__}")
    return value


def _routing(delivery: Delivery) -> _Routing:
    payload = delivery.payload
    escalation = delivery.kind == "escalation"
    offers = _get(payload, "offers", list)
    lines = [
        f"PeerCare {'escalated' if escalation else 'routed'} this question "
        f"(round {_get(payload, 'round', int)}, {_get(payload, 'mode', str)} mode) "
        f"to {len(offers)} advocate{'' if len(offers) == 1 else 's'}:"
    ]
    for index, offer in enumerate(offers):
        if not isinstance(offer, dict):
            raise _Invalid(f"payload.offers[{index}] is not an object")
        where = f"payload.offers[{index}]"
        share = _get(offer, "share_bps", int, where)
        lines.append(f"- {_get(offer, 'advocate', str, where)}: {_get(offer, 'role', str, where)}, {share / 100:.2f}%")
    lines.append(f"Why: {_get(payload, 'why', str)}")
    lines.append(f"Question: {_get(payload, 'question_id', str)}")
    lines.append(f"Routing commitment: {_get(payload, 'commitment', str)}")
    tags = _get(payload, "tags", list)
    if not all(isinstance(tag, str) and tag and not any(char.isspace() for char in tag) for tag in tags):
        raise _Invalid("payload.tags must be non-empty strings without whitespace")
    ours = [ROUTED_TAG, ESCALATED_TAG] if escalation else [ROUTED_TAG]
    assignee = payload.get("assignee_agent_id")
    if assignee is not None:
        if not (isinstance(assignee, str) and re.fullmatch(r"[0-9]{1,20}", assignee)):
            raise _Invalid("payload.assignee_agent_id must be the agent's numeric id as text, or null")
        assignee = int(assignee)
    return _Routing(lines, list(dict.fromkeys([*ours, *tags])), assignee)


def _answer_lines(delivery: Delivery) -> list[str]:
    payload = delivery.payload
    body = _get(payload, "body", str).strip()
    if not body:
        raise _Invalid("payload.body is empty")
    attribution = (
        f"(Answered through PeerCare by advocate {_get(payload, 'advocate', str)}; "
        f"answer {_get(payload, 'answer_id', str)})"
    )
    return [*body.splitlines(), "", attribution]


def _text(lines: list[str], key: str) -> str:
    return "\n".join([*lines, marker_line(key)])


def _html(lines: list[str], key: str) -> str:
    return "<div>" + "<br>".join(html.escape(line) for line in [*lines, marker_line(key)]) + "</div>"


def _has_marker(key: str, *texts: Any) -> bool:
    line = marker_line(key)
    return any(isinstance(text, str) and (line in text or html.escape(line) in text) for text in texts)


def _numeric_ticket(delivery: Delivery, source: str) -> str:
    if not re.fullmatch(r"[0-9]{1,20}", delivery.ticket_id):
        raise _Invalid(f"a {source} ticket id is digits, not {delivery.ticket_id[:40]!r}")
    return delivery.ticket_id


# --- generic ----------------------------------------------------------------------------------------


def _generic(attempt: _Attempt, delivery: Delivery) -> Outcome:
    body = json.dumps(
        {
            "id": delivery.key,
            "type": EVENT_TYPES[delivery.kind],
            "brand_id": delivery.brand_id,
            "ticket_id": delivery.ticket_id,
            "data": delivery.payload,
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        **generic_headers(attempt.channel.secret, body, brand_id=delivery.brand_id),
        DELIVERY_HEADER: delivery.key,
    }
    response = attempt.send(
        "POST",
        attempt.channel.base_url,
        "generic receiver",
        write=True,
        content=body,
        headers=headers,
        not_found="the receiving URL was not found: fix the brand's channel",
    )
    return attempt.outcome("delivered", f"delivered to the generic receiver ({response.status_code})")


# --- zendesk ----------------------------------------------------------------------------------------


def _zendesk(attempt: _Attempt, delivery: Delivery) -> Outcome:
    ticket = _numeric_ticket(delivery, "zendesk")
    routing = None if delivery.kind == "answer" else _routing(delivery)
    found = attempt.after_uncertain and _zendesk_has_marker(attempt, ticket, delivery.key)
    changes: dict[str, Any] = {}
    done: list[str] = []
    if not found:
        if routing is None:
            changes["comment"] = {"body": _text(_answer_lines(delivery), delivery.key), "public": True}
            done.append("public comment added")
        else:
            changes["comment"] = {"body": _text(routing.lines, delivery.key), "public": False}
            done.append("internal note added")
    if routing is not None:
        changes["additional_tags"] = routing.tags
        done.append(f"tags {' '.join(routing.tags)}")
        if routing.assignee is not None:
            changes["assignee_id"] = routing.assignee
            done.append(f"assignee {routing.assignee}")
    if changes:
        attempt.send(
            "PUT",
            f"{attempt.base}/api/v2/tickets/{ticket}.json",
            f"zendesk ticket {ticket}",
            write=True,
            json_body={"ticket": changes},
        )
    return _done(attempt, "zendesk", ticket, delivery.key, found, done)


def _zendesk_has_marker(attempt: _Attempt, ticket: str, key: str) -> bool:
    """Whether a comment on the ticket ends a post of this delivery (every page, oldest first)."""
    url = f"{attempt.base}/api/v2/tickets/{ticket}/comments.json"
    for _ in range(MAX_PAGES):
        page = attempt.json(
            attempt.send("GET", url, f"zendesk comments of ticket {ticket}", write=False), "zendesk comments"
        )
        comments = page.get("comments") if isinstance(page, dict) else None
        if not isinstance(comments, list):
            raise attempt.stop("retry", f"zendesk comments of ticket {ticket}: no comments list in the answer")
        if any(
            isinstance(comment, dict)
            and _has_marker(key, comment.get("body"), comment.get("plain_body"), comment.get("html_body"))
            for comment in comments
        ):
            return True
        next_url = _same_origin(attempt.base, page.get("next_page"))
        if next_url is None:
            return False
        url = next_url
    raise attempt.stop("park", f"zendesk ticket {ticket}: more than {MAX_PAGES} pages of comments to search")


def _same_origin(base: str, next_page: Any) -> str | None:
    """Zendesk's next_page, re-rooted on the channel's base: credentials never go to another host."""
    if not isinstance(next_page, str) or not next_page:
        return None
    target = httpx.URL(next_page)
    return str(httpx.URL(base).copy_with(path=target.path, query=target.query or None))


# --- freshdesk --------------------------------------------------------------------------------------


def _freshdesk(attempt: _Attempt, delivery: Delivery) -> Outcome:
    ticket = _numeric_ticket(delivery, "freshdesk")
    routing = None if delivery.kind == "answer" else _routing(delivery)
    tickets = f"{attempt.base}/api/v2/tickets/{ticket}"
    found = attempt.after_uncertain and _freshdesk_has_marker(attempt, ticket, delivery.key)
    done: list[str] = []
    if not found:
        if routing is None:
            attempt.send(
                "POST",
                f"{tickets}/reply",
                f"freshdesk reply on ticket {ticket}",
                write=True,
                json_body={"body": _html(_answer_lines(delivery), delivery.key)},
            )
            attempt.applied.append(f"freshdesk ticket {ticket}: public reply added")
            done.append("public reply added")
        else:
            attempt.send(
                "POST",
                f"{tickets}/notes",
                f"freshdesk note on ticket {ticket}",
                write=True,
                json_body={"body": _html(routing.lines, delivery.key), "private": True},
            )
            attempt.applied.append(f"freshdesk ticket {ticket}: private note added")
            done.append("private note added")
    if routing is not None:
        done.extend(_freshdesk_properties(attempt, ticket, routing))
    return _done(attempt, "freshdesk", ticket, delivery.key, found, done)


def _freshdesk_properties(attempt: _Attempt, ticket: str, routing: _Routing) -> list[str]:
    """Tags and responder: read the ticket, then PUT the union of its tags and ours (`tags` replaces)
    and the responder, when either changes anything."""
    url = f"{attempt.base}/api/v2/tickets/{ticket}"
    current = attempt.json(attempt.send("GET", url, f"freshdesk ticket {ticket}", write=False), "freshdesk ticket")
    existing = current.get("tags") if isinstance(current, dict) else None
    if not isinstance(existing, list) or not all(isinstance(tag, str) for tag in existing):
        raise attempt.stop("retry", f"freshdesk ticket {ticket}: no tags list in the answer")
    union = list(dict.fromkeys([*existing, *routing.tags]))
    changes: dict[str, Any] = {}
    if union != existing:
        changes["tags"] = union
    if routing.assignee is not None and current.get("responder_id") != routing.assignee:
        changes["responder_id"] = routing.assignee
    if changes:
        attempt.send("PUT", url, f"freshdesk ticket {ticket} (tags, responder)", write=True, json_body=changes)
    done = [f"tags {' '.join(routing.tags)}"]
    if routing.assignee is not None:
        done.append(f"responder {routing.assignee}")
    return done


def _freshdesk_has_marker(attempt: _Attempt, ticket: str, key: str) -> bool:
    """Whether a conversation (note or reply) of the ticket ends a post of this delivery (every page)."""
    for page in range(1, MAX_PAGES + 1):
        url = f"{attempt.base}/api/v2/tickets/{ticket}/conversations?per_page=100&page={page}"
        response = attempt.send("GET", url, f"freshdesk conversations of ticket {ticket}", write=False)
        conversations = attempt.json(response, "freshdesk conversations")
        if not isinstance(conversations, list):
            raise attempt.stop("retry", f"freshdesk conversations of ticket {ticket}: the answer is not a list")
        if any(
            isinstance(item, dict) and _has_marker(key, item.get("body"), item.get("body_text"))
            for item in conversations
        ):
            return True
        if "next" not in response.links:  # Freshdesk sends a Link header while more pages follow
            return False
    raise attempt.stop("park", f"freshdesk ticket {ticket}: more than {MAX_PAGES} pages of conversations to search")


def _done(attempt: _Attempt, source: str, ticket: str, key: str, found: bool, done: list[str]) -> Outcome:
    if found:
        what = f"; re-applied {', '.join(done)}" if done else ""
        return attempt.outcome(
            "delivered",
            f"found already applied on {source} ticket {ticket} (its comment carries "
            f"{marker_line(key)}): not posted again{what}",
        )
    return attempt.outcome("delivered", f"delivered to {source} ticket {ticket}: {', '.join(done)}")

"""Loopback stand-ins for the Zendesk and Freshdesk ticket APIs, for tests of PeerCare's outbound deliveries.

Why: PeerCare posts routing notes, tags, assignees and public replies back to a brand's tickets. No real
Zendesk or Freshdesk is reachable from the test machines, and a mock that answers 200 to anything proves
nothing about a client. These stand-ins follow the vendors' public API references: they check the
credentials, refuse unknown tickets and malformed bodies with the documented status codes and bodies,
keep each ticket's state, record every request (so a test can say "this note was applied exactly once")
and inject the faults a delivery must survive (rate limits, 5xx, hangs, a response lost after the change
was applied).

    with ZendeskStandin(email="bot@brand.example", api_token="secret") as zd:
        zd.add_agent(7)
        zd.add_ticket(42, subject="Printer on fire")
        zd.inject(AppliedButLost(method="PUT"))       # the next PUT is applied, its response never sent
        ...                                            # PeerCare delivers to zd.base_url
        zd.wait_for(lambda: len(zd.requests) >= 2, timeout=5)
        assert [c.body for c in zd.comments(42)] == ["Routed to advocate 7"]

Both servers listen on 127.0.0.1 only, one request per connection (every answer says `Connection:
close`), and use the standard library only. `docs/ticketing-standins.md` lists what each implements.

References (read as stored public copies through the project's search tool; the Freshdesk reference is
one long page and only parts of it could be read, so mirrors of its sections were used as well):

Zendesk
- https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ (Tickets; Update Ticket)
- https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/ (comment JSON, public)
- https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/ (the audit object)
- https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags
  (`tags` replaces; `additional_tags` / `remove_tags`)
- https://developer.zendesk.com/api-reference/introduction/requests/ (status codes, JSON errors, timestamps)
- https://developer.zendesk.com/documentation/ticketing/using-the-zendesk-api/best-practices-for-avoiding-rate-limiting/
  (429, `Retry-After`, the example body)
- https://support.zendesk.com/hc/en-us/articles/4408831452954 (API token auth: `{email}/token:{api_token}`)
- Observed bodies quoted in public issue threads: 401 `{"error":"Couldn't authenticate you"}`
  (same article's comments), 422 for a bad assignee (https://github.com/facetoe/zenpy/issues/628) and
  for a closed ticket (https://github.com/Speedygeek/ZendeskApi_v2/issues/59).

Freshdesk (API v2)
- https://developers.freshdesk.com/api/ (overview; sections #update_ticket, #add_note_to_a_ticket,
  #reply_ticket, #list_all_ticket_notes, #authentication, #ratelimit, #error)
- https://support.freshdesk.com/support/solutions/articles/225440-status-codes-and-its-reasons (400/401/404...)
- https://support.freshdesk.com/support/solutions/articles/225439-what-are-the-rate-limits-for-the-api-calls-to-freshdesk
- https://support.freshdesk.com/en/support/solutions/articles/50000003346-api-key-based-authentication

Wherever the references say nothing, the code says "Not documented:" and what the stand-in does instead.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import json
import re
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self, cast

__all__ = [
    "AppliedButLost",
    "Fault",
    "FreshdeskConversation",
    "FreshdeskStandin",
    "FreshdeskTicket",
    "Hang",
    "RateLimited",
    "RecordedRequest",
    "ServerError",
    "ZendeskComment",
    "ZendeskStandin",
    "ZendeskTicket",
]

LOOPBACK = "127.0.0.1"

# --------------------------------------------------------------------------------------------------
# Faults


@dataclass(frozen=True)
class _Fault:
    """A fault applies to the next request whose method and path (query string excluded) match."""

    method: str | None = field(default=None, kw_only=True)
    path_prefix: str | None = field(default=None, kw_only=True)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class RateLimited(_Fault):
    """429 with `Retry-After: <retry_after_s>` and the vendor's documented body; nothing is applied."""

    retry_after_s: int

    def __post_init__(self) -> None:
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")


@dataclass(frozen=True)
class ServerError(_Fault):
    """A 500, 502 or 503 answer; nothing is applied."""

    status: int = 500

    def __post_init__(self) -> None:
        if self.status not in (500, 502, 503):
            raise ValueError(f"ServerError status must be 500, 502 or 503, not {self.status}")


@dataclass(frozen=True)
class Hang(_Fault):
    """Holds the request `seconds` before doing anything, so a client with a shorter timeout gives up.

    apply=False (default): after the hold the connection is closed without a response and nothing is
    applied (the request never got past the front door). apply=True: after the hold the request is
    handled normally: applied, and answered (to a client that may no longer be listening).
    """

    seconds: float
    apply: bool = False

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("seconds must be >= 0")


@dataclass(frozen=True)
class AppliedButLost(_Fault):
    """The request is handled normally (a valid change IS applied), then the connection is closed
    without any response: the "delivery accepted, its response lost" case."""


Fault = RateLimited | ServerError | Hang | AppliedButLost


# --------------------------------------------------------------------------------------------------
# What the tests read


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it, recorded before its answer is sent (so a client that has
    its answer always finds the record).

    headers: lower-cased names. body: the parsed JSON, or None (no body, or not JSON; see raw_body).
    status: what the stand-in answered (or tried to: the client may have hung up), None when it closed
    the connection without answering. fault: the name of the injected fault that hit this request.
    applied: whether the request changed a ticket.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    status: int | None
    fault: str | None
    applied: bool

    @property
    def outcome(self) -> int | str:
        """The fault's name for a faulted request, else the status code."""
        if self.fault is not None:
            return self.fault
        assert self.status is not None
        return self.status


@dataclass(frozen=True)
class ZendeskComment:
    id: int
    body: str
    html_body: str
    public: bool
    author_id: int
    created_at: str


@dataclass(frozen=True)
class ZendeskTicket:
    id: int
    subject: str
    requester_id: int
    assignee_id: int | None
    status: str
    tags: list[str]
    comments: list[ZendeskComment]
    updated_at: str


@dataclass(frozen=True)
class FreshdeskConversation:
    id: int
    kind: str  # "note" or "reply"
    body: str
    body_text: str
    private: bool
    user_id: int
    created_at: str


@dataclass(frozen=True)
class FreshdeskTicket:
    id: int
    subject: str
    requester_id: int
    responder_id: int | None
    status: int
    tags: list[str]
    conversations: list[FreshdeskConversation]
    updated_at: str


# --------------------------------------------------------------------------------------------------
# The HTTP plumbing both stand-ins share


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    applied: bool = False


def _json_reply(status: int, payload: Any, *, applied: bool = False) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), "application/json; charset=utf-8", applied=applied)


def _unsupported(what: str, names: Iterable[str]) -> _Reply:
    """Not a vendor answer: the stand-in's own refusal of something the vendor may accept but the
    stand-in does not model, so that a test never passes on a field that was silently ignored."""
    listed = sorted(names)
    return _json_reply(
        501,
        {
            "standin_error": "unsupported",
            "unsupported": listed,
            "message": f"the stand-in does not model {what}: {', '.join(listed)}",
        },
    )


class _InvalidJSON:
    """The parsed body of a request whose body is not JSON."""


_INVALID_JSON = _InvalidJSON()


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _INVALID_JSON


def _now() -> str:
    # Both references show UTC ISO 8601 with a Z, whole seconds ("2015-08-24T11:59:05Z").
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _html_to_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


class _Server(ThreadingHTTPServer):
    # A listen backlog like a real server's (socketserver's default is 5: a sender with more
    # requests in flight would see connections dropped and retried a second later).
    request_queue_size = 128
    # Handler threads are not daemons and server_close() joins them: closing leaks no thread. A Hang
    # waits on the stand-in's closing event, so closing never waits out a hang.
    daemon_threads = False
    block_on_close = True
    standin: _Standin

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host's name up (socket.getfqdn), a slow DNS call.
        socketserver.TCPServer.server_bind(self)
        self.server_name = LOOPBACK
        self.server_port = int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # a connection that never sends its request is closed after this

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        cast(_Server, self.server).standin._serve(self)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve


class _Standin:
    """The server, the request log, the fault queue and the lock; the vendor classes route and answer."""

    _vendor: ClassVar[str]

    def __init__(self, port: int, user_id: int) -> None:
        self._requested_port = port
        self._user_id = user_id
        self._cond = threading.Condition(threading.RLock())
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._agents: set[int] = {user_id}
        self._ids = itertools.count(1001)
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def __enter__(self) -> Self:
        if self._server is not None or self._closing.is_set():
            raise RuntimeError("a stand-in is started once")
        server = _Server((LOOPBACK, self._requested_port), _Handler)  # bound and listening from here on
        server.standin = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=f"{self._vendor}-standin", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stops serving, ends any hang, joins every handler thread and closes the socket."""
        self._closing.set()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()
        self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not started: use the stand-in as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # ---- what tests set up and read

    def add_agent(self, agent_id: int) -> None:
        """A user id that may be a ticket's assignee (Zendesk) or responder (Freshdesk). The API user
        (`user_id`) is an agent from the start."""
        with self._cond:
            self._agents.add(agent_id)

    def inject(self, *faults: Fault) -> None:
        """Queues faults; each request takes the first queued fault that matches it (authenticated
        requests only: a 401 takes none)."""
        with self._cond:
            self._faults.extend(faults)

    def pending_faults(self) -> list[Fault]:
        with self._cond:
            return list(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._cond:
            return list(self._requests)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Waits until predicate() is true, re-checked after each request; TimeoutError otherwise.
        The predicate runs under the stand-in's lock and may read the stand-in."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"{self._vendor} stand-in: condition still false after {timeout} s")

    # ---- serving

    def _serve(self, handler: _Handler) -> None:
        method = handler.command
        target = handler.path
        path = target.split("?", 1)[0]
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = handler.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        parsed = _parse_body(raw)

        def record(status: int | None, fault: Fault | None, applied: bool) -> None:
            entry = RecordedRequest(
                method=method,
                path=target,
                headers=headers,
                body=None if parsed is _INVALID_JSON else parsed,
                raw_body=raw,
                status=status,
                fault=None if fault is None else fault.name,
                applied=applied,
            )
            with self._cond:
                self._requests.append(entry)
                self._cond.notify_all()

        if not self._authenticated(headers.get("authorization")):
            reply = self._unauthorized()
            record(reply.status, None, False)
            self._send(handler, reply)
            return
        fault = self._take_fault(method, path)
        if isinstance(fault, RateLimited):
            reply = self._rate_limited(fault)
        elif isinstance(fault, ServerError):
            reply = self._server_error(fault)
        elif isinstance(fault, Hang):
            interrupted = self._closing.wait(fault.seconds)
            if interrupted or not fault.apply:
                record(None, fault, False)
                self._drop(handler)
                return
            reply = self._handle(method, path, parsed)
        elif isinstance(fault, AppliedButLost):
            reply = self._handle(method, path, parsed)
            record(None, fault, reply.applied)
            self._drop(handler)
            return
        else:
            reply = self._handle(method, path, parsed)
        record(reply.status, fault, reply.applied)
        self._send(handler, reply)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._cond:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    return self._faults.pop(index)
        return None

    def _handle(self, method: str, path: str, parsed: Any) -> _Reply:
        with self._cond:  # validation and the change happen as one step
            return self._route(method, path, parsed)

    @staticmethod
    def _send(handler: _Handler, reply: _Reply) -> None:
        try:
            handler.send_response(reply.status)
            if reply.content_type is not None:
                handler.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True  # the client hung up (e.g. it timed out during a Hang)

    @staticmethod
    def _drop(handler: _Handler) -> None:
        # Nothing is written; the server closes the socket when the handler returns.
        handler.close_connection = True

    @staticmethod
    def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
        if authorization is None:
            return None
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, colon, password = decoded.partition(":")
        return (username, password) if colon else None

    def _next_id(self) -> int:
        return next(self._ids)

    # ---- the vendor's part

    def _authenticated(self, authorization: str | None) -> bool:
        raise NotImplementedError

    def _unauthorized(self) -> _Reply:
        raise NotImplementedError

    def _rate_limited(self, fault: RateLimited) -> _Reply:
        raise NotImplementedError

    def _server_error(self, fault: ServerError) -> _Reply:
        # Not documented (either vendor): the body of a 5xx. The stand-in sends none.
        return _Reply(fault.status)

    def _route(self, method: str, path: str, parsed: Any) -> _Reply:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------------
# Zendesk

_ZD_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?$")
_ZD_COMMENTS = re.compile(r"^/api/v2/tickets/(\d+)/comments(?:\.json)?$")
_ZD_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
_ZD_TICKET_FIELDS = frozenset({"comment", "tags", "additional_tags", "remove_tags", "assignee_id", "status"})
_ZD_COMMENT_FIELDS = frozenset({"body", "html_body", "public", "author_id"})
_ZD_NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
# The example 429 body of "Best practices for avoiding rate limiting" (served there as text/html).
_ZD_RATE_LIMIT_TEXT = "Rate limit for ticket updates exceeded, please wait before updating this ticket again"


@dataclass
class _ZdTicketRow:
    id: int
    subject: str
    requester_id: int
    assignee_id: int | None
    status: str
    tags: list[str]
    comments: list[ZendeskComment]
    created_at: str
    updated_at: str


def _zd_invalid(name: str) -> list[dict[str, str]]:
    # The shape Zendesk returns for an invalid assignee (zenpy issue 628); for the other fields the
    # description text is the stand-in's, in the same "<Field>: is invalid" form.
    return [{"description": f"{name}: is invalid", "error": "InvalidValue"}]


def _zd_tags(value: Any) -> list[str] | None:
    """A list of tags, or None if the value is not tags. The tags article shows arrays; its batch
    example also sends one tag as a string, so a string is split on whitespace."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return list(value)
    return None


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


class ZendeskStandin(_Standin):
    """Zendesk Support: Show Ticket, Update Ticket and List Comments, with API-token authentication.

    email / api_token: the accepted credentials (basic auth, user `{email}/token`, password the token).
    user_id: the id of that API user, the default author of comments; an agent.
    """

    _vendor = "zendesk"

    def __init__(self, email: str, api_token: str, port: int = 0, *, user_id: int = 1) -> None:
        super().__init__(port, user_id)
        self._credentials = (f"{email}/token", api_token)
        self._tickets: dict[int, _ZdTicketRow] = {}

    # ---- setup and state

    def add_ticket(
        self,
        ticket_id: int,
        subject: str = "Help needed",
        requester_id: int = 9001,
        *,
        status: str = "open",
        tags: Iterable[str] = (),
        assignee_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Seeds a ticket. With a description, its first comment (public, by the requester); without,
        the ticket starts with no comments, so a test counts only what it delivered."""
        if status not in _ZD_STATUSES:
            raise ValueError(f"status must be one of {_ZD_STATUSES}")
        now = _now()
        with self._cond:
            if ticket_id in self._tickets:
                raise ValueError(f"ticket {ticket_id} exists")
            comments = []
            if description is not None:
                comments.append(self._new_comment(description, None, True, requester_id, now))
            self._tickets[ticket_id] = _ZdTicketRow(
                ticket_id, subject, requester_id, assignee_id, status, _unique(tags), comments, now, now
            )

    def ticket(self, ticket_id: int) -> ZendeskTicket:
        with self._cond:
            row = self._tickets[ticket_id]
            return ZendeskTicket(
                id=row.id,
                subject=row.subject,
                requester_id=row.requester_id,
                assignee_id=row.assignee_id,
                status=row.status,
                tags=list(row.tags),
                comments=list(row.comments),
                updated_at=row.updated_at,
            )

    def comments(self, ticket_id: int) -> list[ZendeskComment]:
        return self.ticket(ticket_id).comments

    # ---- auth, rate limit

    def _authenticated(self, authorization: str | None) -> bool:
        return self._basic_credentials(authorization) == self._credentials

    def _unauthorized(self) -> _Reply:
        reply = _json_reply(401, {"error": "Couldn't authenticate you"})
        # As observed on a 401 from Zendesk:
        # https://support.zendesk.com/hc/en-us/community/posts/5090530146330
        reply.headers["WWW-Authenticate"] = 'Basic realm="Web Password"'
        return reply

    def _rate_limited(self, fault: RateLimited) -> _Reply:
        # Not documented: the account-wide limit's own text; the stand-in sends the documented example
        # (the ticket-update limit's) for every request.
        return _Reply(
            429,
            _ZD_RATE_LIMIT_TEXT.encode(),
            "text/html; charset=utf-8",
            {"Retry-After": str(fault.retry_after_s)},
        )

    # ---- routes

    def _route(self, method: str, path: str, parsed: Any) -> _Reply:
        if match := _ZD_TICKET.match(path):
            if method == "GET":
                return self._show(int(match[1]))
            if method == "PUT":
                return self._update(int(match[1]), parsed)
            return _unsupported("this method on a ticket", [method])
        if match := _ZD_COMMENTS.match(path):
            if method == "GET":
                return self._list_comments(int(match[1]))
            return _unsupported("this method on comments (comments are created with Update Ticket)", [method])
        # Not documented in what was read: an unknown endpoint's body. This is the body Zendesk is
        # quoted with in public client code.
        return _json_reply(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def _show(self, ticket_id: int) -> _Reply:
        row = self._tickets.get(ticket_id)
        if row is None:
            return _json_reply(404, _ZD_NOT_FOUND)
        return _json_reply(200, {"ticket": self._ticket_json(row)})

    def _list_comments(self, ticket_id: int) -> _Reply:
        row = self._tickets.get(ticket_id)
        if row is None:
            return _json_reply(404, _ZD_NOT_FOUND)
        # Oldest first, all on one page. Not modelled: pagination parameters (one page, next_page null).
        comments = [self._comment_json(comment) for comment in row.comments]
        return _json_reply(
            200, {"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)}
        )

    def _update(self, ticket_id: int, parsed: Any) -> _Reply:
        if parsed is _INVALID_JSON:
            # "The content type of the response may be text/plain for API-level error messages" (Requests,
            # 400 range). Not documented: the text itself.
            return _Reply(400, b"Bad Request: the request body is not valid JSON", "text/plain; charset=utf-8")
        row = self._tickets.get(ticket_id)
        if row is None:
            return _json_reply(404, _ZD_NOT_FOUND)
        changes = parsed.get("ticket") if isinstance(parsed, dict) else None
        if not isinstance(changes, dict):
            # Not documented: the answer to a body without the `ticket` object. Zendesk is a Rails app;
            # the stand-in answers 400 with Rails' parameter-missing message in Zendesk's error envelope.
            return _json_reply(
                400, {"error": "ParameterMissing", "description": "param is missing or the value is empty: ticket"}
            )
        unknown = set(changes) - _ZD_TICKET_FIELDS
        if unknown:
            return _unsupported("these ticket properties", unknown)
        comment = changes.get("comment")
        if isinstance(comment, dict) and set(comment) - _ZD_COMMENT_FIELDS:
            return _unsupported("these comment properties", set(comment) - _ZD_COMMENT_FIELDS)

        details: dict[str, list[dict[str, str]]] = {}
        if row.status == "closed":
            # Observed 422 detail (ZendeskApi_v2 issue 59): a closed ticket cannot be updated.
            details["status"] = [{"description": "Status closed prevents ticket update"}]
        if "comment" in changes:
            if not isinstance(comment, dict):
                details["comment"] = _zd_invalid("Comment")
            else:
                body, html_body = comment.get("body"), comment.get("html_body")
                if (body is not None and not isinstance(body, str)) or (
                    html_body is not None and not isinstance(html_body, str)
                ):
                    details["comment"] = _zd_invalid("Comment")
                elif not (body or "").strip() and not _html_to_text(html_body or ""):
                    # Not documented: a comment with no text. The stand-in refuses it.
                    details["comment"] = [{"description": "Comment: cannot be blank", "error": "BlankValue"}]
                elif ("public" in comment and not isinstance(comment["public"], bool)) or (
                    "author_id" in comment and not _is_int(comment["author_id"])
                ):
                    details["comment"] = _zd_invalid("Comment")
        new_tags: dict[str, list[str]] = {}
        for key in ("tags", "additional_tags", "remove_tags"):
            if key in changes:
                tags = _zd_tags(changes[key])
                if tags is None:
                    details[key] = _zd_invalid("Tags")
                else:
                    new_tags[key] = tags
        if "assignee_id" in changes:
            assignee = changes["assignee_id"]
            if assignee is not None and not (_is_int(assignee) and assignee in self._agents):
                details["assignee"] = _zd_invalid("Assignee")
        if "status" in changes and changes["status"] not in _ZD_STATUSES:
            details["status"] = _zd_invalid("Status")
        if details:
            return _json_reply(
                422, {"error": "RecordInvalid", "description": "Record validation errors", "details": details}
            )
        return self._apply(row, changes, new_tags)

    def _apply(self, row: _ZdTicketRow, changes: dict[str, Any], new_tags: dict[str, list[str]]) -> _Reply:
        now = _now()
        events: list[dict[str, Any]] = []
        if "comment" in changes:
            comment = changes["comment"]
            # "public ... The initial value set on ticket creation persists for any additional comment
            # unless you change it": seeded tickets start public, so an absent `public` means true.
            added = self._new_comment(
                comment.get("body"),
                comment.get("html_body"),
                comment.get("public", True),
                comment.get("author_id", self._user_id),
                now,
            )
            row.comments.append(added)
            events.append({"type": "Comment", "attachments": [], **self._comment_json(added)})

        def change(field_name: str, previous: Any, value: Any) -> None:
            # "Change" audit events (field_name, value, previous_value); Not documented in what was read:
            # their exact set for an update. The stand-in lists the fields it changed.
            if previous != value:
                events.append(
                    {
                        "id": self._next_id(),
                        "type": "Change",
                        "field_name": field_name,
                        "value": value,
                        "previous_value": previous,
                    }
                )

        previous_tags = list(row.tags)
        if "tags" in new_tags:  # replaces, as the tags article says of Update Ticket
            row.tags = _unique(new_tags["tags"])
        row.tags = _unique([*row.tags, *new_tags.get("additional_tags", [])])
        removed = set(new_tags.get("remove_tags", []))
        row.tags = [tag for tag in row.tags if tag not in removed]
        change("tags", previous_tags, list(row.tags))
        if "assignee_id" in changes:
            change("assignee_id", row.assignee_id, changes["assignee_id"])
            row.assignee_id = changes["assignee_id"]
        if "status" in changes:
            change("status", row.status, changes["status"])
            row.status = changes["status"]
        row.updated_at = now
        audit = {
            "id": self._next_id(),
            "ticket_id": row.id,
            "created_at": now,
            "author_id": self._user_id,
            "metadata": {"system": {}, "custom": {}},
            "via": {"channel": "api"},
            "events": events,
        }
        return _json_reply(200, {"ticket": self._ticket_json(row), "audit": audit}, applied=True)

    def _new_comment(
        self, body: str | None, html_body: str | None, public: bool, author: int, at: str
    ) -> ZendeskComment:
        # Not documented here: how Zendesk renders one form from the other (it renders Markdown). The
        # stand-in wraps an escaped plain body in <p>, and strips tags from an HTML-only body.
        if html_body is None:
            html_body = f"<p>{html.escape(body or '')}</p>"
        if body is None:
            body = _html_to_text(html_body)
        return ZendeskComment(self._next_id(), body, html_body, public, author, at)

    def _ticket_json(self, row: _ZdTicketRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "url": f"{self.base_url}/api/v2/tickets/{row.id}.json",
            "subject": row.subject,
            "raw_subject": row.subject,
            "description": row.comments[0].body if row.comments else "",
            "status": row.status,
            "requester_id": row.requester_id,
            "submitter_id": row.requester_id,
            "assignee_id": row.assignee_id,
            "tags": list(row.tags),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }

    @staticmethod
    def _comment_json(comment: ZendeskComment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "type": "Comment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": comment.html_body,
            "plain_body": _html_to_text(comment.html_body),
            "public": comment.public,
            "attachments": [],
            "created_at": comment.created_at,
        }


# --------------------------------------------------------------------------------------------------
# Freshdesk

_FD_TICKET = re.compile(r"^/api/v2/tickets/(\d+)$")
_FD_TICKET_PART = re.compile(r"^/api/v2/tickets/(\d+)/(notes|reply|conversations)$")
_FD_STATUSES = (2, 3, 4, 5)  # Open, Pending, Resolved, Closed
_FD_UPDATE_FIELDS = frozenset({"responder_id", "tags", "status"})
_FD_NOTE_FIELDS = frozenset({"body", "private", "user_id"})
_FD_REPLY_FIELDS = frozenset({"body", "user_id"})
_FD_SOURCE = {"reply": 0, "note": 2}  # the conversation `source` of each kind


@dataclass
class _FdTicketRow:
    id: int
    subject: str
    requester_id: int
    responder_id: int | None
    status: int
    tags: list[str]
    conversations: list[FreshdeskConversation]
    created_at: str
    updated_at: str


def _fd_error(field_name: str, message: str, code: str) -> dict[str, str]:
    return {"field": field_name, "message": message, "code": code}


def _fd_validation_failed(errors: list[dict[str, str]]) -> _Reply:
    # The documented envelope and codes (missing_field, invalid_value, datatype_mismatch). Not verified
    # word for word: the messages, which follow the reference's "It should be a/an <type>" form.
    return _json_reply(400, {"description": "Validation failed", "errors": errors})


def _fd_not_found() -> _Reply:
    return _Reply(404)  # Freshdesk answers an unknown id with 404 and no body


class FreshdeskStandin(_Standin):
    """Freshdesk API v2: View / Update a Ticket, Create a Note, Reply, List Conversations.

    api_key: the accepted key (basic auth, the key as the user name). The password is not checked: the
    reference's examples send "X", and guides to it call the password a dummy. user_id: the id of the
    key's agent, the default author of notes and replies; an agent.
    """

    _vendor = "freshdesk"

    def __init__(self, api_key: str, port: int = 0, *, user_id: int = 1) -> None:
        super().__init__(port, user_id)
        self._api_key = api_key
        self._tickets: dict[int, _FdTicketRow] = {}

    # ---- setup and state

    def add_ticket(
        self,
        ticket_id: int,
        subject: str = "Help needed",
        requester_id: int = 9001,
        *,
        status: int = 2,
        tags: Iterable[str] = (),
        responder_id: int | None = None,
    ) -> None:
        """Seeds a ticket with no conversations (Freshdesk keeps the ticket's description apart from
        its conversations)."""
        if status not in _FD_STATUSES:
            raise ValueError(f"status must be one of {_FD_STATUSES}")
        now = _now()
        with self._cond:
            if ticket_id in self._tickets:
                raise ValueError(f"ticket {ticket_id} exists")
            self._tickets[ticket_id] = _FdTicketRow(
                ticket_id, subject, requester_id, responder_id, status, _unique(tags), [], now, now
            )

    def ticket(self, ticket_id: int) -> FreshdeskTicket:
        with self._cond:
            row = self._tickets[ticket_id]
            return FreshdeskTicket(
                id=row.id,
                subject=row.subject,
                requester_id=row.requester_id,
                responder_id=row.responder_id,
                status=row.status,
                tags=list(row.tags),
                conversations=list(row.conversations),
                updated_at=row.updated_at,
            )

    def conversations(self, ticket_id: int) -> list[FreshdeskConversation]:
        return self.ticket(ticket_id).conversations

    # ---- auth, rate limit

    def _authenticated(self, authorization: str | None) -> bool:
        credentials = self._basic_credentials(authorization)
        return credentials is not None and credentials[0] == self._api_key

    def _unauthorized(self) -> _Reply:
        return _json_reply(
            401, {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}
        )

    def _rate_limited(self, fault: RateLimited) -> _Reply:
        # Documented: 429 and a Retry-After header. Not documented: a body; the stand-in sends none.
        return _Reply(429, headers={"Retry-After": str(fault.retry_after_s)})

    # ---- routes

    def _route(self, method: str, path: str, parsed: Any) -> _Reply:
        if match := _FD_TICKET.match(path):
            if method == "GET":
                return self._view(int(match[1]))
            if method == "PUT":
                return self._update(int(match[1]), parsed)
            return _unsupported("this method on a ticket", [method])
        if match := _FD_TICKET_PART.match(path):
            ticket_id, part = int(match[1]), match[2]
            if part == "conversations" and method == "GET":
                return self._list_conversations(ticket_id)
            if part in ("notes", "reply") and method == "POST":
                return self._add_conversation(ticket_id, part, parsed)
            return _unsupported(f"this method on /{part}", [method])
        return _fd_not_found()

    def _view(self, ticket_id: int) -> _Reply:
        row = self._tickets.get(ticket_id)
        return _fd_not_found() if row is None else _json_reply(200, self._ticket_json(row))

    def _list_conversations(self, ticket_id: int) -> _Reply:
        row = self._tickets.get(ticket_id)
        if row is None:
            return _fd_not_found()
        # Oldest first. Not modelled: pages (the reference pages by 30; every conversation is returned).
        return _json_reply(200, [self._conversation_json(row.id, c) for c in row.conversations])

    @staticmethod
    def _invalid_json(parsed: Any) -> _Reply | None:
        if parsed is _INVALID_JSON or not isinstance(parsed, dict):
            # Not verified in what could be read: this body for a body that is not a JSON object (the
            # reference's error code for it is `invalid_json`).
            return _json_reply(400, {"code": "invalid_json", "message": "Request body has invalid json format"})
        return None

    def _update(self, ticket_id: int, parsed: Any) -> _Reply:
        if (refused := self._invalid_json(parsed)) is not None:
            return refused
        row = self._tickets.get(ticket_id)
        if row is None:
            return _fd_not_found()
        changes = cast(dict[str, Any], parsed)
        if set(changes) - _FD_UPDATE_FIELDS:
            return _unsupported("these ticket fields", set(changes) - _FD_UPDATE_FIELDS)
        errors: list[dict[str, str]] = []
        if "responder_id" in changes:
            responder = changes["responder_id"]
            if responder is not None and not _is_int(responder):
                errors.append(_fd_error("responder_id", "It should be a/an Positive Integer", "datatype_mismatch"))
            elif responder is not None and responder not in self._agents:
                errors.append(
                    _fd_error("responder_id", "There is no agent matching the given responder_id", "invalid_value")
                )
        if "tags" in changes:
            tags = changes["tags"]
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                errors.append(_fd_error("tags", "It should be a/an Array of String", "datatype_mismatch"))
        if "status" in changes:
            status = changes["status"]
            if not _is_int(status):
                errors.append(_fd_error("status", "It should be a/an Positive Integer", "datatype_mismatch"))
            elif status not in _FD_STATUSES:
                errors.append(_fd_error("status", "It should be one of these values: '2,3,4,5'", "invalid_value"))
        if errors:
            return _fd_validation_failed(errors)
        if "responder_id" in changes:
            row.responder_id = changes["responder_id"]
        if "tags" in changes:  # the array replaces the ticket's tags
            row.tags = _unique(changes["tags"])
        if "status" in changes:
            row.status = changes["status"]
        row.updated_at = _now()
        return _json_reply(200, self._ticket_json(row), applied=True)

    def _add_conversation(self, ticket_id: int, kind: str, parsed: Any) -> _Reply:
        if (refused := self._invalid_json(parsed)) is not None:
            return refused
        row = self._tickets.get(ticket_id)
        if row is None:
            return _fd_not_found()
        fields = cast(dict[str, Any], parsed)
        allowed = _FD_NOTE_FIELDS if kind == "notes" else _FD_REPLY_FIELDS
        if set(fields) - allowed:
            return _unsupported(f"these {kind} fields", set(fields) - allowed)
        errors: list[dict[str, str]] = []
        body = fields.get("body")
        if body is None:
            errors.append(_fd_error("body", "It should be a/an String", "missing_field"))
        elif not isinstance(body, str):
            errors.append(_fd_error("body", "It should be a/an String", "datatype_mismatch"))
        elif not body.strip():
            # Not documented: an empty body. The stand-in refuses it like a missing one.
            errors.append(_fd_error("body", "It should not be blank as this is a mandatory field", "invalid_value"))
        if "private" in fields and not isinstance(fields["private"], bool):
            errors.append(_fd_error("private", "It should be a/an Boolean", "datatype_mismatch"))
        if "user_id" in fields and not _is_int(fields["user_id"]):
            errors.append(_fd_error("user_id", "It should be a/an Positive Integer", "datatype_mismatch"))
        if errors:
            return _fd_validation_failed(errors)
        assert isinstance(body, str)
        now = _now()
        conversation = FreshdeskConversation(
            id=self._next_id(),
            kind="note" if kind == "notes" else "reply",
            body=body,
            body_text=_html_to_text(body),
            # Notes are private unless `private: false`; a reply is public.
            private=fields.get("private", True) if kind == "notes" else False,
            user_id=fields.get("user_id", self._user_id),
            created_at=now,
        )
        row.conversations.append(conversation)
        row.updated_at = now
        return _json_reply(201, self._conversation_json(row.id, conversation), applied=True)

    @staticmethod
    def _ticket_json(row: _FdTicketRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "subject": row.subject,
            "status": row.status,
            "priority": 1,
            "requester_id": row.requester_id,
            "responder_id": row.responder_id,
            "tags": list(row.tags),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }

    @staticmethod
    def _conversation_json(ticket_id: int, conversation: FreshdeskConversation) -> dict[str, Any]:
        # The fields of the conversation objects in the reference's examples. Not documented as such:
        # that a reply's `source` is 0 (a note's is 2 in the examples); the stand-in uses 0.
        return {
            "id": conversation.id,
            "body": conversation.body,
            "body_text": conversation.body_text,
            "incoming": False,
            "private": conversation.private,
            "user_id": conversation.user_id,
            "support_email": None,
            "source": _FD_SOURCE[conversation.kind],
            "ticket_id": ticket_id,
            "to_emails": [],
            "attachments": [],
            "created_at": conversation.created_at,
            "updated_at": conversation.created_at,
        }

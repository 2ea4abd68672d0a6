"""Tests of `peercare.oracle.deliveries.clients`: one delivery to one ticketing system, and its verdict.

Why: PeerCare must tell a brand's ticketing system what routing did exactly once, and the queue decides
whether to retry, wait or park from what `deliver` returns. So each test delivers to a real server and
asserts on what that server ended up holding: the Zendesk and Freshdesk stand-ins
(`tests/support/ticketing_standins.py`, written from the vendors' references) and, for the generic
format, a receiver written here from docs/webhooks.md ("Outbound: what PeerCare sends back"), which
verifies signatures with the recipe in that section, executed from the markdown so the docs cannot rot.
No test sleeps: faults are injected in the servers, and timeouts are short.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from peercare.oracle.deliveries.clients import Channel, Delivery, Outcome, deliver, marker_line
from peercare.oracle.events import CommentAdded
from peercare.oracle.webhooks import verify_and_parse
from tests.support.ticketing_standins import (
    AppliedButLost,
    FreshdeskStandin,
    Hang,
    RateLimited,
    RecordedRequest,
    ServerError,
    ZendeskStandin,
)
from tests.support.webhook_support import (
    FRESHDESK,
    NOW,
    ZENDESK,
    freshdesk_body,
    freshdesk_delivery,
    zendesk_comment,
    zendesk_delivery,
)

EMAIL = "peercare-bot@brand.example"
ZD_TOKEN = "zd-api-token-7f3a9c51"
FD_KEY = "fd-api-key-51be02d4"
GENERIC_SECRET = "whsec-outbound-2d4e8a"
BRAND = 7
AGENT = 7001
TICKET = 42
UNKNOWN = 4040
ADVOCATE = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
SWARM = "0xAb8483F64d9C6d1EcF9b849Ae677dD3315835cb2"
QUESTION = "0x" + "4f" * 32
SHORT = 0.3  # timeout_s for the tests that wait for a timeout

DOC = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()


# --------------------------------------------------------------------------------------------------
# Deliveries


def routing(
    kind: str = "offer",
    *,
    assignee: str | None = str(AGENT),
    tags: tuple[str, ...] = ("billing",),
    ticket: str = str(TICKET),
    key: str | None = None,
) -> Delivery:
    return Delivery(
        key=key or f"{kind}:{QUESTION}:1",
        kind=kind,  # type: ignore[arg-type]
        brand_id=BRAND,
        ticket_id=ticket,
        payload={
            "question_id": QUESTION,
            "round": 1,
            "mode": "swarm",
            "offers": [
                {"advocate": ADVOCATE, "role": "answerer", "share_bps": 7000},
                {"advocate": SWARM, "role": "swarm", "share_bps": 3000},
            ],
            "why": "top reputation in billing",
            "commitment": "0x" + "9c" * 32,
            "assignee_agent_id": assignee,
            "tags": list(tags),
        },
    )


def answer(*, ticket: str = str(TICKET)) -> Delivery:
    return Delivery(
        key=f"answer:0x{'a1' * 32}",
        kind="answer",
        brand_id=BRAND,
        ticket_id=ticket,
        payload={
            "question_id": QUESTION,
            "answer_id": "0x" + "a1" * 32,
            "advocate": ADVOCATE,
            "body": "Enable travel mode in the app,\nthen retry the payment.",
        },
    )


def basic(request: RecordedRequest) -> tuple[str, str]:
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    username, _, password = base64.b64decode(encoded).decode().partition(":")
    return username, password


def assert_clean(outcome: Outcome) -> None:
    """A detail is one line and names no secret."""
    assert "\n" not in outcome.detail
    for secret in (ZD_TOKEN, FD_KEY, GENERIC_SECRET):
        assert secret not in outcome.detail


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as http:
        yield http


# --------------------------------------------------------------------------------------------------
# Zendesk and Freshdesk behind one face, for the tests that hold for both


@dataclass
class Desk:
    name: str
    standin: ZendeskStandin | FreshdeskStandin
    channel: Channel

    def posts(self, ticket: int = TICKET) -> list[str]:
        """The text of every comment (Zendesk) or conversation (Freshdesk) on the ticket, oldest first."""
        if isinstance(self.standin, ZendeskStandin):
            return [comment.body for comment in self.standin.comments(ticket)]
        return [conversation.body_text for conversation in self.standin.conversations(ticket)]

    def tags(self) -> list[str]:
        return self.standin.ticket(TICKET).tags

    def assignee(self) -> int | None:
        if isinstance(self.standin, ZendeskStandin):
            return self.standin.ticket(TICKET).assignee_id
        return self.standin.ticket(TICKET).responder_id

    def applied(self) -> int:
        return sum(request.applied for request in self.standin.requests)

    def with_secret(self, secret: str) -> Channel:
        return Channel(self.channel.source, self.channel.base_url, secret, self.channel.username)


@pytest.fixture
def zendesk() -> Iterator[ZendeskStandin]:
    with ZendeskStandin(email=EMAIL, api_token=ZD_TOKEN) as standin:
        standin.add_agent(AGENT)
        standin.add_ticket(TICKET, subject="Card declined abroad", tags=["vip"])
        yield standin


@pytest.fixture
def freshdesk() -> Iterator[FreshdeskStandin]:
    with FreshdeskStandin(api_key=FD_KEY) as standin:
        standin.add_agent(AGENT)
        standin.add_ticket(TICKET, subject="Card declined abroad", tags=["vip"])
        yield standin


def zd_channel(standin: ZendeskStandin) -> Channel:
    return Channel("zendesk", standin.base_url, ZD_TOKEN, EMAIL)


def fd_channel(standin: FreshdeskStandin) -> Channel:
    return Channel("freshdesk", standin.base_url + "/", FD_KEY)  # a trailing slash is fine


@pytest.fixture(params=["zendesk", "freshdesk"])
def desk(request: pytest.FixtureRequest) -> Desk:
    if request.param == "zendesk":
        standin: ZendeskStandin = request.getfixturevalue("zendesk")
        return Desk("zendesk", standin, zd_channel(standin))
    fd: FreshdeskStandin = request.getfixturevalue("freshdesk")
    return Desk("freshdesk", fd, fd_channel(fd))


# --------------------------------------------------------------------------------------------------
# The generic receiver, written from the docs


def documented(language: str, containing: str) -> str:
    section = DOC[DOC.index("## Outbound: what PeerCare sends back") :]
    (block,) = [block for block in re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL) if containing in block]
    return str(block)


Verify = Callable[..., bool]


def documented_verifier() -> Verify:
    namespace: dict[str, Any] = {}
    exec(documented("python", "def verify_peercare_delivery"), namespace)  # the documentation, run as written
    return cast(Verify, namespace["verify_peercare_delivery"])


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:  # skip HTTPServer's host-name lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])


@dataclass
class Receiver:
    """A brand's receiver as the docs say to write one: verify, then dedupe on X-PeerCare-Delivery and
    answer 2xx to a duplicate. `canned` answers the next requests as given, before any check."""

    secret: str
    verify: Verify
    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    deliveries: dict[str, Any] = field(default_factory=dict)
    canned: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.requests.append((dict(handler.headers.items()), body))
            if self.canned:
                return self.canned.pop(0)
        timestamp = handler.headers.get("X-PeerCare-Timestamp", "")
        signature = handler.headers.get("X-PeerCare-Signature", "")
        if not self.verify(self.secret, BRAND, timestamp, signature, body):
            return 401, {}, b'{"error": "bad signature"}'
        key = handler.headers["X-PeerCare-Delivery"]
        with self.lock:
            duplicate = key in self.deliveries
            self.deliveries.setdefault(key, json.loads(body))
        return 200, {}, json.dumps({"status": "duplicate" if duplicate else "accepted"}).encode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    built = Receiver(secret=GENERIC_SECRET, verify=documented_verifier())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, headers, body = built.answer(self)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    built.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/peercare?brand=acme"
    try:
        yield built
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def generic_channel(receiver: Receiver, secret: str = GENERIC_SECRET) -> Channel:
    return Channel("generic", receiver.url, secret)


def generic(kind: str) -> Delivery:
    base = answer() if kind == "answer" else routing(kind)
    return Delivery(base.key, base.kind, base.brand_id, "T-1", base.payload)


# --------------------------------------------------------------------------------------------------
# Generic


@pytest.mark.parametrize("kind", ["offer", "escalation", "answer"])
def test_generic_delivery_lands_with_the_documented_body_and_a_signature_the_docs_recipe_accepts(
    receiver: Receiver, client: httpx.Client, kind: str
) -> None:
    delivery = generic(kind)

    outcome = deliver(generic_channel(receiver), delivery, client=client)

    assert (outcome.status, outcome.uncertain) == ("delivered", False)
    assert receiver.deliveries == {
        delivery.key: {
            "id": delivery.key,
            "type": f"routing.{kind}",
            "brand_id": BRAND,
            "ticket_id": "T-1",
            "data": delivery.payload,
        }
    }
    ((headers, _),) = receiver.requests
    assert headers["X-PeerCare-Delivery"] == delivery.key
    assert headers["Content-Type"] == "application/json"
    assert headers["X-PeerCare-Signature"].startswith("v2=")
    assert "Authorization" not in headers


def test_generic_redelivery_is_deduplicated_by_the_receiver_on_the_delivery_header(
    receiver: Receiver, client: httpx.Client
) -> None:
    first = deliver(generic_channel(receiver), generic("offer"), client=client)
    again = deliver(generic_channel(receiver), generic("offer"), client=client, after_uncertain=True)

    assert (first.status, again.status) == ("delivered", "delivered")
    assert len(receiver.requests) == 2
    assert [headers["X-PeerCare-Delivery"] for headers, _ in receiver.requests] == [generic("offer").key] * 2
    assert list(receiver.deliveries) == [generic("offer").key]


def test_the_documented_recipe_verifies_a_real_delivery_and_refuses_a_changed_one(
    receiver: Receiver, client: httpx.Client
) -> None:
    deliver(generic_channel(receiver), generic("offer"), client=client)
    ((headers, body),) = receiver.requests
    verify = documented_verifier()
    timestamp, signature = headers["X-PeerCare-Timestamp"], headers["X-PeerCare-Signature"]

    assert verify(GENERIC_SECRET, BRAND, timestamp, signature, body)
    assert not verify(GENERIC_SECRET, BRAND, timestamp, signature, body.replace(b'"round":1', b'"round":2'))
    assert not verify(GENERIC_SECRET, BRAND + 1, timestamp, signature, body)  # the brand is signed
    assert not verify("another-secret", BRAND, timestamp, signature, body)
    assert not verify(GENERIC_SECRET, BRAND, timestamp, signature, body, now=int(timestamp) + 301)  # stale
    assert verify(GENERIC_SECRET, BRAND, timestamp, f"v2={'0' * 64}, {signature}", body)  # rotation


def test_generic_delivery_with_the_wrong_secret_is_refused_by_the_receiver_and_parks(
    receiver: Receiver, client: httpx.Client
) -> None:
    outcome = deliver(generic_channel(receiver, "not-the-brands-secret"), generic("offer"), client=client)

    assert outcome.status == "park"
    assert "401 credentials refused: fix the brand's channel" in outcome.detail
    assert not outcome.uncertain
    assert receiver.deliveries == {}
    assert "not-the-brands-secret" not in outcome.detail


def _in_30_s() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "uncertain", "retry_after"),
    [
        (429, {"Retry-After": "12"}, b"", "retry", False, 12.0),
        (408, {}, b"", "retry", False, None),
        (409, {}, b'{"error": "update conflict"}', "retry", False, None),
        (500, {}, b"", "retry", True, None),
        (503, {"Retry-After": "7"}, b"", "retry", True, 7.0),
        (501, {}, b'{"message": "field x unsupported"}', "park", False, None),
        (403, {}, b"", "park", False, None),
        (404, {}, b"", "park", False, None),
        (400, {}, b'{"error": "bad field"}', "park", False, None),
        (422, {}, b'{"errors": ["ticket_id is unknown"]}', "park", False, None),
        (302, {"Location": "https://elsewhere.example/"}, b"", "park", False, None),
    ],
)
def test_each_answer_of_the_receiver_is_classified_as_documented(
    receiver: Receiver,
    client: httpx.Client,
    status: int,
    headers: dict[str, str],
    body: bytes,
    expected: str,
    uncertain: bool,
    retry_after: float | None,
) -> None:
    receiver.canned.append((status, headers, body))

    outcome = deliver(generic_channel(receiver), generic("offer"), client=client)

    assert (outcome.status, outcome.uncertain, outcome.retry_after_s) == (expected, uncertain, retry_after)
    assert f": {status} " in outcome.detail
    assert_clean(outcome)
    assert len(receiver.requests) == 1  # redirects are not followed


def test_a_429_with_an_http_date_retries_after_that_date(receiver: Receiver, client: httpx.Client) -> None:
    receiver.canned.append((429, {"Retry-After": _in_30_s()}, b""))

    outcome = deliver(generic_channel(receiver), generic("offer"), client=client)

    assert outcome.status == "retry"
    assert outcome.retry_after_s is not None and 25 <= outcome.retry_after_s <= 30


def test_an_error_text_that_echoes_the_secret_is_kept_without_it(receiver: Receiver, client: httpx.Client) -> None:
    echoed = json.dumps({"error": f"signature made with {GENERIC_SECRET} is invalid\nsee logs " + "x" * 500})
    receiver.canned.append((422, {}, echoed.encode()))

    outcome = deliver(generic_channel(receiver), generic("offer"), client=client)

    assert outcome.status == "park"
    assert "signature made with [redacted] is invalid" in outcome.detail
    assert_clean(outcome)
    assert len(outcome.detail) < 400


def test_a_receiver_that_is_not_listening_is_retried_as_certain(client: httpx.Client) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        channel = Channel("generic", f"http://127.0.0.1:{port}/hooks", GENERIC_SECRET)

        outcome = deliver(channel, generic("offer"), client=client)

    assert (outcome.status, outcome.uncertain) == ("retry", False)
    assert "could not connect" in outcome.detail


# --------------------------------------------------------------------------------------------------
# Zendesk: shapes


def test_zendesk_offer_is_one_update_with_an_internal_note_added_tags_and_the_assignee(
    zendesk: ZendeskStandin, client: httpx.Client
) -> None:
    delivery = routing("offer")

    outcome = deliver(zd_channel(zendesk), delivery, client=client)

    assert (outcome.status, outcome.uncertain) == ("delivered", False)
    assert outcome.detail.startswith("delivered to zendesk ticket 42")
    (put,) = zendesk.requests
    assert (put.method, put.path) == ("PUT", f"/api/v2/tickets/{TICKET}.json")
    assert basic(put) == (f"{EMAIL}/token", ZD_TOKEN)
    note = put.body["ticket"]["comment"]["body"]
    assert put.body == {
        "ticket": {
            "comment": {"body": note, "public": False},
            "additional_tags": ["peercare_routed", "billing"],
            "assignee_id": AGENT,
        }
    }
    ticket = zendesk.ticket(TICKET)
    (comment,) = ticket.comments
    assert comment.public is False
    assert comment.body.splitlines()[-1] == marker_line(delivery.key) == f"[peercare-delivery {delivery.key}]"
    assert f"- {ADVOCATE}: answerer, 70.00%" in comment.body
    assert f"- {SWARM}: swarm, 30.00%" in comment.body
    assert "Why: top reputation in billing" in comment.body
    assert ticket.tags == ["vip", "peercare_routed", "billing"]  # added to the ticket's own
    assert ticket.assignee_id == AGENT


def test_zendesk_escalation_adds_the_escalated_tag_and_leaves_the_assignee_alone_when_none_is_named(
    client: httpx.Client,
) -> None:
    with ZendeskStandin(email=EMAIL, api_token=ZD_TOKEN) as zendesk:
        zendesk.add_ticket(TICKET, tags=["vip"], assignee_id=1)

        outcome = deliver(zd_channel(zendesk), routing("escalation", assignee=None), client=client)

        assert outcome.status == "delivered"
        (put,) = zendesk.requests
        assert put.body["ticket"]["additional_tags"] == ["peercare_routed", "peercare_escalated", "billing"]
        assert "assignee_id" not in put.body["ticket"]
        ticket = zendesk.ticket(TICKET)
        assert ticket.assignee_id == 1
        assert ticket.comments[0].body.startswith("PeerCare escalated this question (round 1, swarm mode)")


def test_zendesk_answer_is_a_public_comment_with_attribution_and_nothing_else(
    zendesk: ZendeskStandin, client: httpx.Client
) -> None:
    delivery = answer()

    outcome = deliver(zd_channel(zendesk), delivery, client=client)

    assert outcome.status == "delivered"
    (put,) = zendesk.requests
    assert put.body == {"ticket": {"comment": {"body": put.body["ticket"]["comment"]["body"], "public": True}}}
    (comment,) = zendesk.comments(TICKET)
    assert comment.public is True
    assert comment.body.splitlines() == [
        "Enable travel mode in the app,",
        "then retry the payment.",
        "",
        f"(Answered through PeerCare by advocate {ADVOCATE}; answer 0x{'a1' * 32})",
        marker_line(delivery.key),
    ]
    assert zendesk.ticket(TICKET).tags == ["vip"]


def test_zendesk_closed_ticket_parks_with_zendesks_own_text(client: httpx.Client) -> None:
    with ZendeskStandin(email=EMAIL, api_token=ZD_TOKEN) as zendesk:
        zendesk.add_ticket(TICKET, status="closed")

        outcome = deliver(zd_channel(zendesk), answer(), client=client)

    assert outcome.status == "park"
    assert "422 refused" in outcome.detail and "Status closed prevents ticket update" in outcome.detail
    assert_clean(outcome)


# --------------------------------------------------------------------------------------------------
# Freshdesk: shapes


def test_freshdesk_offer_posts_a_private_note_then_merges_tags_and_sets_the_responder(
    freshdesk: FreshdeskStandin, client: httpx.Client
) -> None:
    delivery = routing("offer")

    outcome = deliver(fd_channel(freshdesk), delivery, client=client)

    assert (outcome.status, outcome.uncertain) == ("delivered", False)
    note, read, update = freshdesk.requests
    assert [(r.method, r.path) for r in (note, read, update)] == [
        ("POST", f"/api/v2/tickets/{TICKET}/notes"),
        ("GET", f"/api/v2/tickets/{TICKET}"),
        ("PUT", f"/api/v2/tickets/{TICKET}"),
    ]
    assert all(basic(request) == (FD_KEY, "X") for request in (note, read, update))
    assert note.body == {"body": note.body["body"], "private": True}
    assert note.body["body"].startswith("<div>PeerCare routed this question")
    assert update.body == {"tags": ["vip", "peercare_routed", "billing"], "responder_id": AGENT}
    ticket = freshdesk.ticket(TICKET)
    (conversation,) = ticket.conversations
    assert (conversation.kind, conversation.private) == ("note", True)
    assert conversation.body_text.endswith(marker_line(delivery.key))
    assert ticket.tags == ["vip", "peercare_routed", "billing"]
    assert ticket.responder_id == AGENT


def test_freshdesk_tags_are_merged_with_the_tickets_own_not_overwritten(client: httpx.Client) -> None:
    with FreshdeskStandin(api_key=FD_KEY) as freshdesk:
        freshdesk.add_ticket(TICKET, tags=["vip", "billing", "refund"], responder_id=1)

        outcome = deliver(fd_channel(freshdesk), routing("escalation", assignee=None), client=client)

        assert outcome.status == "delivered"
        update = freshdesk.requests[-1]
        assert update.body == {"tags": ["vip", "billing", "refund", "peercare_routed", "peercare_escalated"]}
        ticket = freshdesk.ticket(TICKET)
        assert ticket.tags == ["vip", "billing", "refund", "peercare_routed", "peercare_escalated"]
        assert ticket.responder_id == 1  # no responder named: not touched


def test_freshdesk_answer_is_one_public_reply_with_attribution(
    freshdesk: FreshdeskStandin, client: httpx.Client
) -> None:
    delivery = answer()

    outcome = deliver(fd_channel(freshdesk), delivery, client=client)

    assert outcome.status == "delivered"
    (reply,) = freshdesk.requests
    assert (reply.method, reply.path) == ("POST", f"/api/v2/tickets/{TICKET}/reply")
    assert list(reply.body) == ["body"]
    (conversation,) = freshdesk.conversations(TICKET)
    assert (conversation.kind, conversation.private) == ("reply", False)
    assert "then retry the payment." in conversation.body_text
    assert f"(Answered through PeerCare by advocate {ADVOCATE}; answer 0x{'a1' * 32})" in conversation.body_text
    assert conversation.body_text.endswith(marker_line(delivery.key))
    assert freshdesk.ticket(TICKET).tags == ["vip"]


def test_freshdesk_note_posted_before_a_failed_tag_update_is_uncertain_and_not_posted_again(
    freshdesk: FreshdeskStandin, client: httpx.Client
) -> None:
    freshdesk.inject(RateLimited(5, method="PUT"))  # a certain refusal, but the note has landed
    channel = fd_channel(freshdesk)

    first = deliver(channel, routing("offer"), client=client)
    second = deliver(channel, routing("offer"), client=client, after_uncertain=first.uncertain)

    assert (first.status, first.uncertain, first.retry_after_s) == ("retry", True, 5.0)
    assert first.detail.startswith("freshdesk ticket 42: private note added, then")
    assert second.status == "delivered" and second.detail.startswith("found already applied")
    assert len(freshdesk.conversations(TICKET)) == 1
    assert freshdesk.ticket(TICKET).tags == ["vip", "peercare_routed", "billing"]
    assert freshdesk.ticket(TICKET).responder_id == AGENT


# --------------------------------------------------------------------------------------------------
# Both: refusals and faults


def test_wrong_credentials_park_and_apply_nothing(desk: Desk, client: httpx.Client) -> None:
    outcome = deliver(desk.with_secret("wrong-secret-0000"), routing("offer"), client=client)

    assert (outcome.status, outcome.uncertain) == ("park", False)
    assert "401 credentials refused: fix the brand's channel" in outcome.detail
    assert "wrong-secret-0000" not in outcome.detail
    assert desk.applied() == 0


def test_an_unknown_ticket_parks(desk: Desk, client: httpx.Client) -> None:
    outcome = deliver(desk.channel, routing("offer", ticket=str(UNKNOWN)), client=client)

    assert outcome.status == "park"
    assert "404 ticket not found" in outcome.detail
    assert_clean(outcome)


def test_a_429_is_retried_after_the_systems_retry_after_and_applies_nothing(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(RateLimited(17))

    outcome = deliver(desk.channel, routing("offer"), client=client)

    assert (outcome.status, outcome.retry_after_s, outcome.uncertain) == ("retry", 17.0, False)
    assert "429 rate limited, retry after 17 s" in outcome.detail
    assert desk.posts() == []


def test_a_retry_after_a_certain_failure_posts_once(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(RateLimited(1))

    first = deliver(desk.channel, routing("offer"), client=client)
    second = deliver(desk.channel, routing("offer"), client=client, after_uncertain=first.uncertain)

    assert (first.status, first.uncertain, second.status) == ("retry", False, "delivered")
    assert second.detail.startswith("delivered to")
    assert len(desk.posts()) == 1


def test_a_5xx_is_retried_as_uncertain_and_the_retry_checks_then_posts_once(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(ServerError(502))

    first = deliver(desk.channel, routing("offer"), client=client)
    second = deliver(desk.channel, routing("offer"), client=client, after_uncertain=first.uncertain)

    assert (first.status, first.uncertain) == ("retry", True)
    assert "502 server error" in first.detail
    assert second.detail.startswith("delivered to")  # the check found nothing, so it posted
    assert len(desk.posts()) == 1


def test_a_hang_longer_than_the_timeout_is_retried_as_uncertain(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(Hang(30))  # closing the stand-in ends the hang at once

    started = time.monotonic()
    outcome = deliver(desk.channel, routing("offer"), client=client, timeout_s=SHORT)

    assert time.monotonic() - started < 5
    assert (outcome.status, outcome.uncertain) == ("retry", True)
    assert "no answer in time (ReadTimeout)" in outcome.detail
    assert desk.posts() == []


def test_applied_but_lost_is_retried_as_uncertain_and_the_retry_leaves_exactly_one_post(
    desk: Desk, client: httpx.Client
) -> None:
    delivery = routing("offer")
    desk.standin.inject(AppliedButLost(method="PUT" if desk.name == "zendesk" else "POST"))

    first = deliver(desk.channel, delivery, client=client)
    assert (first.status, first.uncertain) == ("retry", True)
    assert "connection lost" in first.detail
    assert len(desk.posts()) == 1  # it was applied

    second = deliver(desk.channel, delivery, client=client, after_uncertain=True)

    assert (second.status, second.uncertain) == ("delivered", False)
    assert second.detail.startswith(f"found already applied on {desk.name} ticket 42")
    (post,) = desk.posts()
    assert post.endswith(marker_line(delivery.key))
    assert desk.tags() == ["vip", "peercare_routed", "billing"]  # the idempotent part is (re-)applied
    assert desk.assignee() == AGENT


def test_an_answer_found_already_applied_sends_no_write(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(AppliedButLost())
    deliver(desk.channel, answer(), client=client)
    writes_before = [r for r in desk.standin.requests if r.method != "GET"]

    outcome = deliver(desk.channel, answer(), client=client, after_uncertain=True)

    assert outcome.status == "delivered" and "not posted again" in outcome.detail
    assert [r for r in desk.standin.requests if r.method != "GET"] == writes_before
    assert len(desk.posts()) == 1


def test_a_failed_check_stays_uncertain(desk: Desk, client: httpx.Client) -> None:
    desk.standin.inject(RateLimited(3, method="GET"))

    outcome = deliver(desk.channel, routing("offer"), client=client, after_uncertain=True)

    assert (outcome.status, outcome.retry_after_s, outcome.uncertain) == ("retry", 3.0, True)
    assert desk.posts() == []


@pytest.mark.parametrize(
    ("channel_change", "delivery", "reason"),
    [
        ({"username": None}, routing("offer"), "needs the agent's email"),
        ({}, routing("offer", ticket="T-42"), "ticket id is digits"),
        ({}, routing("offer", assignee="agent-7"), "assignee_agent_id"),
        ({}, routing("offer", key="offer key with spaces"), "delivery key"),
        ({}, routing("offer", key="k" * 121), "delivery key"),
        ({"base_url": "ftp://zendesk.invalid"}, routing("offer"), "not http(s)"),
    ],
)
def test_what_cannot_be_sent_as_it_is_parks_without_a_request(
    zendesk: ZendeskStandin, client: httpx.Client, channel_change: dict[str, Any], delivery: Delivery, reason: str
) -> None:
    channel = zd_channel(zendesk)
    channel = Channel(**{**channel.__dict__, **channel_change})

    outcome = deliver(channel, delivery, client=client)

    assert outcome.status == "park"
    assert reason in outcome.detail
    assert zendesk.requests == []


# --------------------------------------------------------------------------------------------------
# PeerCare's comments come back through its own comment webhooks: they must not be refused


def test_peercare_comments_coming_back_through_the_inbound_webhooks_are_accepted(
    zendesk: ZendeskStandin, freshdesk: FreshdeskStandin, client: httpx.Client
) -> None:
    deliver(zd_channel(zendesk), answer(), client=client)
    deliver(fd_channel(freshdesk), answer(), client=client)
    (zd_comment,) = zendesk.comments(TICKET)
    (fd_reply,) = freshdesk.conversations(TICKET)

    headers, body = zendesk_delivery(zendesk_comment(zd_comment.body))
    from_zendesk = verify_and_parse("zendesk", ZENDESK, headers, body, now=NOW)
    # {{ticket.latest_public_comment}} renders as "Name : <html>"
    headers, body = freshdesk_delivery(
        freshdesk_body("comment_added", comment=f"PeerCare : {fd_reply.body}", author_id="bot@brand.example")
    )
    from_freshdesk = verify_and_parse("freshdesk", FRESHDESK, headers, body, now=NOW)

    for event in (from_zendesk, from_freshdesk):
        assert isinstance(event, CommentAdded)
        assert event.author_wallet is None and event.signature is None

"""The durable queue of deliveries to the brands' ticketing systems (`peercare.oracle.deliveries`:
`queue.enqueue`, `sender.DeliverySender`) against the Zendesk stand-in (`tests/support/ticketing_standins.py`)
on a real SQLite database: a delivery is queued once per key and only where there is someone to
tell; it is applied once whatever is lost on the way (a response, the process); it waits as long
as the system asks; what cannot succeed is parked with its reason and can be retried."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from peercare.db.database import Database, sqlite_url
from peercare.db.tables.deliveries import Delivery, DeliveryStatus
from peercare.oracle.brands import configure_brand
from peercare.oracle.deliveries import queue
from peercare.oracle.deliveries.clients import is_delivered_by_peercare
from peercare.oracle.deliveries.sender import DeliverySender
from tests.support.databases import migrated
from tests.support.delivery_load import note_payload
from tests.support.ticketing_standins import AppliedButLost, RateLimited, ServerError, ZendeskStandin

EMAIL, TOKEN = "bot@acme.example", "zendesk-api-token"
TICKET = 4242
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with migrated(sqlite_url(tmp_path / "oracle.sqlite3")) as db:
        with db.transaction() as session:
            configure_brand(session, 1, "Acme")
            configure_brand(session, 2, "No channel")
        yield db


@pytest.fixture
def zendesk(database: Database) -> Iterator[ZendeskStandin]:
    with ZendeskStandin(email=EMAIL, api_token=TOKEN) as standin:
        standin.add_ticket(TICKET, subject="Where is my stake?")
        with database.transaction() as session:
            queue.set_channel(session, 1, "zendesk", base_url=standin.base_url, secret=TOKEN, username=EMAIL, now_ms=0)
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sender(database: Database, clock: Clock) -> Iterator[DeliverySender]:
    sending = DeliverySender(database, timeout_s=1.0, clock=clock)
    yield sending
    sending.close()


def offer(database: Database, key: str = "offer:0xq:0", brand_id: int = 1) -> bool:
    payload = note_payload("0x" + "ab" * 32)
    with database.transaction() as session:
        return queue.enqueue(
            session,
            key=key,
            brand_id=brand_id,
            source="zendesk",
            ticket_id=str(TICKET),
            kind="offer",
            payload=payload,
            now_ms=int(START * 1000),
            question_id=str(payload["question_id"]),
        )


def the_delivery(database: Database) -> Delivery:
    with database.read() as session:
        (row,) = session.scalars(select(Delivery))
        return row


def test_a_delivery_is_queued_once_per_key_and_only_for_a_brand_with_a_channel(
    database: Database, zendesk: ZendeskStandin
) -> None:
    assert offer(database) is True
    assert offer(database) is False  # the same cause again: nothing new to tell
    assert offer(database, key="offer:0xother:0", brand_id=2) is False  # brand 2 has no zendesk channel
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_a_queued_offer_reaches_the_ticket_once_as_an_internal_note(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender
) -> None:
    offer(database)
    assert sender.step() == 1
    row = the_delivery(database)
    assert (row.status, row.attempts, row.uncertain) == (DeliveryStatus.DELIVERED, 1, False)
    (note,) = zendesk.comments(TICKET)
    assert not note.public and "offer:0xq:0" in note.body
    assert sender.step() == 0  # delivered: never sent again


def test_a_rate_limited_delivery_waits_as_long_as_the_system_asked(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender, clock: Clock
) -> None:
    zendesk.inject(RateLimited(retry_after_s=30))
    offer(database)
    sender.step()
    row = the_delivery(database)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.next_attempt_at_ms >= int((START + 30) * 1000)
    clock.now += 29
    assert sender.step() == 0  # not before the system said
    clock.now += 2
    assert sender.step() == 1
    assert the_delivery(database).status == DeliveryStatus.DELIVERED
    assert len(zendesk.comments(TICKET)) == 1


def test_a_response_lost_after_the_system_applied_it_does_not_apply_it_twice(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender, clock: Clock
) -> None:
    zendesk.inject(AppliedButLost(method="PUT"))
    offer(database)
    sender.step()
    row = the_delivery(database)
    assert (row.status, row.uncertain) == (DeliveryStatus.PENDING, True)
    assert len(zendesk.comments(TICKET)) == 1  # applied, but the oracle could not know
    clock.now += 600
    sender.step()
    assert the_delivery(database).status == DeliveryStatus.DELIVERED
    assert len(zendesk.comments(TICKET)) == 1


class Killed(BaseException):
    """The process dies: nothing after this point runs (not an Exception: no handler catches it)."""


class DiesAfterSending(httpx.BaseTransport):
    """Sends each request to the real server, then dies before the answer is read: a process killed
    mid-request, after the system applied it."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        response.read()
        if request.method == "PUT":
            raise Killed
        return response


def test_a_process_killed_mid_request_leaves_the_delivery_uncertain_and_it_is_applied_once(
    database: Database, zendesk: ZendeskStandin, clock: Clock
) -> None:
    offer(database)
    dying = DeliverySender(database, client=httpx.Client(transport=DiesAfterSending()), clock=clock)
    with pytest.raises(Killed):
        dying.step()
    killed = the_delivery(database)
    assert (killed.status, killed.attempts, killed.uncertain) == (DeliveryStatus.PENDING, 1, True)
    assert len(zendesk.comments(TICKET)) == 1  # applied before the process died
    restarted = DeliverySender(database, clock=clock)
    restarted.step()
    restarted.close()
    assert the_delivery(database).status == DeliveryStatus.DELIVERED
    assert len(zendesk.comments(TICKET)) == 1


def test_refused_credentials_park_the_delivery_until_the_brand_fixes_them_and_retries(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender
) -> None:
    with database.transaction() as session:
        queue.set_channel(
            session, 1, "zendesk", base_url=zendesk.base_url, secret="wrong-token", username=EMAIL, now_ms=0
        )
    offer(database)
    sender.step()
    row = the_delivery(database)
    assert row.status == DeliveryStatus.PARKED and row.last_error and "credentials" in row.last_error
    assert "wrong-token" not in row.last_error
    assert sender.step() == 0  # parked: not retried on its own
    with database.transaction() as session:
        queue.set_channel(session, 1, "zendesk", base_url=zendesk.base_url, secret=TOKEN, username=EMAIL, now_ms=0)
        assert queue.retry_parked(session, 2, row.id, int(START * 1000)) is False  # not brand 2's
        assert queue.retry_parked(session, 1, row.id, int(START * 1000)) is True
    sender.step()
    assert the_delivery(database).status == DeliveryStatus.DELIVERED
    assert len(zendesk.comments(TICKET)) == 1


def test_a_delivery_that_keeps_failing_is_parked_after_the_last_attempt(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender, clock: Clock
) -> None:
    zendesk.inject(*[ServerError(503) for _ in range(queue.MAX_ATTEMPTS)])
    offer(database)
    for _ in range(queue.MAX_ATTEMPTS):
        sender.step()
        clock.now += queue.BACKOFF_CAP_S + 1
    row = the_delivery(database)
    assert (row.status, row.attempts) == (DeliveryStatus.PARKED, queue.MAX_ATTEMPTS)
    assert row.last_error and row.last_error.startswith(f"gave up after {queue.MAX_ATTEMPTS} attempts")
    assert zendesk.comments(TICKET) == []


def test_peercares_own_posts_are_recognised_when_they_come_back_as_comments(
    database: Database, zendesk: ZendeskStandin, sender: DeliverySender
) -> None:
    with database.transaction() as session:
        queue.enqueue(
            session,
            key="answer:0xa",
            brand_id=1,
            source="zendesk",
            ticket_id=str(TICKET),
            kind="answer",
            payload={"question_id": "0xq", "answer_id": "0xa", "advocate": "0x" + "11" * 20, "body": "Restart it"},
            now_ms=int(START * 1000),
        )
    sender.step()
    (reply,) = zendesk.comments(TICKET)
    assert reply.public and "Restart it" in reply.body
    assert is_delivered_by_peercare(reply.body) and is_delivered_by_peercare(reply.html_body)
    assert not is_delivered_by_peercare("Restart it")
    assert not is_delivered_by_peercare("quoting [peercare-delivery answer:0xa] then more\nthanks")


class HoldingReceiver(ThreadingHTTPServer):
    """A generic receiver that holds each request until another is in flight (or 0.3 s have
    passed), so that requests sent side by side are seen side by side; it records, per ticket,
    the most requests it had in flight at once."""

    daemon_threads = True

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.most_overall = 0
        self.received: Counter[str] = Counter()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ticket = str(body["ticket_id"])
                with receiver.changed:
                    receiver.in_flight[ticket] += 1
                    receiver.most[ticket] = max(receiver.most[ticket], receiver.in_flight[ticket])
                    receiver.most_overall = max(receiver.most_overall, sum(receiver.in_flight.values()))
                    receiver.changed.notify_all()
                    receiver.changed.wait_for(lambda: sum(receiver.in_flight.values()) > 1, timeout=0.3)
                    receiver.in_flight[ticket] -= 1
                    receiver.received[str(body["id"])] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_a_step_sends_other_tickets_deliveries_side_by_side_but_one_ticket_at_a_time(
    database: Database, sender: DeliverySender
) -> None:
    receiver = HoldingReceiver()
    try:
        with database.transaction() as session:
            url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            queue.set_channel(session, 1, "generic", base_url=url, secret="s" * 32, username=None, now_ms=0)
            for ticket in ("t1", "t2", "t3"):
                for n in range(3):
                    queue.enqueue(
                        session,
                        key=f"offer:{ticket}:{n}",
                        brand_id=1,
                        source="generic",
                        ticket_id=ticket,
                        kind="offer",
                        payload={"round": n},
                        now_ms=int(START * 1000),
                    )
        assert [sender.step() for _ in range(4)] == [3, 3, 3, 0]  # one per ticket and step
        assert receiver.received == Counter({f"offer:{t}:{n}": 1 for t in ("t1", "t2", "t3") for n in range(3)})
        assert receiver.most_overall > 1 and max(receiver.most.values()) == 1
        with database.read() as session:
            assert set(session.scalars(select(Delivery.status))) == {DeliveryStatus.DELIVERED}
    finally:
        receiver.shutdown()
        receiver.server_close()

"""Offers in the replay: the second half of the plan is replayed with routing live.

Routing needs a reputation epoch, and the demo publishes one only once the history it replays is
on chain. So the plan is replayed in two halves: the first half, then an epoch on it, then the
second half, whose questions the router offers to advocates as they arrive (`peercare.routing`).
The first half's questions are routed too once the epoch is published (those still open are
offered); its advocates follow the same rule before the second half starts.

**The rule the replayed advocates follow.** An advocate offered a question accepts the offer when
they answer the question in the history, and declines it at once otherwise (signed in with
Sign-In with Ethereum with their demo wallet, `POST /advocates/{a}/offers/{q}/accept` or
`.../decline` with a reason, as a person would), in every round. So that an answer is not sent
before its author could accept, the demo waits, before a second-half question's first comment,
until the router has decided the question's first round and its advocates have decided; later
rounds (the router opens one when everyone declined, up to the escalated round) are decided as
they appear, by a sweep running beside the replay. Left waiting instead, undecided offers would
hold the best advocates at their open-offer cap for the rest of a replay that compresses months
into minutes. The answers themselves are sent as the history has them.

**The brand's system.** While the demo runs, `BrandSystem` stands in for the brand's own system: a
server on 127.0.0.1:`demo_brand_port` set as the brand's generic outbound channel, which checks
each delivery's signature and answers 204 (or 401). Deliveries made after the demo wait in the
oracle's queue, retried, until the next demo starts it again (or they are parked after their
attempts, visible to the brand).

The figures (`offer_figures`) are read from the oracle's database: offers made and their states,
deliveries made, `accepted_answer_offered_share` (of the accepted answers written after their
question's first round was decided, the share whose author had been offered the question before
writing it: the live counterpart of the routing evaluation's hit rate) and the time from a ticket
created (its webhook received) to the brand's system acknowledging its first offer delivery.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

import click
import httpx
from eth_account.messages import encode_defunct
from sqlalchemy import and_, exists, func, select

from peercare.api.siwe import SiweMessage
from peercare.core.enums import OfferState
from peercare.core.ledger_ids import question_id, short_string
from peercare.db.tables.deliveries import Delivery as OutboundDelivery
from peercare.db.tables.deliveries import DeliveryStatus
from peercare.db.tables.oracle import Answer, Question, WebhookEvent
from peercare.db.tables.routing import Offer, RouteRound
from peercare.demo.connection import Connection
from peercare.demo.deliveries import retry_after
from peercare.demo.errors import DemoError
from peercare.demo.plan import SOURCE, Delivery, Plan, advocate_account
from peercare.demo.progress import POLL_S, Progress, wait_for
from peercare.oracle.deliveries import queue
from peercare.oracle.webhooks.generic import GENERIC_SCHEME, GENERIC_SIGNATURE, GENERIC_TIMESTAMP
from peercare.oracle.webhooks.generic_client import generic_signature
from peercare.routing import rounds

RATE_LIMITED_TRIES = 30
STALLED_SCAN = 10_000  # questions due a next round looked at while waiting for routing to settle
DECLINE_REASON = "not a question I answered (demo replay)"
SIGNATURE_TOLERANCE_S = 300  # a delivery signed longer ago than this is refused (a replay)


def halves(plan: Plan) -> tuple[Plan, Plan]:
    """The plan's first and second halves, by tickets in replay order (the first holds at least one)."""
    cut = max(1, (len(plan.tickets) + 1) // 2)
    return Plan(plan.site, plan.topics, plan.tickets[:cut], plan.advocates, plan.skipped_answers), Plan(
        plan.site, plan.topics, plan.tickets[cut:], plan.advocates, 0
    )


class BrandSystem(ThreadingHTTPServer):
    """The brand's own system while the demo runs: receives PeerCare's signed outbound deliveries."""

    daemon_threads = True
    request_queue_size = 128  # as a real server's (socketserver's 5 drops concurrent connections)

    def __init__(self, port: int, brand_id: int, secret: str) -> None:
        self.brand_id, self.secret = brand_id, secret
        self.received: Counter[str] = Counter()  # delivery key -> times received
        self.refused = 0
        self.lock = threading.Lock()
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = system.genuine(self.headers.get(GENERIC_TIMESTAMP), self.headers.get(GENERIC_SIGNATURE), body)
                with system.lock:
                    if ok:
                        system.received[str(json.loads(body).get("id"))] += 1
                    else:
                        system.refused += 1
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        try:
            super().__init__(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise DemoError(
                f"the demo's stand-in for the brand's system cannot listen on 127.0.0.1:{port} ({exc}): "
                "set PEERCARE_DEMO_BRAND_PORT to a free port"
            ) from None
        self.thread = threading.Thread(target=self.serve_forever, name="peercare-demo-brand", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/peercare"

    def genuine(self, timestamp: str | None, signature: str | None, body: bytes) -> bool:
        """Whether `body` is signed with the channel's secret, recently (docs/webhooks.md, Outbound)."""
        if not timestamp or not timestamp.isdigit() or not signature:
            return False
        if abs(time.time() - int(timestamp)) > SIGNATURE_TOLERANCE_S:
            return False
        expected = f"{GENERIC_SCHEME}={generic_signature(self.secret, int(timestamp), body, brand_id=self.brand_id)}"
        return hmac.compare_digest(expected, signature)

    def __enter__(self) -> BrandSystem:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def connect_brand_system(conn: Connection, brand_id: int) -> BrandSystem:
    """The stand-in for the brand's system, set as the brand's generic outbound channel (a new
    secret each run: what is still queued is signed with it when sent)."""
    system = BrandSystem(conn.settings.demo_brand_port, brand_id, secrets.token_hex(32))
    with conn.database.transaction() as session:
        queue.set_channel(
            session,
            brand_id,
            SOURCE,
            base_url=system.url,
            secret=system.secret,
            username=None,
            now_ms=int(time.time() * 1000),
        )
    return system


class OfferTaker:
    """The replayed advocates' side of the offers (module docstring: the rule) for the tickets of
    `plan`. `before(delivery)` runs in the sending thread before each delivery (a ticket's
    deliveries go one at a time); `take(ticket)` applies the rule to a ticket already replayed."""

    def __init__(self, conn: Connection, plan: Plan, brand_id: int, *, timeout_s: float) -> None:
        self.conn, self.brand_id, self.timeout_s = conn, brand_id, timeout_s
        self.answerers: dict[str, set[str]] = {}  # ticket -> wallets (lower-case) that answer it
        for ticket in plan.tickets:
            self.answerers[ticket.ticket_id] = {
                str(d.data["author_wallet"]).lower() for d in ticket.deliveries if "author_wallet" in d.data
            }
        self.users = {wallet.lower(): user for wallet, user in plan.advocates.items()}
        self.site = plan.site
        self.gated: set[str] = set()
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()

    def before(self, delivery: Delivery) -> None:
        if delivery.kind != "ticket_created" and delivery.ticket_id not in self.gated:
            self.take(delivery.ticket_id)

    def take(self, ticket_id: str) -> None:
        """Once the ticket's question is routed, its first round's advocates decide by the rule."""
        qid = "0x" + question_id(self.brand_id, short_string(SOURCE), ticket_id).hex()
        for advocate in self._first_round(qid, ticket_id):
            self._decide(advocate, qid, advocate.lower() in self.answerers.get(ticket_id, set()))
        with self.lock:
            self.gated.add(ticket_id)

    def sweep(self) -> int:
        """Decide by the rule every offer of the plan's questions still waiting, in any round (the
        router opens next rounds as offers are declined); returns how many."""
        with self.conn.database.read() as session:
            waiting = session.execute(
                select(Offer.question_id, Offer.round, Offer.advocate, Question.ticket_id)
                .join(Question, Question.question_id == Offer.question_id)
                .where(Offer.brand_id == self.brand_id, Offer.state == OfferState.OFFERED)
                .order_by(Offer.offered_at_ms)
            ).all()
        decided = 0
        for qid, round_number, advocate, ticket_id in waiting:
            if ticket_id in self.answerers:  # not a question of this plan (a larger --limit before): left alone
                self._decide(advocate, qid, advocate.lower() in self.answerers[ticket_id], round_number)
                decided += 1
        return decided

    @contextmanager
    def sweeping(self) -> Iterator[None]:
        """`sweep` in a thread of its own, every `POLL_S`, while the block runs."""
        stop = threading.Event()
        failed: list[BaseException] = []

        def loop() -> None:
            while not stop.is_set():
                try:
                    if not self.sweep():
                        stop.wait(POLL_S)
                except BaseException as exc:  # handed to the block's thread, which stops the demo
                    failed.append(exc)
                    return

        thread = threading.Thread(target=loop, name="peercare-demo-offers", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if failed:
            raise failed[0]

    def _first_round(self, qid: str, ticket_id: str) -> list[str]:
        """Wait until the router has decided the question's first round; its offers still open."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            with self.conn.database.read() as session:
                routed = session.get(RouteRound, (qid, 0)) is not None
                if routed:
                    return list(
                        session.scalars(
                            select(Offer.advocate).where(
                                Offer.question_id == qid, Offer.round == 0, Offer.state == OfferState.OFFERED
                            )
                        )
                    )
            if time.monotonic() > deadline:
                raise DemoError(
                    f"ticket {ticket_id}: not routed after {self.timeout_s:.0f} s: is the router of "
                    "`peercare up` running? Its log says why it is stuck"
                )
            time.sleep(POLL_S / 5)

    def _decide(self, advocate: str, qid: str, accept: bool, round_number: int = 0) -> None:
        headers = {"Authorization": f"Bearer {self._token(advocate)}"}
        verb, body = (
            ("accept", {"round": round_number})
            if accept
            else ("decline", {"round": round_number, "reason": DECLINE_REASON})
        )
        response = self._post(f"/api/v1/advocates/{advocate}/offers/{qid}/{verb}", json=body, headers=headers)
        if response.status_code not in (200, 409):  # 409: no longer open (the window ended, or a re-run)
            raise DemoError(f"{advocate} could not {verb} the offer of {qid}: {response.status_code} {response.text}")

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST to the API, waiting as told when the caller's requests are spent (429)."""
        for _ in range(RATE_LIMITED_TRIES):
            response = self.conn.http.post(path, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(retry_after(response))
        raise DemoError(f"POST {path}: still refused after {RATE_LIMITED_TRIES} tries: {response.text}")

    def _token(self, advocate: str) -> str:
        """A session of the advocate's demo wallet (Sign-In with Ethereum), kept for the run."""
        with self.lock:
            if advocate in self.tokens:
                return self.tokens[advocate]
        account = advocate_account(self.site, self.users[advocate.lower()])
        nonce = self._post("/api/v1/auth/nonce").json()
        message = SiweMessage(
            domain=nonce["domain"],
            address=account.address,
            statement="Sign in to PeerCare.",
            uri=f"http://{nonce['domain']}/",
            version="1",
            chain_id=int(nonce["chain_id"]),
            nonce=nonce["nonce"],
            issued_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        text = message.text()
        signature = account.sign_message(encode_defunct(text=text)).signature.hex()
        response = self._post(
            "/api/v1/auth/siwe", json={"message": text, "signature": "0x" + signature.removeprefix("0x")}
        )
        if response.status_code != 200:
            raise DemoError(f"advocate {account.address} could not sign in: {response.status_code} {response.text}")
        token = str(response.json()["token"])
        with self.lock:
            self.tokens[advocate] = token
        return token


def settle_offers(taker: OfferTaker, plan: Plan, *, bar_file: TextIO | None) -> None:
    """The rule applied to every ticket of `plan` (already replayed), once each is routed."""
    with click.progressbar(plan.tickets, label="first half routed      ", file=bar_file, show_pos=True) as tickets:
        for ticket in tickets:
            taker.take(ticket.ticket_id)


def wait_for_deliveries(conn: Connection, brand_id: int, *, bar_file: TextIO | None, timeout_s: float) -> None:
    """Wait until routing is done with the brand's questions: each is routed, no offer waits for a
    decision, no question is due a next round, and every delivery made is sent."""

    def measure() -> Progress:
        with conn.database.read() as session:
            waiting = session.scalar(
                select(func.count()).where(Offer.brand_id == brand_id, Offer.state == OfferState.OFFERED)
            )
            due = [q for q in rounds.stalled(session, int(time.time()), STALLED_SCAN) if q.brand_id == brand_id]
            unrouted = session.scalar(
                select(func.count())
                .select_from(Question)
                .where(Question.brand_id == brand_id, ~exists().where(RouteRound.question_id == Question.question_id))
            )
            counts = dict(
                session.execute(
                    select(OutboundDelivery.status, func.count())
                    .where(OutboundDelivery.brand_id == brand_id)
                    .group_by(OutboundDelivery.status)
                ).all()
            )
        pending = counts.get(DeliveryStatus.PENDING, 0)
        total = sum(counts.values())
        return Progress(total - pending, total, not unrouted and not pending and not waiting and not due)

    wait_for("offers and deliveries  ", measure, bar_file=bar_file, timeout_s=timeout_s, what="the router")


def _percentile(values: list[int], share: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def offer_figures(conn: Connection, brand_id: int, system: BrandSystem | None) -> dict[str, Any]:
    """What routing did for the brand: offers and their states, deliveries, the accepted answers'
    authors offered, and the time from ticket to its first offer delivered."""
    with conn.database.read() as session:
        states = dict(
            session.execute(
                select(Offer.state, func.count()).where(Offer.brand_id == brand_id).group_by(Offer.state)
            ).all()
        )
        accepted = session.scalar(
            select(func.count()).where(Offer.brand_id == brand_id, Offer.accepted_at_ms.is_not(None))
        )
        rounds = list(session.scalars(select(RouteRound.decision).where(RouteRound.brand_id == brand_id)))
        delivered = dict(
            session.execute(
                select(OutboundDelivery.kind, func.count())
                .where(OutboundDelivery.brand_id == brand_id, OutboundDelivery.status == DeliveryStatus.DELIVERED)
                .group_by(OutboundDelivery.kind)
            ).all()
        )
        parked = session.scalar(
            select(func.count()).where(
                OutboundDelivery.brand_id == brand_id, OutboundDelivery.status == DeliveryStatus.PARKED
            )
        )
        # Accepted answers written after their question's first round was decided, and whether
        # their author had been offered the question (any round decided before the answer).
        first_round = select(RouteRound.created_at_ms).where(
            RouteRound.question_id == Question.question_id, RouteRound.round == 0
        )
        offered_before = exists().where(
            Offer.question_id == Question.question_id,
            func.lower(Offer.advocate) == func.lower(Answer.advocate),
            Offer.offered_at_ms <= Answer.created_at_ms,
        )
        judged = session.execute(
            select(offered_before)
            .select_from(Question)
            .join(Answer, Answer.answer_id == Question.accepted_answer_id)
            .where(Question.brand_id == brand_id, first_round.scalar_subquery() <= Answer.created_at_ms)
        ).all()
        first_delivery = (
            select(OutboundDelivery.question_id, func.min(OutboundDelivery.delivered_at_ms).label("at"))
            .where(
                OutboundDelivery.brand_id == brand_id,
                OutboundDelivery.kind == "offer",
                OutboundDelivery.delivered_at_ms.is_not(None),
            )
            .group_by(OutboundDelivery.question_id)
            .subquery()
        )
        created = (
            select(WebhookEvent.ticket_id, func.min(WebhookEvent.received_at_ms).label("at"))
            .where(WebhookEvent.brand_id == brand_id, WebhookEvent.kind == "ticket_created")
            .group_by(WebhookEvent.ticket_id)
            .subquery()
        )
        latencies = [
            int(ms)
            for (ms,) in session.execute(
                select(first_delivery.c.at - created.c.at)
                .select_from(first_delivery)
                .join(Question, Question.question_id == first_delivery.c.question_id)
                .join(created, and_(created.c.ticket_id == Question.ticket_id, Question.brand_id == brand_id))
            )
        ]
    offered = sum(1 for (hit,) in judged if hit)
    return {
        "offers": {
            "made": sum(states.values()),
            "accepted": accepted or 0,
            "answered": states.get(OfferState.ANSWERED, 0),
            "declined": states.get(OfferState.DECLINED, 0),
            "expired": states.get(OfferState.EXPIRED, 0),
            "waiting": states.get(OfferState.OFFERED, 0) + states.get(OfferState.ACCEPTED, 0),
            "rounds": len(rounds),
            "escalated": sum(1 for decision in rounds if decision.get("escalated")),
            "delivered": delivered.get("offer", 0),
            "deliveries": {
                "delivered": sum(delivered.values()),
                "parked": parked or 0,
                "received_by_the_brand": len(system.received) if system else None,
                "received_twice": sum(1 for n in system.received.values() if n > 1) if system else None,
                "refused_by_the_brand": system.refused if system else None,
            },
            "ticket_to_offer_delivered_ms": {
                "count": len(latencies),
                "p50": _percentile(latencies, 0.50),
                "p99": _percentile(latencies, 0.99),
            },
        },
        "routing": {
            "accepted_answers_judged": len(judged),
            "accepted_answer_offered_share": round(offered / len(judged), 4) if judged else None,
        },
    }

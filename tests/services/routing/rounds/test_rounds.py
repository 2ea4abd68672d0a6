"""Offers that move (`peercare.routing.rounds`, `peercare.routing.inbox`, `/advocates/{a}/offers`):
each person a round chose is offered the question for a window; the advocate accepts or declines it
(only their own, only while it is open); a question no one took is offered to new people in a next
round, swarmed from the brand's `max_offer_rounds` on; every round replays; an answer settles the
offer. Runs on the rounds' own world (`conftest.py`); each test posts its own tickets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from peercare.core.ledger_ids import question_id, short_string
from peercare.db.tables.oracle import Brand, Question
from peercare.db.tables.routing import Offer, RouteRound
from peercare.routing import inbox
from peercare.routing.inbox import OfferRefused
from peercare.routing.live import Epochs, Router, check_route
from peercare.routing.offers import OfferParams
from tests.services.routing.rounds.conftest import UNCAPPED
from tests.support.world import World

PARAMS = OfferParams(offers=1, max_open=UNCAPPED)  # as the world's own router (conftest.py): either may decide


def new_question(world: World, tag: str = "staking", **extra: object) -> str:
    ticket = f"R{time.time_ns()}"
    data = {"subject": "Offers", "body": f"Where is my stake?\nTicket {ticket}", "tags": [tag], "requester_id": "c-r"}
    data.update(extra)
    world.deliver(world.dev.brand_id, "ticket_created", f"{ticket}-open", ticket, **data)
    world.drain()
    return "0x" + question_id(world.dev.brand_id, short_string("generic"), ticket).hex()


def ticket_of(world: World, qid: str) -> str:
    with world.oracle.database.read() as session:
        question = session.get(Question, qid)
        assert question is not None
        return question.ticket_id


def answer(world: World, ticket_id: str, wallet: str, comment_id: str) -> None:
    """`wallet`'s public answer to the ticket, as the brand's system reports it (not yet handled)."""
    world.deliver(
        world.dev.brand_id,
        "comment_added",
        f"{ticket_id}-{comment_id}",
        ticket_id,
        comment_id=comment_id,
        author_id=f"adv-{comment_id}",
        author_wallet=wallet,
        body="Here is how",
        public=True,
    )


def router(world: World, clock: Callable[[], float] = time.time) -> Router:
    return Router(world.oracle.database, world.oracle.context.public_store, params=PARAMS, clock=clock)


def run(world: World, clock: Callable[[], float] = time.time) -> None:
    steps = router(world, clock)
    while steps.step():
        pass


def offers_of(world: World, qid: str, round_number: int | None = None) -> list[Offer]:
    query = select(Offer).where(Offer.question_id == qid).order_by(Offer.round, Offer.advocate)
    if round_number is not None:
        query = query.where(Offer.round == round_number)
    with world.oracle.database.read() as session:
        return list(session.scalars(query))


def round_of(world: World, qid: str, round_number: int) -> RouteRound | None:
    with world.oracle.database.read() as session:
        return session.get(RouteRound, (qid, round_number))


def account(world: World, address: str) -> LocalAccount:
    return next(a for a in world.advocates if a.address.lower() == address.lower())


def as_advocate(world: World, address: str) -> dict[str, str]:
    found = account(world, address)
    if found.address not in world.advocate_tokens:
        world.advocate_tokens[found.address] = world.sign_in(found)
    return world.bearer(world.advocate_tokens[found.address])


def decide(world: World, address: str, qid: str, verb: str, **body: Any) -> Any:
    return world.client.post(
        f"/api/v1/advocates/{address}/offers/{qid}/{verb}", json=body, headers=as_advocate(world, address)
    )


@pytest.fixture
def brand_settings(world: World) -> Iterator[Callable[..., None]]:
    """Change brand 1's offer settings for one test; restored after it."""
    with world.oracle.database.read() as session:
        brand = session.get(Brand, world.dev.brand_id)
        assert brand is not None
        saved = {"offer_window_s": brand.offer_window_s, "max_offer_rounds": brand.max_offer_rounds}

    def change(**settings: int) -> None:
        headers = world.bearer(world.brand_keys[world.dev.brand_id])
        response = world.client.patch(f"/api/v1/brands/{world.dev.brand_id}", json=settings, headers=headers)
        assert response.status_code == 200, response.text

    yield change
    change(**saved)


def test_each_person_a_round_chose_is_offered_the_question_for_the_brands_window(world: World) -> None:
    qid = new_question(world)
    run(world)
    route = round_of(world, qid, 0)
    assert route is not None
    chosen = [*route.decision["offers"], *([route.decision["expert"]] if route.decision["expert"] else [])]
    offers = offers_of(world, qid, 0)
    assert chosen and sorted(o.advocate.lower() for o in offers) == sorted(a.lower() for a in chosen)
    with world.oracle.database.read() as session:
        brand = session.get(Brand, world.dev.brand_id)
        assert brand is not None
        window_ms = brand.offer_window_s * 1000
    for offer in offers:
        assert offer.state == "offered" and offer.window_ends_at_ms - offer.offered_at_ms == window_ms
        assert offer.role == ("answerer" if route.decision["mode"] == "direct" else offer.role)


def test_an_advocate_sees_their_offer_with_the_question_and_why_and_no_one_elses(world: World) -> None:
    qid = new_question(world)
    run(world)
    offered = {o.advocate for o in offers_of(world, qid, 0)}
    assert offered, "the question was offered to no one"
    mine = sorted(offered)[0]
    listed = world.client.get(f"/api/v1/advocates/{mine}/offers", headers=as_advocate(world, mine))
    assert listed.status_code == 200, listed.text
    item = next(i for i in listed.json()["items"] if i["question_id"] == qid)
    assert item["state"] == "offered" and item["round"] == 0 and 0 < item["seconds_left"] <= 1800
    assert item["question"]["title"] == "Offers"  # the ticket's subject opens the customer's first message
    assert item["question"]["tags"] == ["staking"] and "Where is my stake?" in item["question"]["text"]
    assert item["commitment"] == round_of(world, qid, 0).decision["commitment"]  # type: ignore[union-attr]
    assert mine in item["why"]
    for other in offered - {mine}:
        assert other not in item["why"], "an offer names someone else's offer"
    outsider = next(a.address for a in world.advocates if a.address not in offered)
    theirs = world.client.get(f"/api/v1/advocates/{outsider}/offers", headers=as_advocate(world, outsider))
    assert qid not in [i["question_id"] for i in theirs.json()["items"]]


def test_a_decision_on_an_offer_that_is_not_yours_or_no_longer_open_is_refused_and_changes_nothing(
    world: World,
) -> None:
    qid = new_question(world)
    run(world)
    offers = offers_of(world, qid, 0)
    offered = {o.advocate for o in offers}
    mine = sorted(offered)[0]
    outsider = next(a.address for a in world.advocates if a.address not in offered)

    refused = decide(world, outsider, qid, "accept", round=0)
    assert refused.status_code == 404 and "was not offered to" in refused.json()["detail"]
    wrong_round = decide(world, mine, qid, "accept", round=3)
    assert wrong_round.status_code == 404 and "it was in round(s) 0" in wrong_round.json()["detail"]
    assert decide(world, mine, qid, "accept").status_code == 422  # which round is required
    assert [(o.advocate, o.state, o.decided_at_ms) for o in offers_of(world, qid, 0)] == [
        (o.advocate, "offered", None) for o in offers
    ]

    accepted = decide(world, mine, qid, "accept", round=0)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    again = decide(world, mine, qid, "decline", round=0, reason="changed my mind")
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]
    without_reason = decide(world, mine, qid, "decline", round=0, reason=None)  # null: no reason given
    assert without_reason.status_code == 409 and "already accepted" in without_reason.json()["detail"]
    (kept,) = [o for o in offers_of(world, qid, 0) if o.advocate == mine]
    assert (kept.state, kept.reason) == ("accepted", None)
    listed = world.client.get(f"/api/v1/advocates/{mine}/offers", headers=as_advocate(world, mine)).json()
    item = next(i for i in listed["items"] if i["question_id"] == qid)
    assert (item["state"], item["seconds_left"]) == ("accepted", 0)


def test_an_offer_whose_window_ended_is_closed_to_decisions_before_the_router_expires_it(world: World) -> None:
    # The moment just after the window is given to `inbox` as its clock, not written into the offer:
    # the world's own router settles offers every half second, and would expire an offer whose
    # window had really ended before the decision below is tried.
    qid = new_question(world)
    run(world)
    (offer, *_) = offers_of(world, qid, 0)
    after_window = offer.window_ends_at_ms + 1
    with pytest.raises(OfferRefused) as refused, world.oracle.database.transaction() as session:
        inbox.decide(session, offer.advocate, qid, 0, accept=True, reason=None, now_ms=after_window)
    assert refused.value.status == 409 and "window ended" in refused.value.detail
    (still,) = [o for o in offers_of(world, qid, 0) if o.advocate == offer.advocate]
    assert still.state == "offered" and still.decided_at_ms is None
    with world.oracle.database.read() as session:
        assert qid in [w.offer.question_id for w in inbox.waiting(session, offer.advocate, after_window - 2)]
        assert qid not in [w.offer.question_id for w in inbox.waiting(session, offer.advocate, after_window)]


def test_declined_by_everyone_the_question_reaches_new_people_in_a_round_that_replays(world: World) -> None:
    qid = new_question(world)
    run(world)
    first = offers_of(world, qid, 0)
    assert first
    for offer in first:
        response = decide(world, offer.advocate, qid, "decline", round=0, reason="  busy today  ")
        assert response.status_code == 200, response.text
    assert {(o.state, o.reason) for o in offers_of(world, qid, 0)} == {("declined", "busy today")}
    run(world)
    second = round_of(world, qid, 1)
    assert second is not None, "no next round after every offer was declined"
    before = {o.advocate.lower() for o in first}
    now_offered = {o.advocate.lower() for o in offers_of(world, qid, 1)}
    assert now_offered and not now_offered & before
    unavailable = {e["account"] for e in second.decision["evaluated"] if not e["available"]}
    assert before <= unavailable | (before - {e["account"] for e in second.decision["evaluated"]})
    with world.oracle.database.read() as session:
        check = check_route(session, Epochs(world.oracle.context.public_store), second.epoch, second.decision)
    assert (check.commitment_matches, check.replays) == (True, True), check.detail


def test_expired_offers_move_on_and_from_max_offer_rounds_the_question_is_swarmed(
    world: World, brand_settings: Callable[..., None]
) -> None:
    brand_settings(max_offer_rounds=1)
    qid = new_question(world)
    run(world)
    assert round_of(world, qid, 0) is not None and not round_of(world, qid, 0).decision["escalated"]  # type: ignore[union-attr]
    later = time.time() + 2 * 3600  # past every window
    run(world, clock=lambda: later)
    assert {o.state for o in offers_of(world, qid, 0)} == {"expired"}
    escalated = round_of(world, qid, 1)
    assert escalated is not None and escalated.decision["escalated"] is True
    assert escalated.decision["mode"] == "swarm"
    detail = world.client.get(
        f"/api/v1/brands/{world.dev.brand_id}/questions/{qid}",
        headers=world.bearer(world.brand_keys[world.dev.brand_id]),
    ).json()
    assert [r["round"] for r in detail["rounds"]] == [0, 1]
    assert detail["rounds"][1]["escalated"] is True and detail["route"]["round"] == 1
    assert {o["state"] for o in detail["rounds"][0]["offer_states"]} == {"expired"}
    assert "escalated" in detail["rounds"][1]["why"]


def test_an_offer_still_waiting_when_its_question_is_solved_by_someone_else_expires(world: World) -> None:
    qid = new_question(world)
    run(world)
    (offer,) = offers_of(world, qid, 0)
    ticket_id = ticket_of(world, qid)
    other = next(a.address for a in world.advocates if a.address.lower() != offer.advocate.lower())
    answer(world, ticket_id, other, "o1")
    world.deliver(world.dev.brand_id, "ticket_solved", f"{ticket_id}-solved", ticket_id, solved_by_comment_id="o1")
    world.drain()
    run(world)
    (closed,) = offers_of(world, qid, 0)
    assert closed.state == "expired" and closed.decided_at_ms is not None
    assert closed.decided_at_ms < closed.window_ends_at_ms, "expired by the question closing, not its window"
    response = decide(world, offer.advocate, qid, "accept", round=0)
    assert response.status_code == 409, response.text


def test_an_urgent_ticket_is_swarmed_at_once_and_its_first_round_is_the_last(world: World) -> None:
    qid = new_question(world, priority="Urgent")  # as a ticketing system names it; sources lowercase it
    run(world)
    first = round_of(world, qid, 0)
    assert first is not None and first.decision["escalated"] is True and first.decision["mode"] == "swarm"
    later = time.time() + 2 * 3600  # past its windows: no one took it
    run(world, clock=lambda: later)
    assert {o.state for o in offers_of(world, qid, 0)} == {"expired"} and round_of(world, qid, 1) is None
    routine = new_question(world, priority="high")
    run(world)
    assert round_of(world, routine, 0).decision["escalated"] is False  # type: ignore[union-attr]


def test_after_the_escalated_round_a_question_no_one_took_is_offered_no_further(
    world: World, brand_settings: Callable[..., None]
) -> None:
    brand_settings(max_offer_rounds=1)
    qid = new_question(world)
    run(world)
    later = time.time() + 2 * 3600  # past round 0's windows: round 1, escalated, opens
    run(world, clock=lambda: later)
    assert round_of(world, qid, 1) is not None and round_of(world, qid, 1).decision["escalated"]  # type: ignore[union-attr]
    much_later = later + 2 * 3600  # past round 1's windows too
    run(world, clock=lambda: much_later)
    assert {o.state for o in offers_of(world, qid)} == {"expired"}
    assert round_of(world, qid, 2) is None, "a round after the escalated one"


def test_rounds_end_with_a_recorded_round_that_could_offer_no_one_new(
    world: World, brand_settings: Callable[..., None]
) -> None:
    # Everyone offered declines, round after round, until no one new is left: that round is
    # written (saying why), and no step decides the question again.
    brand_settings(max_offer_rounds=10)
    qid = new_question(world)
    run(world)
    for number in range(10):
        offers = offers_of(world, qid, number)
        if not offers:
            break
        for offer in offers:
            with world.oracle.database.transaction() as session:
                inbox.decide(
                    session, offer.advocate, qid, number, accept=False, reason=None, now_ms=offer.offered_at_ms + 1
                )
        run(world)
    last = round_of(world, qid, number)
    assert last is not None and number < 9 and not offers_of(world, qid, number)
    assert not last.decision["offers"] and last.decision["expert"] is None
    assert router(world).step() == 0 and round_of(world, qid, number + 1) is None


def test_an_offered_advocates_answer_settles_their_offer_and_keeps_when_they_accepted_it(world: World) -> None:
    qid = new_question(world)
    run(world)
    offer = offers_of(world, qid, 0)[0]
    response = decide(world, offer.advocate, qid, "accept", round=0)
    assert response.status_code == 200, response.text
    accepted_at = response.json()["decided_at_ms"]
    ticket_id = ticket_of(world, qid)
    answer(world, ticket_id, offer.advocate, "a1")
    world.drain()
    run(world)
    (settled,) = [o for o in offers_of(world, qid, 0) if o.advocate == offer.advocate]
    assert settled.state == "answered" and settled.decided_at_ms is not None
    assert settled.accepted_at_ms == accepted_at


def test_an_advocate_who_answered_before_being_offered_the_question_is_offered_it_answered(world: World) -> None:
    # Round 0's offer is expired by this test's router, whose clock is past its window (the world's
    # own router, on the real clock, leaves it open); round 1 is then opened by either router. It
    # is read at once, with no settling step between: its offers must be settled in its own write.
    qid = new_question(world)
    run(world)
    (first,) = offers_of(world, qid, 0)
    ticket_id = ticket_of(world, qid)
    others = [a.address for a in world.advocates if a.address.lower() != first.advocate.lower()]
    for n, wallet in enumerate(others):
        answer(world, ticket_id, wallet, f"early-{n}")
    world.drain()
    later = first.window_ends_at_ms / 1000 + 1
    router(world, clock=lambda: later).step()
    second = offers_of(world, qid, 1)
    assert second and {o.advocate.lower() for o in second} <= {a.lower() for a in others}
    written = round_of(world, qid, 1)  # by this test's router, or by the world's once this one expired round 0
    assert written is not None
    assert {(o.state, o.decided_at_ms, o.accepted_at_ms) for o in second} == {("answered", written.created_at_ms, None)}


class Receiver(ThreadingHTTPServer):
    """A brand's own system on loopback: records what PeerCare posts to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.received.append((dict(self.headers), json.loads(body)))
                    receiver.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        with self.arrived:
            assert self.arrived.wait_for(predicate, timeout), "nothing arrived in time"


def test_the_brands_system_hears_of_each_round_with_who_was_offered_and_why(world: World) -> None:
    brand = world.brand2_id  # its own channel: the other tests' brand 1 tells no one
    with Receiver() as receiver:
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        headers = world.bearer(world.brand_keys[brand])
        url = f"http://127.0.0.1:{receiver.server_address[1]}/peercare"
        channel = {"base_url": url, "secret": "outbound-secret-1"}
        response = world.client.put(f"/api/v1/brands/{brand}/channels/generic", json=channel, headers=headers)
        assert response.status_code == 200 and "secret" not in response.json()
        ticket = f"B2-{time.time_ns()}"
        data = {"subject": "Routed", "body": "My node is stuck", "tags": ["staking"], "requester_id": "c-b2"}
        world.deliver(brand, "ticket_created", f"{ticket}-open", ticket, **data)
        world.drain()
        qid = "0x" + question_id(brand, short_string("generic"), ticket).hex()
        key = f"offer:{qid}:0"
        receiver.wait_for(lambda: any(h.get("X-PeerCare-Delivery") == key for h, _ in receiver.received), 60)
        receiver.shutdown()
    (sent,) = [b for h, b in receiver.received if h.get("X-PeerCare-Delivery") == key]
    route = round_of(world, qid, 0)
    assert route is not None
    assert sent["type"] == "routing.offer" and sent["ticket_id"] == ticket and sent["brand_id"] == brand
    assert sent["data"]["commitment"] == route.decision["commitment"] and sent["data"]["round"] == 0
    listed = world.client.get(f"/api/v1/brands/{brand}/deliveries", headers=headers).json()["items"]
    (delivery,) = [d for d in listed if d["key"] == key]
    assert delivery["kind"] == "offer" and delivery["attempts"] >= 1
    detail = world.client.get(f"/api/v1/brands/{brand}/questions/{qid}", headers=headers).json()
    assert [(d["key"], d["kind"]) for d in detail["deliveries"]] == [(key, "offer")]  # the question shows it
    other = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/deliveries", headers=headers)
    assert other.status_code == 403  # brand 2's key reads no other brand's deliveries

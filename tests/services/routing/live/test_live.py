"""Live routing (`peercare.routing.live.Router`): every question is routed once, on the latest
published reputation epoch, never to its asker, within the open-assignment cap; the brands' API
shows each decision, why it was taken, and that it replays."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlalchemy import func, select

from peercare.chain.devnet import dev_account
from peercare.content.embedded import EmbeddedStore
from peercare.core.ledger_ids import question_id, reputation_topic, short_string
from peercare.db.database import Database, sqlite_url
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Brand, OutboxTx, Question
from peercare.db.tables.routing import RouteRound
from peercare.oracle.brands import configure_brand
from peercare.routing.live import Epochs, Router, check_route
from peercare.routing.offers import OfferParams, commitment_of, decision_from_record
from peercare.routing.rounds import open_assignments
from tests.support.world import World

#: No open-assignment cap: the few advocates of the world are soon at the default cap (3) once
#: tests leave questions open, and then nobody is offered anything.
UNCAPPED = OfferParams(max_open=10**6)


def route_everything(world: World, params: OfferParams | None = None) -> int:
    router = Router(world.oracle.database, world.oracle.context.public_store, params=params)
    routed = 0
    while done := router.step():
        routed += done
    return routed


def new_ticket(world: World, ticket: str, tags: list[str], requester: str) -> str:
    brand_id = world.dev.brand_id
    data = {"subject": f"Routing {ticket}", "body": "How?", "tags": tags, "requester_id": requester}
    world.deliver(brand_id, "ticket_created", f"{ticket}-open", ticket, **data)
    return "0x" + question_id(brand_id, short_string("generic"), ticket).hex()


def route_of(world: World, qid: str) -> RouteRound:
    """The question's first round."""
    with world.oracle.database.read() as session:
        found = session.get(RouteRound, (qid, 0))
    assert found is not None, f"{qid} was not routed"
    return found


def top_candidates(world: World, topic: str) -> list[str]:
    """The advocates with a reputation in the brand's `topic` at the latest epoch, best first."""
    with world.oracle.database.read() as session:
        scores = Epochs(world.oracle.context.public_store).latest(session)
    assert scores is not None
    return [
        a
        for a, _ in sorted(
            scores.by_topic[reputation_topic(world.dev.brand_id, short_string(topic))].items(),
            key=lambda item: -item[1],
        )
    ]


def top_of(world: World, topic: str) -> str:
    return top_candidates(world, topic)[0]


def test_every_question_is_routed_once_on_the_latest_epoch_and_replays(world: World) -> None:
    world.drain()
    route_everything(world)
    assert Router(world.oracle.database, world.oracle.context.public_store).step() == 0  # exactly once
    epochs = Epochs(world.oracle.context.public_store)
    with world.oracle.database.read() as session:
        questions = set(session.scalars(select(Question.question_id)))
        routes = list(session.scalars(select(RouteRound).where(RouteRound.round == 0)))
        latest = session.scalar(select(func.max(ix.ReputationRoot.epoch)))
        assert {r.question_id for r in routes} == questions and len(routes) == len(questions) >= 8
        for route in routes:
            assert route.epoch == latest == 1
            assert route.decision["questionId"] == route.question_id
            check = check_route(session, epochs, route.epoch, route.decision)
            assert (check.commitment_matches, check.replays) == (True, True), check.detail
            brand = session.get(Brand, route.brand_id)
            assert brand is not None
            assert route.decision["experts"] == sorted(brand.experts.values())


def test_no_question_is_routed_before_an_epoch_is_published(world: World, tmp_path: Path) -> None:
    empty = Database(sqlite_url(tmp_path / "empty.sqlite3"))
    empty.migrate()
    with empty.transaction() as session:
        configure_brand(session, 1, "b", default_bounty=1, answer_window_s=3600)
        outbox = OutboxTx(
            kind="post_question", brand_id=1, to="0x" + "11" * 20, data="0x", gas_limit=1, created_at_ms=0
        )
        session.add(outbox)
        session.flush()
        session.add(
            Question(
                question_id="0x" + "ab" * 32,
                brand_id=1,
                source="generic",
                ticket_id="T",
                topic="general",
                bounty=1,
                deadline=2**40,
                content_cid="c",
                requester_id="r",
                outbox_id=outbox.id,
            )
        )
    router = Router(empty, EmbeddedStore(tmp_path / "content"))
    assert router.step() == 0
    with empty.read() as session:
        assert session.scalar(select(func.count()).select_from(RouteRound)) == 0
    empty.dispose()


def test_the_asker_is_never_offered_their_own_question(world: World) -> None:
    stamp = int(time.time() * 1000)
    top = top_of(world, "staking")
    by_wallet = new_ticket(world, f"A{stamp}-w", ["staking"], Account.from_key(b"\x01" * 32).address)
    as_top = new_ticket(world, f"A{stamp}-t", ["staking"], top)
    as_expert = new_ticket(world, f"A{stamp}-e", ["staking"], "agent-7")  # brand 1's expert, anvil #7
    world.drain()
    route_everything(world, UNCAPPED)  # being the asker is the only reason to pass someone over
    for qid, asker in ((as_top, top), (as_expert, dev_account(7).address.lower())):
        record = route_of(world, qid).decision
        assert record["asker"].lower() == asker
        assert asker not in [a.lower() for a in record["offers"]]
        assert (record["expert"] or "").lower() != asker
        evaluated = {e["account"]: e for e in record["evaluated"]}
        if asker in evaluated:
            assert evaluated[asker]["eligible"] is False
    # The same question from someone else: the top advocate is passed over only when at the cap (if
    # the oracle's own router decided first, with the default cap), and offered it otherwise.
    other = route_of(world, by_wallet).decision
    entry = next(e for e in other["evaluated"] if e["account"] == top)
    assert other["asker"].lower() != top
    assert entry["eligible"] == (entry["open_assignments"] < other["params"]["max_open"])
    assert (top in other["offers"]) == entry["eligible"]


def test_no_advocate_is_offered_more_open_questions_than_the_cap(world: World) -> None:
    cap = OfferParams().max_open
    (only,) = top_candidates(world, "wallets")  # the one advocate with a score in "wallets"
    route_everything(world)  # whatever is waiting first, so that the load below is the starting one
    with world.oracle.database.read() as session:
        before = open_assignments(session, int(time.time()))[only]
    stamp = int(time.time() * 1000)
    tickets = [new_ticket(world, f"L{stamp}-{n}", ["wallets"], f"cust-l{n}") for n in range(8)]
    world.drain()
    route_everything(world)  # in one step: the step counts its own offers as load
    offered = sum(only in route_of(world, qid).decision["offers"] for qid in tickets)
    assert offered <= max(0, cap - before)
    assert offered > 0 or before >= cap
    with world.oracle.database.read() as session:
        assert open_assignments(session, int(time.time()))[only] == before + offered


def test_two_routers_route_a_question_once(world: World) -> None:
    route_everything(world)
    qid = new_ticket(world, f"D{int(time.time() * 1000)}", ["nodes"], "cust-d")
    world.drain()
    routers = [Router(world.oracle.database, world.oracle.context.public_store) for _ in range(2)]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda r=r: counts.append(r.step())) for r in routers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) <= 1  # 0 if the oracle's own router got there first
    with world.oracle.database.read() as session:
        assert session.scalar(select(func.count()).where(RouteRound.question_id == qid)) == 1


def test_the_brand_sees_who_its_question_was_offered_to_and_why(world: World) -> None:
    route_everything(world)
    headers = world.bearer(world.brand_keys[world.dev.brand_id])
    # The world's first ticket was routed before any question was open: offered on reputation alone.
    first = "0x" + question_id(world.dev.brand_id, short_string("generic"), "T0").hex()
    stored = route_of(world, first)
    for key in (world.brand_keys[world.dev.brand_id], world.auditor_key):
        detail = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions/{first}", headers=world.bearer(key))
        assert detail.status_code == 200, detail.text
    routing = detail.json()["routing"]
    assert routing["record"] == stored.decision
    assert routing["epoch"] == stored.epoch == 1
    assert routing["commitment"] == stored.decision["commitment"]
    assert (routing["commitment_matches"], routing["replays"]) == (True, True)
    assert routing["mode"] == stored.decision["mode"] == "direct"
    assert routing["offers"] and [a.lower() for a in routing["offers"]] == stored.decision["offers"]
    offered = [c["account"] for c in routing["candidates"] if c["offered"]]
    assert sorted(offered) == sorted(routing["offers"])
    assert all(c["open_assignments"] == 0 for c in routing["candidates"])
    assert routing["why"].startswith("offered directly")
    assert "reputation epoch 1" in routing["why"]
    for account in routing["offers"]:
        assert account in routing["why"]

    # A new ticket: listed as open with the route the detail shows.
    qid = new_ticket(world, f"W{int(time.time() * 1000)}", ["staking"], "cust-w")
    world.drain()
    route_everything(world, UNCAPPED)
    routing = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions/{qid}", headers=headers).json()[
        "routing"
    ]
    assert routing["replays"] is True and "topic 'staking'" in routing["why"]
    listed: dict[str, Any] | None = None
    cursor = None
    while listed is None:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = world.client.get(f"/api/v1/brands/{world.dev.brand_id}/questions", params=params, headers=headers)
        listed = next((q for q in page.json()["items"] if q["question_id"] == qid), None)
        cursor = page.json()["next_cursor"]
        assert listed is not None or cursor is not None
    assert listed["status"] == "open"
    offer_states = listed["route"].pop("offer_states")
    assert listed["route"] == {
        "round": 0,
        "escalated": False,
        "epoch": 1,
        "mode": routing["mode"],
        "offers": routing["offers"],
        "expert": routing["expert"],
        "routed_at_ms": routing["routed_at_ms"],
    }
    # Each person the round chose has an offer, waiting for them.
    chosen = routing["offers"] + ([routing["expert"]] if routing["expert"] else [])
    assert [o["advocate"] for o in offer_states] == chosen
    assert all(o["state"] == "offered" for o in offer_states)


def test_a_tampered_decision_record_is_caught(world: World) -> None:
    route_everything(world)
    with world.oracle.database.read() as session:
        route = session.scalars(select(RouteRound).where(RouteRound.brand_id == world.dev.brand_id)).first()
        assert route is not None
        epochs = Epochs(world.oracle.context.public_store)
        record = route.decision
        decision = decision_from_record(record)
        stranger = Account.create().address.lower()
        swapped = record | {"offers": [stranger, *record["offers"][1:]]}
        assert check_route(session, epochs, route.epoch, swapped).commitment_matches is False
        # Recommitted to the swapped choice: the commitment holds, but the epoch's scores disagree.
        forged = decision_from_record(swapped)
        recommitted = swapped | {"commitment": "0x" + commitment_of(forged).hex()}
        check = check_route(session, epochs, route.epoch, recommitted)
        assert check.commitment_matches is True and check.replays is False
        assert decision.commitment.hex() in record["commitment"]

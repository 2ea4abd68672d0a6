"""How a Stack Exchange dump becomes webhook deliveries (`peercare.demo.plan`), on the shipped
cardano-se dump: no chain, no oracle."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from peercare.demo.advocate_answers import answer_document
from peercare.demo.plan import (
    DEFAULT_TOPIC,
    Plan,
    advocate_account,
    attribution,
    build_plan,
    top_tags,
)
from peercare.oracle.events import CommentAdded
from peercare.oracle.processor import answer_conversation
from peercare.oracle.webhooks import Credential, verify_and_parse
from peercare.oracle.webhooks.generic_client import generic_headers
from peercare.routing.dump import Dump, load_dump
from tests.support.demo_peercare import ROOT

DUMP = ROOT / "tests" / "data" / "stackexchange" / "cardano-se"
SITE = "cardano-se"


@pytest.fixture(scope="module")
def dump() -> Dump:
    return load_dump(DUMP)


@pytest.fixture(scope="module")
def full(dump: Dump) -> Plan:
    return build_plan(dump, SITE)


def test_questions_are_replayed_oldest_first_each_ticket_in_its_own_order(dump: Dump, full: Plan) -> None:
    assert len(full.tickets) == len(dump.questions)
    asked = [dump.questions[t.post_id].created for t in full.tickets]
    assert asked == sorted(asked)
    for ticket in full.tickets:
        kinds = [d.kind for d in ticket.deliveries]
        assert kinds[0] == "ticket_created" and kinds.count("ticket_created") == 1
        times = [d.occurred_at for d in ticket.deliveries]
        assert times == sorted(times), ticket.ticket_id
        assert {d.ticket_id for d in ticket.deliveries} == {ticket.ticket_id}


def test_answers_before_the_acceptance_are_signed_later_ones_batched(full: Plan) -> None:
    seen_both = Counter[str]()
    for ticket in full.tickets:
        solved = [d for d in ticket.deliveries if d.kind == "ticket_solved"]
        for delivery in ticket.deliveries:
            if delivery.kind != "comment_added" or "author_wallet" not in delivery.data:
                continue
            before = not solved or delivery.occurred_at < solved[0].occurred_at
            assert (delivery.signer is not None) == before, delivery.event_id
            seen_both["signed" if before else "batched"] += 1
        if solved:  # the accepted answer was given before its acceptance
            comment = solved[0].data["solved_by_comment_id"]
            order = [d.data.get("comment_id") if d.kind == "comment_added" else d.kind for d in ticket.deliveries]
            assert order.index(comment) < order.index("ticket_solved")
    assert seen_both["signed"] > 0 and seen_both["batched"] > 0


def test_the_askers_own_answers_are_plain_comments_never_paid_or_rated(dump: Dump, full: Plan) -> None:
    asker_comments = 0
    for ticket in full.tickets:
        asker = f"se-user-{dump.questions[ticket.post_id].owner}"
        theirs = {
            d.data["comment_id"]
            for d in ticket.deliveries
            if d.kind == "comment_added" and d.data["author_id"] == asker
        }
        asker_comments += len(theirs)
        for delivery in ticket.deliveries:
            if delivery.kind == "comment_added" and delivery.data["comment_id"] in theirs:
                assert "author_wallet" not in delivery.data and delivery.signer is None
            if delivery.kind == "ticket_solved":
                assert delivery.data["solved_by_comment_id"] not in theirs
            if delivery.kind == "satisfaction_rated":
                assert delivery.data["comment_id"] not in theirs
    assert asker_comments == full.counts().asker_replies > 0


def test_nonces_count_each_advocates_signed_answers_so_a_limited_run_signs_like_a_full_one(
    dump: Dump, full: Plan
) -> None:
    nonces: dict[int, list[int]] = {}
    for delivery in full.deliveries():
        if delivery.signer is not None:
            assert delivery.nonce is not None
            nonces.setdefault(delivery.signer, []).append(delivery.nonce)
    assert all(sequence == list(range(len(sequence))) for sequence in nonces.values())
    limited = build_plan(dump, SITE, limit=40)
    assert limited.tickets == full.tickets[:40]


def test_event_ids_are_unique_and_stable(dump: Dump, full: Plan) -> None:
    ids = [d.event_id for d in full.deliveries()]
    assert len(ids) == len(set(ids))
    assert [d.event_id for d in build_plan(dump, SITE).deliveries()] == ids


def test_votes_on_answers_become_five_or_one_star_ratings(dump: Dump, full: Plan) -> None:
    counts = full.counts()
    ratings = Counter(d.data["rating"] for d in full.deliveries() if d.kind == "satisfaction_rated")
    assert ratings == {5: counts.upvotes, 1: counts.downvotes}
    raters = [d.data["rater_id"] for d in full.deliveries() if d.kind == "satisfaction_rated"]
    assert len(raters) == len(set(raters))  # each vote its own rater: the ledger keeps one rating per rater


def test_topics_are_the_most_frequent_tags(dump: Dump, full: Plan) -> None:
    assert len(full.topics) == 8
    assert "plutus" in full.topics and "wallet" in full.topics
    assert top_tags(dump, 1) == ("plutus",)
    assert DEFAULT_TOPIC not in full.topics


def test_advocate_keys_are_deterministic_per_site_and_user() -> None:
    assert advocate_account(SITE, 14).address == advocate_account(SITE, 14).address
    assert advocate_account(SITE, 14).address != advocate_account(SITE, 15).address
    assert advocate_account(SITE, 14).address != advocate_account("other-se", 14).address


def test_the_signed_document_is_the_one_the_oracle_builds_from_the_delivery(full: Plan) -> None:
    secret, brand_id = "whsec_demo_test", 7
    signed = [d for d in full.deliveries() if d.signer is not None][:25]
    for delivery in signed:
        body = delivery.body(signature={"nonce": 0, "deadline": 2**40, "signature": "0x" + "11" * 65})
        headers = generic_headers(secret, body, brand_id=brand_id)
        event = verify_and_parse("generic", Credential(secret), headers, body, time.time(), brand_id=brand_id)
        assert isinstance(event, CommentAdded)
        tags = full.tags_by_ticket[delivery.ticket_id]
        topic = next((t for t in tags if t in full.topics), DEFAULT_TOPIC)  # as the processor picks it
        wallet = str(event.author_wallet)
        built = answer_conversation(
            brand_id, "generic", event.ticket_id, topic, "advocate", wallet, event.occurred_at, event.body
        )
        assert built.canonical_bytes() == answer_document(full, brand_id, delivery).canonical_bytes()


def test_attribution_comes_from_the_dumps_readme(tmp_path: Path) -> None:
    lines = attribution(DUMP)
    assert any(line.startswith("Licence: Creative Commons Attribution-ShareAlike 4.0") for line in lines)
    assert any(line.startswith("Attribution: the authors of the posts") for line in lines)
    assert "CC BY-SA" in attribution(tmp_path)[0]  # no README: the licence is still named


def test_each_delivery_waits_for_its_tickets_last_event_and_its_advocates_last_signature(full: Plan) -> None:
    deliveries = list(full.deliveries())
    predecessors = full.predecessors()
    assert len(predecessors) == len(deliveries)
    last_of_ticket: dict[str, int] = {}
    last_signed: dict[int, int] = {}
    for n, delivery in enumerate(deliveries):
        expected = set()
        if delivery.ticket_id in last_of_ticket:
            expected.add(last_of_ticket[delivery.ticket_id])
        if delivery.signer is not None and delivery.signer in last_signed:
            expected.add(last_signed[delivery.signer])
        assert set(predecessors[n]) == expected and all(m < n for m in expected)
        last_of_ticket[delivery.ticket_id] = n
        if delivery.signer is not None:
            last_signed[delivery.signer] = n
    firsts = sum(1 for before in predecessors if not before)
    assert firsts == len(full.tickets)  # every ticket can start at once; nothing else can

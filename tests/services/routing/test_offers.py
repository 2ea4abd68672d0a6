"""Routing mechanics (peercare/routing/offers.py): filters, exploration, swarms, commitments."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.routing.offers import (
    BPS,
    CandidateIndex,
    LiveState,
    OfferParams,
    OfferRequest,
    Share,
    commitment_of,
    decision_record,
    explore_slots,
    exposure,
    replay,
    route,
    swarm_shares,
)

TOPIC = b"billing".ljust(32, b"\0")
M = 1_000_000  # one fresh acceptance


def addr(i: int) -> str:
    return "0x" + (0xB000 + i).to_bytes(20, "big").hex()


def qid(i: int) -> bytes:
    return keccak(b"q%d" % i)


# Reputation falling steeply, so that the top is confident: 0 -> 100M, 1 -> 50M, ...; 8, 9 are newcomers.
REPUTATION = {addr(i): 100 * M // 2**i for i in range(8)} | {addr(8): 0, addr(9): M // 2}
INDEX = CandidateIndex(REPUTATION)
NO_EXPLORE = OfferParams(explore_bps=0)


def _offers(live: LiveState | None = None, asker: int | None = None, params: OfferParams = NO_EXPLORE) -> tuple:
    request = OfferRequest(qid(1), TOPIC, addr(asker) if asker is not None else None)
    return route(request, INDEX, live, params).offers


@pytest.mark.parametrize(
    ("live", "asker", "expected"),
    [
        (None, None, (0, 1, 2)),
        (None, 0, (1, 2, 3)),  # never the asker
        (LiveState(unavailable=frozenset({addr(1)})), None, (0, 2, 3)),  # unavailable skipped
        (LiveState({addr(0): 3}), None, (1, 2, 3)),  # at max_open: no new offer
        # 0 (100M) with 2 open assignments scores 100M / 2 = 50M, ties with 1 (50M): address breaks it.
        (LiveState({addr(0): 2}), None, (0, 1, 2)),
        (LiveState({addr(1): 1}), None, (0, 1, 2)),  # 1 drops to 33M, still above 2 (25M)
        (LiveState({addr(0): 2, addr(1): 2}), None, (0, 1, 2)),  # 0 -> 50M; 1 -> 25M ties with 2: address
    ],
)
def test_filters_and_load_penalty(live: LiveState | None, asker: int | None, expected: tuple[int, ...]) -> None:
    got = _offers(live, asker)
    assert got == tuple(addr(i) for i in expected)


def test_load_penalty_can_reorder() -> None:
    # 0 at 100M with 2 open assignments -> 50M; 1 with 1 open -> 33.3M; 2 untouched at 25M.
    # With a 500% penalty per open assignment, 0 (100M / 11) and 1 (50M / 6) fall below 2 (25M).
    offers = _offers(LiveState({addr(0): 2, addr(1): 1}), params=OfferParams(explore_bps=0, load_penalty_bps=50_000))
    assert offers == (addr(2), addr(3), addr(0))


def test_a_clear_leader_gets_a_direct_offer() -> None:
    decision = route(OfferRequest(qid(1), TOPIC), INDEX, params=NO_EXPLORE)
    assert decision.mode == "direct" and decision.shares == () and decision.expert is None


@pytest.mark.parametrize(
    ("reputation", "escalated", "mode"),
    [
        ({addr(0): 100 * M, addr(1): 10 * M}, False, "direct"),
        ({addr(0): 100 * M, addr(1): 10 * M}, True, "swarm"),  # escalated
        ({addr(0): 100 * M, addr(1): 95 * M}, False, "swarm"),  # within the 10% margin
        ({addr(0): M // 2, addr(1): 0}, False, "swarm"),  # nobody confident enough
        ({}, False, "swarm"),  # nobody at all
    ],
)
def test_low_confidence_or_escalation_swarms(reputation: dict[str, int], escalated: bool, mode: str) -> None:
    index = CandidateIndex(reputation)
    decision = route(OfferRequest(qid(2), TOPIC, escalated=escalated), index, params=NO_EXPLORE, experts=[addr(50)])
    assert decision.mode == mode
    if mode == "swarm":
        assert decision.expert == addr(50)
        assert sum(s.bps for s in decision.shares) == BPS
        assert {s.account.lower() for s in decision.shares} == {*decision.offers, addr(50)}


def test_the_swarm_expert_gets_the_expert_share() -> None:
    decision = route(
        OfferRequest(qid(3), TOPIC, escalated=True), INDEX, params=NO_EXPLORE, experts=[addr(50), addr(51)]
    )
    shares = {s.account.lower(): s.bps for s in decision.shares}
    assert shares[decision.expert or ""] == OfferParams().expert_bps
    assert len(decision.offers) == OfferParams().swarm_size


def test_an_unavailable_expert_is_skipped() -> None:
    live = LiveState(unavailable=frozenset({addr(50)}))
    decision = route(OfferRequest(qid(3), TOPIC, escalated=True), INDEX, live, NO_EXPLORE, experts=[addr(50), addr(51)])
    assert decision.expert == addr(51)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([(addr(1), 1), (addr(2), 1)], [5_000, 5_000]),
        ([(addr(1), 3), (addr(2), 1)], [7_500, 2_500]),
        ([(addr(1), 1), (addr(2), 1), (addr(3), 1)], [3_334, 3_333, 3_333]),  # remainder by address
        ([(addr(1), 0), (addr(2), 0)], [5_000, 5_000]),  # no weight: equal
        ([(addr(1), 10**30), (addr(2), 0)], [9_999, 1]),  # everyone keeps a basis point
        ([(addr(1), 1), (addr(1), 1)], [10_000]),  # duplicates merged
        ([], []),
    ],
)
def test_swarm_shares(weights: list[tuple[str, int]], expected: list[int]) -> None:
    assert [s.bps for s in swarm_shares(weights)] == expected


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.tuples(st.integers(0, 40).map(addr), st.integers(0, 10**24)), max_size=30),
    total=st.integers(1, BPS),
)
def test_swarm_shares_always_sum_to_the_total(weights: list[tuple[str, int]], total: int) -> None:
    members = {a for a, _ in weights}
    if len(members) > total:
        with pytest.raises(ValueError):
            swarm_shares(weights, total)
        return
    shares = swarm_shares(weights, total)
    assert sum(s.bps for s in shares) == (total if members else 0)
    assert all(1 <= s.bps <= total for s in shares)
    assert len(shares) == len(members)


# ---------------------------------------------------------------- exploration

BIG = CandidateIndex({addr(i): (i % 50) * M // 10 for i in range(2_000)})  # 500 newcomers (< 1M)


def test_exploration_share_is_near_its_target_over_many_offers() -> None:
    decisions = [route(OfferRequest(qid(i), TOPIC), BIG) for i in range(1_000)]
    seen = exposure(decisions)
    print(f"exposure: {seen}")
    assert seen.offers == 3_000
    assert 700 <= seen.explored_share_bps <= 1_300  # 10% target, binomial over 3,000 slots
    assert seen.distinct_newcomers > 200  # spread over many newcomers, not one
    assert seen.newcomer_offers >= seen.explored_offers
    assert all(a in d.offers for d in decisions for a in d.explored)


@settings(max_examples=30, deadline=None)
@given(explore_bps=st.integers(0, BPS), salt=st.integers(0, 2**32))
def test_exploration_share_stays_within_bounds(explore_bps: int, salt: int) -> None:
    slots = [s for i in range(1_000) for s in explore_slots(qid(salt * 10_000 + i), 3, explore_bps)]
    share = sum(slots) / len(slots)
    assert abs(share - explore_bps / BPS) < 0.04  # > 4 standard deviations at worst (p = 0.5)


@pytest.mark.parametrize(("explore_bps", "explored"), [(0, 0), (BPS, 3)])
def test_exploration_extremes(explore_bps: int, explored: int) -> None:
    decision = route(OfferRequest(qid(7), TOPIC), BIG, params=OfferParams(explore_bps=explore_bps))
    assert len(decision.explored) == explored
    assert all(BIG.is_newcomer(a) for a in decision.explored)


def test_exploration_never_offers_to_the_asker_or_the_unavailable() -> None:
    newcomers = BIG.newcomers
    live = LiveState(unavailable=frozenset(newcomers[1:]))
    decision = route(OfferRequest(qid(8), TOPIC, asker=newcomers[0]), BIG, live, OfferParams(explore_bps=BPS))
    assert decision.explored == ()  # every newcomer is the asker or away: slots fall back to merit
    assert len(decision.offers) == 3 and newcomers[0] not in decision.offers


# ---------------------------------------------------------------- ranking is exact


@settings(max_examples=60, deadline=None)
@given(
    reputation=st.dictionaries(st.integers(0, 60).map(addr), st.integers(0, 10 * M), max_size=40),
    loads=st.dictionaries(st.integers(0, 60).map(addr), st.integers(0, 4), max_size=20),
    away=st.sets(st.integers(0, 60).map(addr), max_size=10),
    q=st.integers(0, 10**6),
)
def test_best_first_walk_equals_a_full_scan(reputation: dict, loads: dict, away: set, q: int) -> None:
    index = CandidateIndex(reputation)
    live = LiveState(loads, frozenset(away))
    request = OfferRequest(qid(q), TOPIC, asker=addr(q % 61))
    walked = route(request, index, live)
    scanned = route(request, index, live, score=lambda a: index.reputation[a])
    assert (walked.mode, walked.offers, walked.explored, walked.shares) == (
        scanned.mode,
        scanned.offers,
        scanned.explored,
        scanned.shares,
    )
    assert len(walked.evaluated) <= len(scanned.evaluated)
    assert request.asker not in walked.offers and not set(walked.offers) & away
    assert all(live.load(a) < OfferParams().max_open for a in walked.offers)


def test_the_walk_reads_few_candidates() -> None:
    decision = route(OfferRequest(qid(1), TOPIC), BIG, params=NO_EXPLORE)
    assert len(decision.evaluated) < 100 < len(BIG)


def test_a_negative_score_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        route(OfferRequest(qid(1), TOPIC), INDEX, score=lambda a: -1)


# ---------------------------------------------------------------- commitments


def test_a_decision_is_deterministic_and_replays() -> None:
    live = LiveState({addr(0): 1}, frozenset({addr(2)}))
    request = OfferRequest(qid(9), TOPIC, asker=addr(3), escalated=True)
    first = route(request, INDEX, live, experts=[addr(50)])
    assert route(request, INDEX, live, experts=[addr(50)]) == first
    assert commitment_of(first) == first.commitment and len(first.commitment) == 32
    assert replay(first, INDEX, experts=[addr(50)])
    json.dumps(decision_record(first))  # serialisable for the oracle's log


@pytest.mark.parametrize(
    "change",
    ["offers", "shares", "feature", "index"],
)
def test_a_changed_decision_no_longer_matches_its_commitment(change: str) -> None:
    request = OfferRequest(qid(9), TOPIC, escalated=True)
    decision = route(request, INDEX, experts=[addr(50)])
    fields = dict(decision.__dict__)
    if change == "offers":
        fields["offers"] = tuple(reversed(decision.offers))
    elif change == "shares":
        fields["shares"] = (Share(decision.shares[0].account, decision.shares[0].bps + 1), *decision.shares[1:])
    elif change == "feature":
        e = decision.evaluated[0]
        fields["evaluated"] = (
            e.__class__(
                e.account,
                e.reputation + 1,
                e.score,
                e.adjusted,
                e.open_assignments,
                e.available,
                e.newcomer,
                e.eligible,
            ),
            *decision.evaluated[1:],
        )
    else:
        fields["index_digest"] = bytes(32)
    tampered = type(decision)(**fields)
    assert commitment_of(tampered) != decision.commitment
    assert not replay(tampered, INDEX, experts=[addr(50)])


def test_a_different_pool_or_question_gives_another_commitment() -> None:
    a = route(OfferRequest(qid(1), TOPIC), INDEX)
    b = route(OfferRequest(qid(2), TOPIC), INDEX)
    c = route(OfferRequest(qid(1), TOPIC), CandidateIndex({**REPUTATION, addr(7): 1}))
    assert len({a.commitment, b.commitment, c.commitment}) == 3

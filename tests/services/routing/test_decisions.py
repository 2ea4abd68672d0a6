"""Offer decisions from the ranker (peercare/routing/offers.py `route_question`, ranker.py `rank_pool`):
the decision commits to the ranker's own features, and anyone can recompute it from its record."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.routing.offers import (
    BPS,
    Evaluated,
    OfferParams,
    OfferRequest,
    RoutingDecision,
    commitment_of,
    decision_from_record,
    decision_record,
    exposure,
    question_digest,
    replay,
    route_question,
)
from peercare.routing.ranker import (
    PPM,
    Answered,
    LoadRule,
    PoolMember,
    Question,
    candidate_features,
    combined_score,
    rank_pool,
)

TOPIC = b"billing".ljust(32, b"\0")
M = 1_000_000  # one fresh acceptance
NOW = datetime(2026, 3, 1, 12)
ASKER = "0x" + "99" * 20
NO_EXPLORE = OfferParams(explore_bps=0)


def addr(i: int) -> str:
    return "0x" + (0xC000 + i).to_bytes(20, "big").hex()


def qid(i: int) -> bytes:
    return keccak(b"question %d" % i)


TITLES = {
    "billing": ("Refund for a double charge on my card", ("billing", "refunds")),
    "roaming": ("Roaming data does not work abroad", ("roaming", "data")),
    "sim": ("Activate a replacement SIM card", ("sim", "activation")),
}


def answered(n: int, user: str, subject: str, days_ago: float, accepted: bool = False) -> Answered:
    title, tags = TITLES[subject]
    return Answered(n, user, NOW - timedelta(days=days_ago), 10_000 + n, ASKER, tags, f"{title} #{n}", accepted, 0, 0)


def history(subjects: dict[str, tuple[str, int]]) -> list[Answered]:
    """Per user: (subject, answers), one every three days from yesterday, every other one accepted."""
    out: list[Answered] = []
    for user, (subject, count) in subjects.items():
        out += [answered(len(out), user, subject, 1 + 3 * k, accepted=k % 2 == 0) for k in range(count)]
    return out


QUESTION = Question(1, ASKER, NOW, ("billing", "refunds"), "How do I get a refund for a double charge?", "")
HISTORY = history(
    {
        addr(0): ("billing", 8),
        addr(1): ("billing", 3),
        addr(2): ("roaming", 8),
        addr(3): ("sim", 5),
        ASKER: ("billing", 6),
    }
)
POOL = [
    PoolMember(addr(0), 20 * M),
    PoolMember(addr(1), 12 * M, open_assignments=1),
    PoolMember(addr(2), 30 * M),
    PoolMember(addr(3), 2 * M, available=False),
    PoolMember(addr(4), 0),  # a newcomer without history
    PoolMember(addr(5), M // 2),  # a newcomer
    PoolMember(ASKER, 50 * M),  # the asker is in the pool: never offered
]


def decide(
    pool: list[PoolMember] = POOL,
    params: OfferParams = NO_EXPLORE,
    q: int = 1,
    escalated: bool = False,
    experts: tuple[str, ...] = (),
    question: Question = QUESTION,
) -> RoutingDecision:
    return route_question(OfferRequest(qid(q), TOPIC, ASKER, escalated), question, HISTORY, pool, params, experts)


def by_account(decision: RoutingDecision) -> dict[str, Evaluated]:
    return {e.account: e for e in decision.evaluated}


# ---------------------------------------------------------------- the committed features are the ranker's


def test_the_committed_features_are_the_rankers() -> None:
    decision = decide()
    baseline, ranking = rank_pool(QUESTION, HISTORY, POOL, NO_EXPLORE.load_rule)
    recorded = by_account(decision)
    assert decision.basis == "ranker" and decision.baseline == baseline
    assert set(recorded) == {m.account for m in POOL}  # the whole pool, each with its features
    for r in ranking:
        e = recorded[r.account]
        got = (e.reputation, e.answers, e.activity, e.affinity, e.acceptance, e.score, e.adjusted)
        assert got == (r.reputation, r.answers, r.activity, r.affinity, r.acceptance, r.score, r.adjusted)
        assert (e.open_assignments, e.available, e.eligible) == (r.open_assignments, r.available, r.eligible)
    # ... and they are the ranker's estimates, quantised once.
    floats = {f.user: f for f in candidate_features(QUESTION, HISTORY, [m.account for m in POOL])}
    for account, e in recorded.items():
        assert e.activity == round(floats[account].activity * PPM)
        assert e.affinity == round(floats[account].affinity * PPM)
        assert e.acceptance == round(floats[account].acceptance * PPM)
    # The offers follow the ranking: on-topic addr(0) first, although addr(2) has more reputation.
    assert decision.offers[0] == addr(0)
    assert recorded[addr(2)].reputation > recorded[addr(0)].reputation
    assert recorded[addr(0)].affinity > recorded[addr(2)].affinity


def test_the_score_is_reputation_scaled_by_fit_in_integers() -> None:
    baseline, ranking = rank_pool(QUESTION, HISTORY, POOL)
    for r in ranking:
        expected = (r.reputation + M) * r.activity * r.affinity * r.acceptance // baseline.relevance
        assert r.score == expected == combined_score(r.reputation, r.activity, r.affinity, r.acceptance, baseline, M)
    no_history = {r.account: r for r in rank_pool(QUESTION, [], POOL)[1]}
    assert no_history[addr(2)].score == 31 * M  # nothing to compare with: reputation plus the prior


@pytest.mark.parametrize("feature", ["reputation", "activity", "affinity", "acceptance", "answers"])
def test_a_changed_feature_no_longer_matches_the_commitment(feature: str) -> None:
    decision = decide()
    first = decision.evaluated[0]
    changed = replace(first, **{feature: getattr(first, feature) + 1})
    tampered = replace(decision, evaluated=(changed, *decision.evaluated[1:]))
    assert commitment_of(tampered) != decision.commitment
    assert not replay(tampered)
    if feature != "answers":  # the count explains the affinity's smoothing; the others make the score
        assert not replay(replace(tampered, commitment=commitment_of(tampered)))


def test_another_question_text_gives_another_commitment() -> None:
    reworded = replace(QUESTION, title="Refund of a duplicated charge")
    assert question_digest(reworded) != question_digest(QUESTION)
    assert decide(question=reworded).commitment != decide().commitment


# ---------------------------------------------------------------- never the asker


def test_the_asker_is_never_offered_even_as_the_best_a_newcomer_or_an_expert() -> None:
    # The asker has the most reputation and the most on-topic history, is a newcomer in the second
    # pool, and is listed as an expert: they are recorded as a candidate but never chosen.
    as_newcomer = [m if m.account != ASKER else PoolMember(ASKER, 0) for m in POOL]
    for pool in (POOL, as_newcomer):
        for params in (NO_EXPLORE, OfferParams(explore_bps=BPS)):
            for escalated in (False, True):
                decision = decide(pool, params, escalated=escalated, experts=(ASKER, addr(1)))
                chosen = {*decision.offers, *decision.explored, decision.expert}
                assert ASKER not in chosen
                assert not by_account(decision)[ASKER].eligible and by_account(decision)[ASKER].adjusted == 0
                assert all(s.account.lower() != ASKER for s in decision.shares)


@settings(max_examples=40, deadline=None)
@given(
    reputations=st.lists(st.integers(0, 40 * M), min_size=2, max_size=8),
    asker_at=st.integers(0, 7),
    explore_bps=st.sampled_from([0, 1_000, BPS]),
    q=st.integers(0, 10**6),
)
def test_no_pool_or_draw_offers_the_asker(reputations: list[int], asker_at: int, explore_bps: int, q: int) -> None:
    pool = [PoolMember(addr(i), r) for i, r in enumerate(reputations)]
    asker = pool[asker_at % len(pool)].account
    request = OfferRequest(qid(q), TOPIC, asker, escalated=q % 3 == 0)
    decision = route_question(
        request, replace(QUESTION, asker=asker), HISTORY, pool, OfferParams(explore_bps=explore_bps), [asker]
    )
    assert asker not in {*decision.offers, *decision.explored, decision.expert}


def test_a_question_whose_asker_differs_from_the_requests_is_refused() -> None:
    with pytest.raises(ValueError, match="asker"):
        route_question(OfferRequest(qid(1), TOPIC, addr(0)), QUESTION, HISTORY, POOL)


# ---------------------------------------------------------------- load and availability


TWINS = history({addr(10): ("billing", 4), addr(11): ("billing", 4)})


@pytest.mark.parametrize(
    ("twin", "offered"),
    [
        (PoolMember(addr(11), 10 * M, available=False), False),  # unavailable: not eligible
        (PoolMember(addr(11), 10 * M, open_assignments=1), True),  # loaded: eligible, lower
        (PoolMember(addr(11), 10 * M, open_assignments=3), False),  # at max_open: not eligible
    ],
)
def test_an_unavailable_or_overloaded_advocate_ranks_below_an_otherwise_equal_one(
    twin: PoolMember, offered: bool
) -> None:
    # addr(10) and addr(11) have the same answers and reputation. The handicapped twin is tried in
    # both places, so that the order comes from load and availability, not from the tie-break by
    # address.
    free_twin = PoolMember(addr(10), 10 * M)
    cases = [
        ([free_twin, twin], addr(11), addr(10)),
        ([replace(twin, account=addr(10)), replace(free_twin, account=addr(11))], addr(10), addr(11)),
    ]
    for candidates, handicapped, free in cases:
        _, ranking = rank_pool(QUESTION, TWINS, candidates)
        order = [r.account for r in ranking]
        assert order.index(free) < order.index(handicapped)
        scores = {r.account: r.score for r in ranking}
        assert scores[free] == scores[handicapped] > 0  # otherwise equal: the same score before load
        decision = route_question(OfferRequest(qid(3), TOPIC, ASKER), QUESTION, TWINS, candidates, NO_EXPLORE)
        assert decision.offers[0] == free
        assert (handicapped in decision.offers) == offered


def test_load_divides_the_score_as_the_rule_says() -> None:
    rule = LoadRule(max_open=3, load_penalty_bps=5_000)
    _, ranking = rank_pool(QUESTION, HISTORY, POOL, rule)
    loaded = next(r for r in ranking if r.account == addr(1))
    assert loaded.adjusted == loaded.score * BPS // (BPS + 5_000) and loaded.eligible
    away = next(r for r in ranking if r.account == addr(3))
    assert away.adjusted == 0 and not away.eligible and away.score > 0


# ---------------------------------------------------------------- recomputing the commitment


@pytest.mark.parametrize(("escalated", "explore_bps"), [(False, 0), (True, 0), (False, BPS), (True, 5_000)])
def test_recomputing_the_commitment_from_the_recorded_inputs_gives_the_same_hash(
    escalated: bool, explore_bps: int
) -> None:
    experts = (addr(1), addr(3))
    decision = decide(params=OfferParams(explore_bps=explore_bps), escalated=escalated, experts=experts)
    record = json.loads(json.dumps(decision_record(decision)))  # through the oracle's log
    again = decision_from_record(record)
    assert again == decision
    assert commitment_of(again) == decision.commitment  # the record is what was committed to
    assert replay(again, experts=experts)  # and the choice follows from it
    rerouted = decide(params=OfferParams(explore_bps=explore_bps), escalated=escalated, experts=experts)
    assert rerouted.commitment == decision.commitment  # the same inputs give the same decision


@pytest.mark.parametrize("change", ["score", "eligible", "drop a candidate", "baseline", "prior", "offers"])
def test_a_record_that_does_not_follow_from_its_features_fails_replay(change: str) -> None:
    decision = decide(escalated=True, experts=(addr(1),))
    evaluated = list(decision.evaluated)
    if change == "score":
        evaluated[0] = replace(evaluated[0], score=evaluated[0].score + 1)
        tampered = replace(decision, evaluated=tuple(evaluated))
    elif change == "eligible":
        asker = next(i for i, e in enumerate(evaluated) if e.account == ASKER)
        evaluated[asker] = replace(evaluated[asker], eligible=True)
        tampered = replace(decision, evaluated=tuple(evaluated))
    elif change == "drop a candidate":
        tampered = replace(decision, evaluated=tuple(e for e in evaluated if e.account != addr(5)))
    elif change == "baseline":
        tampered = replace(decision, baseline=replace(decision.baseline, activity=decision.baseline.activity + 1))
    elif change == "prior":
        tampered = replace(decision, reputation_prior=0)
    else:
        tampered = replace(decision, offers=tuple(reversed(decision.offers)))
    assert not replay(tampered, experts=(addr(1),))  # the commitment no longer matches
    recommitted = replace(tampered, commitment=commitment_of(tampered))
    assert not replay(recommitted, experts=(addr(1),))  # and recommitting does not make it follow


# ---------------------------------------------------------------- exploration


BIG_POOL = [PoolMember(addr(i), (i % 10) * M // 2) for i in range(40)]  # 8 under 1M: newcomers
BIG_HISTORY = [
    answered(n, addr(n % 40), random.Random(n).choice(list(TITLES)), 1 + n % 50, accepted=n % 3 == 0)
    for n in range(160)
]


@pytest.mark.parametrize("explore_bps", [1_000, 2_500])
def test_the_exploration_share_stays_at_its_configured_value(explore_bps: int) -> None:
    params = OfferParams(explore_bps=explore_bps)
    decisions = [
        route_question(OfferRequest(qid(q), TOPIC, ASKER), QUESTION, BIG_HISTORY, BIG_POOL, params) for q in range(800)
    ]
    seen = exposure(decisions)
    slots = sum(len(d.offers) for d in decisions)
    assert slots == 800 * 3
    # Binomial over 2,400 slots: 4.5 standard deviations either side of the configured share.
    p = explore_bps / BPS
    tolerance = 4.5 * (p * (1 - p) / slots) ** 0.5
    assert abs(seen.explored_offers / slots - p) < tolerance
    assert seen.distinct_newcomers == 8  # spread over all the newcomers, not one
    for d in decisions:
        recorded = by_account(d)
        assert all(recorded[a].newcomer and recorded[a].eligible for a in d.explored)

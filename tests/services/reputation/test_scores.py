"""Scores per (advocate, topic) (peercare/reputation/scores.py): acceptances plus trust."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.reputation.history import Expert, History, Payout, account_key
from peercare.reputation.scores import ScoreParams, acceptance_credit, compute_scores, ranked, scores_of
from peercare.reputation.trust_model import TrustParams
from tests.support.reputation_helpers import CUT, OTHER, TOPIC, accepted, addr, customer, peer

E, A, B, C = addr(0), addr(1), addr(2), addr(3)
HL = TrustParams().half_life
POINTS = ScoreParams().accept_points


@pytest.mark.parametrize(
    ("acceptances", "payouts", "expected"),
    [
        ([accepted(A, 1)], [], {(A, TOPIC): POINTS}),
        ([accepted(A, 1), accepted(A, 2)], [], {(A, TOPIC): 2 * POINTS}),
        ([accepted(A, 1, time=CUT - HL)], [], {(A, TOPIC): POINTS // 2}),
        ([accepted(A, 1, time=CUT + 1)], [], {}),  # after the cut
        ([accepted(A, 1), accepted(B, 2, topic=OTHER)], [], {(A, TOPIC): POINTS, (B, OTHER): POINTS}),
        # A swarm: the credit follows the payouts (3:1).
        ([accepted(A, 1)], [(A, 75), (B, 25)], {(A, TOPIC): POINTS * 3 // 4, (B, TOPIC): POINTS // 4}),
        # One payout only: the accepted advocate keeps the whole credit.
        ([accepted(A, 1)], [(A, 100)], {(A, TOPIC): POINTS}),
    ],
)
def test_acceptance_credit(acceptances: list, payouts: list[tuple[str, int]], expected: dict) -> None:
    paid = tuple(Payout((1).to_bytes(32, "big"), account, addr(99), amount, CUT) for account, amount in payouts)
    assert acceptance_credit(tuple(acceptances), paid, CUT, ScoreParams()) == expected


def test_bounty_size_does_not_buy_reputation() -> None:
    small = accepted(A, 1)
    big = type(small)(small.question_id, small.topic, small.advocate, small.time, 10**30)
    assert acceptance_credit((small,), (), CUT, ScoreParams()) == acceptance_credit((big,), (), CUT, ScoreParams())


def test_scores_add_trust_to_acceptances_and_drop_zeros() -> None:
    history = History.of(CUT, [accepted(A, 1)], [peer(E, B)], experts=[Expert(E, TOPIC)])
    scores, trusts = compute_scores(history)
    assert trusts[TOPIC].of(E) > trusts[TOPIC].of(B)
    assert scores[(A, TOPIC)] == POINTS  # no rating, no trust
    assert scores[(B, TOPIC)] > 0  # endorsed by the expert
    assert scores[(E, TOPIC)] > scores[(B, TOPIC)]  # the seed holds the most trust
    assert all(value > 0 for value in scores.values())
    assert ranked(scores, TOPIC)[0][0] == E


def test_addresses_are_keyed_lowercase_whatever_their_case() -> None:
    mixed = "0x" + "AbCd" * 10
    scores = scores_of(History.of(CUT, [accepted(mixed, 1)]))
    assert scores == {(account_key(mixed), TOPIC): POINTS}


accounts = st.sampled_from([addr(i) for i in range(6)])
events = st.tuples(
    st.lists(st.tuples(accounts, st.integers(0, 4 * HL), st.sampled_from([TOPIC, OTHER])), max_size=15),
    st.lists(st.tuples(accounts, accounts, st.integers(1, 5), st.integers(0, 4 * HL), st.booleans()), max_size=25),
    st.lists(accounts, max_size=2),
)


def _history(data: tuple[list, list, list]) -> History:
    acceptances, ratings, experts = data
    return History.of(
        CUT,
        [accepted(a, q, time=CUT - age, topic=topic) for q, (a, age, topic) in enumerate(acceptances)],
        [
            customer(n % 3, target, stars, CUT - age, n=n)
            if is_customer
            else peer(rater, target, stars, CUT - age, n=n)
            for n, (rater, target, stars, age, is_customer) in enumerate(ratings)
        ],
        experts=[Expert(e, TOPIC) for e in experts],
    )


@settings(max_examples=60, deadline=None)
@given(data=events, seed=st.integers(0, 2**32))
def test_scores_do_not_depend_on_the_order_of_events(data: tuple[list, list, list], seed: int) -> None:
    history = _history(data)
    rng = random.Random(seed)
    shuffled = History.of(
        history.cut,
        rng.sample(history.acceptances, len(history.acceptances)),
        rng.sample(history.ratings, len(history.ratings)),
        (),
        rng.sample(history.experts, len(history.experts)),
    )
    assert scores_of(shuffled) == scores_of(history)


@settings(max_examples=60, deadline=None)
@given(data=events, who=accounts, age=st.integers(0, 10 * HL), topic=st.sampled_from([TOPIC, OTHER]))
def test_an_extra_acceptance_raises_its_advocate_and_nobody_else(
    data: tuple[list, list, list], who: str, age: int, topic: bytes
) -> None:
    history = _history(data)
    before = scores_of(history)
    extra = History.of(
        history.cut,
        (*history.acceptances, accepted(who, 10**6, time=CUT - age, topic=topic)),
        history.ratings,
        (),
        history.experts,
    )
    after = scores_of(extra)
    key = (who, topic)
    assert after.get(key, 0) > before.get(key, 0)
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}

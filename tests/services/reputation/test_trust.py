"""Trust propagation (peercare/reputation/trust.py): decay, seeds, edges, rings, determinism."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.core.enums import RaterKind
from peercare.reputation import fast
from peercare.reputation.history import Expert, History, Rating, rater_account, rater_id_of
from peercare.reputation.synthetic import TOPIC as SYNTHETIC_TOPIC
from peercare.reputation.synthetic import sybil_scenario, sybil_share_ppb
from peercare.reputation.trust import propagate, rating_edges, seed_distribution, topic_trust
from peercare.reputation.trust_model import BRAND, DECAY_TABLE, ONE, TrustParams, decay
from tests.support.reputation_helpers import CUT, DAY, OTHER, TOPIC, addr, customer, peer

E, A, B, C = addr(0), addr(1), addr(2), addr(3)
PARAMS = TrustParams()
HL = PARAMS.half_life


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, ONE),
        (HL, ONE // 2),
        (2 * HL, ONE // 4),
        (HL // 2, 707_106_781),  # floor(1e9 / sqrt(2))
        (-1, 0),  # a future event weighs nothing
        (64 * HL, 0),
    ],
)
def test_decay_halves_every_half_life(age: int, expected: int) -> None:
    assert decay(age, HL) == expected


def test_decay_table_is_exact_and_decreasing() -> None:
    assert DECAY_TABLE[0] == ONE
    assert all(a > b for a, b in itertools.pairwise(DECAY_TABLE))
    for i, x in enumerate(DECAY_TABLE):  # the largest x with x^64 * 2^i <= ONE^64
        assert x**64 << i <= ONE**64 < (x + 1) ** 64 << i


@pytest.mark.parametrize(
    ("rater_id", "account"),
    [
        (rater_id_of(A), A),
        (b"\x01" + bytes(31), None),  # not a padded address: a customer-style id
        (bytes(20), None),  # wrong length
    ],
)
def test_rater_account(rater_id: bytes, account: str | None) -> None:
    assert rater_account(rater_id) == account


def _trust(
    ratings: list[Rating], experts: tuple[str, ...] = (E,), params: TrustParams = PARAMS, engine: str = "python"
) -> dict[str, int]:
    return dict(topic_trust(TOPIC, ratings, [Expert(e, TOPIC) for e in experts], CUT, params, engine).trust)


def test_one_expert_endorsement_converges_to_the_closed_form() -> None:
    # p = {E: 1/2, BRAND: 1/2}; E hands half its trust to A: E = BRAND = 2/5, A = 1/5.
    trust = _trust([peer(E, A)])
    assert sum(trust.values()) == ONE
    assert abs(trust[E] - 400_000_000) < 100 and abs(trust[BRAND] - 400_000_000) < 100
    assert abs(trust[A] - 200_000_000) < 100


@pytest.mark.parametrize(
    ("ratings", "a_gets_trust"),
    [
        ([peer(E, A, stars=5)], True),
        ([peer(E, A, stars=4)], True),
        ([peer(E, A, stars=3)], False),  # neutral
        ([peer(E, A, stars=1)], False),
        ([peer(E, A, stars=5, n=1), peer(E, A, stars=1, n=2)], False),  # +2 - 2 nets to nothing
        ([peer(A, A, stars=5)], False),  # nobody vouches for themselves
        ([peer(B, A, stars=5)], False),  # B holds no trust to hand on
        ([peer(E, A, stars=5, time=CUT + 1)], False),  # after the cut
        ([customer(1, A)], True),  # customers speak through BRAND, a seed
    ],
)
def test_who_gets_trust(ratings: list[Rating], a_gets_trust: bool) -> None:
    assert (_trust(ratings).get(A, 0) > 0) == a_gets_trust


def test_ratings_count_in_proportion_to_the_raters_trust() -> None:
    # E (a seed) endorses B; C is endorsed by nobody. B's and C's endorsements of A and of D differ.
    d = addr(9)
    trust = _trust([peer(E, B, n=1), peer(B, A, n=2), peer(C, d, n=3)])
    assert trust.get(A, 0) > 0
    assert trust.get(d, 0) == 0


def test_old_ratings_weigh_less() -> None:
    fresh, old = _trust([peer(E, A, n=1), peer(E, B, time=CUT - HL, n=2)]), None
    assert fresh[A] > fresh[B]
    old = _trust([peer(E, A, n=1), peer(E, B, time=CUT, n=2)])
    assert abs(old[A] - old[B]) <= 1


def test_a_customers_voice_is_capped() -> None:
    many = [customer(1, A, n=k) for k in range(50)]
    trust = _trust([*many, customer(2, B, n=99)], experts=())
    assert trust[A] == trust[B]


def test_other_topics_are_ignored() -> None:
    assert _trust([peer(E, A), peer(E, B, topic=OTHER, n=1)]) == _trust([peer(E, A)])


def test_seed_distribution_sums_to_one() -> None:
    p = seed_distribution([A, B, C], PARAMS)
    assert sum(p.values()) == ONE and p[BRAND] == ONE // 2
    assert seed_distribution([], PARAMS) == {BRAND: ONE}


@pytest.mark.parametrize(
    "kwargs",
    [{"half_life": 0}, {"teleport_bps": 0}, {"teleport_bps": 10_001}, {"brand_share_bps": -1}, {"rounds": -1}],
)
def test_bad_parameters_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        TrustParams(**kwargs)


def test_a_rating_outside_1_to_5_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        rating_edges([peer(E, A, stars=6)], CUT, PARAMS)


# ---------------------------------------------------------------- properties

accounts = st.sampled_from([addr(i) for i in range(8)])
ratings_strategy = st.lists(
    st.builds(
        lambda rater, advocate, stars, age, kind, cust, n: (
            customer(cust, advocate, stars, CUT - age, n=n)
            if kind == RaterKind.CUSTOMER
            else peer(rater, advocate, stars, CUT - age, n=n, kind=kind)
        ),
        accounts,
        accounts,
        st.integers(1, 5),
        st.integers(-DAY, 4 * HL),
        st.sampled_from(list(RaterKind)),
        st.integers(0, 3),
        st.integers(0, 10**6),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ratings=ratings_strategy, seed=st.integers(0, 2**32), experts=st.lists(accounts, max_size=3))
def test_trust_is_exact_and_independent_of_order(ratings: list[Rating], seed: int, experts: list[str]) -> None:
    first = _trust(ratings, tuple(experts))
    shuffled = list(ratings)
    random.Random(seed).shuffle(shuffled)
    assert _trust(shuffled, tuple(experts)) == first
    assert sum(first.values()) == ONE


@pytest.mark.skipif(not fast.available(), reason="numpy is not installed")
@settings(max_examples=60, deadline=None)
@given(ratings=ratings_strategy, experts=st.lists(accounts, max_size=3))
def test_numpy_engine_gives_the_same_trust(ratings: list[Rating], experts: list[str]) -> None:
    assert _trust(ratings, tuple(experts), engine="numpy") == _trust(ratings, tuple(experts))


# ---------------------------------------------------------------- rings of mutual raters


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sybil_ring_gets_under_2_percent_of_the_topic(seed: int) -> None:
    """10% of the accounts rate only each other with 5 stars; 1% of all rating edges are honest
    raters rating Sybils well. The ring must hold under 2% of the topic's trust."""
    scenario = sybil_scenario(n_accounts=2_000, sybil_fraction_bps=1_000, attack_edge_bps=100, seed=seed)
    h = scenario.history
    assert len(scenario.sybils) == 200
    assert scenario.attack_edges * 100 >= scenario.honest_edges + scenario.sybil_edges  # >= 1% of edges
    trust = topic_trust(SYNTHETIC_TOPIC, h.ratings, h.experts, h.cut, PARAMS)
    share = sybil_share_ppb(scenario, dict(trust.trust))
    print(f"sybil share, seed {seed}: {share / 1e7:.3f}% of the topic's trust")
    assert share < 2 * ONE // 100
    # The ring holds far less than its 10% head count, and the honest experts far more than theirs.
    expert_share = sum(trust.trust.get(e, 0) for e in scenario.experts)
    assert expert_share > 20 * ONE // 100


def test_without_teleport_to_the_seeds_a_ring_would_capture_trust() -> None:
    """The same ring with a weak teleport (5%) captures far more: the teleport is what bounds it."""
    scenario = sybil_scenario(seed=1)
    h = scenario.history
    weak = topic_trust(SYNTHETIC_TOPIC, h.ratings, h.experts, h.cut, TrustParams(teleport_bps=500, rounds=60))
    assert sybil_share_ppb(scenario, dict(weak.trust)) > 5 * ONE // 100


def test_histories_differ_only_in_order_give_the_same_trust_at_scale() -> None:
    scenario = sybil_scenario(n_accounts=600, seed=5)
    h = scenario.history
    reordered = History.of(h.cut, h.acceptances, reversed(h.ratings), h.payouts, h.experts)
    a = topic_trust(SYNTHETIC_TOPIC, h.ratings, h.experts, h.cut, PARAMS)
    b = topic_trust(SYNTHETIC_TOPIC, reordered.ratings, h.experts, h.cut, PARAMS)
    assert a == b


def test_propagate_refuses_a_bad_seed_distribution() -> None:
    with pytest.raises(ValueError, match="sum to ONE"):
        propagate({}, {E: ONE - 1}, PARAMS)

"""Ratings as columns (peercare/reputation/columns.py) and the numpy engine that reads them (fast.py):
exact coding whatever the values, and the same trust and scores as the python engine, bit for bit."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.core.enums import RaterKind
from peercare.reputation import columns, fast
from peercare.reputation.columns import rating_columns
from peercare.reputation.history import Expert, History, Rating
from peercare.reputation.scores import ScoreParams, compute_scores
from peercare.reputation.trust import topic_trust, trust_by_topic
from peercare.reputation.trust_model import ONE, TrustParams
from tests.support.reputation_helpers import CUT, DAY, OTHER, TOPIC, accepted, addr, customer, peer

HL = TrustParams().half_life


def _assert_exact(codes: np.ndarray, distinct: columns.Distinct, items: list) -> None:
    """Equal items, and only those, share a code, and each code's value is the items'."""
    assert len(codes) == len(items)
    assert sorted(set(codes.tolist())) == list(range(len(distinct)))
    assert distinct.take(codes.tolist()) == items
    assert [distinct[int(c)] for c in codes[:5]] == items[:5]
    assert len(set(distinct)) == len(distinct) == len(set(items))


def _ids(rng: random.Random, n: int, pool: int) -> list[bytes]:
    return [
        bytes(12) + rng.randrange(pool).to_bytes(20, "big")
        if rng.random() < 0.5
        else rng.randrange(pool).to_bytes(32, "big")
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    "items",
    [
        _ids(random.Random(1), 2_000, 300),  # 32-byte ids: the fast path
        [b"t" * 32] * 50,  # one value: one topic
        [b"a" * 31, b"a" * 31 + b"\0", b"a" * 33, b"a" * 31, b"a" * 32],  # other lengths: the dict path
        [b"x" * 32, b"y" * 31 + b"\0", b"y" * 31],  # 31 + 33 bytes would also make 64: not fooled
        [b"\0" * 32, b"\0" * 31 + b"\1", b"\0" * 32],  # trailing NULs are part of the value
        [],
    ],
)
def test_byte_identifiers_are_coded_exactly(items: list[bytes]) -> None:
    codes, distinct = columns.code_bytes(items)
    _assert_exact(codes, distinct, items)


@pytest.mark.parametrize(
    "items",
    [
        [addr(i % 37) for i in range(1_000)],  # addresses: the fast path
        [addr(1), addr(1).upper().replace("0X", "0x"), addr(1)],  # coded as written: case counts
        [addr(1), addr(1)[:-1] + "\0", addr(2)],  # a NUL inside: the dict path
        [addr(1), addr(1) + "0", addr(1)[:-1]],  # mixed lengths
        [addr(1)[:-1] + "é", addr(1)],  # not ASCII
        ["brand", "brand", "0x1"],
        ["", ""],
    ],
)
def test_text_identifiers_are_coded_exactly(items: list[str]) -> None:
    codes, distinct = columns.code_strings(items)
    _assert_exact(codes, distinct, items)
    assert distinct.take_lower(codes.tolist()) == [item.lower() for item in items]


@pytest.mark.parametrize("collide", ["all", "some", "top bits"])
def test_a_hash_collision_falls_back_to_exact_coding(monkeypatch: pytest.MonkeyPatch, collide: str) -> None:
    # With every hash equal, or equal but in 3 bits, rows share a hash without being equal: the
    # exact check must notice, and the lexicographic path code them. With hashes whose top bits are
    # all zero, the sort on the top bits merges everything and the full hashes must take over.
    mix = columns._mix

    def collapse(z: np.ndarray, scratch: np.ndarray) -> None:
        if collide == "top bits":
            mix(z, scratch)
            z >>= np.uint64(40)
        else:
            z &= np.uint64(0 if collide == "all" else 7)

    monkeypatch.setattr(columns, "_mix", collapse)
    items = _ids(random.Random(2), 500, 60)
    codes, distinct = columns.code_bytes(items)
    _assert_exact(codes, distinct, items)
    text = [addr(i % 23) for i in range(300)]
    codes, distinct_text = columns.code_strings(text)
    _assert_exact(codes, distinct_text, text)


def test_columns_are_built_once_per_history() -> None:
    history = History.of(CUT, ratings=[peer(addr(0), addr(1)), customer(1, addr(2), n=1)])
    first = rating_columns(history)
    assert rating_columns(history) is first
    assert rating_columns(dataclasses.replace(history)) is not first  # a new history, new columns
    assert history == dataclasses.replace(history)  # the cache is not part of the value
    assert len(first) == 2 and first.kind.tolist() == [int(RaterKind.PEER_ADVOCATE), int(RaterKind.CUSTOMER)]


def test_topics_are_the_same_with_columns() -> None:
    ratings = [peer(addr(0), addr(1)), peer(addr(0), addr(2), topic=OTHER, n=1)]
    history = History.of(CUT, [accepted(addr(3), 1)], ratings, experts=[Expert(addr(4), b"\7" * 32)])
    before = history.topics()
    rating_columns(history)
    assert history.topics() == before == sorted({TOPIC, OTHER, b"\7" * 32})


# ---------------------------------------------------------------- the engines agree

accounts = [addr(i) for i in range(10)]
spellings = st.sampled_from([*accounts, accounts[1].upper().replace("0X", "0x"), "0x" + accounts[2][2:].upper()])
rating = st.builds(
    lambda rater, advocate, stars, age, kind, cust, topic, odd, n: (
        Rating(n.to_bytes(32, "big"), n.to_bytes(32, "big"), topic, advocate, stars, kind, odd, CUT - age)
        if odd is not None and kind != RaterKind.CUSTOMER
        else customer(cust, advocate, stars, CUT - age, topic, n)
        if kind == RaterKind.CUSTOMER
        else peer(rater, advocate, stars, CUT - age, topic, n, kind)
    ),
    st.sampled_from(accounts),
    spellings,
    st.integers(1, 5),
    st.one_of(st.integers(-DAY, 4 * HL), st.just(45 * HL), st.just(-(2**40))),
    st.sampled_from(list(RaterKind)),
    st.integers(0, 3),
    st.sampled_from([TOPIC, OTHER]),
    st.one_of(st.none(), st.just(b"\x01" * 32)),  # a peer id that is not a padded address
    st.integers(0, 10**6),
)
engine_params = st.sampled_from(
    [TrustParams(), TrustParams(customer_cap=ONE // 3), TrustParams(customer_cap=2**39, teleport_bps=2_000)]
)


@settings(max_examples=150, deadline=None)
@given(
    ratings=st.lists(rating, max_size=60),
    experts=st.lists(st.sampled_from(accounts), max_size=3),
    accepted_by=st.lists(st.sampled_from(accounts), max_size=5),
    trust_params=engine_params,
)
def test_numpy_engine_gives_the_same_scores_as_python(
    ratings: list[Rating], experts: list[str], accepted_by: list[str], trust_params: TrustParams
) -> None:
    history = History.of(
        CUT,
        [accepted(a, q, topic=OTHER if q % 2 else TOPIC) for q, a in enumerate(accepted_by)],
        ratings,
        experts=[Expert(e, TOPIC) for e in experts],
    )
    params = ScoreParams(trust=trust_params)
    python_scores, python_trust = compute_scores(history, params, "python")
    numpy_scores, numpy_trust = compute_scores(dataclasses.replace(history), params, "numpy")
    assert numpy_scores == python_scores
    assert numpy_trust == python_trust
    for topic, trust in numpy_trust.items():
        assert list(trust.trust) == sorted(trust.trust)  # name order, as the python engine gives it
        assert trust == topic_trust(topic, history.ratings, history.experts, CUT, trust_params, "numpy")


def test_two_spellings_of_one_advocate_are_one_target_for_a_capped_customer() -> None:
    # The python engine caps a customer's row after merging spellings: 4e9 * 3 // 4e9 = 3, where
    # capping each spelling alone would give 2 * (2e9 * 3 // 4e9) = 2.
    a, b = addr(1), addr(2)
    upper = "0x" + a[2:].upper()
    params = TrustParams(customer_cap=3)
    ratings = [customer(1, a, n=1), customer(1, upper, n=2), customer(2, b, n=3), peer(addr(0), b, n=4)]
    history = History.of(CUT, ratings=ratings, experts=[Expert(addr(0), TOPIC)])
    python = trust_by_topic(history, params, "python")
    assert trust_by_topic(history, params, "numpy") == python
    assert python[TOPIC].of(a) != python[TOPIC].of(b)  # the merged row is capped, not split


def test_big_weights_take_the_exact_path() -> None:
    # One customer rating many advocates with a cap near 2^40: weight * cap passes 2^63, so the
    # capped shares are computed on Python ints; the engines still agree.
    params = TrustParams(customer_cap=2**40 - 1)
    ratings = [customer(1, addr(i % 7), n=i) for i in range(4_000)] + [peer(addr(0), addr(1), n=10**5)]
    history = History.of(CUT, ratings=ratings, experts=[Expert(addr(0), TOPIC)])
    assert trust_by_topic(history, params, "numpy") == trust_by_topic(history, params, "python")


def test_auto_uses_numpy_per_topic_and_agrees() -> None:
    rng = random.Random(3)
    big = [
        peer(addr(rng.randrange(40)), addr(rng.randrange(40)), rng.randrange(1, 6), CUT - rng.randrange(HL), n=k)
        for k in range(10_500)
    ]
    small = [peer(addr(0), addr(k % 5), topic=OTHER, n=10**6 + k) for k in range(30)]
    history = History.of(CUT, ratings=[*big, *small], experts=[Expert(addr(0), TOPIC), Expert(addr(1), OTHER)])
    auto = trust_by_topic(history, TrustParams(), "auto")
    assert history._columns is not None  # the big topic went through the columns
    assert auto == trust_by_topic(dataclasses.replace(history), TrustParams(), "python")


def test_fold_sums_exactly_whatever_the_key_range() -> None:
    rng = np.random.default_rng(4)
    weights = rng.integers(-(2**31), 2**31, 5_000)
    for high in (50, 2**40, 2**62):
        keys = rng.integers(0, high, 5_000) if high < 2**62 else rng.choice(np.array([0, 2**62 - 1]), 5_000)
        folded_keys, sums = fast._fold(keys, weights)
        expected: dict[int, int] = {}
        for key, weight in zip(keys.tolist(), weights.tolist(), strict=True):
            expected[key] = expected.get(key, 0) + weight
        assert dict(zip(folded_keys.tolist(), sums.tolist(), strict=True)) == expected
        assert folded_keys.tolist() == sorted(expected)


def test_the_numpy_engine_refuses_what_int64_cannot_hold() -> None:
    assert fast.suitable(TrustParams(), 10**6)
    assert not fast.suitable(TrustParams(customer_cap=2**62), 10)
    with pytest.raises(ValueError, match="int64"):
        fast.trust_columns(
            columns.RatingColumns.of([customer(1, addr(1)), customer(2, addr(1), n=1)]),
            {addr(0): ONE},
            CUT,
            TrustParams(customer_cap=2**62),
        )

"""Whose events an epoch trusts (peercare/reputation/scope.py): the forged-reputation attack of the
"trust boundaries between brands" issue, and each rule of `trusted` on its own. Pure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.reputation.history import Acceptance, History, Payout, Rating
from peercare.reputation.scope import BrandScope, Scope, ScopeError, topic_names_in, trusted
from peercare.reputation.scores import ranked, scores_of
from peercare.reputation.synthetic import TOPIC, ForgedBrandScenario, forged_brand_scenario
from tests.support.reputation_helpers import CUT, DAY, accepted, addr, customer, peer

LABEL = "billing"
ACME, OTHER_BRAND = 1, 2
EXPERT, ALICE, BOB, MALLORY = addr(90), addr(1), addr(2), addr(66)
SCOPE = Scope.of([BrandScope.of(ACME, [LABEL], [EXPERT]), BrandScope.of(OTHER_BRAND, [LABEL], [])])
KEY = reputation_topic(ACME, short_string(LABEL))
OTHER_KEY = reputation_topic(OTHER_BRAND, short_string(LABEL))


def rated(n: int, topic: bytes, kind: RaterKind, rater: str | bytes, brand: int, time: int = CUT) -> Rating:
    """Alice's answer `n` rated 5 stars by `rater` (an address, or an opaque customer id)."""
    rater_id = rater if isinstance(rater, bytes) else peer(rater, ALICE).rater_id
    return Rating(bytes([n]) * 32, bytes([n]) * 32, topic, ALICE, 5, kind, rater_id, time, brand)


def victim_scope(scenario: ForgedBrandScenario, *, stranger_admitted: bool) -> Scope:
    label = TOPIC.rstrip(b"\0").decode()
    victim = BrandScope.of(scenario.victim, [label], scenario.experts)
    stranger = BrandScope.of(scenario.stranger, [label], [])  # admitted, with no experts of its own
    return Scope.of([victim, stranger] if stranger_admitted else [victim])


# ---------------------------------------------------------------- the attack


@pytest.mark.parametrize("seed", [1, 3])
def test_without_trust_boundaries_a_strangers_brand_takes_the_top_of_another_brands_topic(seed: int) -> None:
    # The history as every event of the ledger, topics as bare labels: what was counted before.
    scenario = forged_brand_scenario(seed=seed)
    honest_best = ranked(scores_of(scenario.honest), TOPIC)[0][0]
    forged = [account for account, _ in ranked(scores_of(scenario.everything()), TOPIC)]
    assert forged[0] == scenario.sybil
    assert forged.index(honest_best) == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("stranger_admitted", [False, True])
def test_a_forged_history_leaves_the_honest_ranking_of_the_victims_topic_unchanged(
    seed: int, stranger_admitted: bool
) -> None:
    scenario = forged_brand_scenario(seed=seed)
    scope = victim_scope(scenario, stranger_admitted=stranger_admitted)
    key = reputation_topic(scenario.victim, TOPIC)
    honest = scores_of(trusted(scenario.ledger_history(forged=False), scope))
    attacked = scores_of(trusted(scenario.ledger_history(), scope))
    assert ranked(attacked, key) == ranked(honest, key)
    assert ranked(honest, key)[0][1] > 0
    # The Sybil has no reputation anywhere: its acceptances paid nothing, its expert ratings claim
    # another brand's expert, and its customers' ratings (the stranger's own, if admitted) fall in
    # the stranger's namespace with nothing to rate but an answer its brand never paid for.
    sybil_scores = {topic: score for (account, topic), score in attacked.items() if account == scenario.sybil}
    assert set(sybil_scores) <= {reputation_topic(scenario.stranger, TOPIC)}
    assert bool(sybil_scores) == stranger_admitted


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([ACME, OTHER_BRAND, 3]),
            st.sampled_from(list(RaterKind)),
            st.sampled_from([EXPERT, ALICE, BOB, MALLORY]),
            st.integers(1, 5),
            st.integers(0, 10),
            st.booleans(),
        ),
        max_size=25,
    )
)
def test_nothing_another_brand_records_changes_a_brands_scores(
    events: list[tuple[int, RaterKind, str, int, int, bool]],
) -> None:
    honest = History.of(
        CUT,
        [
            Acceptance(b"\1" * 32, KEY, ALICE, CUT - DAY, 10, ACME),
            Acceptance(b"\2" * 32, KEY, BOB, CUT - DAY, 10, ACME),
        ],
        [
            Rating(
                b"\1" * 32, b"\1" * 32, KEY, ALICE, 5, RaterKind.BRAND_EXPERT, peer(EXPERT, ALICE).rater_id, CUT, ACME
            )
        ],
    )
    extra_acceptances, extra_ratings = [], []
    for n, (brand, kind, rater, stars, days, funded) in enumerate(events):
        # Any brand but Acme, writing in Acme's namespace or its own, claiming any rater.
        brand = OTHER_BRAND if brand == ACME else brand
        topic = KEY if n % 2 else reputation_topic(brand, short_string(LABEL))
        question = (100 + n).to_bytes(32, "big")
        extra_acceptances.append(Acceptance(question, topic, MALLORY, CUT - days * DAY, int(funded), brand))
        rater_id = peer(rater, MALLORY).rater_id if kind != RaterKind.CUSTOMER else customer(n, MALLORY).rater_id
        extra_ratings.append(Rating(question, question, topic, MALLORY, stars, kind, rater_id, CUT - days * DAY, brand))
    attacked = History.of(CUT, (*honest.acceptances, *extra_acceptances), (*honest.ratings, *extra_ratings))
    before, after = scores_of(trusted(honest, SCOPE)), scores_of(trusted(attacked, SCOPE))
    assert {k: v for k, v in after.items() if k[1] == KEY} == {k: v for k, v in before.items() if k[1] == KEY}


# ---------------------------------------------------------------- each rule


def test_an_acceptance_without_a_bounty_mints_no_reputation() -> None:
    paid = Acceptance(b"\1" * 32, KEY, ALICE, CUT, 1, ACME)
    unpaid = Acceptance(b"\2" * 32, KEY, BOB, CUT, 0, ACME)
    assert trusted(History.of(CUT, [paid, unpaid]), SCOPE).acceptances == (paid,)


def test_events_of_uncounted_brands_or_topics_are_left_out() -> None:
    counted = Acceptance(b"\1" * 32, KEY, ALICE, CUT, 1, ACME)
    uncounted_brand = Acceptance(b"\2" * 32, reputation_topic(3, short_string(LABEL)), ALICE, CUT, 1, 3)
    unnamed_topic = Acceptance(b"\3" * 32, reputation_topic(ACME, short_string("other")), ALICE, CUT, 1, ACME)
    in_anothers_namespace = Acceptance(b"\4" * 32, KEY, ALICE, CUT, 1, OTHER_BRAND)
    unknown_brand = accepted(ALICE, 5, topic=KEY)  # brand 0: no brand vouches for it
    history = History.of(CUT, [counted, uncounted_brand, unnamed_topic, in_anothers_namespace, unknown_brand])
    assert trusted(history, SCOPE).acceptances == (counted,)


def test_a_brand_expert_rating_counts_only_from_the_rating_brands_own_expert() -> None:
    own = Rating(b"\1" * 32, b"\1" * 32, KEY, ALICE, 5, RaterKind.BRAND_EXPERT, peer(EXPERT, ALICE).rater_id, CUT, ACME)
    # Another brand's oracle claiming Acme's expert as its rater.
    claimed = Rating(
        b"\2" * 32,
        b"\2" * 32,
        OTHER_KEY,
        ALICE,
        5,
        RaterKind.BRAND_EXPERT,
        peer(EXPERT, ALICE).rater_id,
        CUT,
        OTHER_BRAND,
    )
    not_an_expert = Rating(
        b"\3" * 32, b"\3" * 32, KEY, ALICE, 5, RaterKind.BRAND_EXPERT, peer(BOB, ALICE).rater_id, CUT, ACME
    )
    opaque_id = Rating(b"\4" * 32, b"\4" * 32, KEY, ALICE, 5, RaterKind.BRAND_EXPERT, b"\xff" * 32, CUT, ACME)
    history = History.of(CUT, ratings=[own, claimed, not_an_expert, opaque_id])
    assert trusted(history, SCOPE).ratings == (own,)


def test_a_peer_rating_counts_only_once_the_brand_has_paid_the_rater_for_an_answer() -> None:
    paid_at = CUT - 10 * DAY
    bob_paid = Acceptance(bytes([9]) * 32, KEY, BOB, paid_at, 5, ACME)
    before = Rating(
        b"\1" * 32, b"\1" * 32, KEY, ALICE, 5, RaterKind.PEER_ADVOCATE, peer(BOB, ALICE).rater_id, paid_at - 1, ACME
    )
    at = Rating(
        b"\2" * 32, b"\2" * 32, KEY, ALICE, 5, RaterKind.PEER_ADVOCATE, peer(BOB, ALICE).rater_id, paid_at, ACME
    )
    stranger = Rating(
        b"\3" * 32, b"\3" * 32, KEY, ALICE, 5, RaterKind.PEER_ADVOCATE, peer(MALLORY, ALICE).rater_id, CUT, ACME
    )
    # Paid by another brand: a peer there, not here.
    elsewhere = Acceptance(bytes([8]) * 32, OTHER_KEY, MALLORY, paid_at, 5, OTHER_BRAND)
    history = History.of(CUT, [bob_paid, elsewhere], [before, at, stranger])
    assert trusted(history, SCOPE).ratings == (at,)


def test_customer_ratings_and_payouts_count_for_counted_brands_only() -> None:
    rating = customer(1, ALICE, topic=KEY)
    counted = Rating(
        *[
            getattr(rating, f)
            for f in ("answer_id", "question_id", "topic", "advocate", "rating", "rater_kind", "rater_id", "time")
        ],
        ACME,
    )
    payouts = [Payout(b"\1" * 32, ALICE, BOB, 5, CUT, ACME), Payout(b"\2" * 32, ALICE, BOB, 5, CUT, 3)]
    history = trusted(History.of(CUT, ratings=[rating, counted], payouts=payouts), SCOPE)
    assert history.ratings == (counted,)
    assert history.payouts == (payouts[0],)


def test_the_seeds_are_each_brands_experts_in_that_brands_topics_only() -> None:
    scope = Scope.of([BrandScope.of(ACME, [LABEL, "general"], [EXPERT]), BrandScope.of(OTHER_BRAND, [LABEL], [BOB])])
    seeds = {(e.account, e.topic) for e in trusted(History(CUT), scope).experts}
    assert seeds == {
        (EXPERT, KEY),
        (EXPERT, reputation_topic(ACME, short_string("general"))),
        (BOB, OTHER_KEY),
    }


def test_one_label_of_two_brands_is_two_reputation_topics() -> None:
    assert KEY != OTHER_KEY
    assert SCOPE.topic_names() == {KEY: (ACME, LABEL), OTHER_KEY: (OTHER_BRAND, LABEL)}


def test_a_scope_reads_back_from_its_manifest_form() -> None:
    assert Scope.from_json(SCOPE.as_json()) == SCOPE
    assert topic_names_in({"brands": SCOPE.as_json()}) == SCOPE.topic_names()
    assert topic_names_in({}) == {}


@pytest.mark.parametrize(
    "brands, error",
    [
        (None, "does not name the brands"),
        ([{"brand": 1, "topics": ["x"]}], "malformed"),
        ([{"brand": 0, "topics": ["x"], "experts": []}], "not a positive uint64"),
        ([{"brand": 1, "topics": ["x" * 32], "experts": []}], "31-byte"),
        ([{"brand": 1, "topics": ["x"], "experts": ["0x12"]}], "malformed"),
        ([{"brand": 1, "topics": [], "experts": []}] * 2, "listed twice"),
    ],
)
def test_malformed_brands_are_refused_with_the_reason(brands: object, error: str) -> None:
    with pytest.raises(ScopeError, match=error):
        Scope.from_json(brands)

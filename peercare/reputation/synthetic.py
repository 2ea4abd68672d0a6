"""Synthetic histories for tests and benchmarks: an honest community with seeds, and a Sybil ring.

Deterministic for a given seed (`random.Random`, never the global generator). The honest graph is
what a support community looks like: popularity is heavy-tailed (a few advocates answer most
questions), raters mostly give 4-5 stars with some 1-3, customers rate too, and events spread
over two years. The Sybil cluster rates only itself with 5 stars, except for attack edges: honest
raters who rated a Sybil's answer well (the direction that can carry trust in).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import reputation_topic
from peercare.reputation.history import Acceptance, Expert, History, Rating, rater_id_of

DAY = 86_400
TOPIC = b"billing".ljust(32, b"\0")


def address(i: int) -> str:
    return "0x" + (0x1000 + i).to_bytes(20, "big").hex()


@dataclass(frozen=True)
class SybilScenario:
    history: History
    honest: tuple[str, ...]
    sybils: tuple[str, ...]
    experts: tuple[str, ...]
    honest_edges: int
    sybil_edges: int
    attack_edges: int


def _stars(rng: random.Random) -> int:
    return rng.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 5, 5))[0]


def sybil_scenario(
    n_accounts: int = 2_000,
    sybil_fraction_bps: int = 1_000,
    attack_edge_bps: int = 100,
    mean_out_degree: int = 8,
    expert_fraction_bps: int = 200,
    customer_ratings: int = 5_000,
    seed: int = 1,
) -> SybilScenario:
    """`sybil_fraction_bps` of `n_accounts` form the cluster; attack edges are `attack_edge_bps`
    of all rating edges. Returns the history and who is who."""
    rng = random.Random(seed)
    cut = 730 * DAY
    n_sybil = n_accounts * sybil_fraction_bps // 10_000
    n_honest = n_accounts - n_sybil
    honest = tuple(address(i) for i in range(n_honest))
    sybils = tuple(address(n_honest + i) for i in range(n_sybil))
    n_experts = max(1, n_honest * expert_fraction_bps // 10_000)
    experts = honest[:n_experts]
    # Heavy-tailed popularity (Zipf-like): who gets rated and accepted.
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(n_honest)]
    rng.shuffle(popularity)
    ratings: list[Rating] = []
    edges: set[tuple[str, str]] = set()

    def rate(rater: str, advocate: str, stars: int, kind: RaterKind) -> None:
        k = len(ratings)
        ratings.append(
            Rating(
                answer_id=k.to_bytes(32, "big"),
                question_id=(k // 2).to_bytes(32, "big"),
                topic=TOPIC,
                advocate=advocate,
                rating=stars,
                rater_kind=kind,
                rater_id=rater_id_of(rater),
                time=rng.randrange(cut),
            )
        )

    for rater in honest:
        degree = min(n_honest - 1, 1 + int(rng.expovariate(1 / mean_out_degree)))
        targets = sorted(set(rng.choices(honest, weights=popularity, k=degree)) - {rater})
        kind = RaterKind.BRAND_EXPERT if rater in experts else RaterKind.PEER_ADVOCATE
        for target in targets:
            edges.add((rater, target))
            rate(rater, target, _stars(rng), kind)
    honest_edges = len(edges)
    for rater in sybils:
        degree = min(n_sybil - 1, 2 * mean_out_degree)
        for target in sorted(set(rng.sample(sybils, degree)) - {rater}):
            edges.add((rater, target))
            rate(rater, target, 5, RaterKind.PEER_ADVOCATE)
    sybil_edges = len(edges) - honest_edges
    # Attack edges: a share of all edges, honest raters (never experts) rating Sybils well.
    n_attack = (honest_edges + sybil_edges) * attack_edge_bps // (10_000 - attack_edge_bps)
    attack = 0
    while attack < n_attack:
        rater, target = rng.choice(honest[n_experts:]), rng.choice(sybils)
        if (rater, target) not in edges:
            edges.add((rater, target))
            rate(rater, target, rng.choice((4, 5)), RaterKind.PEER_ADVOCATE)
            attack += 1
    for k in range(customer_ratings):
        customer = (1 << 200) + k % (customer_ratings // 3 + 1)
        target = rng.choices(honest, weights=popularity)[0]
        ratings.append(
            Rating(
                answer_id=(10**9 + k).to_bytes(32, "big"),
                question_id=k.to_bytes(32, "big"),
                topic=TOPIC,
                advocate=target,
                rating=_stars(rng),
                rater_kind=RaterKind.CUSTOMER,
                rater_id=customer.to_bytes(32, "big"),
                time=rng.randrange(cut),
            )
        )
    acceptances = [
        Acceptance(k.to_bytes(32, "big"), TOPIC, rng.choices(honest, weights=popularity)[0], rng.randrange(cut), 10**18)
        for k in range(n_honest)
    ]
    history = History.of(cut, acceptances, ratings, (), (Expert(e, TOPIC) for e in experts))
    return SybilScenario(history, honest, sybils, experts, honest_edges, sybil_edges, attack)


def sybil_share_ppb(scenario: SybilScenario, trust: dict[str, int]) -> int:
    """The cluster's share of the topic's total trust, in parts per billion."""
    return sum(trust.get(s, 0) for s in scenario.sybils)


@dataclass(frozen=True)
class ForgedBrandScenario:
    """A victim brand's honest community in one topic, and a stranger's brand forging reputation
    there (the attack of the "trust boundaries between brands" issue). Events carry their brand and
    the topic label as the ledger's `QuestionPosted` holds it; `scope.trusted` or a plain
    `History` of them decides what counts."""

    honest: History  # the victim brand's events alone (its experts as seeds, topic = label)
    forged: tuple[Acceptance | Rating, ...]  # the stranger's events, same label
    victim: int  # brand ids
    stranger: int
    experts: tuple[str, ...]  # the victim's experts
    sybil: str

    def everything(self) -> History:
        """Every event of both brands, topics as bare labels, the victim's experts as seeds: what
        an epoch counted before it named the brands it trusts."""
        acceptances = [e for e in self.forged if isinstance(e, Acceptance)]
        ratings = [e for e in self.forged if isinstance(e, Rating)]
        h = self.honest
        return History.of(h.cut, (*h.acceptances, *acceptances), (*h.ratings, *ratings), (), h.experts)

    def ledger_history(self, *, forged: bool = True) -> History:
        """The events as `publication.ledger_history` reads them from the ledger: each topic namespaced
        by its event's brand (`ledger_ids.reputation_topic`), no seeds (a scope brings them)."""
        h = self.everything() if forged else self.honest
        return History.of(
            h.cut,
            (replace(a, topic=reputation_topic(a.brand, a.topic)) for a in h.acceptances),
            (replace(r, topic=reputation_topic(r.brand, r.topic)) for r in h.ratings),
        )


def forged_brand_scenario(
    n_honest: int = 30, fake_acceptances: int = 10, seed: int = 1, victim: int = 1, stranger: int = 2
) -> ForgedBrandScenario:
    """The victim's community: `n_honest` advocates over a year, two experts rating, customers
    rating, accepted answers with bounties; popularity heavy-tailed. The stranger's brand, in the
    same topic label: `fake_acceptances` zero-bounty questions its Sybil answers, each accepted,
    rated 5 stars by a "customer" and by the victim's first expert's rater id as `BrandExpert`."""
    rng = random.Random(seed)
    cut = 365 * DAY
    honest = tuple(address(i) for i in range(n_honest))
    experts = honest[-2:]  # experts rate; they are not the most popular answerers
    sybil = address(10_000)
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(n_honest)]
    acceptances: list[Acceptance] = []
    ratings: list[Rating] = []
    for k in range(4 * n_honest):
        question = (1 << 128 | k).to_bytes(32, "big")
        advocate = rng.choices(honest, weights=popularity)[0]
        time = rng.randrange(cut)
        acceptances.append(Acceptance(question, TOPIC, advocate, time, 10**18, victim))
        kind, rater = (
            (RaterKind.BRAND_EXPERT, rater_id_of(rng.choice(experts)))
            if k % 3 == 0
            else (RaterKind.CUSTOMER, (1 << 200 | k).to_bytes(32, "big"))
        )
        ratings.append(Rating(question, question, TOPIC, advocate, _stars(rng), kind, rater, time + 60, victim))
    forged: list[Acceptance | Rating] = []
    for k in range(fake_acceptances):
        question = (2 << 128 | k).to_bytes(32, "big")
        time = cut - k * DAY
        forged.append(Acceptance(question, TOPIC, sybil, time, 0, stranger))
        customer = (3 << 200 | k).to_bytes(32, "big")
        forged.append(Rating(question, question, TOPIC, sybil, 5, RaterKind.CUSTOMER, customer, time, stranger))
        expert_id = rater_id_of(experts[0])
        forged.append(Rating(question, question, TOPIC, sybil, 5, RaterKind.BRAND_EXPERT, expert_id, time, stranger))
    history = History.of(cut, acceptances, ratings, (), (Expert(e, TOPIC) for e in experts))
    return ForgedBrandScenario(history, tuple(forged), victim, stranger, experts, sybil)

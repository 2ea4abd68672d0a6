"""Trust per topic: EigenTrust from a brand's seeds, with time decay, in exact integer arithmetic.

Nodes are accounts plus one virtual node, `BRAND`, the brand's oracle speaking for its customers
(a customer's rating only exists because the brand relayed a real ticket's rating). Seeds are the
brand's verified experts in the topic and `BRAND`; the teleport distribution `p` is spread over
them. Peer and expert ratings are edges rater -> advocate; customer ratings are edges
`BRAND` -> advocate, each customer's voice capped at `customer_cap`.

An edge's weight is the sum over its ratings of `decay(age) * (stars - 3)`, so 4 and 5 stars
count +1 and +2, 1 and 2 stars -1 and -2, and a rating loses half its weight every `half_life`
seconds. Only positive net weights are kept (EigenTrust's local trust `max(s_ij, 0)`), and each
rater's row is normalised, so a rater hands on what it holds, never more. Then, for a fixed
number of rounds,

    t' = (1 - teleport) * C^T t + (everything not passed on) * p

where "not passed on" is the teleport share, the mass of raters with no positive edge, and the
floor remainders: the total stays exactly `ONE` (10^9), so trust is a share of the topic in
parts per billion. A ring of accounts that rate only each other receives mass only through the
few honest ratings that reach it and loses `teleport` of it every round, which bounds its share
(see docs/reputation.md for the figures).

Every quantity is a Python int and every division a floor of non-negative ints, so the result is
independent of the order of the input and identical on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from peercare.core.enums import RaterKind
from peercare.reputation.history import Expert, History, Rating, account_key, rater_account
from peercare.reputation.trust_model import (
    BPS,
    BRAND,
    DECAY_BY_STEP,
    DECAY_STEPS,
    ONE,
    TrustParams,
    teleport_leftover,
)


@dataclass(frozen=True, slots=True)
class TopicTrust:
    """Trust in one topic: `trust[node]` in parts per billion of the topic; sums to ONE with BRAND."""

    topic: bytes
    trust: Mapping[str, int]
    rounds_run: int

    def of(self, account: str) -> int:
        return self.trust.get(account_key(account), 0)


def rating_edges(ratings: Iterable[Rating], cut: int, params: TrustParams) -> dict[str, dict[str, int]]:
    """Net decayed edge weights rater -> advocate (customers folded into BRAND), positive only."""
    # One pass over the ratings, keyed by the raw (raterId, advocate): this loop is the hot path
    # (one million ratings in the benchmark), so it only does integer work and one dict update.
    peer_raw: dict[tuple[bytes, str], int] = {}
    customer_raw: dict[tuple[bytes, str], int] = {}
    half_life = params.half_life
    by_step = DECAY_BY_STEP
    horizon = len(by_step)
    customer = int(RaterKind.CUSTOMER)
    for rating in ratings:
        age = cut - rating.time
        if age < 0:
            continue
        value = rating.rating - 3
        if not value:
            continue
        if value > 2 or value < -2:
            raise ValueError(f"a rating is 1 to 5, got {rating.rating}")
        step = age * DECAY_STEPS // half_life
        if step >= horizon:
            continue
        key = (rating.rater_id, rating.advocate)
        raw = customer_raw if rating.rater_kind == customer else peer_raw
        raw[key] = raw.get(key, 0) + by_step[step] * value
    sources: dict[bytes, str] = {}
    peer: dict[str, dict[str, int]] = {}
    for (rater_id, advocate), weight in peer_raw.items():
        source = sources.get(rater_id)
        if source is None:
            source = sources[rater_id] = rater_account(rater_id) or "0x" + rater_id.hex()
        target = advocate.lower()
        if source == target:
            continue  # nobody vouches for themselves
        row = peer.setdefault(source, {})
        row[target] = row.get(target, 0) + weight
    edges: dict[str, dict[str, int]] = {}
    for source, row in peer.items():
        positive = {target: w for target, w in row.items() if w > 0}
        if positive:
            edges[source] = positive
    customers: dict[bytes, dict[str, int]] = {}
    for (rater_id, advocate), weight in customer_raw.items():
        if weight > 0:
            row = customers.setdefault(rater_id, {})
            target = advocate.lower()
            row[target] = row.get(target, 0) + weight
    brand: dict[str, int] = {}
    cap = params.customer_cap
    for row in customers.values():
        total = sum(row.values())
        for target, w in row.items():
            share = w if total <= cap else w * cap // total
            if share:
                brand[target] = brand.get(target, 0) + share
    if brand:
        edges[BRAND] = brand
    return edges


def seed_distribution(seeds: Iterable[str], params: TrustParams) -> dict[str, int]:
    """The teleport distribution p over BRAND and the topic's experts, summing to exactly ONE."""
    experts = sorted({account_key(s) for s in seeds})
    if not experts:
        return {BRAND: ONE}
    brand = ONE * params.brand_share_bps // BPS
    rest = ONE - brand
    each, remainder = divmod(rest, len(experts))
    p = {expert: each for expert in experts}
    p[experts[0]] += remainder
    if brand:
        p[BRAND] = brand
    return p


def propagate(
    edges: Mapping[str, Mapping[str, int]], p: Mapping[str, int], params: TrustParams
) -> tuple[dict[str, int], int]:
    """Run the propagation rounds; returns (trust per node, rounds run)."""
    nodes = sorted(set(edges) | {t for row in edges.values() for t in row} | set(p))
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    rows: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    for source in sorted(edges):
        weights = edges[source]
        total = sum(weights.values())
        if total <= 0:
            continue
        normalised = tuple(sorted((index[t], w * ONE // total) for t, w in weights.items()))
        rows.append((index[source], normalised))
    seeds = sorted((index[node], share) for node, share in p.items() if share > 0)
    if sum(share for _, share in seeds) != ONE:
        raise ValueError("the seed distribution must sum to ONE")
    keep = BPS - params.teleport_bps
    trust = [0] * n
    for i, share in seeds:
        trust[i] = share
    rounds_run = 0
    for _ in range(params.rounds):
        new = [0] * n
        for i, edges_of in rows:
            flow = trust[i] * keep // BPS
            if flow:
                for j, c in edges_of:
                    new[j] += flow * c // ONE
        teleport_leftover(new, seeds, ONE - sum(new))
        rounds_run += 1
        if new == trust:
            break
        trust = new
    return {node: trust[i] for i, node in enumerate(nodes) if trust[i]}, rounds_run


#: Ratings in a topic from which engine "auto" uses numpy.
NUMPY_FROM = 10_000


def _check_engine(engine: str) -> None:
    if engine not in ("auto", "python", "numpy"):
        raise ValueError(f"unknown engine {engine!r}")


def topic_trust(
    topic: bytes,
    ratings: Iterable[Rating],
    experts: Iterable[Expert],
    cut: int,
    params: TrustParams,
    engine: str = "auto",
) -> TopicTrust:
    """Trust in `topic` from the ratings and experts given (those of other topics are skipped).
    `engine`: "python", "numpy" (`fast.py`, identical results), or "auto": numpy when it is
    installed and there are at least `NUMPY_FROM` ratings."""
    in_topic = ratings if isinstance(ratings, tuple) and all(r.topic == topic for r in ratings) else None
    if in_topic is None:
        in_topic = tuple(r for r in ratings if r.topic == topic)
    p = seed_distribution((e.account for e in experts if e.topic == topic), params)
    _check_engine(engine)
    if engine != "python":
        from peercare.reputation import fast

        if engine == "numpy" or (
            fast.available() and fast.suitable(params, len(in_topic)) and len(in_topic) >= NUMPY_FROM
        ):
            trust, rounds_run = fast.trust_numpy(in_topic, p, cut, params)
            return TopicTrust(topic, trust, rounds_run)
    trust, rounds_run = propagate(rating_edges(in_topic, cut, params), p, params)
    return TopicTrust(topic, trust, rounds_run)


def trust_by_topic(history: History, params: TrustParams, engine: str = "auto") -> dict[bytes, TopicTrust]:
    """Trust in every topic of the history (`History.topics`), each exactly as `topic_trust` gives
    it. The numpy engine reads the history's columns (`columns.rating_columns`, built once), not
    its `Rating` objects; "auto" uses it for the topics with at least `NUMPY_FROM` ratings."""
    _check_engine(engine)
    if engine == "python":
        return _trust_by_topic_python(history, params)
    from peercare.reputation import fast
    from peercare.reputation.columns import np, rating_columns

    if engine == "auto" and not (fast.available() and len(history.ratings) >= NUMPY_FROM):
        return _trust_by_topic_python(history, params)
    columns = rating_columns(history)
    rows = columns.topic_rows()
    trusts: dict[bytes, TopicTrust] = {}
    for topic in history.topics():
        p = seed_distribution((e.account for e in history.experts if e.topic == topic), params)
        in_topic = rows.get(topic, np.zeros(0, dtype=np.int64))
        count = len(columns) if in_topic is None else len(in_topic)
        if engine == "numpy" or (count >= NUMPY_FROM and fast.suitable(params, count)):
            trust, rounds_run = fast.trust_columns(columns.take(in_topic), p, history.cut, params)
        else:
            ratings = history.ratings if in_topic is None else tuple(history.ratings[i] for i in in_topic.tolist())
            trust, rounds_run = propagate(rating_edges(ratings, history.cut, params), p, params)
        trusts[topic] = TopicTrust(topic, trust, rounds_run)
    return trusts


def _trust_by_topic_python(history: History, params: TrustParams) -> dict[bytes, TopicTrust]:
    topics = history.topics()
    by_topic: Mapping[bytes, Sequence[Rating]]
    if len(topics) == 1:
        by_topic = {topics[0]: history.ratings}  # nothing to split
    else:
        grouped: dict[bytes, list[Rating]] = {}
        for rating in history.ratings:
            grouped.setdefault(rating.topic, []).append(rating)
        by_topic = grouped
    trusts: dict[bytes, TopicTrust] = {}
    for topic in topics:
        p = seed_distribution((e.account for e in history.experts if e.topic == topic), params)
        trust, rounds_run = propagate(rating_edges(by_topic.get(topic, ()), history.cut, params), p, params)
        trusts[topic] = TopicTrust(topic, trust, rounds_run)
    return trusts

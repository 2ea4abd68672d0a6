"""Benchmark: recompute reputation from 1,000,000 ratings in one topic; rank 100,000 advocates.

    .venv/bin/python scripts/bench_reputation.py [--ratings 1000000] [--rounds 5] [--advocates 100000]
        [--questions 2000]

Reputation: one topic, 50,000 advocates, 100 brand experts, 30% peer and expert ratings and 70%
customer ratings (from 200,000 customers), 100,000 acceptances, over two years; popularity is
heavy-tailed. Timed: `compute_scores` (decay, edge aggregation, 24 propagation rounds, acceptance
credit) with the pure-Python engine once and the numpy engine `--rounds` times (same integers,
checked equal). Each run gets a fresh `History` of `Rating` objects, as the indexer hands it over
(`publication.history_from_projections`): the numpy engine's columns (`columns.rating_columns`) are built
inside the timed section. The split is reported too: building the columns alone, and recomputing
from a history whose columns are already built. The history itself is built first and not timed.

Routing: `route` over a 100,000-advocate index with Pareto-distributed reputation, 20% of them
with open assignments and 10% unavailable, the default score (reputation); each decision is
timed whole, commitment included. A full scan with a custom score function is the baseline.
`route_question` (the ranker's features, a 500-advocate pool, a 5,000-answer history) is timed
per decision too.

Figures go to stdout, JSON on the last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import reputation_topic
from peercare.reputation import fast
from peercare.reputation.columns import rating_columns
from peercare.reputation.history import Acceptance, Expert, History, Rating, rater_id_of
from peercare.reputation.scope import BrandScope, Scope, trusted
from peercare.reputation.scores import ScoreParams, compute_scores, ranked, scores_of
from peercare.reputation.synthetic import TOPIC, forged_brand_scenario, sybil_scenario, sybil_share_ppb
from peercare.reputation.trust import topic_trust
from peercare.reputation.trust_model import TrustParams
from peercare.routing.offers import CandidateIndex, LiveState, OfferRequest, exposure, route, route_question
from peercare.routing.ranker import Answered, PoolMember, Question

DAY = 86_400


def _address(i: int) -> str:
    return "0x" + (0x1000 + i).to_bytes(20, "big").hex()


def big_history(n_ratings: int, n_advocates: int = 50_000, seed: int = 7) -> History:
    rng = random.Random(seed)
    cut = 730 * DAY
    advocates = [_address(i) for i in range(n_advocates)]
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(n_advocates)]
    n_peer = n_ratings * 3 // 10
    targets = rng.choices(advocates, weights=weights, k=n_ratings)
    raters = rng.choices(advocates, weights=weights, k=n_peer)
    stars = rng.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 5, 5), k=n_ratings)
    times = [rng.randrange(cut) for _ in range(n_ratings)]
    peer_ids = {a: rater_id_of(a) for a in advocates}
    ratings = []
    for k in range(n_ratings):
        if k < n_peer:
            kind = RaterKind.BRAND_EXPERT if raters[k] in advocates[:100] else RaterKind.PEER_ADVOCATE
            rater_id = peer_ids[raters[k]]
        else:
            kind, rater_id = RaterKind.CUSTOMER, ((1 << 200) + rng.randrange(200_000)).to_bytes(32, "big")
        ratings.append(
            Rating(
                k.to_bytes(32, "big"),
                (k // 3).to_bytes(32, "big"),
                TOPIC,
                targets[k],
                stars[k],
                kind,
                rater_id,
                times[k],
            )
        )
    acceptances = [
        Acceptance(k.to_bytes(32, "big"), TOPIC, a, rng.randrange(cut), 10**18)
        for k, a in enumerate(rng.choices(advocates, weights=weights, k=100_000))
    ]
    return History.of(cut, acceptances, ratings, (), (Expert(a, TOPIC) for a in advocates[:100]))


def _best_median(times: list[float]) -> dict[str, object]:
    return {
        "seconds_best": round(min(times), 3),
        "seconds_median": round(statistics.median(times), 3),
        "seconds": [round(t, 3) for t in times],
    }


def bench_reputation(n_ratings: int, rounds: int) -> dict[str, object]:
    t0 = time.perf_counter()
    history = big_history(n_ratings)
    built = time.perf_counter() - t0
    print(f"reputation: {n_ratings:,} ratings in one topic; history built in {built:.1f} s (not timed)")
    result: dict[str, object] = {"ratings": n_ratings}
    engines = ["python", "numpy"] if fast.available() else ["python"]
    reference = None
    for engine in engines:
        times = []
        for _ in range(rounds if engine == "numpy" else 1):
            fresh = dataclasses.replace(history)  # as the indexer hands it over: no columns built yet
            gc.collect()
            t0 = time.perf_counter()
            scores, trusts = compute_scores(fresh, ScoreParams(), engine)
            times.append(time.perf_counter() - t0)
        if reference is None:
            reference = scores
        identical = scores == reference
        print(
            f"  compute_scores, {engine} engine: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
            f"over {len(times)} run(s); {len(scores):,} scores, {trusts[TOPIC].rounds_run} rounds; "
            f"same scores as the python engine: {identical}"
        )
        result[engine] = {**_best_median(times), "runs": len(times), "identical": identical}
    if fast.available():
        columns, from_columns = [], []
        for _ in range(rounds):
            fresh = dataclasses.replace(history)
            gc.collect()
            t0 = time.perf_counter()
            rating_columns(fresh)
            columns.append(time.perf_counter() - t0)
            gc.collect()
            t0 = time.perf_counter()
            compute_scores(fresh, ScoreParams(), "numpy")
            from_columns.append(time.perf_counter() - t0)
        print(
            f"  of which: building the columns from the Rating objects: best {min(columns):.2f} s, median "
            f"{statistics.median(columns):.2f} s; compute_scores from built columns: best {min(from_columns):.2f} s, "
            f"median {statistics.median(from_columns):.2f} s"
        )
        result["numpy_columns_build"] = _best_median(columns)
        result["numpy_from_columns"] = _best_median(from_columns)
    result["scores"] = len(reference or {})
    if not fast.available():
        print("  numpy is not installed: the vectorised engine was not measured")
    return result


def bench_sybil() -> dict[str, float]:
    shares = []
    for seed in (1, 2, 3):
        scenario = sybil_scenario(seed=seed)
        h = scenario.history
        trust = topic_trust(TOPIC, h.ratings, h.experts, h.cut, TrustParams())
        shares.append(sybil_share_ppb(scenario, dict(trust.trust)) / 1e7)
    print(
        f"sybil: 10% of 2,000 accounts rating only each other, 1% of edges honest -> Sybil: "
        f"{', '.join(f'{s:.2f}%' for s in shares)} of the topic's trust (3 seeds)"
    )
    return {"share_percent_max": round(max(shares), 3), "share_percent": [round(s, 3) for s in shares]}


def bench_forged_brand() -> dict[str, object]:
    """The forged-reputation attack (a stranger's brand: 10 unfunded acceptances of its Sybil in the
    victim's topic label, rated 5 stars by its "customers" and as the victim's expert): the victim's
    topic ranked counting every event of the ledger, as before, and counting the epoch's scope."""
    runs = []
    for seed in (1, 2, 3):
        scenario = forged_brand_scenario(seed=seed)
        honest = [a for a, _ in ranked(scores_of(scenario.honest), TOPIC)]
        everything = [a for a, _ in ranked(scores_of(scenario.everything()), TOPIC)]
        key = reputation_topic(scenario.victim, TOPIC)
        victim = BrandScope.of(scenario.victim, [TOPIC.rstrip(b"\0").decode()], scenario.experts)
        scoped = scores_of(trusted(scenario.ledger_history(), Scope.of([victim])))
        runs.append(
            {
                "best_rank_counting_everything": everything.index(honest[0]) + 1,
                "sybil_rank_counting_everything": everything.index(scenario.sybil) + 1,
                "ranking_unchanged_with_scope": [a for a, _ in ranked(scoped, key)] == honest,
                "sybil_scores_with_scope": sum(s for (a, _), s in scoped.items() if a == scenario.sybil),
            }
        )
    print(
        "forged brand: honest best advocate's rank counting everything "
        f"{[r['best_rank_counting_everything'] for r in runs]}, the Sybil's "
        f"{[r['sybil_rank_counting_everything'] for r in runs]}; with the scope the ranking is unchanged: "
        f"{all(r['ranking_unchanged_with_scope'] for r in runs)}"
    )
    return {"runs": runs}


def bench_routing(n_advocates: int, n_questions: int) -> dict[str, float]:
    rng = random.Random(11)
    reputation = {_address(i): max(0, int(rng.paretovariate(1.2) * 1e6) - 1_000_000) for i in range(n_advocates)}
    t0 = time.perf_counter()
    index = CandidateIndex(reputation)
    index_seconds = time.perf_counter() - t0
    accounts = index.accounts
    live = LiveState(
        {a: rng.randrange(1, 4) for a in rng.sample(accounts, n_advocates // 5)},
        frozenset(rng.sample(accounts, n_advocates // 10)),
    )
    experts = accounts[:: max(1, n_advocates // 20)][:20]
    latencies, decisions = [], []
    gc.collect()
    for q in range(n_questions):
        request = OfferRequest(keccak_id(q), TOPIC, asker=rng.choice(accounts), escalated=q % 20 == 0)
        t0 = time.perf_counter()
        decisions.append(route(request, index, live, experts=experts))
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1e3
    p99 = latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1e3
    evaluated = statistics.mean(len(d.evaluated) for d in decisions)
    full = []
    for q in range(3):
        request = OfferRequest(keccak_id(10**6 + q), TOPIC, asker=accounts[q])
        t0 = time.perf_counter()
        route(request, index, live, score=index.reputation.__getitem__, experts=experts)
        full.append(time.perf_counter() - t0)
    seen = exposure(decisions)
    print(f"routing: {n_advocates:,} advocates, {n_questions:,} questions; index built in {index_seconds:.2f} s")
    print(
        f"  route (best-first walk): p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1] * 1e3:.2f} ms; "
        f"{evaluated:.1f} candidates read per decision"
    )
    print(f"  baseline full scan with a score function: median {statistics.median(full) * 1e3:.0f} ms")
    print(
        f"  exposure: {seen.offers} offers, {seen.explored_offers} explored "
        f"({seen.explored_share_bps / 100:.2f}%), {seen.distinct_newcomers} distinct newcomers; "
        f"{sum(d.mode == 'swarm' for d in decisions)} swarms"
    )
    return {
        "advocates": n_advocates,
        "questions": n_questions,
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(latencies[-1] * 1e3, 3),
        "candidates_read_mean": round(evaluated, 1),
        "full_scan_ms_median": round(statistics.median(full) * 1e3, 1),
        "explored_share_bps": seen.explored_share_bps,
        "index_build_s": round(index_seconds, 3),
    }


def keccak_id(q: int) -> bytes:
    from eth_utils.crypto import keccak

    return keccak(b"question %d" % q)


def bench_route_question(n_pool: int = 500, n_history: int = 5_000, n_questions: int = 100) -> dict[str, float]:
    rng = random.Random(13)
    words = [f"w{i}" for i in range(400)]
    tags = [f"t{i}" for i in range(60)]
    now = datetime(2026, 1, 1)
    pool = [
        PoolMember(_address(i), max(0, int(rng.paretovariate(1.2) * 1e6) - 1_000_000), rng.choice((0, 0, 0, 1, 2)))
        for i in range(n_pool)
    ]
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(n_pool)]
    answerers = rng.choices([m.account for m in pool], weights=weights, k=n_history)
    history = [
        Answered(
            k,
            answerers[k],
            now - timedelta(days=rng.expovariate(1 / 120)),
            k,
            None,
            tuple(rng.sample(tags, 2)),
            " ".join(rng.sample(words, 6)),
            rng.random() < 0.4,
            0,
            0,
        )
        for k in range(n_history)
    ]
    latencies = []
    gc.collect()
    for q in range(n_questions):
        question = Question(q, None, now, tuple(rng.sample(tags, 2)), " ".join(rng.sample(words, 6)), "")
        t0 = time.perf_counter()
        route_question(OfferRequest(keccak_id(q), TOPIC), question, history, pool)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50, p99 = (
        latencies[len(latencies) // 2] * 1e3,
        latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1e3,
    )
    print(
        f"route_question: {n_pool} advocates in the pool, {n_history:,}-answer history, {n_questions} questions: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (ranker features, commitment included)"
    )
    return {
        "pool": n_pool,
        "history": n_history,
        "questions": n_questions,
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--advocates", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=2_000)
    args = parser.parse_args()
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    print(f"machine: {machine}")
    result = {
        "machine": machine,
        "reputation": bench_reputation(args.ratings, args.rounds),
        "routing": bench_routing(args.advocates, args.questions),
        "route_question": bench_route_question(),
        "sybil": bench_sybil(),
        "forged_brand": bench_forged_brand(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

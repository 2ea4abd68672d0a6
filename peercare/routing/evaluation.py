"""The routing evaluation protocol of ROUTING_EVAL.md, on a Stack Exchange dump.

For a test question q created at t_q, a router sees only what was public before t_q (rolling mode)
or before the cut (static mode): answers created strictly earlier, each with its parent question's
tags, title and asker; an answer's accepted flag and its up/down votes only when the vote's day
(dumps give votes at day resolution) is strictly before t_q's day. It ranks the candidate pool
(every visible answerer except the asker); the score is the reciprocal rank of the user who later
wrote q's accepted answer, with ties scored at their exact expectation under a uniformly random
order, so a router that ties everyone scores exactly H_n / n and no random numbers are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

import numpy as np
from numpy.typing import NDArray

from peercare.routing.answer_log import AnswerLog, microseconds
from peercare.routing.dump import VOTE_ACCEPTED, VOTE_DOWN, VOTE_UP, Dump, Post
from peercare.routing.records import Answered, Question, User

Router = Callable[[Question, AnswerLog, Sequence[User]], Sequence[float]]
"""A router: (question, visible history, candidate user ids) -> one score per candidate, higher first."""

HITS_AT = (1, 5, 10)


@dataclass(frozen=True, slots=True)
class Split:
    """The time-ordered split: the cut, the test questions, and what was excluded and why."""

    cut: datetime
    n_questions: int
    test: tuple[Post, ...]
    self_answered: int
    accepted_missing: int


def split(dump: Dump, train_frac: float = 0.8, cut: datetime | None = None) -> Split:
    """Questions sorted by (CreationDate, Id); CUT is the creation time of the one at zero-based
    index floor(train_frac * N) unless given. Test questions are those created at or after CUT
    whose accepted answer is in the dump with an owner other than the asker."""
    ordered = sorted(dump.questions.values(), key=lambda q: (q.created, q.id))
    if not ordered:
        raise ValueError("the dump has no questions")
    if cut is None:
        if not 0.0 <= train_frac < 1.0:
            raise ValueError(f"train_frac must be in [0, 1), got {train_frac}")
        cut = ordered[math.floor(train_frac * len(ordered))].created
    test: list[Post] = []
    self_answered = missing = 0
    for q in ordered:
        if q.created < cut or q.accepted_answer_id is None:
            continue
        answer = dump.answers.get(q.accepted_answer_id)
        if answer is None or answer.owner is None:
            missing += 1
        elif answer.owner == q.owner:
            self_answered += 1
        else:
            test.append(q)
    return Split(cut, len(ordered), tuple(test), self_answered, missing)


class History:
    """Answers of a dump with the dates their signals became public, queryable as of any time.

    The answers are one `AnswerLog` in creation order, built once; what is visible at a time is its
    head (views, no copies) with the accepted flags and vote counts as of that day, counted from
    the votes sorted by day: per query a few vector operations, not a pass in Python."""

    def __init__(self, dump: Dump) -> None:
        rows = []
        for answer in dump.answers.values():
            if answer.owner is None:
                continue
            parent = dump.questions.get(answer.parent_id) if answer.parent_id is not None else None
            rows.append((answer, parent))
        rows.sort(key=lambda row: (row[0].created, row[0].id))
        self._has_votes = dump.votes is not None
        self._log = AnswerLog.of(
            [
                Answered(
                    answer_id=answer.id,
                    answerer=answer.owner or 0,
                    created=answer.created,
                    question_id=answer.parent_id or 0,
                    asker=parent.owner if parent else None,
                    tags=parent.tags if parent else (),
                    title=parent.title if parent else "",
                    # Without votes, an answer is known accepted once visible (it was created before).
                    accepted=not self._has_votes and parent is not None and parent.accepted_answer_id == answer.id,
                    up=0,
                    down=0,
                )
                for answer, parent in rows
            ]
        )
        row_of = {answer.id: i for i, (answer, _) in enumerate(rows)}
        self._votes: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        for vote_type in (VOTE_ACCEPTED, VOTE_UP, VOTE_DOWN):
            cast = sorted(
                (vote.day.toordinal(), row_of[vote.post_id])
                for vote in dump.votes or ()
                if vote.vote_type == vote_type and vote.post_id in row_of
            )
            self._votes[vote_type] = (
                np.array([day for day, _ in cast], dtype=np.int64),
                np.array([row for _, row in cast], dtype=np.int64),
            )

    def _counted(self, vote_type: int, day: date, n: int) -> NDArray[np.int64]:
        """Per answer of the first n, its votes of this type cast on a day strictly before `day`."""
        days, rows = self._votes[vote_type]
        before = int(np.searchsorted(days, day.toordinal(), side="left"))
        return np.bincount(rows[:before], minlength=len(self._log))[:n]

    def visible(self, at: datetime) -> AnswerLog:
        """Everything a router may know at time `at`: answers created strictly before it, with
        acceptance and votes dated on a day strictly before its day."""
        n = int(np.searchsorted(self._log.created_us, microseconds(at), side="left"))
        if not self._has_votes:
            return self._log.head(n)
        day = at.date()
        return self._log.head(
            n,
            accepted=self._counted(VOTE_ACCEPTED, day, n) > 0,
            up=self._counted(VOTE_UP, day, n),
            down=self._counted(VOTE_DOWN, day, n),
        )


@cache
def harmonic(n: int) -> float:
    """H_n = 1 + 1/2 + ... + 1/n, summed exactly then rounded once."""
    return math.fsum(1.0 / i for i in range(1, n + 1))


def expected_rank_scores(scores: Sequence[float], target: int) -> tuple[float, dict[int, float]]:
    """Expected reciprocal rank of candidate `target` and its expected hit@k for k in HITS_AT,
    when the candidates tied with it are put in uniformly random order.

    With g candidates strictly above and k tied (the target included), the target's rank is
    uniform on g+1..g+k: E[1/rank] = (H_{g+k} - H_g) / k and P(rank <= K) = clamp(K - g, 0, k) / k.
    """
    mine = scores[target]
    above = sum(1 for s in scores if s > mine)
    tied = sum(1 for s in scores if s == mine)
    rr = (harmonic(above + tied) - harmonic(above)) / tied
    hits = {k: min(max(k - above, 0), tied) / tied for k in HITS_AT}
    return rr, hits


@dataclass(slots=True)
class RouterResult:
    """Per-question outcomes of one router (reciprocal rank and hits; cold questions score 0)."""

    rr: list[float] = field(default_factory=list)
    hits: dict[int, list[float]] = field(default_factory=lambda: {k: [] for k in HITS_AT})


@dataclass(slots=True)
class Evaluation:
    """The outcome of one run: the split, per-question pool sizes and warm flags, per-router results."""

    split: Split
    static: bool
    pool_sizes: list[int]
    warm: list[bool]
    results: dict[str, RouterResult]
    question_ids: list[int]


def to_question(post: Post) -> Question:
    return Question(
        question_id=post.id, asker=post.owner, created=post.created, tags=post.tags, title=post.title, body=post.body
    )


def evaluate(
    dump: Dump,
    routers: Mapping[str, Router],
    train_frac: float = 0.8,
    cut: datetime | None = None,
    static: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Run every router on every test question under the protocol."""
    the_split = split(dump, train_frac, cut)
    history = History(dump)
    frozen = history.visible(the_split.cut) if static else None
    evaluation = Evaluation(the_split, static, [], [], {name: RouterResult() for name in routers}, [])
    every = max(10, len(the_split.test) // 20)  # at most about 20 progress lines
    for i, post in enumerate(the_split.test):
        visible = frozen if frozen is not None else history.visible(post.created)
        pool = sorted(set(visible.answerers()) - {post.owner})
        answer = dump.answers[post.accepted_answer_id or 0]
        target = answer.owner
        warm = target in pool
        evaluation.question_ids.append(post.id)
        evaluation.pool_sizes.append(len(pool))
        evaluation.warm.append(warm)
        question = to_question(post)
        for name, router in routers.items():
            result = evaluation.results[name]
            if not warm:
                result.rr.append(0.0)
                for k in HITS_AT:
                    result.hits[k].append(0.0)
                continue
            scores = router(question, visible, pool)
            if len(scores) != len(pool):
                raise ValueError(f"router {name} returned {len(scores)} scores for {len(pool)} candidates")
            rr, hits = expected_rank_scores(scores, pool.index(target or 0))
            result.rr.append(rr)
            for k in HITS_AT:
                result.hits[k].append(hits[k])
        if progress is not None and ((i + 1) % every == 0 or i + 1 == len(the_split.test)):
            progress(f"  routed {i + 1}/{len(the_split.test)} test questions")
    return evaluation


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def _resampled_means(columns: Sequence[Sequence[float]], resamples: int, seed: int) -> NDArray[np.float64]:
    """Means of `resamples` bootstrap resamples of each column (equal lengths, resampled with the
    same draws, so paired), shape (columns, resamples); fixed seed, so reproducible; drawn in
    chunks so that memory stays small for long test sets."""
    data = np.asarray(columns, dtype=np.float64)
    n = data.shape[1]
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)
    return np.concatenate(
        [
            data[:, rng.integers(0, n, size=(min(chunk, resamples - start), n))].mean(axis=2)
            for start in range(0, resamples, chunk)
        ],
        axis=1,
    )


def _percentiles(sample: NDArray[np.float64], level: float) -> tuple[float, float]:
    ordered = np.sort(sample)
    n = len(ordered)
    low, high = math.floor((1 - level) / 2 * n), min(n - 1, math.ceil((1 + level) / 2 * n) - 1)
    return float(ordered[low]), float(ordered[high])


def bootstrap_interval(
    values: Sequence[float], resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over questions (fixed seed: reproducible)."""
    if not values:
        return (0.0, 0.0)
    return _percentiles(_resampled_means([values], resamples, seed)[0], level)


def paired_ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(numerator) / mean(denominator), resampling questions
    jointly (both routers are scored on the same questions)."""
    if len(numerator) == 0:
        return (0.0, 0.0)
    num, den = _resampled_means([numerator, denominator], resamples, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
    return _percentiles(ratios, level)


def _r(x: float) -> float:
    return round(x, 4)


def summarize(evaluation: Evaluation, reference: str = "router") -> dict[str, object]:
    """The JSON report: split figures, and per router mrr, hits and warm figures with intervals."""
    warm_idx = [i for i, w in enumerate(evaluation.warm) if w]
    out: dict[str, object] = {
        "cut": evaluation.split.cut.isoformat(timespec="milliseconds"),
        "mode": "static" if evaluation.static else "rolling",
        "n_questions": evaluation.split.n_questions,
        "n_test": len(evaluation.warm),
        "n_cold": len(evaluation.warm) - len(warm_idx),
        "n_self_answered": evaluation.split.self_answered,
        "n_accepted_missing": evaluation.split.accepted_missing,
        "pool_size_mean": _r(_mean([float(p) for p in evaluation.pool_sizes])),
    }
    for name, result in evaluation.results.items():
        warm_rr = [result.rr[i] for i in warm_idx]
        block: dict[str, object] = {
            "mrr": _r(_mean(result.rr)),
            "mrr_ci95": [_r(x) for x in bootstrap_interval(result.rr)],
        }
        for k in HITS_AT:
            block[f"hit@{k}"] = _r(_mean(result.hits[k]))
        block["warm_mrr"] = _r(_mean(warm_rr))
        block["warm_mrr_ci95"] = [_r(x) for x in bootstrap_interval(warm_rr)]
        for k in HITS_AT:
            block[f"warm_hit@{k}"] = _r(_mean([result.hits[k][i] for i in warm_idx]))
        out[name] = block
    if reference in evaluation.results:
        others = {n: r for n, r in evaluation.results.items() if n != reference}
        if others:
            best = max(others, key=lambda n: _mean(others[n].rr))
            ref_rr = evaluation.results[reference].rr
            best_mrr = _mean(others[best].rr)
            out["best_baseline"] = best
            out["ratio_to_best_baseline"] = _r(_mean(ref_rr) / best_mrr) if best_mrr > 0 else None
            out["ratio_to_best_baseline_ci95"] = [_r(x) for x in paired_ratio_interval(ref_rr, others[best].rr)]
    return out

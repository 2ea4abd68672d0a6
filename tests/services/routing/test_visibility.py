"""What a router may know at routing time, and how cold questions and ties are scored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from peercare.routing.baselines import random_router
from peercare.routing.dump import VOTE_ACCEPTED, VOTE_DOWN, VOTE_UP, load_dump
from peercare.routing.evaluation import History, evaluate, harmonic, summarize
from peercare.routing.ranker import Answered, Question
from tests.support.routing_eval_dump import A, Q, V

T_Q = "2021-03-10T12:00:00.000"


def _site() -> list[Q | A]:
    return [
        Q(1, "2021-03-01T09:00:00.000", owner=10, accepted=21),
        A(21, 1, "2021-03-01T10:00:00.000", owner=201),
        A(22, 1, "2021-03-10T11:59:59.999", owner=202),  # just before t_q
        A(23, 1, T_Q, owner=203),  # at t_q exactly: not strictly before
        A(24, 1, "2021-03-10T13:00:00.000", owner=204),  # after t_q
        Q(2, T_Q, owner=11, accepted=25),  # the question routed
        A(25, 2, "2021-03-11T08:00:00.000", owner=201),
    ]


def test_only_answers_created_strictly_before_the_question_are_visible(dump_dir: Callable[..., Path]) -> None:
    visible = History(load_dump(dump_dir(_site()))).visible(datetime.fromisoformat(T_Q))
    assert sorted(a.answer_id for a in visible) == [21, 22]


@pytest.mark.parametrize(
    ("vote_day", "known"),
    [("2021-03-09", True), ("2021-03-10", False), ("2021-03-11", False), ("2021-03-01", True)],
)
def test_an_accept_vote_counts_only_from_the_calendar_day_after_it(
    dump_dir: Callable[..., Path], vote_day: str, known: bool
) -> None:
    visible = History(load_dump(dump_dir(_site(), [V(21, VOTE_ACCEPTED, vote_day)]))).visible(
        datetime.fromisoformat(T_Q)
    )
    assert {a.answer_id: a.accepted for a in visible}[21] is known


def test_up_and_down_votes_count_only_when_dated_before_the_questions_day(dump_dir: Callable[..., Path]) -> None:
    votes = [
        V(21, VOTE_UP, "2021-03-02"),
        V(21, VOTE_UP, "2021-03-09"),
        V(21, VOTE_UP, "2021-03-10"),
        V(21, VOTE_DOWN, "2021-03-05"),
        V(21, VOTE_DOWN, "2021-03-12"),
    ]
    visible = History(load_dump(dump_dir(_site(), votes))).visible(datetime.fromisoformat(T_Q))
    first = next(a for a in visible if a.answer_id == 21)
    assert (first.up, first.down) == (2, 1)


def test_without_votes_acceptance_comes_from_the_visible_accepted_answer(dump_dir: Callable[..., Path]) -> None:
    visible = History(load_dump(dump_dir(_site()))).visible(datetime.fromisoformat(T_Q))
    assert {a.answer_id: (a.accepted, a.up, a.down) for a in visible} == {21: (True, 0, 0), 22: (False, 0, 0)}


def test_history_carries_the_parent_questions_tags_and_asker(dump_dir: Callable[..., Path]) -> None:
    visible = History(load_dump(dump_dir(_site()))).visible(datetime.fromisoformat(T_Q))
    assert {(a.tags, a.asker) for a in visible} == {(("alpha",), 10)}


def _seen_by(calls: list[tuple[Question, list[int], list[int]]]) -> Callable[..., list[float]]:
    def router(question: Question, history: Sequence[Answered], candidates: Sequence[int]) -> list[float]:
        calls.append((question, sorted(a.answer_id for a in history), list(candidates)))
        return [0.0] * len(candidates)

    return router


def test_the_pool_is_every_visible_answerer_but_the_asker(dump_dir: Callable[..., Path]) -> None:
    posts = [*_site(), A(26, 1, "2021-03-05T00:00:00.000", owner=11)]  # the asker answered earlier
    calls: list[tuple[Question, list[int], list[int]]] = []
    evaluate(load_dump(dump_dir(posts)), {"spy": _seen_by(calls)}, train_frac=0.5)
    ((question, history, pool),) = calls
    assert question.question_id == 2
    assert history == [21, 22, 26]
    assert pool == [201, 202]


def test_a_cold_question_scores_zero_and_is_left_out_of_warm_metrics(dump_dir: Callable[..., Path]) -> None:
    posts = [
        *_site(),
        Q(3, "2021-03-12T00:00:00.000", owner=12, accepted=27),
        A(27, 3, "2021-03-12T01:00:00.000", owner=999),  # a newcomer: never answered before
    ]
    evaluation = evaluate(load_dump(dump_dir(posts)), {"random": random_router}, train_frac=0.5)
    assert evaluation.warm == [True, False]
    report = summarize(evaluation)
    assert report["n_test"] == 2
    assert report["n_cold"] == 1
    block = report["random"]
    assert isinstance(block, dict)
    warm_rr = evaluation.results["random"].rr[0]
    assert evaluation.results["random"].rr[1] == 0.0
    assert block["mrr"] == round(warm_rr / 2, 4)
    assert block["warm_mrr"] == round(warm_rr, 4)


def test_static_mode_freezes_what_is_known_at_the_cut(dump_dir: Callable[..., Path]) -> None:
    posts = [
        *_site(),
        Q(3, "2021-03-12T00:00:00.000", owner=12, accepted=27),
        A(27, 3, "2021-03-12T01:00:00.000", owner=204),  # 204 answered after the cut but before q3
    ]
    dump = load_dump(dump_dir(posts))
    rolling = evaluate(dump, {"random": random_router}, train_frac=0.5)
    static = evaluate(dump, {"random": random_router}, train_frac=0.5, static=True)
    assert rolling.warm == [True, True]
    assert static.warm == [True, False]
    assert static.pool_sizes == [2, 2]


def test_random_router_scores_exactly_harmonic_over_pool_size(dump_dir: Callable[..., Path]) -> None:
    n = 37
    posts: list[Q | A] = [Q(1, "2021-01-01T00:00:00.000", owner=1, accepted=None)]
    posts += [A(100 + u, 1, f"2021-01-02T00:{u:02d}:00.000", owner=1000 + u) for u in range(n)]
    posts += [Q(2, "2021-02-01T00:00:00.000", owner=2, accepted=500), A(500, 2, "2021-02-02T00:00:00.000", owner=1005)]
    evaluation = evaluate(load_dump(dump_dir(posts)), {"random": random_router}, train_frac=0.5)
    assert evaluation.pool_sizes == [n]
    assert evaluation.results["random"].rr == [harmonic(n) / n]
    assert evaluation.results["random"].hits == {1: [1 / n], 5: [5 / n], 10: [10 / n]}

"""The columnar answer log (peercare/routing/answer_log.py) computes what the model's definitions say.

The ranker and the reference routers compute on numpy columns. These tests check them against the
definitions written out plainly, one answer at a time in Python, on random histories: the ranker's
three estimates (docs/routing.md), the reference routers of ROUTING_EVAL.md, and a log's head
against a log built from the same first answers."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peercare.routing.answer_log import AnswerLog
from peercare.routing.baselines import most_active, tag_frequency, tag_reputation_decay
from peercare.routing.ranker import Answered, Question, candidate_features, terms

NOW = datetime(2021, 6, 1, 12)
WORDS = ("plutus", "validator", "stake", "pool", "wallet", "sync", "token", "mint")
TAGS = ("plutus", "staking", "wallet", "nft")
USERS = (100, 200, 300, 400, 500)


@st.composite
def histories(draw: st.DrawFn) -> list[Answered]:
    """Answers to up to 8 questions by up to 5 users, with ages from minutes to months."""
    questions = {
        qid: (
            " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4))),
            tuple(draw(st.sets(st.sampled_from(TAGS), max_size=3))),
            draw(st.sampled_from((*USERS, None))),
        )
        for qid in range(1, draw(st.integers(1, 8)) + 1)
    }
    answers = []
    for answer_id in range(1, draw(st.integers(0, 25)) + 1):
        qid = draw(st.sampled_from(sorted(questions)))
        title, tags, asker = questions[qid]
        answers.append(
            Answered(
                answer_id=answer_id,
                answerer=draw(st.sampled_from(USERS)),
                created=NOW - timedelta(minutes=draw(st.integers(1, 200_000))),
                question_id=qid,
                asker=asker,
                tags=tags,
                title=title,
                accepted=draw(st.booleans()),
                up=draw(st.integers(0, 3)),
                down=draw(st.integers(0, 1)),
            )
        )
    return answers


QUESTIONS = st.builds(
    Question,
    question_id=st.just(99),
    asker=st.sampled_from((*USERS, None)),
    created=st.just(NOW),
    tags=st.sets(st.sampled_from(TAGS), max_size=3).map(tuple),
    title=st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
    body=st.just(""),
)


def _age_days(question: Question, a: Answered) -> float:
    return (question.created - a.created).total_seconds() / 86_400.0


def _tfidf(counts: Counter[str], df: Counter[str], n_docs: int) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * math.log((n_docs + 2) / (df[t] + 0.5)) for t, c in counts.items()}
    norm = math.sqrt(math.fsum(x * x for x in vec.values()))
    return {t: x / norm for t, x in vec.items()} if norm > 0 else {}


def _reference_features(question: Question, history: list[Answered], user: int) -> tuple[float, float, float]:
    """activity, affinity and acceptance as docs/routing.md defines them, one answer at a time."""
    docs: dict[int, Counter[str]] = {}
    for a in history:
        docs.setdefault(a.question_id, terms(a.title, a.tags))
    df: Counter[str] = Counter(t for counts in docs.values() for t in counts)
    q_vec = _tfidf(terms(question.title, question.tags), df, len(docs))
    sims = {
        qid: math.fsum(q_vec.get(t, 0.0) * x for t, x in _tfidf(counts, df, len(docs)).items())
        for qid, counts in docs.items()
    }
    prior = math.fsum(sims.values()) / len(sims) if sims else 0.0
    mine = [a for a in history if a.answerer == user]
    answerers = {a.answerer for a in history}
    m = len(history) / len(answerers) if answerers else 1.0
    activity = math.fsum(1.0 / (1.0 + _age_days(question, a)) for a in mine)
    affinity = (math.fsum(sims[a.question_id] for a in mine) + m * prior) / (len(mine) + m)
    known = [a for a in history if _age_days(question, a) >= 1.0]
    rate = (sum(a.accepted for a in known) + 1.0) / (len(known) + 2.0)
    my_known = [a for a in known if a.answerer == user]
    acceptance = (sum(a.accepted for a in my_known) + 2.0 * rate) / (len(my_known) + 2.0)
    return activity, affinity, acceptance


@settings(max_examples=150, deadline=None)
@given(histories(), QUESTIONS)
def test_the_rankers_estimates_are_the_documented_formulas(history: list[Answered], question: Question) -> None:
    for features in candidate_features(question, history, [*USERS, 999]):
        activity, affinity, acceptance = _reference_features(question, history, int(features.user))
        assert features.activity == pytest.approx(activity, rel=1e-12, abs=1e-15)
        assert features.affinity == pytest.approx(affinity, rel=1e-12, abs=1e-15)
        assert features.acceptance == pytest.approx(acceptance, rel=1e-12, abs=1e-15)
        assert features.answers == sum(a.answerer == features.user for a in history)


@settings(max_examples=150, deadline=None)
@given(histories(), QUESTIONS)
def test_the_reference_routers_count_what_routing_eval_says(history: list[Answered], question: Question) -> None:
    tags = set(question.tags)
    candidates = [*USERS, 999]
    assert most_active(question, history, candidates) == [
        float(sum(a.answerer == u for a in history)) for u in candidates
    ]
    assert tag_frequency(question, history, candidates) == [
        float(sum(len(tags.intersection(a.tags)) for a in history if a.answerer == u)) for u in candidates
    ]
    decayed = [
        math.fsum(
            len(tags.intersection(a.tags)) * math.exp(-_age_days(question, a) / 60.0) * (1 + a.accepted + a.up - a.down)
            for a in history
            if a.answerer == u
        )
        for u in candidates
    ]
    assert tag_reputation_decay(question, history, candidates) == pytest.approx(decayed, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(histories(), QUESTIONS, st.integers(0, 25))
def test_a_logs_head_routes_as_a_log_of_its_first_answers(history: list[Answered], question: Question, n: int) -> None:
    n = min(n, len(history))
    head, built = AnswerLog.of(history).head(n), AnswerLog.of(history[:n])
    assert list(head) == history[:n]
    assert sorted(head.answerers()) == sorted({a.answerer for a in history[:n]})
    for router in (most_active, tag_frequency, tag_reputation_decay):
        assert router(question, head, USERS) == router(question, built, USERS)
    assert candidate_features(question, head, USERS) == candidate_features(question, built, USERS)


def test_a_log_gives_back_the_answers_it_was_built_from() -> None:
    answers = [
        Answered(7, "0xabc", NOW - timedelta(microseconds=1), 3, None, ("plutus",), "Plutus", True, 2, 1),
        Answered(8, 100, NOW, 4, "0xdef", (), "", False, 0, 0),
    ]
    assert list(AnswerLog.of(answers)) == answers
    assert len(AnswerLog.of([])) == 0

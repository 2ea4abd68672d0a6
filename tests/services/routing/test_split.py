"""The time-ordered split: cut, test questions, exclusions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from peercare.routing.dump import load_dump, parse_tags
from peercare.routing.evaluation import split
from tests.support.routing_eval_dump import A, Q


def _site() -> list[Q | A]:
    posts: list[Q | A] = [Q(i, f"2021-01-{i:02d}T10:00:00.000", owner=100 + i, accepted=None) for i in range(1, 9)]
    posts += [
        # two questions at the same instant, in reverse id order in the file: numeric id breaks the tie
        Q(10, "2021-01-09T10:00:00.000", owner=110, accepted=30),
        Q(9, "2021-01-09T10:00:00.000", owner=109, accepted=29),
        Q(11, "2021-01-10T10:00:00.000", owner=111, accepted=31),  # self-answered
        Q(12, "2021-01-11T10:00:00.000", owner=112, accepted=99),  # accepted answer not in the dump
        Q(13, "2021-01-12T10:00:00.000", owner=113, accepted=33),  # accepted answer without an owner
        A(29, 9, "2021-01-09T12:00:00.000", owner=200),
        A(30, 10, "2021-01-09T12:00:00.000", owner=201),
        A(31, 11, "2021-01-10T12:00:00.000", owner=111),
        A(33, 13, "2021-01-12T12:00:00.000", owner=None),
    ]
    return posts


def test_cut_is_the_creation_time_of_the_question_at_floor_train_frac_times_n(dump_dir: Callable[..., Path]) -> None:
    dump = load_dump(dump_dir(_site()))
    # 13 questions; floor(0.8 * 13) = 10: the eleventh question in time order (id 11)
    assert split(dump, 0.8).cut == datetime(2021, 1, 10, 10)
    # floor(0.65 * 13) = 8: the ninth is id 9, tied in time with id 10 and first by numeric id
    assert split(dump, 0.65).cut == datetime(2021, 1, 9, 10)


def test_test_questions_are_time_then_id_ordered_with_a_visible_owned_accepted_answer(
    dump_dir: Callable[..., Path],
) -> None:
    result = split(load_dump(dump_dir(_site())), 0.65)
    assert [q.id for q in result.test] == [9, 10]
    assert result.self_answered == 1
    assert result.accepted_missing == 2
    assert result.n_questions == 13


def test_an_explicit_cut_overrides_train_frac(dump_dir: Callable[..., Path]) -> None:
    result = split(load_dump(dump_dir(_site())), 0.0, cut=datetime(2021, 1, 9, 10, 0, 0, 1000))
    assert result.cut == datetime(2021, 1, 9, 10, 0, 0, 1000)
    assert [q.id for q in result.test] == []


def test_tags_are_read_in_both_dump_spellings() -> None:
    assert parse_tags("<proof-of-work><governance>") == ("proof-of-work", "governance")
    assert parse_tags("|plutus|cardano-cli|") == ("plutus", "cardano-cli")
    assert parse_tags("") == ()
    assert parse_tags(None) == ()

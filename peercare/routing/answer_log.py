"""Past answers as columns: what the ranker and the reference routers compute on.

Routing one question reads every visible answer (a kernel over each answer's age, a TF-IDF cosine
with each answered question, per-user sums), so its cost grows with the history. As numpy columns
those reads are a few vector operations in C, not a Python loop per answer; and a log built once
for a whole dump is cut to what is visible at any time without copying its columns (`head`), so
the routing evaluation no longer rebuilds the history for every test question (docs/benchmarks.md
has the figures).

An `AnswerLog` is also a sequence of `Answered` (materialised on demand), so code that only looks
at a few answers can keep treating it as one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from peercare.routing.records import Answered, Question, User, terms

_EPOCH = datetime(1970, 1, 1)
_I64 = NDArray[np.int64]
_F64 = NDArray[np.float64]


def microseconds(at: datetime) -> int:
    """Naive-UTC time as integer microseconds since 1970 (exact, so age differences are exact)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class _Docs:
    """The answered questions (docs), numbered in order of their first answer in the log, with
    their title-and-tag terms and their tags as (doc, id) pairs sorted by doc."""

    question_ids: tuple[int, ...]
    askers: tuple[User | None, ...]
    titles: tuple[str, ...]
    tags: tuple[tuple[str, ...], ...]
    term_doc: _I64
    term_id: _I64
    term_weight: _F64  # 1 + log(count): the sublinear term frequency
    tag_doc: _I64
    tag_id: _I64
    vocabulary: dict[str, int]
    tag_ids: dict[str, int]

    def head(self, n_docs: int) -> _Docs:
        if n_docs == len(self.question_ids):
            return self
        terms_end = int(np.searchsorted(self.term_doc, n_docs))
        tags_end = int(np.searchsorted(self.tag_doc, n_docs))
        return replace(
            self,
            question_ids=self.question_ids[:n_docs],
            askers=self.askers[:n_docs],
            titles=self.titles[:n_docs],
            tags=self.tags[:n_docs],
            term_doc=self.term_doc[:terms_end],
            term_id=self.term_id[:terms_end],
            term_weight=self.term_weight[:terms_end],
            tag_doc=self.tag_doc[:tags_end],
            tag_id=self.tag_id[:tags_end],
        )


@dataclass(frozen=True, slots=True)
class AnswerLog:
    """Answers in a fixed order, one row each: who (a code into `users`), when, on which doc, and
    the signals public so far (accepted, up and down votes)."""

    users: tuple[User, ...]
    user_codes: dict[User, int]
    answer_ids: _I64
    answerer: _I64
    created_us: _I64
    doc: _I64
    accepted: NDArray[np.bool_]
    up: _I64
    down: _I64
    docs: _Docs

    @staticmethod
    def of(answers: Sequence[Answered] | AnswerLog) -> AnswerLog:
        """The log of these answers, in the order given (an `AnswerLog` is returned as it is)."""
        if isinstance(answers, AnswerLog):
            return answers
        user_codes: dict[User, int] = {}
        doc_codes: dict[int, int] = {}
        first: list[Answered] = []
        vocabulary: dict[str, int] = {}
        tag_ids: dict[str, int] = {}
        term_doc: list[int] = []
        term_id: list[int] = []
        term_weight: list[float] = []
        tag_doc: list[int] = []
        tag_id: list[int] = []
        answerer, doc = [], []
        for a in answers:
            answerer.append(user_codes.setdefault(a.answerer, len(user_codes)))
            code = doc_codes.get(a.question_id)
            if code is None:
                code = doc_codes[a.question_id] = len(doc_codes)
                first.append(a)
                for term, count in terms(a.title, a.tags).items():
                    term_doc.append(code)
                    term_id.append(vocabulary.setdefault(term, len(vocabulary)))
                    term_weight.append(1.0 + math.log(count))
                for tag in dict.fromkeys(a.tags):
                    tag_doc.append(code)
                    tag_id.append(tag_ids.setdefault(tag, len(tag_ids)))
            doc.append(code)
        docs = _Docs(
            question_ids=tuple(a.question_id for a in first),
            askers=tuple(a.asker for a in first),
            titles=tuple(a.title for a in first),
            tags=tuple(a.tags for a in first),
            term_doc=np.array(term_doc, dtype=np.int64),
            term_id=np.array(term_id, dtype=np.int64),
            term_weight=np.array(term_weight, dtype=np.float64),
            tag_doc=np.array(tag_doc, dtype=np.int64),
            tag_id=np.array(tag_id, dtype=np.int64),
            vocabulary=vocabulary,
            tag_ids=tag_ids,
        )
        return AnswerLog(
            users=tuple(user_codes),
            user_codes=user_codes,
            answer_ids=np.array([a.answer_id for a in answers], dtype=np.int64),
            answerer=np.array(answerer, dtype=np.int64),
            created_us=np.array([microseconds(a.created) for a in answers], dtype=np.int64),
            doc=np.array(doc, dtype=np.int64),
            accepted=np.array([a.accepted for a in answers], dtype=np.bool_),
            up=np.array([a.up for a in answers], dtype=np.int64),
            down=np.array([a.down for a in answers], dtype=np.int64),
            docs=docs,
        )

    def head(
        self,
        n: int,
        accepted: NDArray[np.bool_] | None = None,
        up: _I64 | None = None,
        down: _I64 | None = None,
    ) -> AnswerLog:
        """The first n answers (views, no copies), optionally with their signals replaced."""
        n_docs = int(self.doc[:n].max()) + 1 if n > 0 else 0
        return replace(
            self,
            answer_ids=self.answer_ids[:n],
            answerer=self.answerer[:n],
            created_us=self.created_us[:n],
            doc=self.doc[:n],
            accepted=self.accepted[:n] if accepted is None else accepted,
            up=self.up[:n] if up is None else up,
            down=self.down[:n] if down is None else down,
            docs=self.docs.head(n_docs),
        )

    # ------------------------------------------------------------ as a sequence of Answered

    def __len__(self) -> int:
        return len(self.answerer)

    def __iter__(self) -> Iterator[Answered]:
        docs = self.docs
        for i in range(len(self)):
            d = int(self.doc[i])
            yield Answered(
                answer_id=int(self.answer_ids[i]),
                answerer=self.users[int(self.answerer[i])],
                created=_EPOCH + timedelta(microseconds=int(self.created_us[i])),
                question_id=docs.question_ids[d],
                asker=docs.askers[d],
                tags=docs.tags[d],
                title=docs.titles[d],
                accepted=bool(self.accepted[i]),
                up=int(self.up[i]),
                down=int(self.down[i]),
            )

    # ------------------------------------------------------------ what routers compute on

    def answerers(self) -> list[User]:
        """The users with at least one answer here (a head keeps every user code)."""
        present = np.bincount(self.answerer, minlength=len(self.users)) > 0
        return [self.users[code] for code in np.flatnonzero(present)]

    def age_days(self, at: datetime) -> _F64:
        """Each answer's age at `at`, in days (exact microseconds, then one rounding per step, as
        `timedelta.total_seconds() / 86400`)."""
        return ((microseconds(at) - self.created_us) / 1e6) / 86_400.0

    def per_user(self, weights: _F64 | None = None) -> _F64:
        """Per user code, the sum of `weights` over their answers in log order (or their count)."""
        return np.bincount(self.answerer, weights=weights, minlength=len(self.users)).astype(np.float64)

    def for_candidates(self, per_user: _F64, candidates: Sequence[User], missing: float = 0.0) -> list[float]:
        """Values of a per-user array for each candidate; `missing` for one not in the log."""
        codes = self.user_codes
        return [float(per_user[codes[c]]) if c in codes else missing for c in candidates]

    def similarities(self, question: Question) -> _F64:
        """Per doc, the cosine similarity between the TF-IDF vectors of the question and the doc
        (title words and tags; sublinear tf; idf log((docs + 2) / (df + 0.5)), always positive)."""
        docs = self.docs
        n_docs = len(docs.question_ids)
        sims = np.zeros(n_docs, dtype=np.float64)
        if n_docs == 0:
            return sims
        df = np.bincount(docs.term_id, minlength=len(docs.vocabulary))
        idf = np.log((n_docs + 2) / (df + 0.5))
        weight = docs.term_weight * idf[docs.term_id]
        norms = np.sqrt(np.bincount(docs.term_doc, weights=weight * weight, minlength=n_docs))
        q_counts = terms(question.title, question.tags)
        q_terms = {
            t: (1.0 + math.log(c)) * math.log((n_docs + 2) / (_df(df, docs.vocabulary, t) + 0.5))
            for t, c in q_counts.items()
        }
        q_norm = math.sqrt(math.fsum(x * x for x in q_terms.values()))
        if q_norm == 0:
            return sims
        q_vec = np.zeros(len(docs.vocabulary), dtype=np.float64)
        for t, x in q_terms.items():
            if t in docs.vocabulary:
                q_vec[docs.vocabulary[t]] = x / q_norm
        shared = q_vec[docs.term_id] != 0
        term_doc = docs.term_doc[shared]
        sims += np.bincount(
            term_doc, weights=q_vec[docs.term_id[shared]] * (weight[shared] / norms[term_doc]), minlength=n_docs
        )
        return sims

    def shared_tags(self, question: Question) -> _F64:
        """Per answer, how many of the question's tags its question has."""
        docs = self.docs
        wanted = np.zeros(len(docs.tag_ids) + 1, dtype=np.bool_)
        for tag in set(question.tags):
            if tag in docs.tag_ids:
                wanted[docs.tag_ids[tag]] = True
        per_doc = np.bincount(docs.tag_doc[wanted[docs.tag_id]], minlength=len(docs.question_ids))
        return per_doc[self.doc].astype(np.float64)


def _df(df: _I64, vocabulary: dict[str, int], term: str) -> int:
    code = vocabulary.get(term)
    return int(df[code]) if code is not None else 0

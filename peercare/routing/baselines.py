"""The reference routers of ROUTING_EVAL.md, as pure functions of (question, history, candidates).

- `random_router`: ties everyone (scored at its exact expectation, H_n / n).
- `most_active`: number of visible answers.
- `tag_frequency`: visible answers on the question's tags, counted once per shared tag.
- `tag_reputation_decay`: the same (answer, shared tag) pairs, each weighted by exp(-age / 60 days)
  times (1 + accepted + up votes - down votes), signals as public at routing time.

The reference table gives no exact formula for the last one; this reading reproduces its figures
within 0.015 MRR (see docs/routing.md), under the noise level of ~60 test questions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from peercare.routing.answer_log import AnswerLog
from peercare.routing.records import Answered, Question, User

DECAY_DAYS = 60.0
History = Sequence[Answered] | AnswerLog


def random_router(question: Question, history: History, candidates: Sequence[User]) -> list[float]:
    return [0.0] * len(candidates)


def most_active(question: Question, history: History, candidates: Sequence[User]) -> list[float]:
    log = AnswerLog.of(history)
    return log.for_candidates(log.per_user(), candidates)


def tag_frequency(question: Question, history: History, candidates: Sequence[User]) -> list[float]:
    log = AnswerLog.of(history)
    return log.for_candidates(log.per_user(log.shared_tags(question)), candidates)


def tag_reputation_decay(question: Question, history: History, candidates: Sequence[User]) -> list[float]:
    log = AnswerLog.of(history)
    shared = log.shared_tags(question)
    signal = 1.0 + log.accepted + log.up - log.down
    weights = np.where(shared > 0, shared * np.exp(-log.age_days(question.created) / DECAY_DAYS) * signal, 0.0)
    return log.for_candidates(log.per_user(weights), candidates)


BASELINES = {
    "random": random_router,
    "most_active": most_active,
    "tag_frequency": tag_frequency,
    "tag_reputation_decay": tag_reputation_decay,
}

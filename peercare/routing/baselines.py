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

import math
from collections import Counter
from collections.abc import Sequence

from peercare.routing.ranker import Answered, Question, User

DECAY_DAYS = 60.0
SECONDS_PER_DAY = 86_400.0


def random_router(question: Question, history: Sequence[Answered], candidates: Sequence[User]) -> list[float]:
    return [0.0] * len(candidates)


def most_active(question: Question, history: Sequence[Answered], candidates: Sequence[User]) -> list[float]:
    counts = Counter(a.answerer for a in history)
    return [float(counts[c]) for c in candidates]


def tag_frequency(question: Question, history: Sequence[Answered], candidates: Sequence[User]) -> list[float]:
    tags = set(question.tags)
    counts: Counter[User] = Counter()
    for a in history:
        counts[a.answerer] += len(tags.intersection(a.tags))
    return [float(counts[c]) for c in candidates]


def tag_reputation_decay(question: Question, history: Sequence[Answered], candidates: Sequence[User]) -> list[float]:
    tags = set(question.tags)
    scores: dict[User, float] = {}
    for a in history:
        shared = len(tags.intersection(a.tags))
        if not shared:
            continue
        age_days = (question.created - a.created).total_seconds() / SECONDS_PER_DAY
        signal = 1.0 + float(a.accepted) + a.up - a.down
        scores[a.answerer] = scores.get(a.answerer, 0.0) + shared * math.exp(-age_days / DECAY_DAYS) * signal
    return [scores.get(c, 0.0) for c in candidates]


BASELINES = {
    "random": random_router,
    "most_active": most_active,
    "tag_frequency": tag_frequency,
    "tag_reputation_decay": tag_reputation_decay,
}

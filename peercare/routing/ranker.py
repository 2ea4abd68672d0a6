"""The PeerCare router's ranking model: pure functions of (question, public history, candidates).

A candidate's score is a product of three estimates, each from history public at routing time:

    score(u) = activity(u) * affinity(u, q) * acceptance(u)

- activity: how much u answers lately, each past answer weighted by a power-law kernel
  1 / (1 + age in days). Human activity is bursty with heavy-tailed gaps, so a scale-free kernel
  is used instead of an exponential whose time constant would have to be fitted per community;
  the one unit, a day, is the resolution of the dumps' vote dates.
- affinity: the Bayesian-smoothed mean TF-IDF cosine similarity between q (title and tags) and the
  questions u answered. The prior mean is q's mean similarity to every visible question (what an
  advocate with no history is expected to score) and the prior weight is the mean number of
  answers per visible answerer, so a typical history and the prior count equally; both come from
  the data, not from a constant fitted to a site.
- acceptance: the Beta-smoothed share of u's answers that were accepted, over answers at least a day
  old (an acceptance is public from the next calendar day at the earliest). The prior is the site's
  own rate with the weight of two answers (Laplace's rule of succession, centred on the site).

A product of independent estimates is a naive-Bayes reading of P(u answers q and is accepted).
`score` and `candidate_features` are what the evaluation on Stack Exchange dumps ranks with (the
caller leaves the asker out of `candidates`).

For routing a PeerCare question, `rank_pool` adds what the offers need: each candidate's topic
reputation (the epoch's published score), open assignments and availability. It quantises the
three estimates to integers (ppm) and scores

    score(u) = (reputation(u) + prior) * fit(u),   fit(u) = relevance(u) / relevance(typical)

where relevance is activity x affinity x acceptance and the typical answerer has the visible
answerers' mean activity, the prior affinity and the site's acceptance rate (`Baseline`). The
score stays in reputation points: a candidate as active, on topic and accepted as the typical one
keeps their reputation, one twice as relevant counts double. Load and availability then act as in
`LoadRule`, and the asker is never eligible. `offers.route_question` turns that ranking into offers
and commits to these features.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from peercare.routing.answer_log import AnswerLog
from peercare.routing.records import Answered, Question, User, terms, tokenize

__all__ = ["AnswerLog", "Answered", "Question", "User", "terms", "tokenize"]  # re-exported for callers


@dataclass(frozen=True, slots=True)
class RankerConfig:
    """Defaults are chosen by the reasoning in the module docstring, not fitted to any site."""

    activity_exponent: float = 1.0
    """Power-law kernel exponent: 1 gives a harmonic decay, a recency rank without a time scale."""
    activity_unit_days: float = 1.0
    """The kernel's unit: a day, the resolution at which vote dates are public."""
    acceptance_prior_weight: float = 2.0
    """Pseudo-answers at the site's acceptance rate (rule of succession)."""
    acceptance_known_after_days: float = 1.0
    """Answers younger than this cannot show an acceptance yet and are left out of the rate."""
    affinity_prior_weight: float | None = None
    """Pseudo-answers at the prior similarity; None: the mean number of answers per answerer."""
    reputation_prior: int = 1_000_000
    """Topic reputation added to every candidate's before fit scales it (`rank_pool`): one fresh
    acceptance, so that fit alone can rank a candidate the reputation has not noticed yet."""


DEFAULT_CONFIG = RankerConfig()


@dataclass(frozen=True, slots=True)
class CandidateFeatures:
    """What the score of one candidate is made of (for explanations and decision commitments)."""

    user: User
    answers: int
    activity: float
    affinity: float
    acceptance: float
    score: float


@dataclass(frozen=True, slots=True)
class _Profile:
    """What the history says about every visible answerer, for one question: per user code of
    `log`, numpy arrays summed over their answers in the log's order."""

    log: AnswerLog
    activity: NDArray[np.float64]
    answers: NDArray[np.float64]
    sim_sum: NDArray[np.float64]
    known: NDArray[np.float64]
    accepted: NDArray[np.float64]
    prior_sim: float  # q's mean similarity to the visible questions
    affinity_weight: float  # pseudo-answers at prior_sim
    site_rate: float  # the site's smoothed acceptance rate
    acceptance_weight: float  # pseudo-answers at site_rate

    def features(self, user: User) -> CandidateFeatures:
        code = self.log.user_codes.get(user)
        if code is None:
            answers, activity, sim_sum, known, accepted = 0, 0.0, 0.0, 0.0, 0.0
        else:
            answers, activity = int(self.answers[code]), float(self.activity[code])
            sim_sum, known, accepted = float(self.sim_sum[code]), float(self.known[code]), float(self.accepted[code])
        m, w = self.affinity_weight, self.acceptance_weight
        affinity = (sim_sum + m * self.prior_sim) / (answers + m)
        acceptance = (accepted + w * self.site_rate) / (known + w)
        return CandidateFeatures(user, answers, activity, affinity, acceptance, activity * affinity * acceptance)


def _profile(question: Question, history: Sequence[Answered] | AnswerLog, config: RankerConfig) -> _Profile:
    log = AnswerLog.of(history)
    sims = log.similarities(question)
    prior_sim = math.fsum(sims.tolist()) / len(sims) if len(sims) else 0.0
    age_days = np.maximum(0.0, log.age_days(question.created))
    activity = log.per_user((1.0 + age_days / config.activity_unit_days) ** -config.activity_exponent)
    answers = log.per_user()
    known_mask = age_days >= config.acceptance_known_after_days
    known = log.per_user(known_mask.astype(np.float64))
    accepted = log.per_user((known_mask & log.accepted).astype(np.float64))
    answerers = int(np.count_nonzero(answers))
    m = config.affinity_prior_weight
    if m is None:
        m = len(log) / answerers if answerers else 1.0
    site_rate = (float(accepted.sum()) + 1.0) / (float(known.sum()) + 2.0)
    return _Profile(
        log,
        activity,
        answers,
        log.per_user(sims[log.doc]),
        known,
        accepted,
        prior_sim,
        m,
        site_rate,
        config.acceptance_prior_weight,
    )


def candidate_features(
    question: Question,
    history: Sequence[Answered] | AnswerLog,
    candidates: Sequence[User],
    config: RankerConfig = DEFAULT_CONFIG,
) -> list[CandidateFeatures]:
    """Features and score of each candidate, in the order given."""
    profile = _profile(question, history, config)
    return [profile.features(user) for user in candidates]


def score(
    question: Question,
    history: Sequence[Answered] | AnswerLog,
    candidates: Sequence[User],
    config: RankerConfig = DEFAULT_CONFIG,
) -> list[float]:
    """One score per candidate (higher is better); a candidate with no history scores 0."""
    return [f.score for f in candidate_features(question, history, candidates, config)]


def router(question: Question, history: Sequence[Answered] | AnswerLog, candidates: Sequence[User]) -> list[float]:
    """The PeerCare router with its default configuration."""
    return score(question, history, candidates)


# ---------------------------------------------------------------- ranking a pool for routing

#: The ranker's features in routing decisions are integers: millionths.
PPM = 1_000_000
BPS = 10_000


@dataclass(frozen=True, slots=True)
class PoolMember:
    """A candidate for a question as routing sees them when it is asked: their topic reputation at
    the current epoch, their open assignments, and whether they are available."""

    account: str  # lowercase 0x-hex, as the history's answerers
    reputation: int
    open_assignments: int = 0
    available: bool = True


@dataclass(frozen=True, slots=True)
class Baseline:
    """The typical visible answerer for the question, in the features' units (ppm): the mean
    activity of the visible answerers, the question's mean similarity to the visible questions (the
    affinity prior) and the site's smoothed acceptance rate. A candidate's fit is their activity x
    affinity x acceptance over this one's."""

    activity: int
    affinity: int
    acceptance: int

    @property
    def relevance(self) -> int:
        return self.activity * self.affinity * self.acceptance


@dataclass(frozen=True, slots=True)
class LoadRule:
    """How load and availability act on a score: a candidate who is the asker, unavailable, or at
    `max_open` open assignments is not eligible (score 0); each open assignment adds
    `load_penalty_bps` to the score's divisor."""

    max_open: int = 3
    load_penalty_bps: int = 5_000

    def eligible(self, is_asker: bool, open_assignments: int, available: bool) -> bool:
        return available and not is_asker and open_assignments < self.max_open

    def adjusted(self, score: int, open_assignments: int, eligible: bool) -> int:
        return score * BPS // (BPS + self.load_penalty_bps * open_assignments) if eligible else 0


@dataclass(frozen=True, slots=True)
class Ranked:
    """One candidate as `rank_pool` ranked them: every feature that went into the score, as integers."""

    account: str
    reputation: int
    answers: int  # visible answers
    activity: int  # ppm of one answer given today (power-law kernel in days)
    affinity: int  # ppm: smoothed mean TF-IDF cosine between the question and the questions they answered
    acceptance: int  # ppm: smoothed share of their answers accepted
    score: int  # `combined_score` of the above
    open_assignments: int
    available: bool
    eligible: bool
    adjusted: int  # `LoadRule.adjusted`: 0 if not eligible


def combined_score(
    reputation: int, activity: int, affinity: int, acceptance: int, baseline: Baseline, reputation_prior: int
) -> int:
    """(reputation + prior) x fit, fit = activity x affinity x acceptance / the baseline's, floored;
    (reputation + prior) when there is no baseline (no visible history to compare with). In the
    reputation's units (points), so the offer thresholds keep their meaning: a candidate exactly as
    active, on topic and accepted as the typical answerer scores their reputation plus the prior."""
    typical = baseline.relevance
    if typical <= 0:
        return reputation + reputation_prior
    return (reputation + reputation_prior) * activity * affinity * acceptance // typical


def _ppm(value: float) -> int:
    return round(value * PPM)


def rank_pool(
    question: Question,
    history: Sequence[Answered],
    pool: Sequence[PoolMember],
    rule: LoadRule = LoadRule(),
    config: RankerConfig = DEFAULT_CONFIG,
) -> tuple[Baseline, list[Ranked]]:
    """Rank a question's candidate pool: topic reputation, text and tags (affinity), recency
    (activity), acceptance, load and availability; the asker (`question.asker`) is never eligible.
    Best first: by adjusted score, then by account. The float estimates of `candidate_features` are
    quantised to ppm once, here; everything after is integer arithmetic on what is returned, so a
    routing decision can commit to these features and anyone can recompute the choice from them."""
    accounts = [m.account.lower() for m in pool]
    if len(set(accounts)) != len(accounts):
        raise ValueError("a candidate appears twice in the pool")
    if any(m.reputation < 0 or m.open_assignments < 0 for m in pool):
        raise ValueError("reputation and open assignments must not be negative")
    profile = _profile(question, history, config)
    answerers = int(np.count_nonzero(profile.answers))
    baseline = Baseline(
        _ppm(math.fsum(profile.activity.tolist()) / answerers) if answerers else 0,
        _ppm(profile.prior_sim),
        _ppm(profile.site_rate),
    )
    asker = question.asker.lower() if isinstance(question.asker, str) else question.asker
    ranked = []
    for member, account in zip(pool, accounts, strict=True):
        features = profile.features(account)
        activity, affinity, acceptance = _ppm(features.activity), _ppm(features.affinity), _ppm(features.acceptance)
        score = combined_score(member.reputation, activity, affinity, acceptance, baseline, config.reputation_prior)
        eligible = rule.eligible(account == asker, member.open_assignments, member.available)
        ranked.append(
            Ranked(
                account,
                member.reputation,
                features.answers,
                activity,
                affinity,
                acceptance,
                score,
                member.open_assignments,
                member.available,
                eligible,
                rule.adjusted(score, member.open_assignments, eligible),
            )
        )
    ranked.sort(key=lambda r: (-r.adjusted, r.account))
    return baseline, ranked

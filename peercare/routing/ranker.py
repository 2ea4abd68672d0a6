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

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

SECONDS_PER_DAY = 86_400.0

#: Who asks and answers: a user id in the Stack Exchange dumps, an address (0x-hex) in PeerCare.
User = int | str


@dataclass(frozen=True, slots=True)
class Question:
    """The question being routed: everything about it that is known when it is asked."""

    question_id: int
    asker: User | None
    created: datetime
    tags: tuple[str, ...]
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Answered:
    """One past answer as public at routing time: who, when, on what, and its signals so far."""

    answer_id: int
    answerer: User
    created: datetime
    question_id: int
    asker: User | None
    tags: tuple[str, ...]
    title: str
    accepted: bool
    up: int
    down: int


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


_STOPWORD_TEXT = """a about an and any are as at be by can could do does for from get has have how i if in is it
its my no not of on or should so than that the their there this to use using was we what when where which while who
why will with would you your"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+#.\-]*[a-z0-9+#]|[a-z0-9]")
_HTML_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=65_536)
def tokenize(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens of a title or HTML body, without stopwords and one-letter words."""
    plain = html.unescape(_HTML_TAG.sub(" ", text)).lower()
    return tuple(t for t in _TOKEN.findall(plain) if len(t) > 1 and t not in _STOPWORDS)


def terms(title: str, tags: Iterable[str]) -> Counter[str]:
    """Term counts of a question: its title words and its tags (as `tag:` terms, apart from words)."""
    counts = Counter(tokenize(title))
    counts.update(f"tag:{tag}" for tag in tags)
    return counts


def tfidf(counts: Counter[str], df: Counter[str], n_docs: int) -> dict[str, float]:
    """Unit-length vector with sublinear term frequency and a smoothed, always positive idf."""
    vec = {t: (1.0 + math.log(c)) * math.log((n_docs + 1) / (df[t] + 0.5)) for t, c in counts.items() if c > 0}
    norm = math.sqrt(math.fsum(x * x for x in vec.values()))
    return {t: x / norm for t, x in vec.items()} if norm > 0 else {}


def question_similarities(question: Question, history: Sequence[Answered]) -> dict[int, float]:
    """Cosine similarity between the question and each distinct visible answered question."""
    docs: dict[int, Counter[str]] = {}
    for a in history:
        if a.question_id not in docs:
            docs[a.question_id] = terms(a.title, a.tags)
    df: Counter[str] = Counter()
    for counts in docs.values():
        df.update(counts.keys())
    n_docs = len(docs) + 1
    q_vec = tfidf(terms(question.title, question.tags), df, n_docs)
    sims = {}
    for qid, counts in docs.items():
        vec = tfidf(counts, df, n_docs)
        sims[qid] = math.fsum(q_vec[t] * x for t, x in vec.items() if t in q_vec)
    return sims


@dataclass(frozen=True, slots=True)
class _Profile:
    """What the history says about every visible answerer, for one question."""

    activity: Counter[User]
    answers: Counter[User]
    sim_sum: dict[User, float]
    known: Counter[User]
    accepted: Counter[User]
    prior_sim: float  # q's mean similarity to the visible questions
    affinity_weight: float  # pseudo-answers at prior_sim
    site_rate: float  # the site's smoothed acceptance rate
    acceptance_weight: float  # pseudo-answers at site_rate

    def features(self, user: User) -> CandidateFeatures:
        answers, m, w = self.answers[user], self.affinity_weight, self.acceptance_weight
        affinity = (self.sim_sum.get(user, 0.0) + m * self.prior_sim) / (answers + m)
        acceptance = (self.accepted[user] + w * self.site_rate) / (self.known[user] + w)
        activity = self.activity[user]
        return CandidateFeatures(user, answers, activity, affinity, acceptance, activity * affinity * acceptance)


def _profile(question: Question, history: Sequence[Answered], config: RankerConfig) -> _Profile:
    sims = question_similarities(question, history)
    prior_sim = math.fsum(sims.values()) / len(sims) if sims else 0.0
    activity: Counter[User] = Counter()
    answers: Counter[User] = Counter()
    sim_sum: dict[User, float] = {}
    known: Counter[User] = Counter()
    accepted: Counter[User] = Counter()
    for a in history:
        age_days = max(0.0, (question.created - a.created).total_seconds() / SECONDS_PER_DAY)
        activity[a.answerer] += (1.0 + age_days / config.activity_unit_days) ** -config.activity_exponent
        answers[a.answerer] += 1
        sim_sum[a.answerer] = sim_sum.get(a.answerer, 0.0) + sims[a.question_id]
        if age_days >= config.acceptance_known_after_days:
            known[a.answerer] += 1
            accepted[a.answerer] += int(a.accepted)
    answerers = len(answers)
    m = config.affinity_prior_weight
    if m is None:
        m = len(history) / answerers if answerers else 1.0
    site_rate = (sum(accepted.values()) + 1.0) / (sum(known.values()) + 2.0)
    return _Profile(
        activity, answers, sim_sum, known, accepted, prior_sim, m, site_rate, config.acceptance_prior_weight
    )


def candidate_features(
    question: Question, history: Sequence[Answered], candidates: Sequence[User], config: RankerConfig = DEFAULT_CONFIG
) -> list[CandidateFeatures]:
    """Features and score of each candidate, in the order given."""
    profile = _profile(question, history, config)
    return [profile.features(user) for user in candidates]


def score(
    question: Question, history: Sequence[Answered], candidates: Sequence[User], config: RankerConfig = DEFAULT_CONFIG
) -> list[float]:
    """One score per candidate (higher is better); a candidate with no history scores 0."""
    return [f.score for f in candidate_features(question, history, candidates, config)]


def router(question: Question, history: Sequence[Answered], candidates: Sequence[User]) -> list[float]:
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
    answerers = len(profile.answers)
    baseline = Baseline(
        _ppm(math.fsum(profile.activity.values()) / answerers) if answerers else 0,
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

"""Scores per (advocate, topic): acceptances plus trust, as integers fit for Merkle leaves.

    score = sum over credited acceptances of accept_points * decay(age) * part / ONE
          + trust_ppb * trust_points_per_percent / 10^7

An acceptance is the brand's verdict and counts directly, decayed like ratings. When the
acceptance paid a swarm (several `RewardCredited` for the question), each member is credited in
proportion to the amount it received; otherwise the accepted advocate gets the whole credit.
Bounty sizes do not count (a brand sets them, and inflating them must not buy reputation). Trust
(see `trust.py`) is the share of the topic's trust the advocate holds: what raters, weighted by
their own trust, conferred. Acceptances are kept out of trust propagation, so an extra acceptance
raises exactly one score by exactly its own credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from peercare.reputation.history import Acceptance, History, Payout, account_key
from peercare.reputation.trust import TopicTrust, trust_by_topic
from peercare.reputation.trust_model import BRAND, DECAY_STEPS, ONE, TrustParams, decay


@dataclass(frozen=True, slots=True)
class ScoreParams:
    """How acceptances and trust add up; goes into every epoch manifest with the trust parameters."""

    accept_points: int = 1_000_000  # score of one fresh acceptance
    trust_points_per_percent: int = 1_000_000  # score of holding 1% of the topic's trust
    trust: TrustParams = field(default_factory=TrustParams)

    def __post_init__(self) -> None:
        if self.accept_points < 0 or self.trust_points_per_percent < 0:
            raise ValueError("score weights must not be negative")

    def as_json(self) -> dict[str, object]:
        return asdict(self)


#: (advocate, topic) -> score
Scores = dict[tuple[str, bytes], int]


def acceptance_credit(
    acceptances: tuple[Acceptance, ...], payouts: tuple[Payout, ...], cut: int, params: ScoreParams
) -> Scores:
    """Decayed acceptance credit per (account, topic), split across a swarm by its payouts."""
    paid: dict[bytes, dict[str, int]] = defaultdict(dict)
    for payout in payouts:
        if payout.time <= cut and payout.amount > 0:
            row = paid[payout.question_id]
            account = account_key(payout.account)
            row[account] = row.get(account, 0) + payout.amount
    credit: Scores = {}
    half_life = params.trust.half_life
    full_at_step: dict[int, int] = {}  # the credit depends on the age only through its decay step
    # Whole credits summed per (advocate as written, topic), keyed canonically once at the end.
    whole: dict[tuple[str, bytes], int] = {}
    for acceptance in acceptances:
        age = cut - acceptance.time
        if age < 0:
            continue
        step = age * DECAY_STEPS // half_life
        full = full_at_step.get(step)
        if full is None:
            full = full_at_step[step] = params.accept_points * decay(age, half_life) // ONE
        members = paid.get(acceptance.question_id) if paid else None
        if members and len(members) > 1:
            total = sum(members.values())
            for account, amount in members.items():
                part = full * amount // total
                if part:
                    key = (account, acceptance.topic)
                    credit[key] = credit.get(key, 0) + part
        else:
            raw = (acceptance.advocate, acceptance.topic)
            whole[raw] = whole.get(raw, 0) + full
    for (advocate, topic), points in whole.items():
        if points:
            key = (account_key(advocate), topic)
            credit[key] = credit.get(key, 0) + points
    return credit


def trust_points(trust: TopicTrust, params: ScoreParams) -> Scores:
    """Score from trust: parts per billion of the topic times points per percent (10^7 ppb)."""
    return {
        (node, trust.topic): share * params.trust_points_per_percent // 10**7
        for node, share in trust.trust.items()
        if node != BRAND and node.startswith("0x") and len(node) == 42
    }


def compute_scores(
    history: History, params: ScoreParams | None = None, engine: str = "auto"
) -> tuple[Scores, dict[bytes, TopicTrust]]:
    """Every positive score of the history, and the trust per topic it came from (`engine`: see
    `trust.trust_by_topic`; every engine gives the same scores)."""
    params = params or ScoreParams()
    scores = acceptance_credit(history.acceptances, history.payouts, history.cut, params)
    trusts = trust_by_topic(history, params.trust, engine)
    for trust in trusts.values():
        for key, points in trust_points(trust, params).items():
            scores[key] = scores.get(key, 0) + points
    return {key: value for key, value in scores.items() if value > 0}, trusts


def scores_of(history: History, params: ScoreParams | None = None) -> Scores:
    return compute_scores(history, params)[0]


def ranked(scores: Mapping[tuple[str, bytes], int], topic: bytes) -> list[tuple[str, int]]:
    """(advocate, score) in one topic, best first, ties by address."""
    return sorted(((a, s) for (a, t), s in scores.items() if t == topic), key=lambda pair: (-pair[1], pair[0]))

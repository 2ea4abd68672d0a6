"""Routing mechanics: who is offered a question, on top of the ranker's scores.

`route_question` is the whole decision for a question: `ranker.rank_pool` scores its candidate pool
(topic reputation, text and tags, recency, acceptance, load, availability; never the asker) and
the mechanics below turn that ranking into offers, committing to every candidate's features.
`route` is the same mechanics with the topic reputation alone as the score (or any score function),
walking a large candidate index best first. Both

- never offer the question to its asker, skip the unavailable and those at `max_open` open
  assignments, and divide everyone else's score by `1 + load_penalty * open_assignments`
  (`ranker.LoadRule`, one rule for both);
- protect an exploration share for newcomers: each offer slot is, with probability
  `explore_bps / 10_000` drawn from the question's seed, given to a newcomer picked by the seed
  (`exposure` reports the figures over many decisions);
- swarm low-confidence or escalated questions: `swarm_size` advocates plus the best brand
  expert, with credit shares in basis points summing to 10,000 (what `acceptAnswerWithSwarm`
  takes);
- commit to the decision: keccak256 of a packed canonical encoding of the question, the candidate
  index's digest, the parameters, every candidate whose features were read (with those features)
  and the choice, so an advocate or auditor can check it later (`commitment_of`, `replay`,
  `decision_record` and `decision_from_record`).

Deterministic: the only randomness is keccak256 of the question id, and every quantity that
decides anything is an integer. With the default score (the reputation itself) `route` walks the
index best-first and stops as soon as no remaining reputation can beat the current k-th best,
since load and availability only lower a score: a few dozen candidates are read out of 100,000. A
custom score function is read for every candidate, and `route_question` reads the whole pool.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from peercare.routing.ranker import (
    DEFAULT_CONFIG,
    Answered,
    Baseline,
    LoadRule,
    PoolMember,
    Question,
    RankerConfig,
    combined_score,
    rank_pool,
)

BPS = 10_000
ZERO_ADDRESS = "0x" + "00" * 20
#: Seeds the exploration draws (`question_seed`).
DOMAIN = keccak(b"peercare.routing.v1")
#: Opens every decision's encoding (`commitment_of`); v2 added the ranker's features.
DECISION_DOMAIN = keccak(b"peercare.routing.decision.v2")
NO_BASELINE = Baseline(0, 0, 0)

#: A candidate's score for the question being routed (non-negative int; higher is better).
ScoreFn = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class OfferParams:
    """Routing parameters; committed with every decision."""

    offers: int = 3  # advocates offered a direct question
    explore_bps: int = 1_000  # share of offer slots reserved for newcomers
    newcomer_below: int = 1_000_000  # reputation under which an account is a newcomer (one fresh acceptance)
    max_open: int = 3  # an advocate with this many open assignments gets no new offer
    load_penalty_bps: int = 5_000  # each open assignment adds 50% to the score's divisor
    swarm_size: int = 3  # advocates in a swarm, plus one brand expert
    min_confident_score: int = 1_000_000  # a top score below this swarms the question
    min_margin_bps: int = 1_000  # the top must beat the runner-up by this share of its score, or swarm
    expert_bps: int = 2_000  # the expert's credit share in a swarm
    explore_probes: int = 64  # newcomers tried from the seeded start before a slot falls back

    def __post_init__(self) -> None:
        if self.offers < 1 or self.swarm_size < 1:
            raise ValueError("offers and swarm_size must be at least 1")
        if not 0 <= self.explore_bps <= BPS or not 0 <= self.expert_bps < BPS:
            raise ValueError("explore_bps must be in [0, 10000] and expert_bps in [0, 10000)")
        if min(self.max_open, self.load_penalty_bps, self.min_confident_score, self.min_margin_bps) < 0:
            raise ValueError("routing parameters must not be negative")

    @property
    def load_rule(self) -> LoadRule:
        return LoadRule(self.max_open, self.load_penalty_bps)


def _key(account: str) -> str:
    key = account.lower()
    if len(key) != 42 or not key.startswith("0x"):
        raise ValueError(f"not a 20-byte hex address: {account!r}")
    return key


class CandidateIndex:
    """The candidates of one topic at one epoch: reputation per account, best first, and the
    newcomers among them. Built once per (topic, epoch); `digest` commits to its content."""

    def __init__(self, reputation: Mapping[str, int], newcomer_below: int = 1_000_000) -> None:
        pairs = sorted(((_key(a), r) for a, r in reputation.items()), key=lambda p: (-p[1], p[0]))
        if any(r < 0 for _, r in pairs):
            raise ValueError("reputation must not be negative")
        self.accounts: list[str] = [a for a, _ in pairs]
        self.reputation: dict[str, int] = dict(pairs)
        self.ranked: list[int] = [r for _, r in pairs]
        self.newcomer_below = newcomer_below
        self.newcomers: list[str] = sorted(a for a, r in pairs if r < newcomer_below)
        packed = b"".join(bytes.fromhex(a[2:]) + r.to_bytes(32, "big") for a, r in sorted(pairs))
        self.digest: bytes = keccak(b"peercare.candidates.v1" + newcomer_below.to_bytes(32, "big") + packed)

    def __len__(self) -> int:
        return len(self.accounts)

    def is_newcomer(self, account: str) -> bool:
        return self.reputation.get(account, 0) < self.newcomer_below


@dataclass(frozen=True, slots=True)
class LiveState:
    """What changes between epochs: open assignments per account, and who is unavailable."""

    open_assignments: Mapping[str, int] = field(default_factory=dict)
    unavailable: Set[str] = frozenset()

    def load(self, account: str) -> int:
        return self.open_assignments.get(account, 0)


@dataclass(frozen=True, slots=True)
class OfferRequest:
    """The question to route."""

    question_id: bytes  # bytes32; seeds every random choice
    topic: bytes  # bytes32
    asker: str | None = None  # never offered the question
    escalated: bool = False  # always swarmed


@dataclass(frozen=True, slots=True, order=True)
class Evaluated:
    """A candidate whose features the decision read, with those features. The last four are the
    ranker's (`ranker.Ranked`), 0 in a decision on reputation alone."""

    account: str
    reputation: int
    score: int  # the score: the ranker's combined score, the reputation, or the score function's value
    adjusted: int  # after the load penalty; 0 if not eligible
    open_assignments: int
    available: bool
    newcomer: bool
    eligible: bool  # available, not the asker, under max_open
    answers: int = 0  # visible answers
    activity: int = 0  # ppm
    affinity: int = 0  # ppm
    acceptance: int = 0  # ppm


@dataclass(frozen=True, slots=True)
class Share:
    """`IPeerCareLedger.Share`: a swarm member's basis points of the bounty."""

    account: str
    bps: int


@dataclass(frozen=True)
class RoutingDecision:
    request: OfferRequest
    mode: Literal["direct", "swarm"]
    offers: tuple[str, ...]  # advocates offered the question, in order
    explored: tuple[str, ...]  # those of `offers` placed by exploration slots
    expert: str | None  # the swarm's brand expert
    shares: tuple[Share, ...]  # swarm credit shares summing to 10,000 (empty in direct mode)
    evaluated: tuple[Evaluated, ...]  # sorted by account
    index_digest: bytes
    params: OfferParams
    commitment: bytes
    basis: Literal["reputation", "ranker"] = "reputation"  # where the scores came from
    question_digest: bytes = bytes(32)  # `question_digest` of what the ranker read; zero on reputation
    baseline: Baseline = NO_BASELINE  # the ranker's typical answerer (`ranker.Baseline`)
    reputation_prior: int = 0  # the ranker's `RankerConfig.reputation_prior`


def question_seed(question_id: bytes) -> bytes:
    return keccak(DOMAIN + question_id)


def explore_slots(question_id: bytes, slots: int, explore_bps: int) -> list[bool]:
    """Which of the first `slots` offer slots go to exploration, drawn from the question's seed."""
    seed = question_seed(question_id)
    return [int.from_bytes(keccak(seed + bytes([s])), "big") % BPS < explore_bps for s in range(slots)]


def swarm_shares(weights: Sequence[tuple[str, int]], total: int = BPS) -> tuple[Share, ...]:
    """Split `total` basis points across members in proportion to their (non-negative) weights,
    every member getting at least 1: largest remainders, ties by address. Duplicates are merged."""
    merged: dict[str, int] = {}
    for account, weight in weights:
        if weight < 0:
            raise ValueError("weights must not be negative")
        merged[_key(account)] = merged.get(_key(account), 0) + weight
    if not merged:
        return ()
    if len(merged) > total:
        raise ValueError(f"{len(merged)} members cannot each get a basis point of {total}")
    members = sorted(merged)
    if sum(merged.values()) == 0:
        merged = dict.fromkeys(members, 1)
    weight_sum = sum(merged.values())
    rest = total - len(members)
    base = {m: 1 + rest * merged[m] // weight_sum for m in members}
    remainders = sorted(members, key=lambda m: (-(rest * merged[m] % weight_sum), m))
    for m in remainders[: total - sum(base.values())]:
        base[m] += 1
    return tuple(Share(to_checksum_address(m), base[m]) for m in members)


def route(
    request: OfferRequest,
    index: CandidateIndex,
    live: LiveState | None = None,
    params: OfferParams | None = None,
    score: ScoreFn | None = None,
    experts: Iterable[str] = (),
) -> RoutingDecision:
    """Decide who is offered `request` with the topic reputation as the score (or `score`); see the
    module docstring. `route_question` is the same with the ranker's scores."""
    params = params or OfferParams()
    live = live or LiveState()
    rule = params.load_rule
    asker = _key(request.asker) if request.asker else None
    read: dict[str, Evaluated] = {}

    def evaluate(account: str) -> Evaluated:
        found = read.get(account)
        if found is not None:
            return found
        value = index.reputation.get(account, 0) if score is None else score(account)
        if value < 0:
            raise ValueError(f"score of {account} is negative: {value}")
        load = live.load(account)
        available = account not in live.unavailable
        eligible = rule.eligible(account == asker, load, available)
        found = Evaluated(
            account,
            index.reputation.get(account, 0),
            value,
            rule.adjusted(value, load, eligible),
            load,
            available,
            index.is_newcomer(account),
            eligible,
        )
        read[account] = found
        return found

    need = max(params.offers, params.swarm_size, 2)
    top: list[tuple[int, str]] = []  # min-heap of (adjusted, inverted-order key) over eligible

    def push(candidate: Evaluated) -> None:
        item = (candidate.adjusted, _inverted(candidate.account))
        if len(top) < need:
            heapq.heappush(top, item)
        elif item > top[0]:
            heapq.heapreplace(top, item)

    for position, account in enumerate(index.accounts):
        if score is None and len(top) == need and index.ranked[position] < top[0][0]:
            break  # no later reputation can reach the k-th best: load only lowers a score
        candidate = evaluate(account)
        if candidate.eligible:
            push(candidate)
    ranked = [_inverted(k) for _, k in sorted(top, reverse=True)]
    return _decide(request, index, params, ranked, evaluate, experts, lambda: tuple(sorted(read.values())))


def route_question(
    request: OfferRequest,
    question: Question,
    history: Sequence[Answered],
    pool: Sequence[PoolMember],
    params: OfferParams | None = None,
    experts: Iterable[str] = (),
    config: RankerConfig = DEFAULT_CONFIG,
) -> RoutingDecision:
    """The offer decision for a question: `ranker.rank_pool` ranks the pool (each member with their
    topic reputation, open assignments and availability) from the public history, and the
    mechanics of the module docstring choose from that ranking. The decision records, and commits
    to, every pool member with the ranker's features, the ranker's baseline and prior, and a digest
    of the question the ranker read; `replay` recomputes the choice from those alone. The asker is
    `request.asker` (`question.asker` must be the same or None). A swarm's expert is chosen among
    `experts` who are in the pool."""
    params = params or OfferParams()
    asker = _key(request.asker) if request.asker else None
    if question.asker is not None and (not isinstance(question.asker, str) or _key(question.asker) != asker):
        raise ValueError(f"the question's asker {question.asker!r} is not the request's {request.asker!r}")
    baseline, ranking = rank_pool(replace(question, asker=asker), history, pool, params.load_rule, config)
    index = CandidateIndex({r.account: r.reputation for r in ranking}, params.newcomer_below)
    read = {
        r.account: Evaluated(
            _key(r.account),
            r.reputation,
            r.score,
            r.adjusted,
            r.open_assignments,
            r.available,
            index.is_newcomer(r.account),
            r.eligible,
            r.answers,
            r.activity,
            r.affinity,
            r.acceptance,
        )
        for r in ranking
    }
    ranked = [r.account for r in ranking if r.eligible]
    context = _Context("ranker", question_digest(question), baseline, config.reputation_prior)
    return _decide(request, index, params, ranked, read.get, experts, lambda: tuple(sorted(read.values())), context)


@dataclass(frozen=True, slots=True)
class _Context:
    """Where a decision's scores came from (`RoutingDecision.basis` and the ranker's fields)."""

    basis: Literal["reputation", "ranker"] = "reputation"
    question_digest: bytes = bytes(32)
    baseline: Baseline = NO_BASELINE
    reputation_prior: int = 0


ON_REPUTATION = _Context()


def _decide(
    request: OfferRequest,
    index: CandidateIndex,
    params: OfferParams,
    ranked: list[str],
    evaluate: Callable[[str], Evaluated | None],
    experts: Iterable[str],
    evaluated: Callable[[], tuple[Evaluated, ...]],
    context: _Context = ON_REPUTATION,
) -> RoutingDecision:
    """The choice from a ranking (eligible accounts, best first; at least the best `offers`,
    `swarm_size` and two): mode, offers with exploration, the swarm's expert and shares, with
    the record of every candidate read (`evaluated`, called once the choice is made) and the
    commitment."""
    adjusted = [_evaluated(evaluate, a).adjusted for a in ranked]
    low_confidence = (
        request.escalated
        or not ranked
        or adjusted[0] < params.min_confident_score
        or (len(adjusted) > 1 and (adjusted[0] - adjusted[1]) * BPS < params.min_margin_bps * adjusted[0])
    )
    mode: Literal["direct", "swarm"] = "swarm" if low_confidence else "direct"
    slots = params.swarm_size if mode == "swarm" else params.offers
    offers, explored = _fill_slots(request, index, params, slots, ranked, evaluate)

    expert: str | None = None
    shares: tuple[Share, ...] = ()
    if mode == "swarm":
        pool = [evaluate(_key(e)) for e in sorted(set(experts))]
        eligible = [e for e in pool if e is not None and e.eligible and e.account not in offers]
        if eligible:
            expert = min(eligible, key=lambda e: (-e.score, e.account)).account
        advocate_bps = BPS - params.expert_bps if expert else BPS
        if offers:
            # Half of the advocates' credit equally, half by adjusted score: a newcomer brought in
            # by exploration still gets a real share.
            scores = [_evaluated(evaluate, a).adjusted for a in offers]
            weights = [(a, s * len(offers) + sum(scores)) for a, s in zip(offers, scores, strict=True)]
            shares = swarm_shares(weights, advocate_bps)
        if expert:
            shares = tuple(
                sorted(
                    (*shares, Share(to_checksum_address(expert), BPS - sum(s.bps for s in shares))),
                    key=lambda s: s.account.lower(),
                )
            )
    decision = RoutingDecision(
        request=request,
        mode=mode,
        offers=tuple(offers),
        explored=tuple(explored),
        expert=expert,
        shares=shares,
        evaluated=evaluated(),
        index_digest=index.digest,
        params=params,
        commitment=b"",
        basis=context.basis,
        question_digest=context.question_digest,
        baseline=context.baseline,
        reputation_prior=context.reputation_prior,
    )
    object.__setattr__(decision, "commitment", commitment_of(decision))  # ours until returned
    return decision


def _evaluated(evaluate: Callable[[str], Evaluated | None], account: str) -> Evaluated:
    found = evaluate(account)
    if found is None:
        raise ValueError(f"{account} is not a candidate")
    return found


def _inverted(account: str) -> str:
    """Maps an address to one that sorts in reverse (so a min-heap keeps the lowest addresses on ties)."""
    return "0x" + (int(account[2:], 16) ^ (2**160 - 1)).to_bytes(20, "big").hex()


def _fill_slots(
    request: OfferRequest,
    index: CandidateIndex,
    params: OfferParams,
    slots: int,
    ranked: list[str],
    evaluate: Callable[[str], Evaluated | None],
) -> tuple[list[str], list[str]]:
    offers: list[str] = []
    explored: list[str] = []
    organic = iter(ranked)
    seed = question_seed(request.question_id)
    for slot, explore in enumerate(explore_slots(request.question_id, slots, params.explore_bps)):
        pick = None
        if explore and index.newcomers:
            start = int.from_bytes(keccak(seed + b"newcomer" + bytes([slot])), "big") % len(index.newcomers)
            for probe in range(min(params.explore_probes, len(index.newcomers))):
                account = index.newcomers[(start + probe) % len(index.newcomers)]
                if account not in offers and account not in ranked[:slots] and _evaluated(evaluate, account).eligible:
                    pick = account
                    break
        if pick is not None:
            explored.append(pick)
        else:
            pick = next((a for a in organic if a not in offers), None)
            if pick is None:
                continue
        offers.append(pick)
    return offers, explored


def question_digest(question: Question) -> bytes:
    """keccak256 of what the ranker reads of a question, packed: created (unix milliseconds, 8
    bytes; a naive datetime is UTC) | title length 4 | title (UTF-8) | tag count 4 | per tag: length
    2 | tag (UTF-8). The body is not read (see docs/routing.md)."""
    created = question.created if question.created.tzinfo else question.created.replace(tzinfo=UTC)
    millis = (created - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    title = question.title.encode()
    parts = [b"peercare.routing.question.v1", millis.to_bytes(8, "big", signed=True)]
    parts += [len(title).to_bytes(4, "big"), title, len(question.tags).to_bytes(4, "big")]
    for tag in question.tags:
        raw = tag.encode()
        parts += [len(raw).to_bytes(2, "big"), raw]
    return keccak(b"".join(parts))


def _address(account: str | None) -> bytes:
    return bytes.fromhex((account or ZERO_ADDRESS)[2:])


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _encoded(decision: RoutingDecision) -> bytes:
    """The canonical encoding, packed big-endian (Solidity's `abi.encodePacked` widths):
    DECISION_DOMAIN | questionId | topic | asker 20 | escalated 1 | indexDigest | params (uint256
    each, in field order) | basis 1 (0 reputation, 1 ranker) | questionDigest 32 | reputationPrior 32
    | baseline activity 32 | affinity 32 | acceptance 32 | count 4 | per evaluated candidate, by
    address: account 20 | reputation 32 | score 32 | adjusted 32 | openAssignments 32 | available 1
    | newcomer 1 | eligible 1 | answers 32 | activity 32 | affinity 32 | acceptance 32 | mode 1 (0
    direct, 1 swarm) | count 4 | offers 20 each | count 4 | explored 20 each | expert 20 | count 4 |
    per share: account 20 | bps 2."""
    request = decision.request
    parts = [
        DECISION_DOMAIN,
        request.question_id,
        request.topic,
        _address(request.asker),
        bytes([request.escalated]),
        decision.index_digest,
        *(_word(getattr(decision.params, name)) for name in OfferParams.__slots__),
        bytes([0 if decision.basis == "reputation" else 1]),
        decision.question_digest,
        _word(decision.reputation_prior),
        *(_word(getattr(decision.baseline, name)) for name in Baseline.__slots__),
        len(decision.evaluated).to_bytes(4, "big"),
    ]
    parts += [
        _address(e.account)
        + _word(e.reputation)
        + _word(e.score)
        + _word(e.adjusted)
        + _word(e.open_assignments)
        + bytes((e.available, e.newcomer, e.eligible))
        + _word(e.answers)
        + _word(e.activity)
        + _word(e.affinity)
        + _word(e.acceptance)
        for e in decision.evaluated
    ]
    parts.append(bytes([0 if decision.mode == "direct" else 1]))
    for accounts in (decision.offers, decision.explored):
        parts.append(len(accounts).to_bytes(4, "big"))
        parts += [_address(a) for a in accounts]
    parts.append(_address(decision.expert))
    parts.append(len(decision.shares).to_bytes(4, "big"))
    parts += [_address(s.account.lower()) + s.bps.to_bytes(2, "big") for s in decision.shares]
    return b"".join(parts)


def commitment_of(decision: RoutingDecision) -> bytes:
    """keccak256 of the decision's canonical encoding (the `commitment` field excluded)."""
    return keccak(_encoded(decision))


def replay(
    decision: RoutingDecision,
    index: CandidateIndex | None = None,
    score: ScoreFn | None = None,
    experts: Iterable[str] = (),
) -> bool:
    """Whether deciding again, with the features the decision recorded, gives the same commitment:
    what an auditor runs with the decision's record (`decision_from_record`). A decision on
    reputation is re-routed on the epoch's `index` with the recorded live state; a decision of
    `route_question` needs no index: its record holds the whole pool with the ranker's features,
    from which every score, eligibility and the ranking are recomputed and checked."""
    if commitment_of(decision) != decision.commitment:
        return False
    if decision.basis == "ranker":
        return _replay_ranked(decision, experts)
    if index is None or index.digest != decision.index_digest:
        return False
    live = LiveState(
        {e.account: e.open_assignments for e in decision.evaluated},
        frozenset(e.account for e in decision.evaluated if not e.available),
    )
    again = route(decision.request, index, live, decision.params, score, experts)
    return again.commitment == decision.commitment


def _replay_ranked(decision: RoutingDecision, experts: Iterable[str]) -> bool:
    params = decision.params
    rule = params.load_rule
    asker = _key(decision.request.asker) if decision.request.asker else None
    index = CandidateIndex({e.account: e.reputation for e in decision.evaluated}, params.newcomer_below)
    if index.digest != decision.index_digest:
        return False  # the record is not the whole pool the decision was made on
    read: dict[str, Evaluated] = {}
    for e in decision.evaluated:
        score = combined_score(
            e.reputation, e.activity, e.affinity, e.acceptance, decision.baseline, decision.reputation_prior
        )
        eligible = rule.eligible(e.account == asker, e.open_assignments, e.available)
        read[e.account] = replace(
            e,
            score=score,
            adjusted=rule.adjusted(score, e.open_assignments, eligible),
            newcomer=index.is_newcomer(e.account),
            eligible=eligible,
        )
    ranked = [e.account for e in sorted(read.values(), key=lambda e: (-e.adjusted, e.account)) if e.eligible]
    context = _Context(decision.basis, decision.question_digest, decision.baseline, decision.reputation_prior)
    again = _decide(
        decision.request, index, params, ranked, read.get, experts, lambda: tuple(sorted(read.values())), context
    )
    return again.commitment == decision.commitment


def decision_record(decision: RoutingDecision) -> dict[str, Any]:
    """The decision as JSON, for the oracle's log and auditors (`decision_from_record` reads it)."""
    return {
        "questionId": "0x" + decision.request.question_id.hex(),
        "topic": "0x" + decision.request.topic.hex(),
        "asker": decision.request.asker,
        "escalated": decision.request.escalated,
        "basis": decision.basis,
        "questionDigest": "0x" + decision.question_digest.hex(),
        "baseline": dict(zip(Baseline.__slots__, astuple(decision.baseline), strict=True)),
        "reputationPrior": decision.reputation_prior,
        "mode": decision.mode,
        "offers": list(decision.offers),
        "explored": list(decision.explored),
        "expert": decision.expert,
        "shares": [{"account": s.account, "bps": s.bps} for s in decision.shares],
        "evaluated": [dict(zip(Evaluated.__slots__, astuple(e), strict=True)) for e in decision.evaluated],
        "indexDigest": "0x" + decision.index_digest.hex(),
        "params": dict(zip(OfferParams.__slots__, astuple(decision.params), strict=True)),
        "commitment": "0x" + decision.commitment.hex(),
    }


def decision_from_record(record: Mapping[str, Any]) -> RoutingDecision:
    """The decision a `decision_record` describes, commitment included as recorded: check it with
    `commitment_of` (the record is what was committed to) and `replay` (the choice follows from it)."""
    basis = record.get("basis", "reputation")
    if basis not in ("reputation", "ranker"):
        raise ValueError(f"unknown basis {basis!r}")
    mode = record["mode"]
    if mode not in ("direct", "swarm"):
        raise ValueError(f"unknown mode {mode!r}")
    return RoutingDecision(
        request=OfferRequest(
            _hex32(record["questionId"]), _hex32(record["topic"]), record["asker"], bool(record["escalated"])
        ),
        mode=mode,
        offers=tuple(record["offers"]),
        explored=tuple(record["explored"]),
        expert=record["expert"],
        shares=tuple(Share(s["account"], int(s["bps"])) for s in record["shares"]),
        evaluated=tuple(Evaluated(**e) for e in record["evaluated"]),
        index_digest=_hex32(record["indexDigest"]),
        params=OfferParams(**record["params"]),
        commitment=_hex32(record["commitment"]),
        basis=basis,
        question_digest=_hex32(record.get("questionDigest", "0x" + "00" * 32)),
        baseline=Baseline(**record["baseline"]) if "baseline" in record else NO_BASELINE,
        reputation_prior=int(record.get("reputationPrior", 0)),
    )


def _hex32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"not 32 bytes: {value!r}")
    return raw


@dataclass(frozen=True, slots=True)
class Exposure:
    """Who the offers went to, over a set of decisions."""

    decisions: int
    offers: int
    explored_offers: int  # offers placed by exploration slots
    newcomer_offers: int  # offers to newcomers, explored or ranked on merit
    distinct_newcomers: int
    explored_share_bps: int
    newcomer_share_bps: int


def exposure(decisions: Iterable[RoutingDecision]) -> Exposure:
    count = offers = explored = newcomer_offers = 0
    newcomers: set[str] = set()
    for decision in decisions:
        count += 1
        offers += len(decision.offers)
        explored += len(decision.explored)
        flags = {e.account: e.newcomer for e in decision.evaluated}
        for account in decision.offers:
            if flags.get(account, False):
                newcomer_offers += 1
                newcomers.add(account)
    return Exposure(
        count,
        offers,
        explored,
        newcomer_offers,
        len(newcomers),
        explored * BPS // offers if offers else 0,
        newcomer_offers * BPS // offers if offers else 0,
    )

"""Live routing: each new question is offered to advocates on the latest published reputation, and
offered again to others when no one took it (`rounds.py`).

The oracle runs `Router(database, public_store).step` in a worker loop (`runtime.Worker`,
like the processor). A step takes up to `batch` questions that have no `QuestionRoute` yet, in
posting order, and decides each with `offers.route` on the topic's scores of the latest reputation
epoch indexed from the chain (`ix_reputation_roots`). The epoch's manifest comes from the public
content store, checked against the root published on chain, and is kept parsed per epoch; one that
cannot be read stops routing until it can (the step raises; the worker logs it and tries again).
The live state is the load: how many open questions (not accepted, deadline not passed) each
advocate is already offered, counting the decisions of the same step as they are taken, so one
batch does not pile onto the same three advocates. The brand's experts are the swarm's experts;
the asker (the requester, when they are one of the brand's experts or their requester id is a
wallet) is never offered their own question.

Each round of a question is decided exactly once: (question, round) is the primary key of its
`RouteRound`, inserted only where none exists, and its offers are written in the same transaction
only by the router whose insert took; two routers running side by side never write two decisions
for one round. A step first routes new questions (round 0), then settles offers (answered,
expired) and opens the next round of questions no one took (`rounds.py`).

Before the first epoch is published nothing is routed: a question waits. There are no candidates
without an epoch (the candidate index is the epoch's scores), so the only possible decision would
be "swarm to the brand's expert", and since a route is never revised, every early question would
keep that empty decision for good. Waiting costs the first questions nothing they would otherwise
get, and the oracle publishes epochs on a schedule; a `RouteRound.epoch` of null never occurs.

The stored decision is `offers.decision_record` plus `experts`: the expert wallets the decision
could pick from, which the commitment does not cover but `offers.replay` needs (a brand may change
its experts later). `check_route` replays a stored decision; `explain` says in words why it is what
it is.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentError
from peercare.content.store import Store
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.db.database import Database, insert_or_ignore
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Brand, Question
from peercare.db.tables.routing import Offer, RouteRound
from peercare.oracle.deliveries.queue import enqueue
from peercare.reputation.epoch import verify_manifest
from peercare.routing import rounds
from peercare.routing.offers import (
    BPS,
    CandidateIndex,
    LiveState,
    OfferParams,
    OfferRequest,
    RoutingDecision,
    commitment_of,
    decision_from_record,
    decision_record,
    replay,
    route,
)

log = logging.getLogger("peercare.routing.live")

ROUTE_BATCH = 100  # questions decided per step
EPOCHS_KEPT = 8  # parsed epochs kept in memory (the latest, and older ones asked for by replays)
_WALLET = re.compile(r"0x[0-9a-fA-F]{40}")


class RoutingError(RuntimeError):
    """An epoch's scores cannot be used (manifest missing or not the one published)."""


# ---------------------------------------------------------------- epochs


@dataclass
class EpochScores:
    """One published epoch's scores by topic; candidate indexes are built once per topic."""

    epoch: int
    root: str  # 0x-hex, as published on chain
    by_topic: Mapping[bytes, Mapping[str, int]]  # topic (bytes32) -> account -> score
    _indexes: dict[tuple[bytes, int], CandidateIndex] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def index(self, topic: bytes, newcomer_below: int) -> CandidateIndex:
        with self._lock:
            key = (topic, newcomer_below)
            found = self._indexes.get(key)
            if found is None:
                found = self._indexes[key] = CandidateIndex(self.by_topic.get(topic, {}), newcomer_below)
            return found


class Epochs:
    """Published epochs' scores, read from the content store by the manifest digest the chain holds
    and checked against the published root; the newest `EPOCHS_KEPT` stay parsed. Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: OrderedDict[tuple[int, str], EpochScores] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, session: Session) -> EpochScores | None:
        row = ix.current_root(session)
        return None if row is None else self._scores(row)

    def at(self, session: Session, epoch: int) -> EpochScores | None:
        row = ix.current_root(session, epoch)
        return None if row is None else self._scores(row)

    def _scores(self, row: ix.ReputationRoot) -> EpochScores:
        key = (row.epoch, row.root)  # by root too: a correction or a reorganisation changes an epoch's root
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        scores = self._load(row)
        with self._lock:
            self._kept[key] = scores
            while len(self._kept) > EPOCHS_KEPT:
                self._kept.popitem(last=False)
        return scores

    def _load(self, row: ix.ReputationRoot) -> EpochScores:
        cid = cid_from_digest(bytes.fromhex(row.manifest_digest[2:]))
        try:
            manifest = json.loads(self.store.get(cid))
            root = verify_manifest(manifest)
        except (ContentError, ValueError) as err:  # EpochError and JSON errors are ValueErrors
            raise RoutingError(f"epoch {row.epoch}: manifest {cid} cannot be used: {err}") from err
        if "0x" + root.hex() != row.root or manifest.get("epoch") != row.epoch:
            raise RoutingError(f"epoch {row.epoch}: manifest {cid} is not the epoch published on chain")
        by_topic: dict[bytes, dict[str, int]] = {}
        for entry in manifest["tree"]["values"]:
            account, topic, score = entry["value"]
            by_topic.setdefault(bytes.fromhex(topic[2:]), {})[account.lower()] = int(score)
        return EpochScores(row.epoch, row.root, by_topic)


# ---------------------------------------------------------------- the router


def asker_of(requester_id: str, experts: Mapping[str, str]) -> str | None:
    """The requester's wallet when it is known: one of the brand's experts, or a requester id that
    is a wallet. A customer known only by a ticketing id has none (and is no candidate anyway)."""
    wallet = experts.get(requester_id) or (requester_id if _WALLET.fullmatch(requester_id) else None)
    return None if wallet is None else to_checksum_address(wallet)


@dataclass(frozen=True)
class _Pending:
    question_id: str
    brand_id: int
    source: str
    ticket_id: str
    topic: str
    requester_id: str
    accepted_answer_id: str | None
    deadline: int
    experts: dict[str, str]  # agent id -> wallet
    offer_window_s: int
    max_offer_rounds: int
    urgent: bool


class Router:
    """Routes questions that have no route yet, and opens the next round of those no one took;
    `step()` returns how many rounds it decided."""

    def __init__(
        self,
        database: Database,
        store: Store,
        *,
        params: OfferParams | None = None,
        batch: int = ROUTE_BATCH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.epochs = Epochs(store)
        self.params = params or OfferParams()
        self.batch = batch
        self.clock = clock

    def step(self) -> int:
        return self._first_rounds() + self._next_rounds()

    def _first_rounds(self) -> int:
        now = self.clock()
        with self.database.read() as session:
            scores = self.epochs.latest(session)
            if scores is None:
                return 0  # no epoch yet: questions wait (module docstring)
            query = (
                select(
                    Question.question_id,
                    Question.brand_id,
                    Question.source,
                    Question.ticket_id,
                    Question.topic,
                    Question.requester_id,
                    Question.accepted_answer_id,
                    Question.deadline,
                    Brand.experts,
                    Brand.offer_window_s,
                    Brand.max_offer_rounds,
                    Question.urgent,
                )
                .join(Brand, Brand.id == Question.brand_id)
                .outerjoin(RouteRound, RouteRound.question_id == Question.question_id)
                .where(RouteRound.question_id.is_(None))
                .order_by(Question.created_at_ms, Question.outbox_id, Question.question_id)
                .limit(self.batch)
            )
            pending = [_Pending(*row) for row in session.execute(query)]
            if not pending:
                return 0
            load = rounds.open_assignments(session, int(now))
        decided = []
        for question in pending:
            decision = self._decide(question, 0, scores, load)
            is_open = question.accepted_answer_id is None and question.deadline > now
            if is_open:  # a load, and offers to make
                load.update(rounds.assigned(decision))
            decided.append(_Round(question, 0, decision, is_open))
        routed = self._write(decided, scores.epoch, now)
        if routed:
            log.info("routed %d questions on epoch %d", routed, scores.epoch)
        return routed

    def _next_rounds(self) -> int:
        """Settle offers, then decide the next round of each question no one took (`rounds.py`)."""
        now = self.clock()
        with self.database.transaction() as session:
            answered, expired = rounds.settle(session, int(now * 1000))
        if answered or expired:
            log.info("offers settled: %d answered, %d expired", answered, expired)
        with self.database.read() as session:
            due = rounds.stalled(session, int(now), self.batch)
            if not due:
                return 0
            scores = self.epochs.latest(session)
            load = rounds.open_assignments(session, int(now))
        if scores is None:
            return 0
        decided = []
        for question in due:
            # A round that can offer no one new is written too: it records why the question stops
            # moving, and ends its rounds (rounds.py).
            decision = self._decide(question, question.next_round, scores, load, question.offered_before)
            load.update(rounds.assigned(decision))
            decided.append(_Round(question, question.next_round, decision))
        opened = self._write(decided, scores.epoch, now)
        if opened:
            log.info("opened %d next rounds on epoch %d", opened, scores.epoch)
        return opened

    def _write(self, decided: list[_Round], epoch: int, now: float) -> int:
        """Insert the rounds, and the offers of those whose insert took. A router running beside
        this one may have decided some of these rounds meanwhile: its decision stands."""
        if not decided:
            return 0
        now_ms = int(now * 1000)
        statement = insert_or_ignore(self.database.engine, RouteRound, ["question_id", "round"]).returning(
            RouteRound.question_id
        )
        with self.database.transaction() as session:
            # Accepted since it was decided? Read under the questions' row locks, which the
            # processor's acceptance takes too: an acceptance and a round of one question are written
            # one after the other, so the acceptance pays the swarm a round offered, or the round
            # offers no one (`oracle.swarm_credit`; the audit checks the same from the chain).
            ids = sorted(r.question.question_id for r in decided)
            accepted = {
                question
                for question, answer in session.execute(
                    select(Question.question_id, Question.accepted_answer_id)
                    .where(Question.question_id.in_(ids))
                    .order_by(Question.question_id)
                    .with_for_update()
                )
                if answer is not None
            }
            decided = [replace(r, is_open=r.is_open and r.question.question_id not in accepted) for r in decided]
            rows = [
                {
                    "question_id": r.question.question_id,
                    "round": r.round,
                    "brand_id": r.question.brand_id,
                    "epoch": epoch,
                    "decision": decision_record(r.decision)
                    | {"experts": _experts(r.question.experts), "open": r.is_open},
                    "created_at_ms": now_ms,
                }
                for r in decided
            ]
            written = set(session.scalars(statement, rows))
            for r in decided:
                if r.question.question_id not in written or not r.is_open:
                    continue
                offers = rounds.offer_rows(
                    r.decision,
                    question_id=r.question.question_id,
                    round_number=r.round,
                    brand_id=r.question.brand_id,
                    offer_window_s=r.question.offer_window_s,
                    deadline_s=r.question.deadline,
                    now_ms=now_ms,
                )
                if offers:
                    session.execute(insert(Offer), offers)
                _tell_the_brand(session, r, offers, epoch, now_ms)
            # An advocate may have answered before being offered the question: the offer is
            # answered from the start, in the same transaction, so no reader ever sees it waiting.
            rounds.mark_answered(session, now_ms, sorted(written))
        return len(written)

    def _decide(
        self,
        question: _Pending | rounds.Stalled,
        number: int,
        scores: EpochScores,
        load: Mapping[str, int],
        unavailable: frozenset[str] = frozenset(),
    ) -> RoutingDecision:
        # Reputation is namespaced by brand: the question's topic as its brand's (`scope.py`).
        topic = reputation_topic(question.brand_id, short_string(question.topic))
        return route(
            OfferRequest(
                question_id=bytes.fromhex(question.question_id[2:]),
                topic=topic,
                asker=asker_of(question.requester_id, question.experts),
                escalated=rounds.escalated(number, question.max_offer_rounds, question.urgent),
            ),
            scores.index(topic, self.params.newcomer_below),
            LiveState(open_assignments=load, unavailable=unavailable),
            self.params,
            experts=_experts(question.experts),
        )


@dataclass(frozen=True)
class _Round:
    """A round decided, to write: its question, number and decision."""

    question: _Pending | rounds.Stalled
    round: int
    decision: RoutingDecision
    is_open: bool = True  # a question closed before it was routed keeps its decision but offers no one


def _tell_the_brand(session: Session, decided: _Round, offers: list[dict[str, Any]], epoch: int, now_ms: int) -> None:
    """Queue the round for the brand's ticketing system (nothing if the brand has no channel to it):
    an internal note with who was offered (`offers`: the round's offer rows) and why, tags, and the
    assignee when the first person chosen is one of the brand's agents."""
    decision = decided.decision
    agents = {wallet.lower(): agent for agent, wallet in decided.question.experts.items()}
    chosen = [o["advocate"].lower() for o in offers]
    assignee = next((agents[a] for a in chosen if a in agents), None)
    kind = "escalation" if decision.request.escalated else "offer"
    enqueue(
        session,
        key=f"{kind}:{decided.question.question_id}:{decided.round}",
        brand_id=decided.question.brand_id,
        source=decided.question.source,
        ticket_id=decided.question.ticket_id,
        question_id=decided.question.question_id,
        kind=kind,
        payload={
            "question_id": decided.question.question_id,
            "round": decided.round,
            "mode": decision.mode,
            "offers": [
                {"advocate": o["advocate"], "role": str(o["role"]), "share_bps": o["share_bps"]} for o in offers
            ],
            "why": explain(decision, epoch, decided.question.topic),
            "commitment": "0x" + decision.commitment.hex(),
            "assignee_agent_id": assignee,
            "tags": [],
        },
        now_ms=now_ms,
    )


def _experts(experts: Mapping[str, str]) -> list[str]:
    return sorted({to_checksum_address(wallet) for wallet in experts.values()})


# ---------------------------------------------------------------- auditing a stored route


@dataclass(frozen=True)
class RouteCheck:
    """Whether a stored decision holds: its commitment is over what it records, and deciding again
    on the epoch's index with the recorded live state gives the same choice."""

    commitment_matches: bool
    replays: bool | None  # None: the epoch's scores could not be read (see `detail`)
    detail: str


def check_route(session: Session, epochs: Epochs, epoch: int | None, record: Mapping[str, Any]) -> RouteCheck:
    try:
        decision = decision_from_record(record)
    except (KeyError, TypeError, ValueError) as err:
        return RouteCheck(False, False, f"the stored record is not a routing decision: {err}")
    if commitment_of(decision) != decision.commitment:
        return RouteCheck(False, False, "the recorded commitment is not the hash of the recorded decision")
    if epoch is None:
        return RouteCheck(True, None, "the decision names no reputation epoch to replay it on")
    try:
        scores = epochs.at(session, epoch)
    except RoutingError as err:
        return RouteCheck(True, None, str(err))
    if scores is None:
        return RouteCheck(True, None, f"epoch {epoch} is not (or no longer) published on chain")
    index = scores.index(decision.request.topic, decision.params.newcomer_below)
    if index.digest != decision.index_digest:
        return RouteCheck(True, False, f"epoch {epoch}'s candidate index for the topic is not the one decided on")
    ok = replay(decision, index, experts=record.get("experts", ()))
    detail = "replayed on the epoch's scores: same choice" if ok else "replaying gives another choice"
    return RouteCheck(True, ok, detail)


def topic_label(topic: bytes) -> str:
    return topic.rstrip(b"\0").decode("utf-8", errors="replace")


def explain(decision: RoutingDecision, epoch: int | None, topic: str | None = None) -> str:
    """Why the decision is what it is, in words: mode and its reason, then each offer. `topic`: the
    question's topic label (the decision holds the brand-namespaced reputation topic, a hash)."""
    params = decision.params
    by_account = {e.account: e for e in decision.evaluated}
    ranked = sorted((e for e in decision.evaluated if e.eligible), key=lambda e: (-e.adjusted, e.account))
    where = f"topic '{topic or '0x' + decision.request.topic.hex()}' of reputation epoch {epoch}"
    read = f"{len(decision.evaluated)} candidate(s) read, {len(ranked)} eligible"
    if decision.mode == "direct":
        top, runner = ranked[0].adjusted, (ranked[1].adjusted if len(ranked) > 1 else 0)
        margin = (top - runner) * BPS // top if top else 0
        reason = (
            f"offered directly: the best adjusted score {top:,} reaches the confidence bar "
            f"{params.min_confident_score:,} and leads the next ({runner:,}) by {margin / 100:.2f}% "
            f"(at least {params.min_margin_bps / 100:.2f}% needed)"
        )
    elif decision.request.escalated:
        reason = "swarmed: the question was escalated"
    elif not ranked:
        reason = "swarmed: no candidate was eligible"
    elif ranked[0].adjusted < params.min_confident_score:
        reason = (
            f"swarmed: the best adjusted score {ranked[0].adjusted:,} is below the confidence bar "
            f"{params.min_confident_score:,}"
        )
    else:
        reason = (
            f"swarmed: the best adjusted score {ranked[0].adjusted:,} does not lead the next "
            f"({ranked[1].adjusted:,}) by {params.min_margin_bps / 100:.2f}%"
        )
    lines = [f"{reason}; {read} in {where}."]
    for position, account in enumerate(decision.offers, 1):
        e = by_account.get(account.lower())
        how = "an exploration slot for newcomers" if account in decision.explored else "rank"
        if e is None:
            lines.append(f"{position}. {to_checksum_address(account)} (by {how})")
            continue
        lines.append(
            f"{position}. {to_checksum_address(account)} by {how}: reputation {e.reputation:,}, "
            f"score {e.score:,}, {e.open_assignments} open assignment(s) -> adjusted {e.adjusted:,}"
            + (", newcomer" if e.newcomer else "")
        )
    if decision.expert:
        share = next((s.bps for s in decision.shares if s.account.lower() == decision.expert.lower()), 0)
        lines.append(
            f"Brand expert {to_checksum_address(decision.expert)} joins the swarm ({share / 100:.2f}% credit)."
        )
    if decision.request.asker:
        lines.append(f"The asker {to_checksum_address(decision.request.asker)} is never offered their own question.")
    return "\n".join(lines)


def explain_for(decision: RoutingDecision, epoch: int | None, topic: str, account: str) -> str:
    """Why `account` was offered the question, naming no one else: the round's reason (figures,
    no accounts) and the account's own line of `explain`."""
    lines = explain(decision, epoch, topic).splitlines()
    own = to_checksum_address(account)
    mine = [line.split(" ", 1)[1] for line in lines[1:] if line.split(" ", 2)[1:2] == [own]]
    if not mine and decision.expert and decision.expert.lower() == account.lower():
        mine = [line for line in lines[1:] if line.startswith("Brand expert")]
    return "\n".join([lines[0], *mine])

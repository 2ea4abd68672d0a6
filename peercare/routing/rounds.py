"""Offers that move: each round's offers, their windows, and the next round when no one took one.

A routing decision (`peercare.routing.live.Router`) becomes a `RouteRound` and one `Offer` per
person it chose: each advocate of a direct decision is offered the question to answer; a swarm's
advocates and expert are offered to join for their share of the bounty (a question that closed
before it was first routed keeps its decision but is offered to no one). An offer waits for its
advocate until its window ends (the brand's `offer_window_s`, never past the question's deadline);
the advocate accepts or declines it (`peercare.routing.inbox`), or the window ends (or the question
closes first) and it expires.
An offer whose advocate's answer is recorded is answered (from its round's own write, when the advocate
answered before being offered the question).

When every offer of a question's latest round was declined or expired, and the question is still
open, the router opens the next round: a new decision on the latest epoch with everyone offered
before unavailable, so it reaches new people. Round `max_offer_rounds` is escalated (an urgent
question's first round already: the ticket's priority was "urgent"): the question is swarmed
(brand experts plus top advocates) whatever the scores say, and the brand is told. A
round is a committed decision like the first and replays with `check_route` (the unavailable are
recorded in it). The escalated round is the last, and so is a round that could offer no one new
(it is recorded all the same, saying so): the question then waits for an answer from anyone, as an
unrouted one does. Without that end, a question everyone declines would be offered down the whole
ranking, and a question that can reach no one new would be decided again at every step, ahead of
the questions behind it.

Load: the open assignments of an account are its offers still offered or accepted, of questions not
accepted and before their deadline; a declined, expired or answered offer is no longer a load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_utils.address import to_checksum_address
from sqlalchemy import CursorResult, Update, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from peercare.core.enums import OfferRole, OfferState
from peercare.db.tables.oracle import Answer, Brand, Question
from peercare.db.tables.routing import Offer, RouteRound
from peercare.routing.offers import RoutingDecision

LIVE = (OfferState.OFFERED, OfferState.ACCEPTED)  # offers that still hold their advocate
CLOSED = (OfferState.DECLINED, OfferState.EXPIRED)  # offers no one took


def offer_rows(
    decision: RoutingDecision,
    *,
    question_id: str,
    round_number: int,
    brand_id: int,
    offer_window_s: int,
    deadline_s: int,
    now_ms: int,
) -> list[dict[str, Any]]:
    """The `Offer` rows of a decision: who is offered the question, in what role, until when."""
    ends = min(now_ms + offer_window_s * 1000, deadline_s * 1000)
    base = {
        "question_id": question_id,
        "round": round_number,
        "brand_id": brand_id,
        "state": OfferState.OFFERED,
        "offered_at_ms": now_ms,
        "window_ends_at_ms": ends,
    }
    if decision.mode == "direct":
        return [base | {"advocate": a, "role": OfferRole.ANSWERER, "share_bps": 0} for a in offered(decision)]
    expert = decision.expert.lower() if decision.expert else None
    return [
        base
        | {
            "advocate": to_checksum_address(share.account),
            "role": OfferRole.EXPERT if share.account.lower() == expert else OfferRole.SWARM,
            "share_bps": share.bps,
        }
        for share in decision.shares
    ]


def offered(decision: RoutingDecision) -> list[str]:
    """Whom a decision offers the question to (checksummed): the direct offers, or the swarm's
    members with a share (the expert included). What `offer_rows` writes and routing anchors prove."""
    if decision.mode == "direct":
        return [to_checksum_address(a) for a in decision.offers]
    return [to_checksum_address(share.account) for share in decision.shares]


def assigned(decision: RoutingDecision) -> list[str]:
    """The accounts (lower-case) a decision offers the question to: each becomes one more load."""
    return [a.lower() for a in decision.offers] + ([decision.expert.lower()] if decision.expert else [])


def open_assignments(session: Session, now_s: int) -> Counter[str]:
    """Per account (lower-case), its offers still offered or accepted of open questions."""
    query = (
        select(Offer.advocate, func.count())
        .join(Question, Question.question_id == Offer.question_id)
        .where(Offer.state.in_(LIVE), Question.accepted_answer_id.is_(None), Question.deadline > now_s)
        .group_by(Offer.advocate)
    )
    return Counter({advocate.lower(): count for advocate, count in session.execute(query)})


def settle(session: Session, now_ms: int) -> tuple[int, int]:
    """Mark answered the live offers whose advocate answered, then expire the offers still waiting
    whose window ended or whose question closed first (accepted, or past its deadline): no one can
    decide on those any more; returns (answered, expired)."""
    answered = mark_answered(session, now_ms)
    closed = select(Question.question_id).where(
        or_(Question.accepted_answer_id.is_not(None), Question.deadline * 1000 <= now_ms)
    )
    expired = _changed(
        session,
        update(Offer)
        .where(
            Offer.state == OfferState.OFFERED,
            or_(Offer.window_ends_at_ms <= now_ms, Offer.question_id.in_(closed)),
        )
        .values(state=OfferState.EXPIRED, decided_at_ms=now_ms),
    )
    return answered, expired


def mark_answered(session: Session, now_ms: int, question_ids: Sequence[str] | None = None) -> int:
    """Mark answered the live offers (of `question_ids` only, if given) whose advocate's answer is
    recorded; returns how many."""
    statement = update(Offer).where(
        Offer.state.in_(LIVE),
        exists().where(
            Answer.question_id == Offer.question_id, func.lower(Answer.advocate) == func.lower(Offer.advocate)
        ),
    )
    if question_ids is not None:
        statement = statement.where(Offer.question_id.in_(question_ids))
    return _changed(session, statement.values(state=OfferState.ANSWERED, decided_at_ms=now_ms))


def _changed(session: Session, statement: Update) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount or 0)


@dataclass(frozen=True)
class Stalled:
    """An open question whose latest round's offers were all declined or expired."""

    question_id: str
    brand_id: int
    source: str
    ticket_id: str
    topic: str
    requester_id: str
    deadline: int
    experts: dict[str, str]
    offer_window_s: int
    max_offer_rounds: int
    next_round: int
    offered_before: frozenset[str]  # lower-case: everyone offered the question in any round
    urgent: bool = False  # never: an urgent question's first round is its last


def _latest_round(question_ids: Sequence[str] | None = None) -> Any:
    """(question_id, round): each routed question's latest round (of `question_ids` only, if given)."""
    query = select(RouteRound.question_id, func.max(RouteRound.round).label("round"))
    if question_ids is not None:
        query = query.where(RouteRound.question_id.in_(question_ids))
    return query.group_by(RouteRound.question_id).subquery()


def stalled(session: Session, now_s: int, limit: int) -> list[Stalled]:
    """Up to `limit` open questions due a next round, oldest first."""
    latest = _latest_round()
    taken_or_waiting = exists().where(
        Offer.question_id == latest.c.question_id, Offer.round == latest.c.round, Offer.state.not_in(CLOSED)
    )
    any_offer = exists().where(Offer.question_id == latest.c.question_id, Offer.round == latest.c.round)
    query = (
        select(
            Question.question_id,
            Question.brand_id,
            Question.source,
            Question.ticket_id,
            Question.topic,
            Question.requester_id,
            Question.deadline,
            Brand.experts,
            Brand.offer_window_s,
            Brand.max_offer_rounds,
            latest.c.round,
        )
        .join(latest, latest.c.question_id == Question.question_id)
        .join(Brand, Brand.id == Question.brand_id)
        .where(
            Question.accepted_answer_id.is_(None),
            Question.deadline > now_s,
            latest.c.round < Brand.max_offer_rounds,  # the escalated round is the last
            Question.urgent.is_(False),  # so is an urgent question's first
            any_offer,  # a round that offered no one is the last
            ~taken_or_waiting,
        )
        .order_by(Question.created_at_ms, Question.outbox_id, Question.question_id)
        .limit(limit)
    )
    rows = session.execute(query).all()
    before = _offered_before(session, [row.question_id for row in rows])
    return [
        Stalled(
            row.question_id,
            row.brand_id,
            row.source,
            row.ticket_id,
            row.topic,
            row.requester_id,
            row.deadline,
            row.experts,
            row.offer_window_s,
            row.max_offer_rounds,
            row.round + 1,
            before.get(row.question_id, frozenset()),
        )
        for row in rows
    ]


def _offered_before(session: Session, question_ids: Sequence[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    if question_ids:
        query = select(Offer.question_id, Offer.advocate).where(Offer.question_id.in_(question_ids))
        for question_id, advocate in session.execute(query):
            found.setdefault(question_id, set()).add(advocate.lower())
    return {question_id: frozenset(accounts) for question_id, accounts in found.items()}


def escalated(next_round: int, max_offer_rounds: int, urgent: bool = False) -> bool:
    """Whether round `next_round` (0 first) is swarmed whatever the scores say: an urgent question's
    first, or round `max_offer_rounds`."""
    return urgent or next_round >= max_offer_rounds


def rounds_of(session: Session, question_id: str) -> list[tuple[RouteRound, list[Offer]]]:
    """A question's rounds, first first, each with its offers in the decision's order."""
    rounds = list(
        session.scalars(select(RouteRound).where(RouteRound.question_id == question_id).order_by(RouteRound.round))
    )
    offers: dict[int, list[Offer]] = {}
    for offer in session.scalars(select(Offer).where(Offer.question_id == question_id)):
        offers.setdefault(offer.round, []).append(offer)
    out = []
    for route in rounds:
        order = _decision_order(route.decision)
        out.append((route, sorted(offers.get(route.round, []), key=lambda o: order.get(o.advocate.lower(), 1 << 30))))
    return out


def _decision_order(record: Mapping[str, Any]) -> dict[str, int]:
    chosen: Iterable[str] = [*record.get("offers", ()), *([record["expert"]] if record.get("expert") else [])]
    return {account.lower(): position for position, account in enumerate(chosen)}


def latest_rounds(session: Session, question_ids: Sequence[str]) -> dict[str, tuple[RouteRound, list[Offer]]]:
    """Per question routed, its latest round with the round's offers in the decision's order."""
    if not question_ids:
        return {}
    latest = _latest_round(question_ids)
    found: dict[str, tuple[RouteRound, list[Offer]]] = {
        route.question_id: (route, [])
        for route in session.scalars(
            select(RouteRound).join(
                latest, and_(RouteRound.question_id == latest.c.question_id, RouteRound.round == latest.c.round)
            )
        )
    }
    offers = select(Offer).join(latest, and_(Offer.question_id == latest.c.question_id, Offer.round == latest.c.round))
    for offer in session.scalars(offers):
        found[offer.question_id][1].append(offer)
    for route, listed in found.values():
        order = _decision_order(route.decision)
        listed.sort(key=lambda o: order.get(o.advocate.lower(), 1 << 30))
    return found

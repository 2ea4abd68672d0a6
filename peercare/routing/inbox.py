"""An advocate's offers: what is waiting for them (`waiting`), and their answer to one (`decide`).

Only the offered advocate sees an offer or decides on it; the API checks who is calling (Sign-In
with Ethereum) and this module checks that the offer is theirs. A decision is a conditional update
of the offer (still offered, window not ended), so a decision racing the router's expiry, or a
second decision, changes nothing and is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth_utils.address import to_checksum_address
from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.orm import Session

from peercare.core.enums import OfferState
from peercare.db.tables.oracle import Brand, Question
from peercare.db.tables.routing import Offer, RouteRound
from peercare.routing.rounds import LIVE

MAX_REASON = 500  # characters of a decline's reason that are kept


class OfferRefused(Exception):
    """A decision on an offer that cannot be taken: `status` is the HTTP status that says why
    (404: no such offer to this advocate; 409: the offer is no longer open to a decision)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Waiting:
    """An offer still open to its advocate (offered, window running) or accepted by them, of an
    open question, with what the advocate needs to decide."""

    offer: Offer
    question: Question
    route: RouteRound
    brand_name: str


def waiting(session: Session, advocate: str, now_ms: int) -> list[Waiting]:
    """The advocate's offers still offered (window not ended) or accepted, of open questions, the
    soonest window first."""
    query = (
        select(Offer, Question, RouteRound, Brand.name)
        .join(Question, Question.question_id == Offer.question_id)
        .join(RouteRound, and_(RouteRound.question_id == Offer.question_id, RouteRound.round == Offer.round))
        .join(Brand, Brand.id == Offer.brand_id)
        .where(
            Offer.advocate == to_checksum_address(advocate),
            Offer.state.in_(LIVE),
            Question.accepted_answer_id.is_(None),
            Question.deadline * 1000 > now_ms,
        )
        .order_by(Offer.window_ends_at_ms, Offer.question_id)
    )
    return [
        Waiting(offer, question, route, name)
        for offer, question, route, name in session.execute(query)
        if offer.state != OfferState.OFFERED or offer.window_ends_at_ms > now_ms
    ]


def decide(
    session: Session,
    advocate: str,
    question_id: str,
    round_number: int,
    *,
    accept: bool,
    reason: str | None,
    now_ms: int,
) -> Offer:
    """Accept or decline the advocate's open offer of `question_id` in round `round_number` (the
    round they saw: a decision on a stale listing is refused); raises `OfferRefused`, changing
    nothing, when there is no such offer or it is no longer open to a decision."""
    advocate = to_checksum_address(advocate)
    question_id = question_id.lower()
    state = OfferState.ACCEPTED if accept else OfferState.DECLINED
    kept = None if accept or not reason else reason.strip()[:MAX_REASON] or None
    changed = session.execute(
        update(Offer)
        .where(
            Offer.question_id == question_id,
            Offer.round == round_number,
            Offer.advocate == advocate,
            Offer.state == OfferState.OFFERED,
            Offer.window_ends_at_ms > now_ms,
            Offer.question_id.in_(
                select(Question.question_id).where(
                    Question.question_id == question_id,
                    Question.accepted_answer_id.is_(None),
                    Question.deadline * 1000 > now_ms,
                )
            ),
        )
        .values(state=state, decided_at_ms=now_ms, accepted_at_ms=now_ms if accept else None, reason=kept)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult[Any], changed).rowcount:
        raise _why_refused(session, advocate, question_id, round_number, now_ms)
    offer = session.get(Offer, (question_id, round_number, advocate))
    assert offer is not None
    session.refresh(offer)
    return offer


def _why_refused(session: Session, advocate: str, question_id: str, round_number: int, now_ms: int) -> OfferRefused:
    offer = session.get(Offer, (question_id, round_number, advocate))
    if offer is None:
        mine = select(Offer.round).where(Offer.question_id == question_id, Offer.advocate == advocate)
        rounds = ", ".join(map(str, sorted(session.scalars(mine))))
        where = f" in round {round_number} (it was in round(s) {rounds})" if rounds else ""
        return OfferRefused(404, f"question {question_id} was not offered to {advocate}{where}")
    question = session.get(Question, question_id)
    if question is not None and question.accepted_answer_id is not None:
        return OfferRefused(409, f"question {question_id} is closed: the brand accepted an answer")
    if question is not None and question.deadline * 1000 <= now_ms:
        return OfferRefused(409, f"question {question_id} is past its deadline")
    if offer.state != OfferState.OFFERED:
        return OfferRefused(409, f"the offer of question {question_id} was already {offer.state}")
    return OfferRefused(
        409,
        f"the offer's window ended at {offer.window_ends_at_ms} ms (unix); the question moves on to others",
    )

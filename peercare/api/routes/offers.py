"""`/advocates/{address}/offers`: the questions routing offered to a signed-in advocate, and their
accept or decline (`peercare.routing.inbox`). Only the advocate themselves sees their offers, and
the question's text is decrypted for them only; an offer's `why` names no one else."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path

from peercare.api.chain_reads import token_decimals
from peercare.api.context import ApiContext
from peercare.api.problems import Problem
from peercare.api.schemas.offers import AcceptIn, DecisionOut, DeclineIn, OfferedQuestion, OfferItem, OffersOut
from peercare.api.security import AdvocateSelf, Context
from peercare.content.errors import ContentError
from peercare.core.enums import OfferRole, OfferState
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Question
from peercare.routing.inbox import OfferRefused, Waiting, decide, waiting
from peercare.routing.live import explain_for
from peercare.routing.offers import decision_from_record

router = APIRouter(prefix="/api/v1", tags=["advocates"])

QuestionIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The question's id (bytes32)")]
TITLE_CHARS = 120


@router.get("/advocates/{address}/offers", summary="The questions offered to you, soonest window first")
def list_offers(advocate: AdvocateSelf, context: Context) -> OffersOut:
    now_ms = int(time.time() * 1000)
    with context.database.read() as session:
        found = waiting(session, advocate, now_ms)
        tokens = {brand: ix.brand_token(session, brand) for brand in {w.question.brand_id for w in found}}
    return OffersOut(items=[_item(context, w, tokens[w.question.brand_id], now_ms) for w in found])


@router.post(
    "/advocates/{address}/offers/{question_id}/accept",
    summary="Accept an offer: it counts toward your load until the question closes",
    responses={404: {"description": "no such offer to you"}, 409: {"description": "the offer is not open"}},
)
def accept_offer(advocate: AdvocateSelf, question_id: QuestionIdPath, body: AcceptIn, context: Context) -> DecisionOut:
    return _decide(context, advocate, question_id, body.round, accept=True, reason=None)


@router.post(
    "/advocates/{address}/offers/{question_id}/decline",
    summary="Decline an offer (with an optional reason): the question moves on to others",
    responses={404: {"description": "no such offer to you"}, 409: {"description": "the offer is not open"}},
)
def decline_offer(
    advocate: AdvocateSelf, question_id: QuestionIdPath, body: DeclineIn, context: Context
) -> DecisionOut:
    return _decide(context, advocate, question_id, body.round, accept=False, reason=body.reason)


def _decide(
    context: ApiContext, advocate: str, question_id: str, round_number: int, *, accept: bool, reason: str | None
) -> DecisionOut:
    now_ms = int(time.time() * 1000)
    try:
        with context.database.transaction() as session:
            offer = decide(
                session, advocate, question_id.lower(), round_number, accept=accept, reason=reason, now_ms=now_ms
            )
            decided = DecisionOut(
                question_id=offer.question_id,
                round=offer.round,
                advocate=offer.advocate,
                state="accepted" if offer.state == OfferState.ACCEPTED else "declined",
                decided_at_ms=offer.decided_at_ms or now_ms,
            )
    except OfferRefused as refused:
        raise Problem(refused.status, refused.detail) from None
    return decided


def _item(context: ApiContext, found: Waiting, token: str | None, now_ms: int) -> OfferItem:
    offer, question, route = found.offer, found.question, found.route
    decision = decision_from_record(route.decision)
    offered = offer.state == OfferState.OFFERED
    return OfferItem(
        question_id=question.question_id,
        brand_id=question.brand_id,
        brand_name=found.brand_name,
        ticket_id=question.ticket_id,
        topic=question.topic,
        bounty=str(question.bounty),
        token=token,
        decimals=None if token is None else token_decimals(context, token),
        round=offer.round,
        role=OfferRole(offer.role).value,
        share_bps=offer.share_bps,
        state="offered" if offered else "accepted",
        offered_at_ms=offer.offered_at_ms,
        window_ends_at_ms=offer.window_ends_at_ms,
        seconds_left=max(0, (offer.window_ends_at_ms - now_ms) // 1000) if offered else 0,
        why=explain_for(decision, route.epoch, question.topic, offer.advocate),
        commitment="0x" + decision.commitment.hex(),
        question=_question(context, question),
    )


def _question(context: ApiContext, question: Question) -> OfferedQuestion | None:
    try:
        conversation = context.vault.get(question.content_cid)
    except ContentError:  # erased on request, or no store holds it now: the offer stands without it
        return None
    asked = [m.body for m in conversation.messages if m.role == "customer"] or [conversation.messages[0].body]
    first_line = next((line.strip() for line in asked[0].splitlines() if line.strip()), "")
    return OfferedQuestion(title=first_line[:TITLE_CHARS], tags=list(conversation.topics), text="\n\n".join(asked))

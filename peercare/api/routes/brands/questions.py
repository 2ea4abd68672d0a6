"""`/brands/{brand_id}/questions`: a brand's questions on chain with their states, who each was
routed to, and for one question the full routing decision, why it was taken and whether it replays."""

from __future__ import annotations

from typing import Annotated, cast

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Path
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from peercare.api.context import ApiContext
from peercare.api.paging import DEFAULT_LIMIT, Limit, PageCursor, after_cursor
from peercare.api.problems import Problem
from peercare.api.routes.brands.common import configured_brand
from peercare.api.routes.brands.deliveries import delivery_out
from peercare.api.schemas.brands import (
    Evaluated,
    OfferOut,
    PostedStatus,
    QuestionDetail,
    QuestionOut,
    RoundOut,
    RouteSummary,
    RoutingOut,
    Share,
)
from peercare.api.schemas.common import Page
from peercare.api.security import BrandReader, Context
from peercare.core.enums import OfferRole, OfferState
from peercare.db.tables import projections as ix
from peercare.db.tables.routing import Offer, RouteRound
from peercare.oracle.deliveries import queue
from peercare.routing import rounds
from peercare.routing.live import Epochs, check_route, explain, topic_label
from peercare.routing.offers import decision_from_record

router = APIRouter()

QuestionIdPath = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The question's id (bytes32)")]


def _questions(session: Session, posted: list[ix.QuestionPosted]) -> list[QuestionOut]:
    """The questions' states, in a fixed number of queries whatever the page's size."""
    ids = [p.question_id for p in posted]
    count = select(ix.AnswerRow.question_id, func.count()).where(ix.AnswerRow.question_id.in_(ids))
    answers: dict[str, int] = {qid: n for qid, n in session.execute(count.group_by(ix.AnswerRow.question_id))}
    accepted = {
        a.question_id: a for a in session.scalars(select(ix.Acceptance).where(ix.Acceptance.question_id.in_(ids)))
    }
    statuses = ix.question_statuses(session, posted)  # a batched question expires with its batch's release
    routes = rounds.latest_rounds(session, ids)
    out = []
    for p in posted:
        acceptance, route = accepted.get(p.question_id), routes.get(p.question_id)
        status = cast(PostedStatus, statuses[p.question_id].value)
        out.append(
            QuestionOut(
                question_id=p.question_id,
                ticket_id=p.ticket_id,
                source=topic_label(bytes.fromhex(p.source[2:])),
                topic=topic_label(bytes.fromhex(p.topic[2:])),
                bounty=str(p.bounty),
                deadline=p.deadline,
                posted_block=p.block_number,
                posted_at=p.block_time,
                batch_root=p.batch_root,
                leaf_index=p.leaf_index,
                status=status,
                answers=answers.get(p.question_id, 0),
                accepted_answer_id=acceptance.answer_id if acceptance else None,
                accepted_advocate=acceptance.advocate if acceptance else None,
                route=None if route is None else _route_summary(*route),
            )
        )
    return out


def _route_summary(route: RouteRound, offers: list[Offer]) -> RouteSummary:
    record = route.decision
    return RouteSummary(
        round=route.round,
        escalated=bool(record["escalated"]),
        offer_states=[_offer_out(o) for o in offers],
        epoch=route.epoch,
        mode=record["mode"],
        offers=[to_checksum_address(a) for a in record["offers"]],
        expert=None if record["expert"] is None else to_checksum_address(record["expert"]),
        routed_at_ms=route.created_at_ms,
    )


@router.get("/brands/{brand_id}/questions", summary="The brand's questions on chain, oldest first, with their routes")
def list_questions(
    brand_id: BrandReader, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[QuestionOut]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        configured_brand(session, brand_id)
        posted = list(
            session.scalars(
                select(ix.QuestionPosted)
                .where(ix.QuestionPosted.brand_id == brand_id, ix.QuestionPosted.id > after)
                .order_by(ix.QuestionPosted.id)
                .limit(limit + 1)
            )
        )
        more = len(posted) > limit
        posted = posted[:limit]
        items = _questions(session, posted)
    return Page(items=items, next_cursor=str(posted[-1].id) if more else None)


def _offer_out(offer: Offer) -> OfferOut:
    return OfferOut(
        advocate=offer.advocate,
        role=OfferRole(offer.role).value,
        share_bps=offer.share_bps,
        state=OfferState(offer.state).value,
        offered_at_ms=offer.offered_at_ms,
        window_ends_at_ms=offer.window_ends_at_ms,
        decided_at_ms=offer.decided_at_ms,
        accepted_at_ms=offer.accepted_at_ms,
        reason=offer.reason,
    )


def _routing(session: Session, epochs: Epochs, route: RouteRound, topic: str) -> RoutingOut:
    record = route.decision
    check = check_route(session, epochs, route.epoch, record)
    decision = decision_from_record(record)
    offered, explored = {a.lower() for a in decision.offers}, {a.lower() for a in decision.explored}
    return RoutingOut(
        epoch=route.epoch,
        routed_at_ms=route.created_at_ms,
        mode=decision.mode,
        asker=None if decision.request.asker is None else to_checksum_address(decision.request.asker),
        offers=[to_checksum_address(a) for a in decision.offers],
        expert=None if decision.expert is None else to_checksum_address(decision.expert),
        shares=[Share(account=to_checksum_address(s.account), bps=s.bps) for s in decision.shares],
        candidates=[
            Evaluated(
                account=to_checksum_address(e.account),
                reputation=e.reputation,
                score=e.score,
                adjusted=e.adjusted,
                open_assignments=e.open_assignments,
                available=e.available,
                newcomer=e.newcomer,
                eligible=e.eligible,
                offered=e.account in offered,
                explored=e.account in explored,
            )
            for e in sorted(decision.evaluated, key=lambda e: (-e.adjusted, -e.reputation, e.account))
        ],
        commitment="0x" + decision.commitment.hex(),
        commitment_matches=check.commitment_matches,
        replays=check.replays,
        replay_detail=check.detail,
        why=explain(decision, route.epoch, topic),
        record=record,
    )


def _epochs(context: ApiContext) -> Epochs:
    """One cache of parsed epochs per API context (a published epoch never changes)."""
    epochs: Epochs = context.__dict__.setdefault("brand_routes_epochs", Epochs(context.public_store))
    return epochs


@router.get(
    "/brands/{brand_id}/questions/{question_id}",
    summary="One question of the brand, with the full routing decision, why it was taken, and whether it replays",
)
def get_question(brand_id: BrandReader, question_id: QuestionIdPath, context: Context) -> QuestionDetail:
    question_id = question_id.lower()
    with context.database.read() as session:
        configured_brand(session, brand_id)
        posted = session.scalars(
            select(ix.QuestionPosted)
            .where(ix.QuestionPosted.question_id == question_id, ix.QuestionPosted.brand_id == brand_id)
            .limit(1)
        ).first()
        if posted is None:
            raise Problem(404, f"brand {brand_id} has no question {question_id} on chain")
        (summary,) = _questions(session, [posted])
        epochs = _epochs(context)
        rounds_out = [
            RoundOut(
                **_routing(session, epochs, route, summary.topic).model_dump(),
                round=route.round,
                escalated=bool(route.decision["escalated"]),
                offer_states=[_offer_out(o) for o in offers],
            )
            for route, offers in rounds.rounds_of(session, question_id)
        ]
        deliveries = [delivery_out(d) for d in queue.deliveries_of_question(session, brand_id, question_id)]
    first = None if not rounds_out else RoutingOut(**rounds_out[0].model_dump(include=set(RoutingOut.model_fields)))
    return QuestionDetail(**summary.model_dump(), routing=first, rounds=rounds_out, deliveries=deliveries)

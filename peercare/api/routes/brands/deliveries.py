"""`/brands/{brand_id}/channels/{source}` and `/brands/{brand_id}/deliveries`: where the oracle tells
a brand's ticketing systems what routing did (set by its admin; the credential is never shown
again), and each delivery with its state, attempts and last error; a parked delivery can be put
back in the queue once its cause is fixed (`peercare.oracle.deliveries`)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from peercare.api.paging import DEFAULT_LIMIT, Limit, PageCursor, after_cursor
from peercare.api.problems import Problem
from peercare.api.routes.brands.common import configured_brand
from peercare.api.schemas.common import Page, Source
from peercare.api.schemas.deliveries import ChannelIn, ChannelOut, DeliveryOut
from peercare.api.security import BrandAdmin, BrandReader, Context
from peercare.db.tables.deliveries import Delivery
from peercare.oracle.deliveries import queue

router = APIRouter()

SourcePath = Annotated[Source, Path(description="The ticketing system")]


@router.put(
    "/brands/{brand_id}/channels/{source}",
    summary="Set where and how PeerCare tells the brand's ticketing system about offers and answers",
    responses={422: {"description": "a field is invalid (zendesk needs the agent's email as username)"}},
)
def put_channel(brand_id: BrandAdmin, source: SourcePath, body: ChannelIn, context: Context) -> ChannelOut:
    if source == "zendesk" and body.username is None:
        raise Problem(422, "username: zendesk's API token authenticates as an agent: give the agent's email")
    now_ms = int(time.time() * 1000)
    with context.database.transaction() as session:
        configured_brand(session, brand_id)
        row = queue.set_channel(
            session,
            brand_id,
            source,
            base_url=body.base_url,
            secret=body.secret,
            username=body.username if source == "zendesk" else None,
            now_ms=now_ms,
        )
        return ChannelOut(
            source=source,
            base_url=row.base_url,
            username=row.username,
            created_at_ms=row.created_at_ms,
            note="Stored; the secret is never shown again. Deliveries queued from now on use it.",
        )


@router.get("/brands/{brand_id}/deliveries", summary="What PeerCare told the brand's ticketing systems, oldest first")
def list_deliveries(
    brand_id: BrandReader,
    context: Context,
    limit: Limit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
    status: Annotated[Literal["pending", "delivered", "parked"] | None, Query(description="Only these")] = None,
) -> Page[DeliveryOut]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        configured_brand(session, brand_id)
        rows = queue.deliveries_of(session, brand_id, after, limit + 1, status=status)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[delivery_out(r) for r in rows], next_cursor=str(rows[-1].id) if more else None)


@router.post(
    "/brands/{brand_id}/deliveries/{delivery_id}/retry",
    summary="Put a parked delivery back in the queue (after fixing its cause)",
    responses={404: {"description": "the brand has no parked delivery with this id"}},
)
def retry_delivery(
    brand_id: BrandAdmin, delivery_id: Annotated[int, Path(ge=1, le=2**62)], context: Context
) -> DeliveryOut:
    now_ms = int(time.time() * 1000)
    with context.database.transaction() as session:
        configured_brand(session, brand_id)
        if not queue.retry_parked(session, brand_id, delivery_id, now_ms):
            raise Problem(404, f"brand {brand_id} has no parked delivery {delivery_id}")
        row = session.get(Delivery, delivery_id)
        assert row is not None
        session.refresh(row)
        return delivery_out(row)


def delivery_out(row: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        key=row.key,
        kind=row.kind,
        source=row.source,
        ticket_id=row.ticket_id,
        question_id=row.question_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at_ms=row.next_attempt_at_ms,
        last_error=row.last_error,
        created_at_ms=row.created_at_ms,
        delivered_at_ms=row.delivered_at_ms,
    )

"""`/brands/{brand_id}`: a brand's configuration (name, topics, bounties, answer window, experts)
and its configured webhook sources; read by its readers, changed by its admin. How a change is
validated is `schemas.brands.BrandPatch`."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.api.routes.brands.common import configured_brand, webhook_endpoint
from peercare.api.schemas.brands import BrandOut, BrandPatch, WebhookOut
from peercare.api.security import BrandAdmin, BrandReader, Context
from peercare.db.tables.oracle import Brand, WebhookCredential

router = APIRouter()


def _brand_out(session: Session, brand: Brand) -> BrandOut:
    credentials = session.scalars(
        select(WebhookCredential).where(WebhookCredential.brand_id == brand.id).order_by(WebhookCredential.source)
    )
    return BrandOut(
        id=brand.id,
        name=brand.name,
        default_topic=brand.default_topic,
        topics=list(brand.topics),
        default_bounty=str(brand.default_bounty),
        bounty_by_tag={tag: str(amount) for tag, amount in brand.bounty_by_tag.items()},
        answer_window_s=brand.answer_window_s,
        experts=dict(brand.experts),
        offer_window_s=brand.offer_window_s,
        max_offer_rounds=brand.max_offer_rounds,
        webhooks=[
            WebhookOut(source=c.source, endpoint=webhook_endpoint(brand.id, c.source), basic_username=c.basic_username)
            for c in credentials
        ],
        created_at_ms=brand.created_at_ms,
    )


@router.get("/brands/{brand_id}", summary="The brand's configuration and its configured webhook sources")
def get_brand(brand_id: BrandReader, context: Context) -> BrandOut:
    with context.database.read() as session:
        return _brand_out(session, configured_brand(session, brand_id))


@router.patch(
    "/brands/{brand_id}",
    summary="Change the brand's configuration (applies to tickets created from now on)",
    responses={422: {"description": "a field is invalid; nothing was changed"}},
)
def patch_brand(brand_id: BrandAdmin, body: BrandPatch, context: Context) -> BrandOut:
    with context.database.transaction() as session:
        brand = configured_brand(session, brand_id)
        for name in body.model_fields_set:
            value = getattr(body, name)
            setattr(brand, name, int(value) if name == "default_bounty" else value)
        session.flush()
        return _brand_out(session, brand)

"""What every brand resource shares: the brand's configuration or a 404, and where its webhooks post."""

from __future__ import annotations

from sqlalchemy.orm import Session

from peercare.api.problems import Problem
from peercare.db.tables.oracle import Brand


def configured_brand(session: Session, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise Problem(404, f"brand {brand_id} is not configured on this oracle")
    return brand


def webhook_endpoint(brand_id: int, source: str) -> str:
    return f"/api/v1/webhooks/{brand_id}/{source}"

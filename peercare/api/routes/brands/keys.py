"""`/brands/{brand_id}/keys`: a brand's API keys, created (the token shown once), listed (never
their secrets) and revoked by the brand's admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from sqlalchemy import func, select

from peercare.api.paging import DEFAULT_LIMIT, Limit, PageCursor, after_cursor
from peercare.api.problems import Problem
from peercare.api.routes.brands.common import configured_brand
from peercare.api.schemas.brands import KeyIn, KeyOut, NewKeyOut
from peercare.api.schemas.common import Page
from peercare.api.security import BrandAdmin, Context, create_api_key, now_ms
from peercare.db.tables.api import ApiKey, KeyRole

router = APIRouter()

KeyPrefixPath = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The key's public prefix")]


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "prefix": key.prefix,
        "label": key.label,
        "created_at_ms": key.created_at_ms,
        "revoked_at_ms": key.revoked_at_ms,
        "revoked": key.revoked_at_ms is not None,
    }


@router.post("/brands/{brand_id}/keys", status_code=201, summary="Create another API key for the brand")
def create_key(brand_id: BrandAdmin, body: KeyIn, context: Context) -> NewKeyOut:
    with context.database.transaction() as session:
        configured_brand(session, brand_id)
        key, token = create_api_key(session, KeyRole.BRAND, brand_id, body.label)
        return NewKeyOut(**_key_out(key), token=token)


@router.get("/brands/{brand_id}/keys", summary="The brand's API keys, oldest first (never their secrets)")
def list_keys(
    brand_id: BrandAdmin, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[KeyOut]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        keys = list(
            session.scalars(
                select(ApiKey)
                .where(ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id, ApiKey.id > after)
                .order_by(ApiKey.id)
                .limit(limit + 1)
            )
        )
    more = len(keys) > limit
    keys = keys[:limit]
    return Page(items=[KeyOut(**_key_out(k)) for k in keys], next_cursor=str(keys[-1].id) if more else None)


@router.delete(
    "/brands/{brand_id}/keys/{prefix}",
    status_code=204,
    summary="Revoke one of the brand's API keys (it gets 401 from then on)",
    responses={404: {"description": "no such key of this brand"}, 409: {"description": "the brand's last active key"}},
)
def revoke_key(brand_id: BrandAdmin, prefix: KeyPrefixPath, context: Context) -> Response:
    """Revoking a revoked key changes nothing. The last active key cannot be revoked: the brand
    would lock itself out (create another first)."""
    with context.database.transaction() as session:
        key = session.scalars(
            select(ApiKey).where(
                ApiKey.prefix == prefix, ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id
            )
        ).first()
        if key is None:
            raise Problem(404, f"brand {brand_id} has no API key {prefix}")
        if key.revoked_at_ms is None:
            active = session.scalar(
                select(func.count()).where(
                    ApiKey.role == KeyRole.BRAND.value, ApiKey.brand_id == brand_id, ApiKey.revoked_at_ms.is_(None)
                )
            )
            if active == 1:
                raise Problem(409, f"{prefix} is brand {brand_id}'s last active key: create another before revoking it")
            key.revoked_at_ms = now_ms()
    return Response(status_code=204)

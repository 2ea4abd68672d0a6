"""`GET /api/v1/health`: whether the chain, the content store and the database answer, and how
far the indexer is behind the chain's head (in blocks)."""

from __future__ import annotations

import os
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from peercare.api.auth import Context
from peercare.api.context import ApiContext
from peercare.content.embedded import EmbeddedStore
from peercare.content.ipfs import IpfsStore
from peercare.oracle import projections as ix
from peercare.oracle.rpc import Rpc

#: More blocks behind the head than this (beyond the confirmations it waits for) is "degraded".
LAG_DEGRADED = 20
router = APIRouter(prefix="/api/v1", tags=["health"])


class Check(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    chain: Check
    content_store: Check
    database: Check
    head_block: int | None
    indexed_block: int | None
    indexer_lag_blocks: int | None


def health_of(context: ApiContext) -> Health:
    head: int | None = None
    try:
        with Rpc(context.settings.effective_rpc_url, timeout_s=2.0, max_attempts=1) as rpc:
            head = int(rpc.call("eth_blockNumber"), 16)
        chain = Check(ok=True, detail=f"block {head}")
    except Exception as exc:
        chain = Check(ok=False, detail=f"unreachable: {type(exc).__name__}: {exc}"[:300])
    content = _content_check(context)
    indexed: int | None = None
    try:
        with context.database.read() as session:
            session.execute(text("SELECT 1"))
            cursor = session.get(ix.Cursor, 1)
            indexed = None if cursor is None else cursor.block_number
        database = Check(ok=True, detail=context.database.engine.dialect.name)
    except Exception as exc:
        database = Check(ok=False, detail=f"unreachable: {type(exc).__name__}"[:300])
    lag = None if head is None or indexed is None else max(0, head - indexed)
    if not (chain.ok and content.ok and database.ok):
        status: Literal["ok", "degraded", "down"] = "down"
    elif lag is None or lag > context.settings.confirmations + LAG_DEGRADED:
        status = "degraded"
    else:
        status = "ok"
    return Health(
        status=status,
        chain=chain,
        content_store=content,
        database=database,
        head_block=head,
        indexed_block=indexed,
        indexer_lag_blocks=lag,
    )


def _content_check(context: ApiContext) -> Check:
    details = []
    for store in context.vault.stores:
        try:
            if isinstance(store, IpfsStore):
                details.append(f"IPFS {store.version()}")
            elif isinstance(store, EmbeddedStore):
                if not os.access(store.blocks, os.W_OK):
                    raise OSError(f"{store.blocks} is not writable")
                details.append("embedded")
            else:
                details.append(type(store).__name__)
        except Exception as exc:
            return Check(ok=False, detail=f"unreachable: {type(exc).__name__}: {exc}"[:300])
    return Check(ok=True, detail=", ".join(details))


@router.get(
    "/health",
    response_model=Health,
    summary="Chain, content store and database reachable; indexer lag in blocks",
    responses={503: {"model": Health, "description": "something the service needs is unreachable"}},
)
def health(context: Context) -> Health | JSONResponse:
    report = health_of(context)
    if report.status == "down":
        return JSONResponse(report.model_dump(), status_code=503)
    return report

"""The health report (`GET /api/v1/health`, `routes/health.py`): each dependency's check, the
signer's writes, and the overall status with its reasons."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Check(BaseModel):
    ok: bool
    detail: str


class Writes(BaseModel):
    """The signer's transactions as the database and the chain show them."""

    in_flight: int = Field(description="outbox rows SENT: signed, not yet mined")
    max_in_flight: int = Field(description="the signer signs no more than this many unmined transactions")
    oldest_unmined_outbox_id: int | None
    oldest_unmined_kind: str | None
    oldest_unmined_age_s: float | None = Field(description="since the oldest SENT row's nonce was first signed")
    signer_address: str | None
    signer_next_nonce: int | None = Field(description="the nonce the signer hands out next (signer_state)")
    chain_nonce: int | None = Field(description="the chain's transaction count of the signer at its latest block")
    at_fee_ceiling: int = Field(description="SENT rows whose newest transaction the signer can no longer replace")


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    reasons: list[str] = Field(description="why the status is not ok, in words; empty when ok")
    chain: Check
    content_store: Check
    database: Check
    head_block: int | None
    indexed_block: int | None
    indexer_lag_blocks: int | None
    writes: Writes | None = Field(description="null when the database does not answer")

"""The shapes of a brand's outbound channels and deliveries (`routes/brands/deliveries.py`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from peercare.api.schemas.common import Source, Strict

Url = Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https?://[^\s]+$")]


class ChannelIn(Strict):
    base_url: Url = Field(
        description="generic: the URL PeerCare posts to; zendesk: https://<subdomain>.zendesk.com; "
        "freshdesk: https://<domain>.freshdesk.com"
    )
    secret: str = Field(
        min_length=8,
        max_length=500,
        description="generic: the HMAC secret; zendesk: an API token; freshdesk: an API key",
    )
    username: Annotated[str, Field(min_length=3, max_length=200)] | SkipJsonSchema[None] = Field(
        None, description="zendesk: the agent's email the API token belongs to (required there, unused elsewhere)"
    )

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class ChannelOut(BaseModel):
    source: Source
    base_url: str
    username: str | None
    created_at_ms: int
    note: str = Field(description="The secret is never shown again")


class DeliveryOut(BaseModel):
    id: int
    key: str = Field(description="Unique; sent along as the idempotency key")
    kind: Literal["offer", "escalation", "answer"]
    source: Source
    ticket_id: str
    question_id: str | None
    status: Literal["pending", "delivered", "parked"]
    attempts: int
    next_attempt_at_ms: int
    last_error: str | None = Field(description="Why the last attempt failed, or why it is parked")
    created_at_ms: int
    delivered_at_ms: int | None

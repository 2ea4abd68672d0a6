"""The shapes of an advocate's offers (`routes/offers.py`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from peercare.api.schemas.common import Address, Hex32, Strict, TokenAmount
from peercare.routing.inbox import MAX_REASON


class OfferedQuestion(BaseModel):
    """What the offered advocate needs to decide; shown to them only (decrypted from the content store)."""

    title: str = Field(description="The first line of the customer's first message (at most 120 characters)")
    tags: list[str] = Field(description="The conversation's topic tags")
    text: str = Field(description="The customer's messages, oldest first, separated by blank lines")


class OfferItem(BaseModel):
    question_id: Hex32
    brand_id: int
    brand_name: str
    ticket_id: str
    topic: str
    bounty: TokenAmount = Field(description="The question's bounty; a swarm member earns their share of it")
    token: Address | None = Field(description="The token of the brand's pool (null until its registration is indexed)")
    decimals: int | None = Field(description="The token's `decimals()`: the bounty is in its smallest units")
    round: int = Field(description="0 for the first round; later rounds reach people not offered before")
    role: Literal["answerer", "swarm", "expert"]
    share_bps: int = Field(description="A swarm member's share of the bounty in basis points; 0 for a direct offer")
    state: Literal["offered", "accepted"]
    offered_at_ms: int
    window_ends_at_ms: int = Field(description="Accept or decline before then; the question then moves on")
    seconds_left: int = Field(description="Of the exclusive window (0 once accepted)")
    why: str = Field(description="Why you were chosen: the round's reason and your own figures")
    commitment: Hex32 = Field(description="The round's committed decision (replayable by the brand and auditors)")
    question: OfferedQuestion | None = Field(description="Null when the conversation can no longer be read (erased)")


class OffersOut(BaseModel):
    items: list[OfferItem]


class AcceptIn(Strict):
    round: int = Field(
        ge=0, le=1_000_000, description="The round of the offer you decide on (as listed): a stale decision is refused"
    )


class DeclineIn(AcceptIn):
    reason: Annotated[str, Field(max_length=MAX_REASON)] | SkipJsonSchema[None] = Field(
        None, description="Optional, shown to the brand"
    )


class DecisionOut(BaseModel):
    question_id: Hex32
    round: int
    advocate: Address
    state: Literal["accepted", "declined"]
    decided_at_ms: int

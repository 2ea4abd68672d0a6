"""Models of the routing proofs route (`routes/routing_proofs.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from peercare.api.schemas.common import Address, Hex32


class OfferProofOut(BaseModel):
    brand_id: int
    question_id: Hex32
    round: int
    advocate: Address = Field(description="Who was offered the question (the zero address: the round itself)")
    commitment: Hex32 = Field(description="The round's decision commitment, in the leaf")
    leaf_encoding: list[str] = Field(description="The leaf's ABI types (an OpenZeppelin StandardMerkleTree leaf)")
    root: Hex32 = Field(description="The batch's Merkle root, anchored by `RoutingBatchAnchored`")
    proof: list[Hex32] = Field(description="The leaf's Merkle path to the root")
    block_number: int = Field(description="Where the root was anchored")
    tx_hash: Hex32
    manifest_cid: str = Field(description="The batch's public manifest: every round's decision record")
    decision: dict[str, Any] = Field(description="The round's decision record, as committed")

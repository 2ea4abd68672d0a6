"""Models of the auditors' routes (`routes/auditors.py`): one answer checked end to end (its record
on chain, its batch proof, its stored content) and a reputation epoch recomputed. A brand's export
is `peercare.api.exports.BrandHistory`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from peercare.api.schemas.common import Address, Hex32
from peercare.content.vault import Status

# ---------------------------------------------------------------- one answer


class ChainRecord(BaseModel):
    """The answer as the ledger's events recorded it."""

    question_id: Hex32
    brand_id: int
    advocate: Address
    content_digest: Hex32
    block_number: int
    block_hash: Hex32
    block_time: int = Field(description="The block's timestamp, unix seconds")
    tx_hash: Hex32
    log_index: int
    recorded_on_chain: bool | None = Field(
        description="The ledger's isAnswerRecordedFor(brand, AnswerRef) now (with the Merkle proof for a batched "
        "answer); null when the proof cannot be rebuilt (see batch.problem)"
    )


class AnswerLeaf(BaseModel):
    """A batch leaf's values, as StandardMerkleTree hashes them (bytes32, address, bytes32)."""

    question_id: Hex32
    advocate: Address
    content_digest: Hex32


class BatchProof(BaseModel):
    """The answer's place in its anchored batch, rebuilt from the batch manifest."""

    root: Hex32 = Field(description="The batch root anchored on chain")
    leaf_index: int = Field(description="The answer's position in the manifest")
    size: int | None = Field(description="Leaves in the batch, as anchored")
    manifest_cid: str | None = Field(description="The manifest the anchoring event names")
    manifest_status: str | None = Field(description="What the indexer found: ok, missing, invalid or mismatch")
    leaf: AnswerLeaf | None = Field(None, description="The manifest's leaf at leaf_index")
    leaf_hash: Hex32 | None = Field(None, description="keccak256(keccak256(abi.encode(leaf)))")
    proof: list[Hex32] | None = Field(None, description="Sibling hashes from the leaf up to the root")
    proof_valid: bool = Field(False, description="The proof takes this answer's leaf to the anchored root")
    problem: str | None = Field(None, description="Why the proof is missing or invalid, if it is")


class ErasureOut(BaseModel):
    erased_at: datetime
    erased_by: str
    reason: str


class ContentAudit(BaseModel):
    """The answer's sealed conversation in the content store."""

    cid: str = Field(description="CIDv1 of content_digest")
    status: Status
    content_matches: bool | None = Field(
        description="The stored block hashes to the digest; null when nothing is stored to check (erased, missing)"
    )
    erasure: ErasureOut | None = Field(description="Who erased it, when and why (status erased)")


class AnswerAudit(BaseModel):
    answer_id: Hex32
    record: ChainRecord
    batch: BatchProof | None = Field(description="Null for an answer recorded directly")
    content: ContentAudit


# ---------------------------------------------------------------- reputation epochs


class PublishedEpoch(BaseModel):
    """A `ReputationRootPublished` event."""

    epoch: int
    root: Hex32
    manifest_cid: str
    block_number: int
    block_time: int
    tx_hash: Hex32
    log_index: int


class EpochAudit(BaseModel):
    """An epoch recomputed from the indexed events and the manifest named on chain: `ok` when the
    root on chain, the manifest's root and the recomputed root are the same and nothing else differs."""

    epoch: int
    ok: bool
    root_on_chain: Hex32 | None
    manifest_root: Hex32 | None
    root_recomputed: Hex32 | None
    manifest_cid: str | None
    cut: int | None = Field(description="The manifest's cut: events in blocks up to this time count")
    leaves: int | None = Field(description="(advocate, topic, score) leaves in the manifest's tree")
    message: str = Field(description="'ok', or the first difference found")
    mismatches: list[str] = Field(description="Every difference found, most fundamental first")
    published: PublishedEpoch

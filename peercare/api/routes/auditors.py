"""Routes for auditors: check one answer end to end, recompute a reputation epoch, export a brand.

Everything here is read-only and checks the chain and the content store rather than trusting the
oracle's own tables: an answer's audit asks the ledger itself (`isAnswerRecorded`, with the Merkle
proof rebuilt from the public batch manifest) and re-hashes its stored conversation; an epoch's
audit recomputes every score from the indexed events and the manifest named on chain. An auditor
key scoped to one brand sees only that brand's answers and exports; epochs cover every brand and
are public, so any auditor key may check them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from peercare.api import exports
from peercare.api.chain_reads import read_view
from peercare.api.context import ApiContext
from peercare.api.paging import DEFAULT_LIMIT, Limit, PageCursor, after_cursor
from peercare.api.problems import Problem
from peercare.api.schemas.auditors import (
    AnswerAudit,
    AnswerLeaf,
    BatchProof,
    ChainRecord,
    ContentAudit,
    EpochAudit,
    ErasureOut,
    PublishedEpoch,
)
from peercare.api.schemas.common import Page
from peercare.api.security import Auditor, BrandReader, Context
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentError, StoreUnavailable
from peercare.content.vault import Status
from peercare.core.hex import hexed, unhex
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import MerkleError, leaf_hash, verify
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import BatchManifest, ManifestError
from peercare.reputation.publication import recompute_from_index

router = APIRouter(prefix="/api/v1", tags=["auditors"])

AnswerIdPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The answer's id: keccak256(questionId, advocate, digest)")
]
EpochPath = Annotated[int, Path(ge=1, le=2**64 - 1, description="A reputation epoch")]
ZERO32 = b"\0" * 32
#: The largest integer the database holds (SQLite's INTEGER): a larger brand or epoch was never indexed.
DB_INT_MAX = 2**63 - 1


def _problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """Error responses in this route's words (the app gives each the problem document's schema)."""
    return {status: {"description": description} for status, description in descriptions.items()}


AUDITOR_ERRORS = {401: "no valid credentials", 403: "not an auditor key, or one for another brand"}
CHAIN_DOWN = {503: "the chain node or the content store cannot be reached"}


# ---------------------------------------------------------------- one answer


@router.get(
    "/audit/answers/{answer_id}",
    summary="Check one answer: its record on chain, its batch proof and its stored content",
    responses=_problems({**AUDITOR_ERRORS, 404: "no such answer indexed", 422: "malformed answer id", **CHAIN_DOWN}),
)
def audit_answer(answer_id: AnswerIdPath, caller: Auditor, context: Context) -> AnswerAudit:
    answer_id = answer_id.lower()
    with context.database.read() as session:
        # The first time it was indexed: the same answer may be anchored again in a later batch.
        row = session.scalars(
            select(ix.AnswerRow).where(ix.AnswerRow.answer_id == answer_id).order_by(ix.AnswerRow.id)
        ).first()
        if row is None:
            raise Problem(404, f"no answer {answer_id} has been indexed from the ledger")
        batch = None
        if row.batch_root is not None:
            # The batch whose anchoring log the row came from: two brands may anchor the same root.
            batch = session.scalars(
                select(ix.BatchAnchored).where(
                    ix.BatchAnchored.tx_hash == row.tx_hash, ix.BatchAnchored.log_index == row.log_index
                )
            ).first()
        brand_id = session.scalar(
            select(ix.QuestionPosted.brand_id).where(ix.QuestionPosted.question_id == row.question_id)
        )
    if brand_id is None and batch is not None:
        brand_id = batch.brand_id
    if brand_id is None:
        raise Problem(404, f"answer {answer_id} answers question {row.question_id}, which has not been indexed")
    if caller.brand_id not in (None, brand_id):
        raise Problem(403, f"this auditor key is for brand {caller.brand_id}; answer {answer_id} is brand {brand_id}'s")
    proof = None if row.batch_root is None else _batch_proof(context, row, row.batch_root, batch)
    return AnswerAudit(
        answer_id=answer_id,
        record=ChainRecord(
            question_id=row.question_id,
            brand_id=brand_id,
            advocate=row.advocate,
            content_digest=row.content_digest,
            block_number=row.block_number,
            block_hash=row.block_hash,
            block_time=row.block_time,
            tx_hash=row.tx_hash,
            log_index=row.log_index,
            recorded_on_chain=_recorded_on_chain(context, row, proof, brand_id),
        ),
        batch=proof,
        content=_content_audit(context, unhex(row.content_digest)),
    )


def _leaf_of(row: ix.AnswerRow) -> tuple[bytes, str, bytes]:
    return (unhex(row.question_id), row.advocate, unhex(row.content_digest))


def _batch_proof(context: ApiContext, row: ix.AnswerRow, root: str, batch: ix.BatchAnchored | None) -> BatchProof:
    """The answer's Merkle proof under `root`, rebuilt from the manifest the batch's anchoring event names."""
    if batch is None:
        return BatchProof(
            root=root,
            leaf_index=row.leaf_index,
            size=None,
            manifest_cid=None,
            manifest_status=None,
            problem=f"no AnswerBatchAnchored event for root {root} has been indexed",
        )
    cid = cid_from_digest(unhex(batch.manifest_digest))
    anchored = BatchProof(
        root=root,
        leaf_index=row.leaf_index,
        size=batch.size,
        manifest_cid=cid,
        manifest_status=batch.manifest_status,
    )
    try:
        manifest = BatchManifest.from_bytes(context.public_store.get(cid))
        if not row.leaf_index < len(manifest.leaves):
            raise ManifestError(f"it has {len(manifest.leaves)} leaves, none at index {row.leaf_index}")
        value = manifest.leaves[row.leaf_index].value()
        path = manifest.tree().proof(row.leaf_index)
    except StoreUnavailable as exc:
        raise Problem(503, f"the content store cannot be reached: {exc}") from None
    except (ContentError, ManifestError, MerkleError) as exc:
        return anchored.model_copy(update={"problem": f"the batch manifest {cid} gives no proof: {exc}"})
    # The answer's own values (not the manifest's) against the anchored root (not the manifest's).
    valid = verify(unhex(root), ANSWER_LEAF_ENCODING, _leaf_of(row), path)
    question, advocate, digest = value
    return anchored.model_copy(
        update={
            "leaf": AnswerLeaf(question_id=hexed(question), advocate=advocate, content_digest=hexed(digest)),
            "leaf_hash": hexed(leaf_hash(ANSWER_LEAF_ENCODING, value)),
            "proof": [hexed(node) for node in path],
            "proof_valid": valid,
            "problem": None
            if valid
            else f"the manifest's leaf {row.leaf_index} does not prove this answer under the anchored root",
        }
    )


def _recorded_on_chain(context: ApiContext, row: ix.AnswerRow, proof: BatchProof | None, brand_id: int) -> bool | None:
    """The ledger's own answer, for the question's brand (`isAnswerRecordedFor`: a question posted
    in a batch has no stored slot that would name it)."""
    if proof is not None and proof.proof is None:
        return None
    root = ZERO32 if proof is None else unhex(proof.root)
    path = [] if proof is None or proof.proof is None else [unhex(node) for node in proof.proof]
    data = context.ledger.encode_abi("isAnswerRecordedFor", args=[brand_id, (*_leaf_of(row), root, path)])
    (recorded,) = read_view(context, context.ledger.address, data, ["bool"])
    return bool(recorded)


def _content_audit(context: ApiContext, digest: bytes) -> ContentAudit:
    cid = cid_from_digest(digest)
    try:
        status = context.vault.status(cid)
    except StoreUnavailable as exc:
        raise Problem(503, f"the content store cannot be reached: {exc}") from None
    record = context.vault.keys.erasure(cid) if status is Status.ERASED else None
    return ContentAudit(
        cid=cid,
        status=status,
        content_matches={Status.AVAILABLE: True, Status.UNKNOWN_KEY: True, Status.CORRUPTED: False}.get(status),
        erasure=None
        if record is None
        else ErasureOut(erased_at=record.erased_at, erased_by=record.erased_by, reason=record.reason),
    )


# ---------------------------------------------------------------- reputation epochs


def _published(row: ix.ReputationRoot) -> PublishedEpoch:
    return PublishedEpoch(
        epoch=row.epoch,
        root=row.root,
        manifest_cid=cid_from_digest(unhex(row.manifest_digest)),
        block_number=row.block_number,
        block_time=row.block_time,
        tx_hash=row.tx_hash,
        log_index=row.log_index,
    )


@router.get(
    "/audit/epochs",
    summary="The reputation epochs published on chain, oldest first",
    responses=_problems({**AUDITOR_ERRORS, 422: "malformed limit or cursor"}),
)
def list_epochs(
    caller: Auditor, context: Context, limit: Limit = DEFAULT_LIMIT, cursor: PageCursor = None
) -> Page[PublishedEpoch]:
    after = after_cursor(cursor)
    with context.database.read() as session:
        rows = ix.current_roots(session, after=after, limit=limit + 1)
    items = [_published(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=str(items[-1].epoch) if len(rows) > limit else None)


@router.get(
    "/audit/epochs/{epoch}",
    summary="Recompute a reputation epoch and compare its roots (on chain, manifest, recomputed)",
    responses=_problems({**AUDITOR_ERRORS, 404: "the epoch was not published", 422: "malformed epoch"}),
)
def audit_epoch(epoch: EpochPath, caller: Auditor, context: Context) -> EpochAudit:
    with context.database.read() as session:
        row = None
        if epoch <= DB_INT_MAX:
            row = ix.current_root(session, epoch)
        if row is None:
            raise Problem(404, f"epoch {epoch} has not been published on chain (or not indexed yet)")
        result = recompute_from_index(session, context.public_store, epoch).as_json()
    leaves = None if result["manifest_root"] is None else _leaf_count(context, result["manifest_cid"])
    return EpochAudit(**result, leaves=leaves, published=_published(row))


def _leaf_count(context: ApiContext, cid: str) -> int | None:
    """Leaves of a manifest already found sound by the recomputation (None if it vanished since)."""
    try:
        return len(json.loads(context.public_store.get(cid))["tree"]["values"])
    except (ContentError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- brand exports


@router.get(
    "/brands/{brand_id}/export",
    summary="Export a brand's whole on-chain history (JSON, or one CSV table with a kind column)",
    response_model=exports.BrandHistory,
    responses={
        200: {
            "description": "The brand's history: JSON (`format=json`) or CSV (`format=csv`, an attachment)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **_problems(
            {
                401: "no valid credentials",
                403: "neither this brand's key nor an auditor key covering it",
                404: "no such brand registered on the ledger",
                422: "malformed brand id or format",
            }
        ),
    },
)
def export_brand(
    brand: BrandReader,
    context: Context,
    export_format: Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv")] = "json",
) -> exports.BrandHistory | StreamingResponse:
    """Every event of the brand the indexer has seen up to `indexed_block`, each with its block
    number and time, transaction hash and log index: questions posted (alone, or in a question
    batch: with its root and leaf), answers (with their batch root and leaf), anchored batches,
    ratings, acceptances, reward credits (payouts), pool movements, question expiries, question
    batches posted, batched questions accepted or opened, and question batches released.

    CSV (`format=csv`): one table, one row per event, in the order of the JSON lists. Columns:
    `kind` (question, answer, batch, rating, acceptance, reward_credit, pool_movement,
    question_expiry, question_batch, batched_question, question_batch_release), `block_number`,
    `block_time`, `tx_hash`, `log_index`, then each kind's own columns, empty where a kind has no
    such field: `question_id`, `ticket_id`, `topic`, `source`, `bounty`, `deadline`,
    `content_digest`, `batch_root`, `leaf_index`, `answer_id`, `advocate`, `size`, `manifest_cid`,
    `manifest_status`, `rating`, `rater_kind`, `rater_id`, `account`, `token`, `amount`, `movement`
    (a pool movement's kind: deposit, withdraw, escrow, refund or payout), `refunded`,
    `total_bounty` and `how` (a batched question's: accepted or opened). Amounts are in wei.
    """
    with context.database.read() as session:
        if brand > DB_INT_MAX or not exports.brand_registered(session, brand):
            raise Problem(404, f"brand {brand} is not registered on the ledger (or not indexed yet)")
        if export_format == "json":
            contracts = {name: entry.address for name, entry in context.deployment.contracts.items()}
            return exports.brand_history(session, brand, context.deployment.chain_id, contracts)
        upto = exports.indexed_block(session)
    return StreamingResponse(
        exports.history_csv(context.database, brand, upto),
        media_type="text/csv",
        headers={"Content-Disposition": f"attachment; filename=brand-{brand}-history.csv"},
    )

"""Batch manifests: fetched from the content store, checked against the anchored batch, fetched again while missing.

Answers anchored in a batch come from the batch's manifest, fetched from the content store by the
digest in `AnswerBatchAnchored`. A manifest not there yet leaves the batch "missing" and is fetched
again on later steps; its answers are inserted when it arrives, with the anchoring log's position,
so a rewind removes them with the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from eth_utils.crypto import keccak
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from peercare.content.cid import cid_from_digest
from peercare.core.hex import unhex
from peercare.core.ledger_ids import answer_id
from peercare.core.merkle import root_of_leaves
from peercare.db.tables.projections import AnswerRow, BatchAnchored, ManifestStatus
from peercare.oracle.indexer.admission import admitted_answers
from peercare.oracle.manifest import BatchManifest, ManifestError

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")

#: Missing manifests tried again per step at most.
MANIFEST_RETRIES_PER_STEP = 100

ManifestKey = tuple[str, str, int, int]  # (manifest digest, batch root, size, brand id) as anchored
Manifest = tuple[ManifestStatus, list[dict[str, Any]]]  # its status, and one row per leaf when OK

_BATCH_COLUMNS = (
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "log_index",
    "root",
    "brand_id",
    "size",
    "manifest_digest",
)


class ContentSource(Protocol):
    """What the indexer needs of a content store (`peercare.content.store.Store`)."""

    def get(self, cid: str) -> bytes: ...


def read_manifest(content_store: ContentSource, digest: str, root: str, size: int, brand_id: int) -> Manifest:
    """Fetch a batch's manifest and check it against the anchored root, size and brand: its
    status and, when it matches, one row per leaf (without the anchoring event's fields)."""
    cid = cid_from_digest(unhex(digest))
    try:
        data = content_store.get(cid)
    except Exception as exc:
        log.info("manifest %s of batch %s is not available yet: %s", cid, root, exc)
        return ManifestStatus.MISSING, []
    try:
        manifest = BatchManifest.from_bytes(data)
    except ManifestError as exc:
        log.warning("manifest %s of batch %s is invalid: %s", cid, root, exc)
        return ManifestStatus.INVALID, []
    ids = [answer_id(leaf.question_id, leaf.advocate, leaf.content_digest) for leaf in manifest.leaves]
    computed = "0x" + root_of_leaves([keccak(answer) for answer in ids]).hex()
    if computed != root or len(ids) != size or manifest.brand_id != brand_id:
        log.warning(
            "manifest %s does not match batch %s: root %s, %d leaves, brand %d (anchored: %d leaves, brand %d)",
            cid,
            root,
            computed,
            len(ids),
            manifest.brand_id,
            size,
            brand_id,
        )
        return ManifestStatus.MISMATCH, []
    leaves = [
        {
            "answer_id": "0x" + answer.hex(),
            "question_id": "0x" + leaf.question_id.hex(),
            "advocate": leaf.advocate,
            "content_digest": "0x" + leaf.content_digest.hex(),
            "batch_root": root,
            "leaf_index": index,
        }
        for index, (leaf, answer) in enumerate(zip(manifest.leaves, ids, strict=True))
    ]
    return ManifestStatus.OK, leaves


def batch_answers(
    content_store: ContentSource, batch: Mapping[str, Any], manifests: Mapping[ManifestKey, Manifest] | None = None
) -> tuple[ManifestStatus, list[dict[str, Any]]]:
    """The status of the batch's manifest and, when it matches the anchored batch, its answer
    rows; the manifest as read before the step (`Indexer._prefetch`) if it is in `manifests`."""
    key = (batch["manifest_digest"], batch["root"], batch["size"], batch["brand_id"])
    found = (manifests or {}).get(key)
    status, leaves = found if found is not None else read_manifest(content_store, *key)
    at = {name: batch[name] for name in ("block_number", "block_hash", "block_time", "tx_hash", "log_index")}
    return status, [at | leaf for leaf in leaves]


def retry_missing_manifests(session: Session, content_store: ContentSource, up_to_block: int) -> None:
    """Fetch again the manifests of batches anchored up to `up_to_block` (by earlier steps)."""
    missing = session.scalars(
        select(BatchAnchored)
        .where(BatchAnchored.manifest_status == ManifestStatus.MISSING, BatchAnchored.block_number <= up_to_block)
        .order_by(BatchAnchored.block_number, BatchAnchored.log_index)
        .limit(MANIFEST_RETRIES_PER_STEP)
    ).all()
    for batch in missing:
        values = {column: getattr(batch, column) for column in _BATCH_COLUMNS}
        status, answers = batch_answers(content_store, values)
        if status is ManifestStatus.MISSING:
            continue
        answers = admitted_answers(session, values, answers)
        session.execute(
            update(BatchAnchored)
            .where(BatchAnchored.id == batch.id, BatchAnchored.manifest_status == ManifestStatus.MISSING)
            .values(manifest_status=status)
        )
        if answers:
            session.execute(insert(AnswerRow), answers)
        log.info("manifest of batch %s arrived: %s, %d answers", batch.root, status, len(answers))

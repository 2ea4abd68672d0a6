"""Batch manifests: fetched from the content store, checked against the anchored batch, fetched
again while missing.

Answers and ratings anchored in a batch come from the batch's manifest, fetched from the content
store by the digest in `AnswerBatchAnchored` or `RatingBatchAnchored`. A manifest not there yet
leaves the batch "missing" and is fetched again on later steps; its leaves are inserted when it
arrives, with the anchoring log's position, so a rewind removes them with the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from peercare.content.cid import cid_from_digest
from peercare.core.hex import unhex
from peercare.core.ledger_ids import answer_id
from peercare.db.tables.projections import AnswerRated, AnswerRow, BatchAnchored, ManifestStatus, RatingBatchAnchored
from peercare.oracle.indexer.admission import admitted_answers, admitted_ratings
from peercare.oracle.manifest import BatchManifest, ManifestError, RatingManifest

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")

#: Missing manifests tried again per step at most.
MANIFEST_RETRIES_PER_STEP = 100

#: (anchoring event, manifest digest, batch root, size, brand id) as anchored
ManifestKey = tuple[str, str, str, int, int]
ANSWER_BATCH, RATING_BATCH = "AnswerBatchAnchored", "RatingBatchAnchored"
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


def read_manifest(
    content_store: ContentSource, event: str, digest: str, root: str, size: int, brand_id: int
) -> Manifest:
    """Fetch a batch's manifest (`event`: the anchoring event, `AnswerBatchAnchored` or
    `RatingBatchAnchored`) and check it against the anchored root, size and brand: its status and,
    when it matches, one row per leaf (without the anchoring event's fields)."""
    cid = cid_from_digest(unhex(digest))
    try:
        data = content_store.get(cid)
    except Exception as exc:
        log.info("manifest %s of batch %s is not available yet: %s", cid, root, exc)
        return ManifestStatus.MISSING, []
    parse = BatchManifest.from_bytes if event == ANSWER_BATCH else RatingManifest.from_bytes
    try:
        manifest = parse(data)
    except ManifestError as exc:
        log.warning("manifest %s of batch %s is invalid: %s", cid, root, exc)
        return ManifestStatus.INVALID, []
    computed = "0x" + manifest.tree().root.hex()
    if computed != root or len(manifest.leaves) != size or manifest.brand_id != brand_id:
        log.warning(
            "manifest %s does not match batch %s: root %s, %d leaves, brand %d (anchored: %d leaves, brand %d)",
            cid,
            root,
            computed,
            len(manifest.leaves),
            manifest.brand_id,
            size,
            brand_id,
        )
        return ManifestStatus.MISMATCH, []
    if isinstance(manifest, BatchManifest):
        return ManifestStatus.OK, [
            {
                "answer_id": "0x" + answer_id(leaf.question_id, leaf.advocate, leaf.content_digest).hex(),
                "question_id": "0x" + leaf.question_id.hex(),
                "advocate": leaf.advocate,
                "content_digest": "0x" + leaf.content_digest.hex(),
                "batch_root": root,
                "leaf_index": index,
            }
            for index, leaf in enumerate(manifest.leaves)
        ]
    return ManifestStatus.OK, [
        {
            "answer_id": "0x" + leaf.answer_id.hex(),
            "question_id": "0x" + leaf.question_id.hex(),
            "advocate": leaf.advocate,
            "rating": leaf.rating,
            "rater_kind": leaf.rater_kind.label,
            "rater_id": "0x" + leaf.rater_id.hex(),
            "batch_root": root,
            "leaf_index": index,
        }
        for index, leaf in enumerate(manifest.leaves)
    ]


def manifest_key(event: str, batch: Mapping[str, Any]) -> ManifestKey:
    return (event, batch["manifest_digest"], batch["root"], batch["size"], batch["brand_id"])


def batch_leaves(
    content_store: ContentSource,
    event: str,
    batch: Mapping[str, Any],
    manifests: Mapping[ManifestKey, Manifest] | None = None,
) -> tuple[ManifestStatus, list[dict[str, Any]]]:
    """The status of the batch's manifest and, when it matches the anchored batch, its leaves'
    rows (answers or ratings, by `event`); the manifest as read before the step
    (`Indexer._prefetch`) if it is in `manifests`."""
    key = manifest_key(event, batch)
    found = (manifests or {}).get(key)
    status, leaves = found if found is not None else read_manifest(content_store, *key)
    at = {name: batch[name] for name in ("block_number", "block_hash", "block_time", "tx_hash", "log_index")}
    return status, [at | leaf for leaf in leaves]


def retry_missing_manifests(session: Session, content_store: ContentSource, up_to_block: int) -> None:
    """Fetch again the manifests of batches (of answers and of ratings) anchored up to
    `up_to_block` (by earlier steps)."""
    tables: tuple[tuple[str, type[BatchAnchored] | type[RatingBatchAnchored]], ...] = (
        (ANSWER_BATCH, BatchAnchored),
        (RATING_BATCH, RatingBatchAnchored),
    )
    for event, table in tables:
        missing: list[Any] = list(
            session.scalars(
                select(table)
                .where(table.manifest_status == ManifestStatus.MISSING, table.block_number <= up_to_block)
                .order_by(table.block_number, table.log_index)
                .limit(MANIFEST_RETRIES_PER_STEP)
            )
        )
        for batch in missing:
            values = {column: getattr(batch, column) for column in _BATCH_COLUMNS}
            status, leaves = batch_leaves(content_store, event, values)
            if status is ManifestStatus.MISSING:
                continue
            target: type[AnswerRow] | type[AnswerRated] = AnswerRow if event == ANSWER_BATCH else AnswerRated
            admit = admitted_answers if event == ANSWER_BATCH else admitted_ratings
            rows = admit(session, values, leaves)
            session.execute(
                update(table)
                .where(table.id == batch.id, table.manifest_status == ManifestStatus.MISSING)
                .values(manifest_status=status)
            )
            if rows:
                session.execute(insert(target), rows)
            log.info("manifest of batch %s arrived: %s, %d leaves admitted", batch.root, status, len(rows))

"""Batch manifests: fetched from the content store, checked against the anchored batch, fetched
again while missing.

Questions posted in a batch, and answers and ratings anchored in a batch, come from the batch's
manifest, fetched from the content store by the digest in `QuestionBatchPosted`,
`AnswerBatchAnchored` or `RatingBatchAnchored`. A manifest not there yet leaves the batch "missing"
and is fetched again on later steps; its leaves are inserted when it arrives, with the anchoring
log's position, so a rewind removes them with the batch. A question batch's manifest arriving late
also admits the leaves of later answer and rating batches that were left out for want of its
questions (`_readmit_leaves`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from peercare.content.cid import cid_from_digest
from peercare.core.hex import unhex
from peercare.core.ledger_ids import answer_id
from peercare.db.tables.projections import (
    AnswerRated,
    AnswerRow,
    BatchAnchored,
    ManifestStatus,
    QuestionBatchPostedRow,
    QuestionPosted,
    RatingBatchAnchored,
)
from peercare.oracle.indexer.admission import admitted_answers, admitted_questions, admitted_ratings
from peercare.oracle.manifest import BatchManifest, ManifestError, QuestionManifest, RatingManifest

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")

#: Missing manifests tried again per step at most.
MANIFEST_RETRIES_PER_STEP = 100

#: (anchoring event, manifest digest, batch root, size, brand id, total bounty) as anchored; the
#: total bounty is a question batch's (`QuestionBatchPosted`), 0 for the others
ManifestKey = tuple[str, str, str, int, int, int]
ANSWER_BATCH, RATING_BATCH, QUESTION_BATCH = "AnswerBatchAnchored", "RatingBatchAnchored", "QuestionBatchPosted"
#: The events whose logs name a manifest, and how each manifest is parsed.
PARSERS: dict[str, Callable[[bytes], BatchManifest | RatingManifest | QuestionManifest]] = {
    ANSWER_BATCH: BatchManifest.from_bytes,
    RATING_BATCH: RatingManifest.from_bytes,
    QUESTION_BATCH: QuestionManifest.from_bytes,
}
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
    content_store: ContentSource, event: str, digest: str, root: str, size: int, brand_id: int, total_bounty: int = 0
) -> Manifest:
    """Fetch a batch's manifest (`event`: the anchoring event, one of `PARSERS`) and check it
    against the anchored root, size and brand (and a question batch's total bounty, which its
    leaves' bounties must add up to): its status and, when it matches, one row per leaf (without
    the anchoring event's fields)."""
    cid = cid_from_digest(unhex(digest))
    try:
        data = content_store.get(cid)
    except Exception as exc:
        log.info("manifest %s of batch %s is not available yet: %s", cid, root, exc)
        return ManifestStatus.MISSING, []
    try:
        manifest = PARSERS[event](data)
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
    if isinstance(manifest, QuestionManifest):
        if manifest.total_bounty != total_bounty:
            log.warning(
                "manifest %s of question batch %s: its bounties add up to %d, the batch escrowed %d",
                cid,
                root,
                manifest.total_bounty,
                total_bounty,
            )
            return ManifestStatus.MISMATCH, []
        return ManifestStatus.OK, [
            {
                "question_id": "0x" + leaf.question_id.hex(),
                "brand_id": brand_id,
                "topic": "0x" + leaf.topic.hex(),
                "source": "0x" + leaf.source.hex(),
                "ticket_id": leaf.ticket_id,
                "bounty": leaf.bounty,
                "content_digest": "0x" + leaf.content_digest.hex(),
                "batch_root": root,
                "leaf_index": index,
            }
            for index, leaf in enumerate(manifest.leaves)
        ]
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
    return (
        event,
        batch["manifest_digest"],
        batch["root"],
        batch["size"],
        batch["brand_id"],
        batch.get("total_bounty", 0),
    )


def event_manifest_key(event: str, v: Mapping[str, Any]) -> ManifestKey:
    """The manifest key of a decoded log of `event` (one of `PARSERS`)."""
    return (event, v["manifestDigest"], v["batchRoot"], v["size"], v["brandId"], v.get("totalBounty", 0))


def batch_leaves(
    content_store: ContentSource,
    event: str,
    batch: Mapping[str, Any],
    manifests: Mapping[ManifestKey, Manifest] | None = None,
) -> tuple[ManifestStatus, list[dict[str, Any]]]:
    """The status of the batch's manifest and, when it matches the anchored batch, its leaves'
    rows (questions, answers or ratings, by `event`; a question's with its batch's deadline); the
    manifest as read before the step (`Indexer._prefetch`) if it is in `manifests`."""
    key = manifest_key(event, batch)
    found = (manifests or {}).get(key)
    status, leaves = found if found is not None else read_manifest(content_store, *key)
    at = {name: batch[name] for name in ("block_number", "block_hash", "block_time", "tx_hash", "log_index")}
    if event == QUESTION_BATCH:
        at["deadline"] = batch["deadline"]
    return status, [at | leaf for leaf in leaves]


def retry_missing_manifests(session: Session, content_store: ContentSource, up_to_block: int) -> None:
    """Fetch again the manifests of batches (of questions, answers and ratings) anchored up to
    `up_to_block` (by earlier steps)."""
    tables: tuple[tuple[str, type[QuestionBatchPostedRow] | type[BatchAnchored] | type[RatingBatchAnchored]], ...] = (
        (QUESTION_BATCH, QuestionBatchPostedRow),
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
            columns = _BATCH_COLUMNS + (("total_bounty", "deadline") if event == QUESTION_BATCH else ())
            values = {column: getattr(batch, column) for column in columns}
            status, leaves = batch_leaves(content_store, event, values)
            if status is ManifestStatus.MISSING:
                continue
            rows = _ADMIT[event](session, values, leaves)
            session.execute(
                update(table)
                .where(table.id == batch.id, table.manifest_status == ManifestStatus.MISSING)
                .values(manifest_status=status)
            )
            if rows:
                session.execute(insert(_LEAF_TABLES[event]), rows)
            log.info("manifest of batch %s arrived: %s, %d leaves admitted", batch.root, status, len(rows))
            if event == QUESTION_BATCH and rows:
                _readmit_leaves(session, content_store, values, {row["question_id"] for row in rows})


_ADMIT: dict[str, Callable[[Session, Mapping[str, Any], list[dict[str, Any]]], list[dict[str, Any]]]] = {
    QUESTION_BATCH: admitted_questions,
    ANSWER_BATCH: admitted_answers,
    RATING_BATCH: admitted_ratings,
}
_LEAF_TABLES: dict[str, type[QuestionPosted] | type[AnswerRow] | type[AnswerRated]] = {
    QUESTION_BATCH: QuestionPosted,
    ANSWER_BATCH: AnswerRow,
    RATING_BATCH: AnswerRated,
}


def _readmit_leaves(
    session: Session, content_store: ContentSource, question_batch: Mapping[str, Any], questions: set[str]
) -> None:
    """Admit the leaves naming `questions` (just admitted from a question batch whose manifest
    arrived late) of the answer and rating batches of the same brand anchored after it: they were
    left out when indexed, their questions not posted yet as far as the index knew, and a rescan
    admits them."""
    position = (question_batch["block_number"], question_batch["log_index"])
    for event, table in ((ANSWER_BATCH, BatchAnchored), (RATING_BATCH, RatingBatchAnchored)):
        later: list[Any] = list(
            session.scalars(
                select(table)
                .where(
                    table.brand_id == question_batch["brand_id"],
                    table.manifest_status == ManifestStatus.OK,
                    table.block_number >= position[0],
                )
                .order_by(table.block_number, table.log_index)
            )
        )
        target = _LEAF_TABLES[event]
        for batch in later:
            if (batch.block_number, batch.log_index) <= position:
                continue
            values = {column: getattr(batch, column) for column in _BATCH_COLUMNS}
            _, leaves = batch_leaves(content_store, event, values)
            indexed = set(
                session.scalars(
                    select(target.leaf_index).where(
                        target.tx_hash == batch.tx_hash, target.log_index == batch.log_index
                    )
                )
            )
            naming = [row for row in leaves if row["question_id"] in questions and row["leaf_index"] not in indexed]
            rows = _ADMIT[event](session, values, naming)
            if rows:
                session.execute(insert(target), rows)
                log.info("batch %s: %d leaves admitted once their questions' manifest arrived", batch.root, len(rows))

"""Ratings in Merkle batches: the oracle's default way to put ratings on chain.

A rating the processor records (`SentRating`, neither batch nor outbox row yet) waits for its
brand's next rating batch, sealed by size or age like answer batches: its leaves (answer, rating,
rater kind, keyed rater id; `RatingManifest`) go to the public content store, and one
`anchorRatingBatch` carries the root and the manifest's digest. The ledger stores nothing for a
rating batch, so one rating per rater and answer is the oracle's rule (the `ratings` table's
unique key), which the indexer applies again when it admits leaves and the audit checks.

The rated answer is on chain before its rating: a rating batch is sealed after the answer batches
due in the same step (a rated answer is at least as old as its rating), and an answer still
collecting when its rating's batch is sealed (a rating batch full before its answers are due) has
its batch sealed first (`seal_answers`); the signer sends the outbox in order. A rating batch
whose anchor failed for good (`anchor_failures`) gives its ratings back to the next batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from peercare.content.cid import digest_from_cid
from peercare.content.store import Store
from peercare.core.enums import OutboxKind, RaterKind
from peercare.core.hex import hexed, unhex
from peercare.db.tables.oracle import Answer, OutboxStatus, OutboxTx, RatingBatch, SentRating
from peercare.db.tables.projections import RatingBatchAnchored
from peercare.oracle.anchor_failures import failed_for_good, recovery_due_ms
from peercare.oracle.manifest import RatingLeaf, RatingManifest
from peercare.oracle.outbox import enqueue

log = logging.getLogger("peercare.oracle.rating_batches")

#: Encodes `anchorRatingBatch(brandId, root, size, manifestDigest)` as calldata.
Encoder = Callable[[int, bytes, int, bytes], str]
#: Seals into answer batches, now, the given answers of the brand still collecting.
AnswerSealer = Callable[[Session, int, Sequence[Answer]], None]


class RatingBatcher:
    """Seals due rating batches and recovers failed ones, inside the processor's transaction."""

    def __init__(
        self,
        public_store: Store,
        ledger_address: str,
        encode_anchor: Encoder,
        seal_answers: AnswerSealer,
        *,
        batch_size: int,
        batch_max_age_ms: int,
    ) -> None:
        self.public_store = public_store
        self.ledger_address = ledger_address
        self.encode_anchor = encode_anchor
        self.seal_answers = seal_answers
        self.batch_size = batch_size
        self.batch_max_age_ms = batch_max_age_ms

    def seal_due(self, session: Session, now_ms: int) -> int:
        """Seal every brand's pending ratings that are due (a full batch, or the oldest old
        enough). Returns the batches sealed."""
        session.flush()
        pending = session.execute(
            select(SentRating.brand_id, func.count(), func.min(SentRating.created_at_ms))
            .where(SentRating.batch_id.is_(None), SentRating.outbox_id.is_(None), SentRating.brand_id.is_not(None))
            .group_by(SentRating.brand_id)
        ).all()
        sealed = 0
        for brand_id, count, oldest in pending:
            assert brand_id is not None  # selected so
            while count >= self.batch_size or (count > 0 and now_ms - oldest >= self.batch_max_age_ms):
                ratings = self._pending(session, brand_id)
                self._seal(session, brand_id, ratings, now_ms)
                count -= len(ratings)
                sealed += 1
        return sealed

    def recover_failed(self, session: Session, now_ms: int) -> int:
        """Give the ratings of every batch whose anchor failed for good back to the pending ones.
        Returns the batches recovered."""
        still_tied = select(SentRating.id).where(SentRating.batch_id == RatingBatch.id).exists()
        dead = session.execute(
            select(RatingBatch, OutboxTx)
            .join(OutboxTx, OutboxTx.id == RatingBatch.outbox_id)
            .where(OutboxTx.status == OutboxStatus.FAILED, still_tied)
            .order_by(RatingBatch.id)
        ).all()
        recovered = 0
        for batch, anchor in dead:
            if not failed_for_good(session, anchor) or _anchored_on_chain(session, batch):
                continue
            if now_ms < recovery_due_ms(session, anchor):
                continue
            session.execute(
                update(SentRating)
                .where(SentRating.batch_id == batch.id)
                .values(batch_id=None)
                .execution_options(synchronize_session="fetch")
            )
            log.warning(
                "rating batch %d of brand %d (root %s): its anchor (outbox %d) failed: %s; its %d ratings go "
                "into a new batch",
                batch.id,
                batch.brand_id,
                batch.root,
                anchor.id,
                anchor.error,
                batch.size,
            )
            recovered += 1
        return recovered

    def _pending(self, session: Session, brand_id: int) -> list[tuple[SentRating, Answer]]:
        return list(
            session.execute(
                select(SentRating, Answer)
                .join(Answer, Answer.answer_id == SentRating.answer_id)
                .where(SentRating.brand_id == brand_id, SentRating.batch_id.is_(None), SentRating.outbox_id.is_(None))
                .order_by(SentRating.id)
                .limit(self.batch_size)
            ).all()
        )

    def _seal(self, session: Session, brand_id: int, ratings: Sequence[tuple[SentRating, Answer]], now_ms: int) -> None:
        collecting = [answer for _, answer in ratings if answer.batch_id is None and answer.outbox_id is None]
        if collecting:
            self.seal_answers(session, brand_id, collecting)
        manifest = RatingManifest(
            brand_id,
            tuple(
                RatingLeaf(
                    unhex(answer.question_id),
                    answer.advocate,
                    unhex(answer.content_digest),
                    rating.rating,
                    RaterKind(rating.rater_kind),
                    unhex(rating.rater_id),
                )
                for rating, answer in ratings
            ),
        )
        cid = self.public_store.put(manifest.to_bytes())
        tree = manifest.tree()
        data = self.encode_anchor(brand_id, tree.root, len(ratings), digest_from_cid(cid))
        outbox = enqueue(
            session, OutboxKind.ANCHOR_RATINGS, to=self.ledger_address, data=data, brand_id=brand_id, now_ms=now_ms
        )
        root = hexed(tree.root)
        # The same ratings sealed again after their anchor failed make the same root: the dead
        # batch's row (roots are unique here) becomes the new batch, with the new anchor.
        batch = session.scalar(select(RatingBatch).where(RatingBatch.root == root))
        if batch is not None:
            batch.outbox_id, batch.created_at_ms = outbox.id, now_ms
        else:
            batch = RatingBatch(
                brand_id=brand_id,
                root=root,
                size=len(ratings),
                manifest_cid=cid,
                outbox_id=outbox.id,
                created_at_ms=now_ms,
            )
            session.add(batch)
        session.flush()
        session.execute(
            update(SentRating)
            .where(SentRating.id.in_([rating.id for rating, _ in ratings]))
            .values(batch_id=batch.id)
            .execution_options(synchronize_session="fetch")
        )
        log.info("sealed rating batch %d of brand %d: %d ratings, root %s", batch.id, brand_id, len(ratings), root)


def _anchored_on_chain(session: Session, batch: RatingBatch) -> bool:
    """Whether the chain holds this brand's rating batch with this root anyway (anchored by another
    write of ours): its ratings are fine where they are."""
    found = session.scalar(
        select(RatingBatchAnchored.id).where(
            RatingBatchAnchored.brand_id == batch.brand_id, RatingBatchAnchored.root == batch.root
        )
    )
    return found is not None

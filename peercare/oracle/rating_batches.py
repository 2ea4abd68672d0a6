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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from peercare.content.cid import digest_from_cid
from peercare.content.store import Store
from peercare.core.enums import OutboxKind, RaterKind
from peercare.core.hex import hexed, unhex
from peercare.db.tables.oracle import Answer, RatingBatch, SentRating
from peercare.db.tables.projections import RatingBatchAnchored
from peercare.oracle.batching import RATINGS, Anchored, record_batch, recover_failed, seal_due
from peercare.oracle.manifest import RatingLeaf, RatingManifest
from peercare.oracle.outbox import enqueue

log = logging.getLogger("peercare.oracle.rating_batches")

RATING_BATCHES = Anchored(RatingBatch, SentRating, RatingBatchAnchored, "rating", "ratings")

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

        def seal(session: Session, brand_id: int, ratings: list[SentRating]) -> None:
            self._seal(session, brand_id, ratings, now_ms)

        return seal_due(
            session, RATINGS, seal, batch_size=self.batch_size, max_age_ms=self.batch_max_age_ms, now_ms=now_ms
        )

    def recover_failed(self, session: Session, now_ms: int) -> int:
        """Give the ratings of every batch whose anchor failed for good back to the pending ones.
        Returns the batches recovered."""
        return recover_failed(session, RATING_BATCHES, now_ms)

    def _seal(self, session: Session, brand_id: int, sent: list[SentRating], now_ms: int) -> None:
        answers = {
            a.answer_id: a
            for a in session.scalars(select(Answer).where(Answer.answer_id.in_([r.answer_id for r in sent])))
        }
        ratings = [(rating, answers[rating.answer_id]) for rating in sent]
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
        batch = record_batch(session, RATING_BATCHES, brand_id, root, len(ratings), cid, outbox.id, now_ms)
        session.execute(
            update(SentRating)
            .where(SentRating.id.in_([rating.id for rating, _ in ratings]))
            .values(batch_id=batch.id)
            .execution_options(synchronize_session="fetch")
        )
        log.info("sealed rating batch %d of brand %d: %d ratings, root %s", batch.id, brand_id, len(ratings), root)

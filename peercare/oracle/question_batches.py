"""Questions in Merkle batches: the oracle's default way to post questions.

A ticket the processor makes a question waits (no batch, no outbox row) for its brand's next
question batch, sealed by size or age like answer batches: its leaves (`QuestionManifest`: id,
index, topic, bounty, content digest, with the ticket each id hashes from) go to the public content
store, and one `postQuestionBatch` escrows their total and gives them all one deadline, set when
the batch is sealed (from then on, the brand's answer window). A question costs one leaf, not a
stored slot; proving it happens once, when it is accepted (`acceptBatchedAnswer`: `ref`).

The ledger needs a question posted before anything about it, so a batch is always queued ahead of
what depends on it: before an answer batch is sealed, its brand's questions still collecting are
sealed first (`seal_brand`), and the signer sends the outbox in order. A direct write about a
batched question (a relayed signed answer, a direct rating) needs the question stored on its own:
`open` queues `openBatchedQuestion` once, ahead of it. An expired batch's unsettled bounties go back
to the pool with one `releaseQuestionBatch` (`release_due`).

A batch whose posting failed is not posted again: like a `postQuestion` that failed, it is an
outbox row FAILED with its reason (health reports it), and its questions cannot be accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from peercare.content.cid import digest_from_cid
from peercare.content.store import Store
from peercare.core.enums import OutboxKind
from peercare.core.hex import hexed, unhex
from peercare.core.ledger_ids import short_string
from peercare.db.tables.oracle import Brand, OutboxTx, Question, QuestionBatch
from peercare.oracle.batching import QUESTIONS, Trees, seal_due, seal_next
from peercare.oracle.manifest import QuestionLeaf, QuestionManifest
from peercare.oracle.outbox import enqueue, enqueue_once

log = logging.getLogger("peercare.oracle.question_batches")

#: Encodes a ledger call: (function name, arguments) -> calldata.
Encoder = Callable[[str, list[Any]], str]
#: A release waits this long past the deadline: the ledger refuses it until a block is later.
RELEASE_MARGIN_S = 60


class QuestionBatcher:
    """Seals due question batches, opens and releases them, inside the caller's transaction."""

    def __init__(
        self,
        public_store: Store,
        ledger_address: str,
        encode: Encoder,
        *,
        batch_size: int,
        batch_max_age_ms: int,
        clock: Callable[[], float],
    ) -> None:
        self.public_store = public_store
        self.ledger_address = ledger_address
        self.encode = encode
        self.batch_size = batch_size
        self.batch_max_age_ms = batch_max_age_ms
        self.clock = clock
        self._trees = Trees(lambda cid: QuestionManifest.from_bytes(public_store.get(cid)).tree())

    # ------------------------------------------------------------------ sealing

    def seal_due(self, session: Session, now_ms: int) -> int:
        """Seal every brand's collecting questions that are due (a full batch, or the oldest old
        enough). Returns the batches sealed."""
        return seal_due(
            session, QUESTIONS, self._seal, batch_size=self.batch_size, max_age_ms=self.batch_max_age_ms, now_ms=now_ms
        )

    def seal_brand(self, session: Session, brand_id: int) -> int:
        """Seal all the brand's collecting questions now, in batches of at most `batch_size`.
        Returns the batches sealed."""
        session.flush()
        sealed = 0
        while seal_next(session, QUESTIONS, self._seal, brand_id, self.batch_size):
            sealed += 1
        return sealed

    def _seal(self, session: Session, brand_id: int, questions: list[Question]) -> None:
        brand = session.get(Brand, brand_id)
        assert brand is not None  # a question's brand is configured
        manifest = QuestionManifest(
            brand_id,
            tuple(
                QuestionLeaf(
                    unhex(q.question_id),
                    short_string(q.source),
                    q.ticket_id,
                    short_string(q.topic),
                    q.bounty,
                    digest_from_cid(q.content_cid),
                )
                for q in questions
            ),
        )
        cid = self.public_store.put(manifest.to_bytes())
        tree = manifest.tree()
        deadline = int(self.clock()) + brand.answer_window_s  # from sealing: each question gets its whole window
        total = manifest.total_bounty
        data = self.encode(
            "postQuestionBatch", [brand_id, tree.root, len(questions), total, deadline, digest_from_cid(cid)]
        )
        now_ms = int(self.clock() * 1000)
        outbox = enqueue(
            session,
            OutboxKind.POST_QUESTION_BATCH,
            to=self.ledger_address,
            data=data,
            brand_id=brand_id,
            now_ms=now_ms,
        )
        batch = QuestionBatch(
            brand_id=brand_id,
            root=hexed(tree.root),
            size=len(questions),
            total_bounty=total,
            deadline=deadline,
            manifest_cid=cid,
            outbox_id=outbox.id,
            created_at_ms=now_ms,
        )
        session.add(batch)
        session.flush()
        for index, question in enumerate(questions):
            question.batch_id, question.leaf_index, question.deadline = batch.id, index, deadline
        session.flush()  # the processor's step runs without autoflush: the next query must see them
        self._trees.put(batch.root, tree)
        log.info(
            "sealed question batch %d of brand %d: %d questions, %d escrowed, root %s",
            batch.id,
            brand_id,
            len(questions),
            total,
            batch.root,
        )

    # ------------------------------------------------------------------ proving, opening, releasing

    def ref(self, session: Session, question: Question) -> tuple[Any, ...]:
        """The question's `QuestionRef` (brand, batch root, index, id, topic, bounty, content
        digest, proof); its batch is sealed first if it is still collecting."""
        if question.batch_id is None:
            self.seal_brand(session, question.brand_id)
        batch = session.get(QuestionBatch, question.batch_id)
        assert batch is not None and question.leaf_index is not None
        tree = self._trees.get(batch.root, batch.manifest_cid)
        index = question.leaf_index
        qid, _, topic, bounty, content = tree.values[index]
        return (question.brand_id, unhex(batch.root), index, qid, topic, bounty, content, tree.proof(index))

    def proof_steps(self) -> int:
        """Steps of a question's proof, at most: the depth of a full batch's tree."""
        return max(1, self.batch_size).bit_length()

    def open(self, session: Session, question: Question) -> None:
        """Queue `openBatchedQuestion` for a batched question a direct write is about to need, once
        (a question posted on its own, or opened before, needs nothing)."""
        if question.outbox_id is not None or question.opened_outbox_id is not None:
            return
        ref = self.ref(session, question)
        data = self.encode("openBatchedQuestion", [ref, short_string(question.source), question.ticket_id])
        opened = enqueue_once(
            session,
            OutboxKind.OPEN_QUESTION,
            f"open:{question.question_id}",
            to=self.ledger_address,
            data=data,
            brand_id=question.brand_id,
            now_ms=int(self.clock() * 1000),
            proof_steps=len(ref[-1]),
        )
        if opened is None:  # queued by another writer whose transaction committed first
            opened = session.scalar(
                select(Question.opened_outbox_id).where(Question.question_id == question.question_id)
            )
        question.opened_outbox_id = opened

    def release_due(self, session: Session, now_s: int) -> int:
        """Queue `releaseQuestionBatch` for each expired batch some of whose questions were neither
        accepted nor opened (their bounties are still in its escrow). Returns how many."""
        unsettled = exists().where(
            Question.batch_id == QuestionBatch.id,
            Question.accepted_answer_id.is_(None),
            Question.opened_outbox_id.is_(None),
        )
        due = session.scalars(
            select(QuestionBatch)
            .where(
                QuestionBatch.release_outbox_id.is_(None),
                QuestionBatch.deadline < now_s - RELEASE_MARGIN_S,
                unsettled,
            )
            .order_by(QuestionBatch.id)
        ).all()
        for batch in due:
            key = f"release:{batch.brand_id}:{batch.root}"
            batch.release_outbox_id = enqueue_once(
                session,
                OutboxKind.RELEASE_QUESTION_BATCH,
                key,
                to=self.ledger_address,
                data=self.encode("releaseQuestionBatch", [batch.brand_id, unhex(batch.root)]),
                brand_id=batch.brand_id,
                now_ms=now_s * 1000,
            ) or session.scalar(select(OutboxTx.id).where(OutboxTx.dedupe_key == key))
            log.info("question batch %d of brand %d expired: its unsettled bounties go back", batch.id, batch.brand_id)
        return len(due)

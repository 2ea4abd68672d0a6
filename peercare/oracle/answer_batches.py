"""Answers in Merkle batches: the oracle's default way to put answers on chain.

An answer the processor records (neither batch nor outbox row) waits for its brand's next answer
batch, sealed by size or age (`batching.seal_due`): its leaves (question, advocate, content digest,
and the advocate's EIP-712 signature when there is one; `BatchManifest`) go to the public content
store, and one `anchorAnswerBatch` carries the root and the manifest's digest. A write that proves
an answer (an acceptance, a direct rating) seals the answer's batch first if it is still
collecting (`ref`). The ledger counts an answer only to a question posted before it, so the
brand's collecting questions are sealed before each answer batch.

A batch whose anchor failed for good (`anchor_failures`: its outbox row FAILED in a block the
indexer has passed, and the chain holds no batch of that brand and root) gives its answers back
to the next batch (`recover_failed`); the caller queues again what proved against the dead root.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from peercare.content.cid import digest_from_cid
from peercare.content.store import Store
from peercare.core.enums import OutboxKind
from peercare.core.hex import hexed, unhex
from peercare.db.tables.oracle import Answer, AnswerBatch
from peercare.db.tables.projections import BatchAnchored
from peercare.oracle.batching import (
    ANSWERS,
    Anchored,
    Recovered,
    Trees,
    next_batch,
    record_batch,
    recover_failed,
    seal_due,
)
from peercare.oracle.manifest import BatchManifest, Leaf, LeafSignature
from peercare.oracle.outbox import enqueue
from peercare.oracle.question_batches import QuestionBatcher

log = logging.getLogger("peercare.oracle.answer_batches")

#: Encodes `anchorAnswerBatch(brandId, root, size, manifestDigest)` as calldata.
Encoder = Callable[[int, bytes, int, bytes], str]

ANSWER_BATCHES = Anchored(AnswerBatch, Answer, BatchAnchored, "answer", "answers")


class AnswerBatcher:
    """Seals answer batches, proves answers against them and recovers failed ones, inside the
    processor's transaction."""

    def __init__(
        self,
        public_store: Store,
        ledger_address: str,
        encode_anchor: Encoder,
        question_batches: QuestionBatcher,
        *,
        batch_size: int,
        batch_max_age_ms: int,
        clock: Callable[[], float],
    ) -> None:
        self.public_store = public_store
        self.ledger_address = ledger_address
        self.encode_anchor = encode_anchor
        self.question_batches = question_batches
        self.batch_size = batch_size
        self.batch_max_age_ms = batch_max_age_ms
        self.clock = clock
        self._trees = Trees(lambda cid: BatchManifest.from_bytes(public_store.get(cid)).tree())

    # ------------------------------------------------------------------ sealing

    def seal_due(self, session: Session, now_ms: int) -> int:
        """Seal every brand's collecting answers that are due. Returns the batches sealed."""
        return seal_due(
            session, ANSWERS, self._seal, batch_size=self.batch_size, max_age_ms=self.batch_max_age_ms, now_ms=now_ms
        )

    def seal_now(self, session: Session, brand_id: int, answers: Sequence[Answer]) -> None:
        """Seal the brand's collecting answers now, until each of `answers` is in a batch."""
        for answer in answers:
            if answer.batch_id is None and answer.outbox_id is None:
                self._seal(session, brand_id, self._with(session, brand_id, answer))

    def ref(self, session: Session, answer: Answer) -> tuple[Any, ...]:
        """The answer's `AnswerRef` (question, advocate, digest, batch root, proof); its batch is
        sealed first if it is still collecting. An answer relayed on its own has no batch."""
        qid, digest = unhex(answer.question_id), unhex(answer.content_digest)
        if answer.outbox_id is not None:  # relayed directly
            return (qid, answer.advocate, digest, b"\0" * 32, [])
        if answer.batch_id is None:  # still collecting: seal its brand's batch now, ahead of this write
            self._seal(session, answer.brand_id, self._with(session, answer.brand_id, answer))
        assert answer.batch_id is not None
        batch = session.get(AnswerBatch, answer.batch_id)
        assert batch is not None
        tree = self._trees.get(batch.root, batch.manifest_cid)
        proof = tree.proof(tree.index_of((qid, answer.advocate, digest)))
        return (qid, answer.advocate, digest, unhex(batch.root), proof)

    def proof_steps(self, answer: Answer) -> int:
        """Steps of the proof a write about `answer` carries: none for an answer relayed on its
        own, at most the depth of a full batch's tree otherwise."""
        return 0 if answer.outbox_id is not None else max(1, self.batch_size).bit_length()

    def _with(self, session: Session, brand_id: int, answer: Answer) -> list[Answer]:
        """The brand's oldest collecting answers, at most a batch, with `answer` among them."""
        answers = next_batch(session, ANSWERS, brand_id, self.batch_size)
        if answer not in answers:
            answers = [*answers[: self.batch_size - 1], answer]
        return answers

    def _seal(self, session: Session, brand_id: int, answers: list[Answer]) -> None:
        # The ledger counts an answer only to a question posted before it (`admitted_answers`).
        self.question_batches.seal_brand(session, brand_id)
        manifest = BatchManifest(
            brand_id,
            tuple(
                Leaf(
                    unhex(a.question_id),
                    a.advocate,
                    unhex(a.content_digest),
                    None if a.signature is None else LeafSignature.from_json(json.loads(a.signature)),
                )
                for a in answers
            ),
        )
        cid = self.public_store.put(manifest.to_bytes())
        tree = manifest.tree()
        data = self.encode_anchor(brand_id, tree.root, len(answers), digest_from_cid(cid))
        now_ms = int(self.clock() * 1000)
        outbox = enqueue(
            session, OutboxKind.ANCHOR_BATCH, to=self.ledger_address, data=data, brand_id=brand_id, now_ms=now_ms
        )
        root = hexed(tree.root)
        batch = record_batch(session, ANSWER_BATCHES, brand_id, root, len(answers), cid, outbox.id, now_ms)
        session.execute(
            update(Answer)
            .where(Answer.answer_id.in_([a.answer_id for a in answers]))
            .values(batch_id=batch.id)
            .execution_options(synchronize_session="fetch")
        )
        self._trees.put(batch.root, tree)
        log.info("sealed batch %d of brand %d: %d answers, root %s", batch.id, brand_id, len(answers), batch.root)

    # ------------------------------------------------------------------ failed anchors

    def recover_failed(self, session: Session, now_ms: int, recovered: Recovered) -> int:
        """Put the answers of every batch whose anchor failed for good back among the pending
        answers, telling `recovered` of each (it queues again what proved against the batch).
        Returns the batches recovered."""
        return recover_failed(session, ANSWER_BATCHES, now_ms, recovered)

"""Questions in batches for tests that drive the ledger: a leaf's `QuestionRef`, as
`acceptBatchedAnswer`, `openBatchedQuestion` and `isBatchedQuestionOpen` take it."""

from __future__ import annotations

from typing import Any

from peercare.oracle.manifest import QuestionManifest


def question_ref(manifest: QuestionManifest, index: int) -> tuple[Any, ...]:
    """The `QuestionRef` of the manifest's leaf `index`, with its proof in the manifest's tree."""
    tree, leaf = manifest.tree(), manifest.leaves[index]
    return (
        manifest.brand_id,
        tree.root,
        index,
        leaf.question_id,
        leaf.topic,
        leaf.bounty,
        leaf.content_digest,
        tree.proof(index),
    )


def posted_question_ref(database: Any, store: Any, question_id: str) -> tuple[Any, ...]:
    """The `QuestionRef` of a question the oracle (`database`) posted in a batch, from the batch's
    manifest in `store`."""
    from peercare.db.tables.oracle import Question, QuestionBatch

    with database.read() as session:
        question = session.get(Question, question_id)
        assert question is not None and question.batch_id is not None and question.leaf_index is not None
        batch = session.get(QuestionBatch, question.batch_id)
        assert batch is not None
    return question_ref(QuestionManifest.from_bytes(store.get(batch.manifest_cid)), question.leaf_index)


def open_batched_question(world: Any, question_id: str, sender: Any) -> None:
    """`openBatchedQuestion` for a question of the world's oracle posted in a batch (anyone may
    open one, with its proof and ticket), so that it takes direct answers (`submitAnswer`)."""
    from peercare.chain.devnet import transact
    from peercare.core.ledger_ids import short_string
    from peercare.db.tables.oracle import Question

    ref = posted_question_ref(world.oracle.database, world.public_store, question_id)
    with world.oracle.database.read() as session:
        question = session.get(Question, question_id)
        assert question is not None
    call = world.dev.ledger.functions.openBatchedQuestion(ref, short_string(question.source), question.ticket_id)
    transact(world.dev.w3, sender, call)

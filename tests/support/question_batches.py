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

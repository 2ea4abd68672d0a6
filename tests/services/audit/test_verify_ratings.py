"""`peercare audit verify`, ratings and signed answers in batches: the world's ratings are anchored
in rating batches and verify; a rating batch repeating a rater's rating of an answer fails, named,
and the index counts the first rating only; an answer batch whose leaf carries a signature that is
not its advocate's fails, named, while a genuine one verifies. Every tamper is undone (the chain
through `evm_snapshot`/`evm_revert`) before the test ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from peercare.chain.devnet import dev_account, transact
from peercare.content.cid import digest_from_cid
from peercare.content.vault import Vault
from peercare.core.enums import RaterKind
from peercare.core.hex import unhex
from peercare.core.typed_data import answer_typed_data, sign_answer
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import BatchManifest, Leaf, LeafSignature, RatingLeaf, RatingManifest
from peercare.oracle.processor import answer_conversation
from tests.support.audit_support import ROGUE, AuditRun, embedded_store, undone, wait_for_oracle_index
from tests.support.world import World

RunAudit = Callable[..., AuditRun]
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def a_batched_rating(world: World) -> tuple[ix.AnswerRated, ix.AnswerRow]:
    world.drain()
    wait_for_oracle_index(world)
    with world.oracle.database.read() as session:
        rating = session.scalars(
            select(ix.AnswerRated).where(ix.AnswerRated.batch_root.is_not(None)).order_by(ix.AnswerRated.id)
        ).first()
        assert rating is not None, "the world's ratings are anchored in rating batches"
        answer = session.scalars(select(ix.AnswerRow).where(ix.AnswerRow.answer_id == rating.answer_id)).first()
        assert answer is not None
        return rating, answer


def anchor(world: World, manifest: BatchManifest | RatingManifest) -> str:
    """Anchor `manifest` from the rogue oracle; its root."""
    digest = digest_from_cid(embedded_store(world).put(manifest.to_bytes()))
    tree = manifest.tree()
    function = (
        world.dev.ledger.functions.anchorAnswerBatch
        if isinstance(manifest, BatchManifest)
        else world.dev.ledger.functions.anchorRatingBatch
    )
    transact(world.dev.w3, ROGUE, function(manifest.brand_id, tree.root, len(manifest.leaves), digest))
    return "0x" + tree.root.hex()


def test_the_worlds_ratings_are_anchored_in_batches_and_verify(world: World, run_audit: RunAudit) -> None:
    a_batched_rating(world)
    run = run_audit("--json")

    assert run.exit_code == 0, run.stdout + run.stderr
    counts = run.section("ratings")["counts"]
    assert counts["batches"] >= 1 and counts["proven"] == counts["batches"]
    assert counts["leaves counted"] == counts["leaves"] >= 1
    assert counts["repeats"] == 0


def test_a_rating_batch_repeating_a_raters_rating_fails_and_counts_once(world: World, run_audit: RunAudit) -> None:
    rating, answer = a_batched_rating(world)
    same = RatingLeaf(
        unhex(answer.question_id),
        answer.advocate,
        unhex(answer.content_digest),
        1,  # another score by the same rater of the same answer
        RaterKind.from_label(rating.rater_kind),
        unhex(rating.rater_id),
    )
    other = RatingLeaf(same.question_id, same.advocate, same.content_digest, 5, RaterKind.CUSTOMER, b"\x07" * 32)
    with undone(world):
        root = anchor(world, RatingManifest(world.dev.brand_id, (same, other)))
        wait_for_oracle_index(world)
        with world.oracle.database.read() as session:
            counted = session.scalars(select(ix.AnswerRated.leaf_index).where(ix.AnswerRated.batch_root == root)).all()
        run = run_audit("--json")

    assert counted == [1]  # the repeat counts nothing, the new rater counts
    assert run.exit_code == 1
    assert run.failed_checks() == ["ratings"]
    (finding,) = run.section("ratings")["findings"]
    assert finding["subject"] == f"rating batch {root}"
    assert finding["message"].startswith(f"leaf 0 repeats a rating of {rating.answer_id} by the same rater")


def test_a_batched_answer_signed_by_someone_else_fails_and_a_genuine_signature_verifies(
    world: World, run_audit: RunAudit
) -> None:
    _, answer = a_batched_rating(world)
    qid = unhex(answer.question_id)
    author, impostor = dev_account(7), dev_account(6)

    def signed(content: bytes, signer: LocalAccount) -> Leaf:
        typed = answer_typed_data(
            chain_id=world.dev.deployment.chain_id,
            ledger=world.dev.ledger.address,
            question_id=qid,
            content_digest=content,
            nonce=0,
            deadline=4_000_000_000,
        )
        signature = sign_answer(signer.key, typed)
        return Leaf(qid, author.address, content, LeafSignature(0, 4_000_000_000, signature))

    vault = Vault.open(world.oracle.settings.data_dir)
    try:  # real documents, so that only the signatures are in question
        contents = [
            digest_from_cid(
                vault.put(answer_conversation(1, "generic", "T", "general", "advocate", author.address, NOW, body))
            )
            for body in ("a genuine answer", "an answer someone else signed")
        ]
    finally:
        vault.close()
    genuine, forged = signed(contents[0], author), signed(contents[1], impostor)
    with undone(world):
        root = anchor(world, BatchManifest(world.dev.brand_id, (genuine, forged)))
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["batches"]
    (finding,) = run.section("batches")["findings"]
    assert finding["subject"] == f"batch {root}"
    assert finding["message"].startswith("leaves [1] of manifest")
    assert "carry a signature that is not their advocate's" in finding["message"]
    assert run.section("batches")["counts"]["signatures verified"] >= 1

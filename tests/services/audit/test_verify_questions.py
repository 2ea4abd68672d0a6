"""`peercare audit verify`, questions in batches (check 8): batches whose questions are accepted,
opened and released verify, each conserving its escrow; a batch whose bounties overstate its total
and a question posted again in a later batch fail, named; a batch posted without its manifest is
named while the payout of its accepted question is still attributed to its brand's pool. The
batches are posted by the rogue oracle (tests/support/audit_support.py) and undone with the chain's
snapshot before each test ends."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from peercare.chain.devnet import transact
from peercare.content.cid import digest_from_cid
from peercare.content.vault import Vault
from peercare.core.ledger_ids import question_id, short_string
from peercare.oracle.manifest import BatchManifest, Leaf, QuestionLeaf, QuestionManifest
from peercare.oracle.processor import answer_conversation
from tests.support.audit_support import ROGUE, AuditRun, embedded_store, undone, wait_for_oracle_index
from tests.support.question_batches import question_ref
from tests.support.world import World

RunAudit = Callable[..., AuditRun]
BOUNTY = 10**15
NOW = datetime(2026, 12, 7, tzinfo=UTC)
_tickets = iter(range(10_000, 1_000_000))


def questions(world: World, bounties: list[int]) -> QuestionManifest:
    source = short_string("zendesk")
    leaves = []
    for bounty in bounties:
        ticket = f"QB-{next(_tickets)}"
        leaves.append(
            QuestionLeaf(
                question_id(world.dev.brand_id, source, ticket),
                source,
                ticket,
                short_string("billing"),
                bounty,
                hashlib.sha256(ticket.encode()).digest(),
            )
        )
    return QuestionManifest(world.dev.brand_id, tuple(leaves))


def post(
    world: World, manifest: QuestionManifest, *, total: int | None = None, store: bool = True, in_s: int = 3_600
) -> str:
    """`postQuestionBatch` from the rogue oracle (the manifest in the store if `store`); its root."""
    data = manifest.to_bytes()
    digest = digest_from_cid(embedded_store(world).put(data)) if store else hashlib.sha256(data).digest()
    tree, now = manifest.tree(), world.dev.w3.eth.get_block("latest")["timestamp"]
    total = manifest.total_bounty if total is None else total
    call = world.dev.ledger.functions.postQuestionBatch(
        manifest.brand_id, tree.root, len(manifest.leaves), total, now + in_s, digest
    )
    transact(world.dev.w3, ROGUE, call)
    return "0x" + tree.root.hex()


def answered(world: World, manifest: QuestionManifest, indices: list[int]) -> BatchManifest:
    """An answer batch (from the rogue oracle) answering the questions at `indices`, with real
    stored answer documents (check 1 reads them)."""
    advocate = world.advocates[0].address
    vault = Vault.open(world.oracle.settings.data_dir)
    try:
        contents = [
            digest_from_cid(
                vault.put(answer_conversation(1, "generic", "T", "general", "advocate", advocate, NOW, f"answer {i}"))
            )
            for i in indices
        ]
    finally:
        vault.close()
    answers = BatchManifest(
        manifest.brand_id,
        tuple(
            Leaf(manifest.leaves[i].question_id, advocate, content)
            for i, content in zip(indices, contents, strict=True)
        ),
    )
    digest = digest_from_cid(embedded_store(world).put(answers.to_bytes()))
    call = world.dev.ledger.functions.anchorAnswerBatch(answers.brand_id, answers.tree().root, len(indices), digest)
    transact(world.dev.w3, ROGUE, call)
    return answers


def answer_ref(answers: BatchManifest, index: int) -> tuple[Any, ...]:
    tree, leaf = answers.tree(), answers.leaves[index]
    return (*leaf.value(), tree.root, tree.proof(index))


def test_question_batches_accepted_opened_and_released_conserve_their_escrow_and_verify(
    world: World, run_audit: RunAudit
) -> None:
    ledger, w3 = world.dev.ledger.functions, world.dev.w3
    wait_for_oracle_index(world)
    before = run_audit("--json").section("questions")["counts"]  # the world's own question batches
    with undone(world):
        batch = questions(world, [BOUNTY, 2 * BOUNTY, 3 * BOUNTY])
        post(world, batch)
        answers = answered(world, batch, [0, 1])
        transact(w3, ROGUE, ledger.acceptBatchedAnswer(question_ref(batch, 0), answer_ref(answers, 0)))
        leaf = batch.leaves[1]
        transact(w3, ROGUE, ledger.openBatchedQuestion(question_ref(batch, 1), leaf.source, leaf.ticket_id))
        transact(w3, ROGUE, ledger.acceptAnswer(answer_ref(answers, 1)))
        short = questions(world, [4 * BOUNTY, 5 * BOUNTY])
        post(world, short, in_s=2)
        transact(
            w3,
            ROGUE,
            ledger.openBatchedQuestion(question_ref(short, 0), short.leaves[0].source, short.leaves[0].ticket_id),
        )
        deadline = time.monotonic() + 20
        while (
            w3.eth.get_block("latest")["timestamp"]
            <= ledger.questionBatch(world.dev.brand_id, short.tree().root).call()[1]
        ):
            assert time.monotonic() < deadline, "the chain's clock did not pass the batch's deadline"
            time.sleep(0.5)
        transact(w3, ROGUE, ledger.releaseQuestionBatch(world.dev.brand_id, short.tree().root))
        wait_for_oracle_index(world)
        run = run_audit("--json")

    assert run.exit_code == 0, run.stdout + run.stderr
    after = run.section("questions")["counts"]
    added = {name: after[name] - before.get(name, 0) for name in after}
    assert added["question batches"] == added["proven"] == added["conserved"] == 2
    assert after["question batches"] == after["proven"] == after["conserved"]
    assert (added["questions"], added["accepted"], added["opened"], added["released"]) == (5, 1, 2, 1)
    assert after["repeats"] == 0


def test_a_batch_overstating_its_total_and_a_question_posted_twice_fail_named(
    world: World, run_audit: RunAudit
) -> None:
    with undone(world):
        overstated = questions(world, [5 * BOUNTY, 7 * BOUNTY])
        overstated_root = post(world, overstated, total=10 * BOUNTY)  # the leaves add up to 12
        first = questions(world, [BOUNTY])
        first_root = post(world, first)
        again = QuestionManifest(world.dev.brand_id, (*questions(world, [BOUNTY]).leaves, first.leaves[0]))
        again_root = post(world, again)
        wait_for_oracle_index(world)
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["questions"]
    findings = {f["subject"]: f["message"] for f in run.section("questions")["findings"]}
    repeated = "0x" + first.leaves[0].question_id.hex()
    assert findings == {
        f"question batch {overstated_root}": (
            f"its manifest {findings[f'question batch {overstated_root}'].split()[2]} lists bounties adding up to "
            f"{12 * BOUNTY}, the batch escrowed {10 * BOUNTY}"
        ),
        f"question {repeated}": (
            f"posted again by leaf 1 of question batch {again_root}, first posted by leaf 0 of question batch "
            f"{first_root}: each copy could be paid"
        ),
    }


def test_a_batch_without_its_manifest_is_named_and_its_accepted_payout_still_balances_its_pool(
    world: World, run_audit: RunAudit
) -> None:
    ledger, w3 = world.dev.ledger.functions, world.dev.w3
    with undone(world):
        batch = questions(world, [BOUNTY])
        root = post(world, batch, store=False)
        answers = answered(world, batch, [0])
        transact(w3, ROGUE, ledger.acceptBatchedAnswer(question_ref(batch, 0), answer_ref(answers, 0)))
        wait_for_oracle_index(world)
        run = run_audit("--json")

    assert run.exit_code == 1
    (missing,) = run.section("questions")["findings"]
    assert missing["subject"] == f"question batch {root}" and "is missing from the content store" in missing["message"]
    payouts = run.section("payouts")
    assert not any("never posted" in f["message"] for f in payouts["findings"])
    assert payouts["counts"]["pools balanced"] >= 2
    assert not any(f["subject"].endswith(" pool") for f in payouts["findings"])
    assert run.section("database")["findings"] == []

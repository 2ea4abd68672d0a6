"""`peercare audit verify` on a real chain (the session's world, see conftest.py): a clean history
passes with the right counts; then each kind of tampering (a stored document, a database row, a
published root, a missing batch manifest) makes it exit 1 naming what is wrong, and an erasure done
properly passes, reported with its record. Every tamper is undone before the test ends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path

import pytest
from eth_utils.crypto import keccak
from sqlalchemy import select, update

from peercare.chain.devnet import dev_account, register_funded_brand, transact
from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.content.vault import Vault
from peercare.db.tables import projections as ix
from peercare.oracle.erasure import erase_customer
from peercare.oracle.manifest import BatchManifest, Leaf
from peercare.oracle.posted_questions import question_as_ledger_holds_it
from tests.support.audit_support import UNUSED_PORT, AuditRun, wait_for_oracle_index
from tests.support.epoch_support import publish_directly, store_manifest
from tests.support.world import TICKETS, World

RunAudit = Callable[..., AuditRun]
#: build_world posts tickets 100 and 101 for brand 2; each ticket gets two answers and one acceptance.
BRAND2_TICKETS = 2
ANSWERS_PER_TICKET = 2


def embedded_store(world: World) -> EmbeddedStore:
    return EmbeddedStore(world.oracle.settings.data_dir / "content")


def indexed_answers(world: World) -> list[ix.AnswerRow]:
    """The world's answers (taken from the oracle's index only to choose what to tamper with)."""
    with world.oracle.database.read() as session:
        return list(session.scalars(select(ix.AnswerRow).order_by(ix.AnswerRow.id)))


@contextmanager
def replaced_file(path: Path, data: bytes | None) -> Iterator[None]:
    """`path` overwritten with `data` (or moved away when None), restored afterwards."""
    original = path.read_bytes()
    try:
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)
        yield
    finally:
        path.write_bytes(original)


# ---------------------------------------------------------------- a clean history


def test_clean_history_verifies_with_exit_0_and_right_counts(world: World, run_audit: RunAudit) -> None:
    run = run_audit("--json")

    assert run.exit_code == 0, run.stdout + run.stderr
    report = run.report
    assert report["ok"] is True and report["findings"] == 0
    tickets = TICKETS + BRAND2_TICKETS
    content = run.section("content")["counts"]
    assert content["answers"] == tickets * ANSWERS_PER_TICKET
    assert content["available"] + content["erased"] == content["answers"]  # an earlier test may have erased one
    assert content["missing"] == content["corrupted"] == 0
    batches = run.section("batches")["counts"]
    assert batches["leaves proven"] == tickets * ANSWERS_PER_TICKET
    assert batches["proven"] == batches["batches"] > 0
    payouts = run.section("payouts")["counts"]
    assert payouts["acceptances"] == payouts["payouts"] == tickets
    assert payouts["pools balanced"] == 2
    assert payouts["earnings balanced"] > 0
    assert run.section("reputation")["counts"] == {"epochs": 1, "recomputed": 1}
    assert run.section("database")["counts"]["rows compared"] > 0
    assert "indexing blocks" in run.stderr  # progress goes to standard error, the report to standard output


def test_brand_option_checks_that_brand_only(world: World, run_audit: RunAudit) -> None:
    run = run_audit("--json", "--brand", str(world.brand2_id))

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.report["brand_id"] == world.brand2_id
    assert run.section("content")["counts"]["answers"] == BRAND2_TICKETS * ANSWERS_PER_TICKET
    assert run.section("payouts")["counts"]["acceptances"] == BRAND2_TICKETS
    assert run.section("payouts")["counts"]["pools balanced"] == 1
    assert run.section("reputation")["counts"]["epochs"] == 1  # epochs cover every brand


def test_text_report_has_a_section_per_check_with_counts(world: World, run_audit: RunAudit) -> None:
    run = run_audit()

    assert run.exit_code == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for number, title in enumerate(
        (
            "Answer content matches its identifier (or was erased)",
            "Batched answers prove against their anchored roots",
            "Payouts follow from acceptances; pools and earnings balance",
            "Published reputation roots recompute",
            "The oracle's database agrees with the chain",
        ),
        start=1,
    ):
        assert f"{number}. {title}: ok" in lines
    assert any(line.strip().startswith("answers 16, available") for line in lines)
    assert lines[-1] == "Everything checks out."


# ---------------------------------------------------------------- errors that stop the audit


def test_unknown_brand_is_a_usage_error_with_exit_2(run_audit: RunAudit) -> None:
    run = run_audit("--brand", "999")

    assert run.exit_code == 2
    assert "brand 999 is not registered on the ledger (registered brands: 1, 2)" in run.stderr


def test_unreachable_chain_exits_2_with_a_clear_message(run_audit: RunAudit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERCARE_RPC_URL", f"http://127.0.0.1:{UNUSED_PORT}")

    run = run_audit()

    assert run.exit_code == 2
    assert f"127.0.0.1:{UNUSED_PORT}" in run.stderr and run.stdout == ""


# ---------------------------------------------------------------- a. a stored document


def test_corrupted_answer_block_fails_naming_the_answer(world: World, run_audit: RunAudit) -> None:
    answer = indexed_answers(world)[0]
    cid = cid_from_digest(bytes.fromhex(answer.content_digest[2:]))

    with replaced_file(embedded_store(world).path_of(cid), b"not the sealed conversation"):
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["content"]
    (finding,) = run.section("content")["findings"]
    assert finding["subject"] == f"answer {answer.answer_id}"
    assert f"content {cid} is corrupted" in finding["message"]
    assert run.section("content")["counts"]["corrupted"] == 1


def test_corrupted_answer_is_one_line_of_the_text_report(world: World, run_audit: RunAudit) -> None:
    answer = indexed_answers(world)[0]
    cid = cid_from_digest(bytes.fromhex(answer.content_digest[2:]))

    with replaced_file(embedded_store(world).path_of(cid), b"tampered"):
        run = run_audit()

    assert run.exit_code == 1
    assert f"   FAIL answer {answer.answer_id}: content {cid} is corrupted" in run.stdout
    assert "1. Answer content matches its identifier (or was erased): FAILED (1 finding)" in run.stdout
    assert run.stdout.rstrip().endswith("1 finding: the history does NOT verify.")


# ---------------------------------------------------------------- b. an erasure done properly


def test_erased_answer_passes_and_is_reported_with_its_record(world: World, run_audit: RunAudit) -> None:
    answer = indexed_answers(world)[1]
    cid = cid_from_digest(bytes.fromhex(answer.content_digest[2:]))
    vault = Vault.open(world.oracle.settings.data_dir)
    try:
        vault.erase(cid, erased_by="dpo@brand.example", reason="customer request (GDPR art. 17)")
    finally:
        vault.close()

    run = run_audit("--json")

    assert run.exit_code == 0, run.stdout
    assert run.section("content")["counts"]["erased"] >= 1
    (note,) = [note for note in run.section("content")["notes"] if note["subject"] == f"answer {answer.answer_id}"]
    assert note["details"]["erased_by"] == "dpo@brand.example"
    assert note["details"]["reason"] == "customer request (GDPR art. 17)"
    assert f"content {cid} erased at " in note["message"]
    text = run_audit()
    assert f"note answer {answer.answer_id}: content {cid} erased at" in text.stdout
    assert "by dpo@brand.example: customer request (GDPR art. 17)" in text.stdout


def test_erasing_a_customer_leaves_the_history_verifying(world: World, run_audit: RunAudit) -> None:
    """The chain keeps the customer's pseudonym and ratings; only the link to them is destroyed."""
    vault = Vault.open(world.oracle.settings.data_dir)
    try:
        done = erase_customer(
            world.oracle.database, vault, world.dev.brand_id, "generic", "cust-1", erased_by="dpo", reason="#17"
        )
    finally:
        vault.close()
    assert done.pseudonym is not None and done.tickets == 1

    run = run_audit("--json")

    assert run.exit_code == 0, run.stdout
    with world.oracle.database.read() as session:  # the ratings as anchored (in rating batches) and indexed
        raters = set(session.scalars(select(ix.AnswerRated.rater_id)))
    assert done.pseudonym.pseudonym in raters


# ---------------------------------------------------------------- c. a database row


@contextmanager
def tampered_row(world: World, model: type[ix.RewardCredit] | type[ix.AnswerRow], **values: object) -> Iterator[int]:
    """The oracle's first row of `model` changed to `values` (restored afterwards); yields its id."""
    with world.oracle.database.transaction() as session:
        first = session.execute(select(model.id, *(getattr(model, name) for name in values)).order_by(model.id)).first()
        assert first is not None
        row_id, *before = first
        original = dict(zip(values, before, strict=True))
        session.execute(update(model).where(model.id == row_id).values(**values))
    try:
        yield row_id
    finally:
        with world.oracle.database.transaction() as session:
            session.execute(update(model).where(model.id == row_id).values(**original))


def test_tampered_reward_amount_is_named_while_chain_checks_pass(world: World, run_audit: RunAudit) -> None:
    with world.oracle.database.read() as session:
        credit = session.scalars(select(ix.RewardCredit).order_by(ix.RewardCredit.id).limit(1)).one()

    with tampered_row(world, ix.RewardCredit, amount=credit.amount + 1) as row_id:
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["database"]  # the chain-based checks never read the database
    (finding,) = run.section("database")["findings"]
    assert finding["subject"] == (
        f"ix_reward_credits row {row_id} (tx_hash {credit.tx_hash}, log_index {credit.log_index})"
    )
    assert finding["message"] == f"amount is {credit.amount + 1} in the database, {credit.amount} on chain"
    assert finding["details"]["table"] == "ix_reward_credits" and finding["details"]["row_id"] == row_id


def test_tampered_answer_digest_is_named_while_chain_checks_pass(world: World, run_audit: RunAudit) -> None:
    forged = "0x" + keccak(b"another conversation").hex()

    with tampered_row(world, ix.AnswerRow, content_digest=forged) as row_id:
        run = run_audit()

    assert run.exit_code == 1
    fails = [line for line in run.stdout.splitlines() if line.startswith("   FAIL ")]
    assert len(fails) == 1
    assert fails[0].startswith(f"   FAIL ix_answers row {row_id} (tx_hash ")
    assert f"content_digest is '{forged}' in the database" in fails[0]
    assert "5. The oracle's database agrees with the chain: FAILED (1 finding)" in run.stdout


# ---------------------------------------------------------------- d. a published root


def test_wrong_reputation_root_fails_naming_the_epoch_and_roots(world: World, run_audit: RunAudit) -> None:
    store = embedded_store(world)
    with world.oracle.database.read() as session:
        epoch1 = session.scalars(select(ix.ReputationRoot).where(ix.ReputationRoot.epoch == 1)).one()
    manifest = json.loads(store.get(cid_from_digest(bytes.fromhex(epoch1.manifest_digest[2:]))))
    manifest["epoch"] = 2  # a sound manifest for epoch 2, published with a root it does not have
    wrong_root = keccak(b"not the root of any tree")
    snapshot = world.dev.snapshot()
    try:
        publish_directly(world.dev, 2, wrong_root, store_manifest(store, manifest))
        run = run_audit("--json")
    finally:
        world.dev.revert(snapshot)
        wait_for_oracle_index(world)  # rewound past the publication, so later tests see the same chain

    assert run.exit_code == 1
    assert run.failed_checks() == ["reputation"]
    assert run.section("reputation")["counts"] == {"epochs": 2, "recomputed": 1}
    (finding,) = run.section("reputation")["findings"]
    assert finding["subject"] == "epoch 2"
    assert finding["details"]["root_on_chain"] == "0x" + wrong_root.hex()
    assert finding["details"]["manifest_root"] == finding["details"]["root_recomputed"] == epoch1.root
    assert f"root on chain 0x{wrong_root.hex()}, manifest's root {epoch1.root}" in finding["message"]


# ---------------------------------------------------------------- e. a batch manifest


def test_missing_batch_manifest_fails_naming_the_batch(world: World, run_audit: RunAudit) -> None:
    with world.oracle.database.read() as session:
        batch = session.scalars(select(ix.BatchAnchored).order_by(ix.BatchAnchored.id).limit(1)).one()
    cid = cid_from_digest(bytes.fromhex(batch.manifest_digest[2:]))

    with replaced_file(embedded_store(world).path_of(cid), None):
        run = run_audit("--json")

    assert run.exit_code == 1
    (finding,) = run.section("batches")["findings"]
    assert finding["subject"] == f"batch {batch.root}"
    assert f"its manifest {cid} is missing from the content store" in finding["message"]
    assert run.section("batches")["counts"]["missing"] == 1
    # Its answers cannot be shown recorded any more: the acceptance of one of them is named too.
    payouts = run.subjects("payouts")
    assert payouts and all(subject.startswith("question 0x") for subject in payouts)
    assert "ix_batches" in " ".join(run.subjects("database"))  # the oracle's index still says "ok"


# ---------------------------------------------------------------- f. another brand's batch


def test_another_brands_leaves_on_your_questions_are_left_out_and_noted(world: World, run_audit: RunAudit) -> None:
    """A brand anchors a batch listing an answer to another brand's question: the ledger would
    never accept it for that question, so it is no answer of either brand. The audit passes, counts
    the leaf as left out and names it in a note; the victim brand's answers are unchanged."""
    victim = indexed_answers(world)[0]
    question = bytes.fromhex(victim.question_id[2:])
    victim_brand = question_as_ledger_holds_it(world.dev.ledger, world.public_store, question)[0]
    stranger = dev_account(9)
    leaf = Leaf(question, stranger.address, keccak(b"a sybil's answer"))
    snapshot = world.dev.snapshot()
    try:
        brand = register_funded_brand(
            world.dev.w3, world.dev.deployment, admin=stranger, oracle=stranger.address, funds=0, minter=dev_account(0)
        )
        manifest = BatchManifest(brand, (leaf,))
        data = manifest.to_bytes()
        embedded_store(world).put(data)
        call = world.dev.ledger.functions.anchorAnswerBatch(brand, manifest.tree().root, 1, sha256(data).digest())
        transact(world.dev.w3, stranger, call)
        wait_for_oracle_index(world)
        run = run_audit("--json")
        victims = run_audit("--json", "--brand", str(victim_brand))
    finally:
        world.dev.revert(snapshot)
        wait_for_oracle_index(world)

    assert run.exit_code == 0, run.stdout + run.stderr
    batches = run.section("batches")
    assert batches["counts"]["leaves left out"] == 1
    (note,) = [entry for entry in batches["notes"] if entry["subject"] == f"batch 0x{manifest.tree().root.hex()}"]
    assert f"leaf 0 answers {victim.question_id} of brand {victim_brand}" in note["message"]
    assert victims.exit_code == 0
    with world.oracle.database.read() as session:
        brand_of = {q.question_id: q.brand_id for q in session.scalars(select(ix.QuestionPosted))}
        own = {a.answer_id for a in session.scalars(select(ix.AnswerRow)) if brand_of[a.question_id] == victim_brand}
    assert victims.section("content")["counts"]["answers"] == len(own)

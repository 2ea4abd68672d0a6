"""The auditors' routes: one answer checked end to end (chain record, batch proof, stored content),
reputation epochs recomputed, and who may call them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from peercare.chain.devnet import transact
from peercare.content.cid import cid_from_digest
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import verify
from peercare.db.tables import projections as ix
from peercare.db.tables.reputation import ReputationEpoch
from tests.support.question_batches import open_batched_question
from tests.support.world import World

ANSWERS = "/api/v1/audit/answers"
EPOCHS = "/api/v1/audit/epochs"
UNKNOWN_ID = "0x" + "ab" * 32


def _b(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value.removeprefix("0x"))


def answer_rows(world: World, brand_id: int | None = None) -> list[ix.AnswerRow]:
    with world.oracle.database.read() as session:
        query = select(ix.AnswerRow).order_by(ix.AnswerRow.id)
        if brand_id is not None:
            brand_questions = select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
            query = query.where(ix.AnswerRow.question_id.in_(brand_questions))
        return list(session.scalars(query))


@dataclass(frozen=True)
class FreshTicket:
    """A ticket of brand 2 posted for these tests alone: its answers' content may be damaged."""

    question_id: str
    answers: list[ix.AnswerRow]


@pytest.fixture(scope="module")
def fresh(world: World) -> FreshTicket:
    ticket = f"AUDIT-{uuid.uuid4().hex[:8]}"
    brand = world.brand2_id
    world.deliver(
        brand, "ticket_created", f"{ticket}-open", ticket, subject="Audit me", body="?", tags=[], requester_id="c"
    )
    for n, advocate in ((1, world.advocates[4]), (2, world.advocates[5])):
        world.deliver(
            brand,
            "comment_added",
            f"{ticket}-c{n}",
            ticket,
            comment_id=f"c{n}",
            author_id=f"adv-{n}",
            author_wallet=advocate.address,
            body=f"Answer {n} for the audit",
            public=True,
        )
    world.drain()
    with world.oracle.database.read() as session:
        question_id = session.scalars(
            select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.ticket_id == ticket)
        ).one()
        answers = list(session.scalars(select(ix.AnswerRow).where(ix.AnswerRow.question_id == question_id)))
    assert len(answers) == 2
    return FreshTicket(question_id, answers)


def audit(world: World, answer_id: str, token: str | None = None) -> dict:  # type: ignore[type-arg]
    response = world.client.get(f"{ANSWERS}/{answer_id}", headers=world.bearer(token or world.auditor_key))
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


# ---------------------------------------------------------------- answers


def test_every_answer_is_recorded_on_chain_with_a_valid_batch_proof_and_intact_content(
    world: World, fresh: FreshTicket
) -> None:
    damaged = {row.answer_id for row in fresh.answers}  # the other tests erase and corrupt these
    # Batched answers; one recorded directly has its own test below.
    rows = [row for row in answer_rows(world) if row.answer_id not in damaged and row.batch_root is not None]
    assert len(rows) >= 16  # two answers per ticket, eight tickets
    ledger = world.dev.ledger.functions
    for row in rows:
        body = audit(world, row.answer_id)
        record, batch, content = body["record"], body["batch"], body["content"]
        assert body["answer_id"] == row.answer_id
        assert record["question_id"] == row.question_id and record["advocate"] == row.advocate
        assert record["content_digest"] == row.content_digest
        assert (record["block_number"], record["tx_hash"], record["log_index"]) == (
            row.block_number,
            row.tx_hash,
            row.log_index,
        )
        assert record["recorded_on_chain"] is True
        assert batch["root"] == row.batch_root and batch["leaf_index"] == row.leaf_index
        assert batch["proof_valid"] is True and batch["problem"] is None
        assert batch["leaf"] == {
            "question_id": row.question_id,
            "advocate": row.advocate,
            "content_digest": row.content_digest,
        }
        proof = [_b(node) for node in batch["proof"]]
        value = (_b(row.question_id), row.advocate, _b(row.content_digest))
        assert verify(_b(row.batch_root or ""), ANSWER_LEAF_ENCODING, value, proof)
        # The ledger agrees, asked directly, and anchored that root for the answer's brand.
        assert ledger.isAnswerRecordedFor(record["brand_id"], (*value, _b(row.batch_root or ""), proof)).call()
        anchored = ledger.answerBatch(record["brand_id"], _b(row.batch_root or "")).call()  # the brand's own batch
        assert tuple(anchored[:2]) == (record["brand_id"], batch["size"])
        assert content == {
            "cid": cid_from_digest(_b(row.content_digest)),
            "status": "available",
            "content_matches": True,
            "erasure": None,
        }


def test_an_answer_recorded_directly_has_no_batch_and_content_never_stored_is_reported_missing(
    world: World, fresh: FreshTicket
) -> None:
    advocate = world.advocates[2]
    digest = hashlib.sha256(b"an answer sent straight to the ledger, its text kept elsewhere").digest()
    world.drain()  # its question's batch posted, so that the advocate can open it for a direct answer
    open_batched_question(world, fresh.question_id, advocate)
    transact(world.dev.w3, advocate, world.dev.ledger.functions.submitAnswer(_b(fresh.question_id), digest))
    world.drain()
    with world.oracle.database.read() as session:
        row = session.scalars(select(ix.AnswerRow).where(ix.AnswerRow.content_digest == "0x" + digest.hex())).one()
    body = audit(world, row.answer_id)
    assert body["record"]["recorded_on_chain"] is True and row.batch_root is None
    assert body["batch"] is None
    assert body["content"]["cid"] == cid_from_digest(digest)
    assert body["content"]["status"] == "missing" and body["content"]["content_matches"] is None


def test_an_erased_answer_reports_who_erased_it_when_and_why(world: World, fresh: FreshTicket) -> None:
    row = fresh.answers[0]
    cid = cid_from_digest(_b(row.content_digest))
    record = world.oracle.vault.erase(cid, erased_by="dpo@brand2", reason="GDPR art. 17 request #12")
    body = audit(world, row.answer_id)
    assert body["content"]["status"] == "erased"
    assert body["content"]["content_matches"] is None
    erasure = body["content"]["erasure"]
    assert erasure["erased_by"] == "dpo@brand2" and erasure["reason"] == "GDPR art. 17 request #12"
    assert erasure["erased_at"].startswith(record.erased_at.isoformat()[:19])
    # Erasing the conversation does not undo the record: the chain still holds the answer.
    assert body["record"]["recorded_on_chain"] is True and body["batch"]["proof_valid"] is True


@pytest.fixture
def corrupted_block(world: World, fresh: FreshTicket) -> Iterator[ix.AnswerRow]:
    row = fresh.answers[1]
    path = world.oracle.vault.stores[0].path_of(cid_from_digest(_b(row.content_digest)))  # type: ignore[attr-defined]
    original = path.read_bytes()
    path.write_bytes(b"not what was stored" + original[19:])
    try:
        yield row
    finally:
        path.write_bytes(original)


def test_a_stored_block_that_no_longer_hashes_to_its_digest_is_reported_corrupted(
    world: World, corrupted_block: ix.AnswerRow
) -> None:
    body = audit(world, corrupted_block.answer_id)
    assert body["content"]["status"] == "corrupted"
    assert body["content"]["content_matches"] is False
    assert body["content"]["erasure"] is None
    assert body["record"]["recorded_on_chain"] is True


def test_an_answer_id_is_accepted_in_upper_case_hex(world: World) -> None:
    row = answer_rows(world, world.dev.brand_id)[0]
    body = audit(world, "0x" + row.answer_id[2:].upper())
    assert body["answer_id"] == row.answer_id


def test_a_brand_scoped_auditor_audits_its_brands_answers_only(world: World) -> None:
    own = answer_rows(world, world.brand2_id)[0]
    other = answer_rows(world, world.dev.brand_id)[0]
    assert audit(world, own.answer_id, world.auditor_key_brand2)["record"]["brand_id"] == world.brand2_id
    response = world.client.get(f"{ANSWERS}/{other.answer_id}", headers=world.bearer(world.auditor_key_brand2))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert f"brand {world.brand2_id}" in response.json()["detail"]


def test_brand_keys_and_advocates_cannot_audit_answers(world: World) -> None:
    answer_id = answer_rows(world, world.dev.brand_id)[0].answer_id
    advocate_token = next(iter(world.advocate_tokens.values()))
    for token in (world.brand_keys[world.dev.brand_id], advocate_token):
        response = world.client.get(f"{ANSWERS}/{answer_id}", headers=world.bearer(token))
        assert response.status_code == 403, response.text
        assert "auditor" in response.json()["detail"]


def test_auditing_without_credentials_is_unauthorised(world: World) -> None:
    answer_id = answer_rows(world)[0].answer_id
    for path in (f"{ANSWERS}/{answer_id}", EPOCHS, f"{EPOCHS}/1"):
        response = world.client.get(path)
        assert response.status_code == 401, (path, response.text)
    response = world.client.get(f"{ANSWERS}/{answer_id}", headers=world.bearer("pc_nope_nope"))
    assert response.status_code == 401


@pytest.mark.parametrize("answer_id", ["0x1234", "ab" * 32, "0x" + "g" * 64, "0x" + "ab" * 33])
def test_a_malformed_answer_id_is_refused(world: World, answer_id: str) -> None:
    response = world.client.get(f"{ANSWERS}/{answer_id}", headers=world.bearer(world.auditor_key))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["path", "answer_id"]


def test_an_unknown_answer_is_not_found(world: World) -> None:
    response = world.client.get(f"{ANSWERS}/{UNKNOWN_ID}", headers=world.bearer(world.auditor_key))
    assert response.status_code == 404, response.text
    assert UNKNOWN_ID in response.json()["detail"]


# ---------------------------------------------------------------- epochs


def test_epoch_one_recomputes_to_the_root_published_on_chain(world: World) -> None:
    response = world.client.get(f"{EPOCHS}/1", headers=world.bearer(world.auditor_key))
    assert response.status_code == 200, response.text
    body = response.json()
    on_chain = "0x" + world.dev.roots.functions.rootOf(1).call()[0].hex()
    assert body["ok"] is True and body["message"] == "ok" and body["mismatches"] == []
    assert body["root_on_chain"] == body["manifest_root"] == body["root_recomputed"] == on_chain
    assert body["published"]["root"] == on_chain and body["published"]["epoch"] == 1
    with world.oracle.database.read() as session:
        published = session.get(ReputationEpoch, 1)
    assert published is not None
    assert body["manifest_cid"] == body["published"]["manifest_cid"] == published.manifest_cid
    assert body["cut"] == published.cut
    assert body["leaves"] is not None and body["leaves"] > 0


def test_a_brand_scoped_auditor_may_check_epochs_which_cover_every_brand(world: World) -> None:
    response = world.client.get(f"{EPOCHS}/1", headers=world.bearer(world.auditor_key_brand2))
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True


def test_the_published_epochs_are_listed_with_their_roots_and_manifests(world: World) -> None:
    response = world.client.get(EPOCHS, headers=world.bearer(world.auditor_key))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["epoch"] == 1
    assert first["root"] == "0x" + world.dev.roots.functions.rootOf(1).call()[0].hex()
    with world.oracle.database.read() as session:
        row = ix.current_root(session, 1)  # the publication, or the admin's latest correction of it
    assert row is not None
    assert (first["block_number"], first["tx_hash"], first["log_index"]) == (
        row.block_number,
        row.tx_hash,
        row.log_index,
    )
    assert first["manifest_cid"] == cid_from_digest(_b(row.manifest_digest))


def test_the_epoch_list_pages_by_epoch(world: World) -> None:
    def page(cursor: str) -> list[int]:
        params = {"limit": 1, "cursor": cursor}
        response = world.client.get(EPOCHS, params=params, headers=world.bearer(world.auditor_key))
        assert response.status_code == 200, response.text
        return [item["epoch"] for item in response.json()["items"]]

    # The world publishes epoch 1 only: the page after epoch 0 holds it, the page after epoch 1 is empty.
    assert page("0") == [1]
    assert page("1") == []


@pytest.mark.parametrize("epoch", [2, 2**63, 2**64 - 1])
def test_an_unpublished_epoch_is_not_found(world: World, epoch: int) -> None:
    response = world.client.get(f"{EPOCHS}/{epoch}", headers=world.bearer(world.auditor_key))
    assert response.status_code == 404, response.text
    assert f"epoch {epoch}" in response.json()["detail"]


@pytest.mark.parametrize("epoch", ["0", "-1", "one", str(2**64)])
def test_a_malformed_epoch_is_refused(world: World, epoch: str) -> None:
    response = world.client.get(f"{EPOCHS}/{epoch}", headers=world.bearer(world.auditor_key))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "x"}])
def test_a_malformed_epoch_page_is_refused(world: World, params: dict[str, object]) -> None:
    response = world.client.get(EPOCHS, params=params, headers=world.bearer(world.auditor_key))
    assert response.status_code == 422, response.text


def test_brand_keys_and_advocates_cannot_check_epochs(world: World) -> None:
    advocate_token = next(iter(world.advocate_tokens.values()))
    for token in (world.brand_keys[world.dev.brand_id], advocate_token):
        for path in (EPOCHS, f"{EPOCHS}/1"):
            response = world.client.get(path, headers=world.bearer(token))
            assert response.status_code == 403, (path, response.text)

"""The API's reads of questions posted in batches: a brand's question list and its export carry a
batched question's batch root and leaf, and a question neither accepted nor opened reads expired
once its batch is released (the index has no `QuestionExpired` for it: the release refunds it).
The batch is posted and released by the rogue oracle (tests/support/audit_support.py), undone
with the chain's snapshot when the test ends."""

from __future__ import annotations

import time

from peercare.chain.devnet import transact
from peercare.content.cid import digest_from_cid
from peercare.core.ledger_ids import question_id, short_string
from peercare.oracle.manifest import QuestionLeaf, QuestionManifest
from tests.support.audit_support import ROGUE, embedded_store, undone, wait_for_oracle_index
from tests.support.question_batches import question_ref
from tests.support.world import World


def test_a_released_batchs_questions_read_expired_with_their_batch_in_the_list_and_the_export(world: World) -> None:
    brand, ledger, w3 = world.dev.brand_id, world.dev.ledger.functions, world.dev.w3
    source = short_string("zendesk")
    leaves = tuple(
        QuestionLeaf(question_id(brand, source, t), source, t, short_string("billing"), 10**15 * (i + 1), b"\x05" * 32)
        for i, t in enumerate(("QBR-1", "QBR-2"))
    )
    manifest = QuestionManifest(brand, leaves)
    root, ids = "0x" + manifest.tree().root.hex(), ["0x" + leaf.question_id.hex() for leaf in leaves]
    headers = world.bearer(world.brand_keys[brand])
    with undone(world):
        digest = digest_from_cid(embedded_store(world).put(manifest.to_bytes()))
        deadline = w3.eth.get_block("latest")["timestamp"] + 2
        transact(
            w3, ROGUE, ledger.postQuestionBatch(brand, manifest.tree().root, 2, manifest.total_bounty, deadline, digest)
        )
        transact(w3, ROGUE, ledger.openBatchedQuestion(question_ref(manifest, 1), source, "QBR-2"))
        while w3.eth.get_block("latest")["timestamp"] <= deadline:
            time.sleep(0.5)
        transact(w3, ROGUE, ledger.releaseQuestionBatch(brand, manifest.tree().root))
        wait_for_oracle_index(world)
        listed, cursor = [], None
        while True:
            params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
            page = world.client.get(f"/api/v1/brands/{brand}/questions", params=params, headers=headers).json()
            listed += [q for q in page["items"] if q["question_id"] in ids]
            if not (cursor := page["next_cursor"]):
                break
        detail = world.client.get(f"/api/v1/brands/{brand}/questions/{ids[0]}", headers=headers).json()
        history = world.client.get(f"/api/v1/brands/{brand}/export", headers=headers).json()

    # Released with its batch; opened, it stays open until its own QuestionExpired, as on the ledger.
    assert [(q["batch_root"], q["leaf_index"], q["status"]) for q in listed] == [
        (root, 0, "expired"),
        (root, 1, "open"),
    ]
    assert (detail["status"], detail["batch_root"]) == ("expired", root)
    exported = [q for q in history["questions"] if q["question_id"] in ids]
    assert [(q["batch_root"], q["leaf_index"], q["ticket_id"]) for q in exported] == [
        (root, 0, "QBR-1"),
        (root, 1, "QBR-2"),
    ]
    [batch] = [b for b in history["question_batches"] if b["batch_root"] == root]
    assert (batch["size"], batch["total_bounty"], batch["manifest_status"]) == (2, str(3 * 10**15), "ok")
    assert [(s["question_id"], s["how"]) for s in history["batched_questions"] if s["batch_root"] == root] == [
        (ids[1], "opened")
    ]
    assert [r["refunded"] for r in history["question_batch_releases"] if r["batch_root"] == root] == [str(10**15)]

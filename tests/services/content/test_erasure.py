"""Private conversations: sealed per conversation, stored on both stores, erasable for good."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from peercare.content.cid import compute_cid, digest_from_cid
from peercare.content.devnode import JsIpfsNode
from peercare.content.document import Conversation, Message
from peercare.content.embedded import EmbeddedStore
from peercare.content.errors import ContentErased, ContentMissing, ContentTooLarge, StoreUnavailable
from peercare.content.ipfs import IpfsStore
from peercare.content.keystore import KeyStore
from peercare.content.vault import Status, Vault

SECRET = "My eSIM will not activate; my name is Ada Lovelace."


def conversation(ticket: str = "T-1", body: str = SECRET) -> Conversation:
    return Conversation(
        brand=3,
        source="zendesk",
        ticket_id=ticket,
        language="en",
        topics=("esim",),
        messages=(
            Message(role="customer", author="cust-9", time=datetime(2025, 5, 1, 8, 0, tzinfo=UTC), body=body),
            Message(role="advocate", author="0x" + "11" * 20, time=datetime(2025, 5, 1, 8, 5, tzinfo=UTC), body="Hi"),
        ),
    )


def test_erased_conversation_cannot_be_read_from_either_store_and_the_record_is_kept(
    tmp_path: Path, ipfs_node: JsIpfsNode, node_store: IpfsStore
) -> None:
    embedded = EmbeddedStore(tmp_path / "content")
    keys = KeyStore.in_folder(tmp_path)
    vault = Vault([embedded, node_store], keys)
    doc = conversation()

    cid = vault.put(doc)
    sealed = embedded.get(cid)
    key = keys.key(cid)
    assert node_store.get(cid) == sealed
    assert b"Ada Lovelace" not in sealed  # only ciphertext leaves the oracle
    assert vault.get(cid) == doc

    record = vault.erase(cid, erased_by="dpo@brand.example", reason="customer asked to be forgotten (#4711)")

    # No one can read it any more: the vault says "erased", and the key exists nowhere.
    with pytest.raises(ContentErased, match=r"erased .* by dpo@brand\.example"):
        vault.get(cid)
    assert vault.status(cid) is Status.ERASED
    for folder in (tmp_path, ipfs_node.repo):
        for file in folder.rglob("*"):
            if file.is_file():
                assert key not in file.read_bytes(), file
    # Neither store keeps the ciphertext: the embedded store deletes it, the node unpins it and
    # its garbage collector removes it.
    with pytest.raises(ContentMissing):
        embedded.get(cid)
    assert not node_store.is_pinned(cid)
    httpx.post(f"{ipfs_node.api_url}/api/v0/repo/gc", timeout=30).raise_for_status()
    with pytest.raises(ContentMissing):
        node_store.get(cid)
    # The public history still verifies: the identifier is that of the ciphertext that was stored.
    assert compute_cid(sealed) == cid and len(digest_from_cid(cid)) == 32
    # The record survives, and erasing again changes nothing.
    keys.close()
    reopened = KeyStore.in_folder(tmp_path)
    assert reopened.erasures() == [record]
    assert Vault([embedded, node_store], reopened).erase(cid, erased_by="someone", reason="again") == record


def test_vault_round_trips_and_is_idempotent(tmp_path: Path) -> None:
    vault = Vault([EmbeddedStore(tmp_path / "content")], KeyStore.in_folder(tmp_path))
    cid = vault.put(conversation())
    assert vault.put(conversation()) == cid
    assert vault.get(cid) == conversation()
    assert vault.status(cid) is Status.AVAILABLE
    assert vault.put(conversation(ticket="T-2")) != cid


def test_putting_again_restores_a_block_a_store_lost(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "content")
    vault = Vault([store], KeyStore.in_folder(tmp_path))
    cid = vault.put(conversation())
    store.unpin(cid)  # lost (or never written: a crash between saving the key and storing)
    assert vault.status(cid) is Status.MISSING
    assert vault.put(conversation()) == cid
    assert vault.get(cid) == conversation()


def test_each_conversation_has_its_own_key(tmp_path: Path) -> None:
    keys = KeyStore.in_folder(tmp_path)
    vault = Vault([EmbeddedStore(tmp_path / "content")], keys)
    a, b = vault.put(conversation("T-1")), vault.put(conversation("T-2"))
    assert keys.key(a) != keys.key(b)


def test_status_reports_missing_corrupted_and_unknown_content(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "content")
    vault = Vault([store], KeyStore.in_folder(tmp_path))
    cid = vault.put(conversation())
    assert vault.status(compute_cid(b"never stored")) is Status.MISSING
    assert vault.status(store.put(b"someone else's block")) is Status.UNKNOWN_KEY
    path = store.path_of(cid)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    assert vault.status(cid) is Status.CORRUPTED


def test_oversize_conversation_is_refused(tmp_path: Path) -> None:
    vault = Vault([EmbeddedStore(tmp_path / "content")], KeyStore.in_folder(tmp_path))
    with pytest.raises(ContentTooLarge):
        vault.put(conversation(body="x" * 262_144))


def test_erasure_with_an_unreachable_node_still_destroys_the_key(tmp_path: Path, silent_port: int) -> None:
    embedded = EmbeddedStore(tmp_path / "content")
    keys = KeyStore.in_folder(tmp_path)
    cid = Vault([embedded], keys).put(conversation())
    down = IpfsStore(f"http://127.0.0.1:{silent_port}", timeout=0.2, attempts=1)
    with pytest.raises(StoreUnavailable, match=r"is erased .* but unpinning failed"):
        Vault([embedded, down], keys).erase(cid, erased_by="dpo", reason="request")
    with pytest.raises(ContentErased):
        Vault([embedded], keys).get(cid)
    assert keys.erasure(cid) is not None


def test_vault_opens_embedded_and_node_stores_from_a_data_folder(tmp_path: Path, ipfs_node: JsIpfsNode) -> None:
    vault = Vault.open(tmp_path, ipfs_api_url=ipfs_node.api_url)
    try:
        assert [type(s) for s in vault.stores] == [EmbeddedStore, IpfsStore]
        cid = vault.put(conversation(ticket="T-open"))
        assert (tmp_path / "content" / "blocks" / cid[-3:-1] / cid).exists()
        assert (tmp_path / "keys.sqlite3").exists()
        assert vault.stores[1].get(cid) == vault.stores[0].get(cid)
    finally:
        vault.close()


def test_putting_many_conversations_at_once_equals_putting_them_one_by_one(tmp_path: Path) -> None:
    batch_vault = Vault([EmbeddedStore(tmp_path / "batch")], KeyStore(tmp_path / "batch-keys.sqlite3"))
    conversations = [conversation(f"T-{i}", f"question {i}") for i in range(20)]
    cids = batch_vault.put_many([*conversations, conversations[3]])  # a duplicate within the batch
    assert cids[20] == cids[3] and len(set(cids)) == 20
    assert [batch_vault.get(cid) for cid in cids[:20]] == conversations
    assert [batch_vault.put(c) for c in conversations] == cids[:20]  # stored before: the same blocks
    assert all(batch_vault.status(cid) == Status.AVAILABLE for cid in cids)
    batch_vault.erase(cids[0], erased_by="dpo", reason="request")
    assert batch_vault.put_many([conversations[1]]) == [cids[1]]
    batch_vault.close()

"""Private conversations: encrypted per conversation, stored by ciphertext CID, erasable.

`Vault.put` seals a conversation under a fresh key, saves the key, then stores the sealed block in
every configured store (the embedded store, a node, or both). `Vault.erase` destroys the key first
(from then on no copy anywhere can be read), records who erased it, when and why, and then unpins
the block from every store. Reading or auditing an erased conversation reports "erased".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from peercare.content.cid import compute_cid
from peercare.content.crypto import MAX_PLAINTEXT_SIZE, new_key, seal, unseal
from peercare.content.document import Conversation, parse
from peercare.content.embedded import EmbeddedStore
from peercare.content.errors import (
    ContentCorrupted,
    ContentErased,
    ContentMissing,
    ContentTooLarge,
    ErasureRecord,
    StoreUnavailable,
)
from peercare.content.ipfs import IpfsStore
from peercare.content.keystore import KeyMissing, KeyStore
from peercare.content.store import Store, get_from_first


class Status(StrEnum):
    """What an auditor finds for an identifier."""

    AVAILABLE = "available"  # key held, ciphertext present and intact
    ERASED = "erased"  # key destroyed on request; the record says who, when, why
    MISSING = "missing"  # no store holds the ciphertext
    CORRUPTED = "corrupted"  # a store holds bytes that do not match the identifier
    UNKNOWN_KEY = "unknown-key"  # ciphertext present but this key store never had its key


class Vault:
    """Encrypted conversations over one or more stores and a key store."""

    def __init__(self, stores: Sequence[Store], keys: KeyStore) -> None:
        if not stores:
            raise ValueError("a vault needs at least one store")
        self.stores = list(stores)
        self.keys = keys

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str], *, ipfs_api_url: str | None = None) -> Vault:
        """The usual set-up: the embedded store in `<data_dir>/content`, keys in
        `<data_dir>/keys.sqlite3`, and an IPFS node as well when its RPC API URL is configured."""
        stores: list[Store] = [EmbeddedStore(Path(data_dir) / "content")]
        if ipfs_api_url:
            stores.append(IpfsStore(ipfs_api_url))
        return cls(stores, KeyStore.in_folder(data_dir))

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.keys.close()

    def put(self, conversation: Conversation) -> str:
        """Store a conversation; return the CID of its sealed block. Putting the same conversation
        again returns the same CID and stores it again wherever it is missing (the key store
        remembers its key, and sealing is deterministic per key)."""
        return self.put_many([conversation])[0]

    def put_many(self, conversations: Sequence[Conversation]) -> list[str]:
        """`put` for several conversations: their new keys in one key-store transaction, their
        blocks in one write per store (one disk sync for the batch on the embedded store)."""
        sealed_blocks: list[bytes] = []
        cids: list[str] = []
        new_keys: list[tuple[str, bytes, str | None]] = []
        fresh: dict[str, str] = {}  # plain CID -> sealed CID, for duplicates within this batch
        fresh_keys: dict[str, bytes] = {}
        for conversation in conversations:
            plaintext = conversation.canonical_bytes()
            if len(plaintext) > MAX_PLAINTEXT_SIZE:
                raise ContentTooLarge(len(plaintext), MAX_PLAINTEXT_SIZE)
            plain_cid = compute_cid(plaintext)
            cid = fresh.get(plain_cid) or self.keys.sealed_for(plain_cid)
            if cid is not None:  # stored before (perhaps only partly): sealing again gives the same block
                key = fresh_keys.get(cid) or self.keys.key(cid)
                sealed = seal(key, plaintext)
            else:
                key = new_key()
                sealed = seal(key, plaintext)
                cid = compute_cid(sealed)
                new_keys.append((cid, key, plain_cid))
                fresh[plain_cid], fresh_keys[cid] = cid, key
            sealed_blocks.append(sealed)
            cids.append(cid)
        if new_keys:
            self.keys.save_many(new_keys)  # the keys first: no unreadable orphan blocks
        for store in self.stores:
            put_many = getattr(store, "put_many", None)
            if put_many is not None:
                put_many(sealed_blocks)
            else:
                for block in sealed_blocks:
                    store.put(block)
        return cids

    def get(self, cid: str) -> Conversation:
        """The conversation; `ContentErased` if it was erased, `ContentMissing`/`ContentCorrupted`
        if no store holds an intact copy."""
        key = self.keys.key(cid)
        return parse(unseal(key, self._fetch(cid)))

    def erase(self, cid: str, *, erased_by: str, reason: str) -> ErasureRecord:
        """Destroy the key, record the erasure, unpin everywhere. The key is gone even if a store is
        unreachable (`StoreUnavailable` is raised after trying them all); erase again to finish."""
        record = self.keys.erase(cid, erased_by=erased_by, reason=reason)
        failures: list[str] = []
        for store in self.stores:
            try:
                store.unpin(cid)
            except StoreUnavailable as exc:
                failures.append(str(exc))
        if failures:
            raise StoreUnavailable(
                f"{cid} is erased (key destroyed, record kept) but unpinning failed: " + "; ".join(failures)
            )
        return record

    def status(self, cid: str) -> Status:
        """An auditor's view of `cid`. Never raises for erased, missing or corrupted content."""
        try:
            self.keys.key(cid)
        except ContentErased:
            return Status.ERASED
        except KeyMissing:
            has_key = False
        else:
            has_key = True
        try:
            self._fetch(cid)
        except ContentMissing:
            return Status.MISSING
        except ContentCorrupted:
            return Status.CORRUPTED
        return Status.AVAILABLE if has_key else Status.UNKNOWN_KEY

    def _fetch(self, cid: str) -> bytes:
        return get_from_first(self.stores, cid)

"""The one protocol both content stores implement, and reading and writing several at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from peercare.content.errors import ContentCorrupted, ContentMissing, StoreUnavailable


@runtime_checkable
class Store(Protocol):
    """A content-addressed store of single-block documents (at most `MAX_BLOCK_SIZE` bytes).

    Every implementation computes the identifier locally and never returns bytes that do not hash
    to the identifier asked for. Errors are `peercare.content.errors.ContentError` subclasses.
    """

    def put(self, data: bytes) -> str:
        """Store and pin `data`; return its CID. Idempotent: the same bytes give the same CID.
        Raises `ContentTooLarge`, `CidMismatch` (a node disagreeing) or `StoreUnavailable`."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes for `cid`, checked against it. Raises `ContentMissing`, `ContentCorrupted`,
        `InvalidCid` or `StoreUnavailable`."""
        ...

    def pin(self, cid: str) -> None:
        """Keep `cid` (already stored) from garbage collection. Raises `ContentMissing` if absent."""
        ...

    def unpin(self, cid: str) -> None:
        """Let `cid` go: it is no longer kept and may be (embedded: is) deleted. Idempotent."""
        ...

    def is_pinned(self, cid: str) -> bool:
        """Whether `cid` is pinned."""
        ...

    def close(self) -> None:
        """Release connections and handles."""
        ...


def get_from_first(stores: Sequence[Store], cid: str) -> bytes:
    """The bytes for `cid` from the first store holding an intact copy. Otherwise `ContentCorrupted`
    if any copy was corrupted; `StoreUnavailable` if any store did not answer (the copy may be on
    it, so "missing" would not be the truth); else `ContentMissing`. The runtime's reads, the
    vault's and the audit's all answer by this one rule."""
    errors: list[Exception] = []
    for store in stores:
        try:
            return store.get(cid)
        except (ContentMissing, ContentCorrupted, StoreUnavailable) as exc:
            errors.append(exc)
    detail = "; ".join(map(str, errors))
    if any(isinstance(e, ContentCorrupted) for e in errors):
        raise ContentCorrupted(cid, detail)
    if any(isinstance(e, StoreUnavailable) for e in errors):
        raise StoreUnavailable(f"{cid} cannot be read: {detail}")
    raise ContentMissing(cid, detail)


class EveryStore:
    """Several stores as one: writes go to every store, reads come from the first intact copy."""

    def __init__(self, stores: Sequence[Store]) -> None:
        self.stores = list(stores)

    def put(self, data: bytes) -> str:
        cids = {store.put(data) for store in self.stores}
        return cids.pop()  # every store computes the CID locally: one CID

    def get(self, cid: str) -> bytes:
        return get_from_first(self.stores, cid)

    def pin(self, cid: str) -> None:
        for store in self.stores:
            store.pin(cid)

    def unpin(self, cid: str) -> None:
        for store in self.stores:
            store.unpin(cid)

    def is_pinned(self, cid: str) -> bool:
        return any(store.is_pinned(cid) for store in self.stores)

    def close(self) -> None:
        """The stores' owner (the vault) closes them."""

"""One root for every content-store error, so callers can catch `ContentError` at the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ContentError(Exception):
    """Root of the content store's errors."""


class InvalidCid(ContentError, ValueError):
    """A string that is not a CIDv1 raw sha2-256 base32 identifier, or a digest that is not 32 bytes."""


class ContentTooLarge(ContentError, ValueError):
    """A document over the single-block limit: a node would chunk it and assign another identifier."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"document is {size} bytes; the limit is {limit} bytes (one raw block): a larger file would be "
            "split into chunks by an IPFS node and get a different identifier"
        )
        self.size = size
        self.limit = limit


class ContentMissing(ContentError, LookupError):
    """The store does not hold the content for this identifier."""

    def __init__(self, cid: str, detail: str = "") -> None:
        super().__init__(f"content {cid} is missing" + (f": {detail}" if detail else ""))
        self.cid = cid


class ContentCorrupted(ContentError):
    """The bytes the store holds do not hash to the identifier; they are never returned."""

    def __init__(self, cid: str, detail: str = "") -> None:
        super().__init__(f"content {cid} is corrupted" + (f": {detail}" if detail else ""))
        self.cid = cid


class CidMismatch(ContentError):
    """A node assigned an identifier different from the one computed locally; the content is refused."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"the IPFS node assigned {got} but the content's identifier is {expected}; refused")
        self.expected = expected
        self.got = got


class StoreUnavailable(ContentError):
    """The store cannot be reached or used (node down, data folder unusable); retrying later may help."""


class NodeError(ContentError):
    """The IPFS node answered with an error this client does not map to anything more specific."""


@dataclass(frozen=True)
class ErasureRecord:
    """That a conversation's key was destroyed: what, when, by whom and why. Kept forever."""

    cid: str
    erased_at: datetime
    erased_by: str
    reason: str


class ContentErased(ContentError):
    """The conversation was erased: its key is destroyed and it can no longer be read by anyone."""

    def __init__(self, record: ErasureRecord) -> None:
        super().__init__(
            f"content {record.cid} was erased at {record.erased_at.isoformat()} by {record.erased_by}: {record.reason}"
        )
        self.record = record

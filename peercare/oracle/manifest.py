"""A batch manifest: the list of answers whose Merkle root the oracle anchors.

The manifest is public (it reveals only identifiers and digests, never conversations), stored in
the content store unencrypted; the ledger's `AnswerBatchAnchored` event carries the digest of its
CID, so anyone can fetch it, rebuild the tree and check every answer against the anchored root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from peercare.content.document import canonical_json
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree

SCHEMA = "peercare.answer-batch/1"


class ManifestError(ValueError):
    """The bytes are not a valid batch manifest."""


@dataclass(frozen=True)
class Leaf:
    question_id: bytes
    advocate: str
    content_digest: bytes

    def value(self) -> tuple[bytes, str, bytes]:
        return (self.question_id, self.advocate, self.content_digest)


@dataclass(frozen=True)
class BatchManifest:
    brand_id: int
    leaves: tuple[Leaf, ...]

    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of([leaf.value() for leaf in self.leaves], ANSWER_LEAF_ENCODING)

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "schema": SCHEMA,
                "brand_id": self.brand_id,
                "leaves": [
                    ["0x" + leaf.question_id.hex(), leaf.advocate, "0x" + leaf.content_digest.hex()]
                    for leaf in self.leaves
                ],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BatchManifest:
        try:
            obj: Any = json.loads(data)
            if obj.get("schema") != SCHEMA:
                raise ManifestError(f"not a {SCHEMA} manifest (schema {obj.get('schema')!r})")
            leaves = tuple(
                Leaf(bytes.fromhex(q.removeprefix("0x")), to_checksum_address(a), bytes.fromhex(d.removeprefix("0x")))
                for q, a, d in obj["leaves"]
            )
            brand_id = int(obj["brand_id"])
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"malformed batch manifest: {exc}") from None
        if not leaves or any(len(leaf.question_id) != 32 or len(leaf.content_digest) != 32 for leaf in leaves):
            raise ManifestError("a batch manifest lists at least one leaf of two 32-byte hashes and an address")
        return cls(brand_id, leaves)

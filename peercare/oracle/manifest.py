"""Batch manifests: the lists of questions, answers and ratings whose Merkle roots the oracle
anchors.

A manifest is public (it reveals only identifiers, ticket ids, bounties, digests, ratings and keyed
rater ids, never conversations or people), stored in the content store unencrypted; the anchoring
event (`QuestionBatchPosted`, `AnswerBatchAnchored`, `RatingBatchAnchored`) carries the digest of
its CID, so anyone can fetch it, rebuild the tree and check every leaf against the anchored root.

A question batch's manifest is valid only if every leaf's question id is the hash of the batch's
brand, the leaf's source and its ticket id (as `postQuestion` would compute it), and no question
appears twice: the ledger does not check either (it never sees tickets), and without the first a
brand could claim another brand's question id in the index.

An answer signed by its advocate (EIP-712, `peercare.core.typed_data`) carries the signature in its
leaf's manifest entry: the leaf's hash is the same either way, the ledger does not check it (that
is what makes signed answers batchable), and anyone can verify it with `isAnswerSignatureValid` or
`peercare audit verify`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from peercare.content.document import canonical_json
from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import (
    ANSWER_LEAF_ENCODING,
    QUESTION_LEAF_ENCODING,
    RATING_LEAF_ENCODING,
    answer_id,
    question_id,
)
from peercare.core.merkle import StandardMerkleTree

SCHEMA = "peercare.answer-batch/1"
RATING_SCHEMA = "peercare.rating-batch/1"
QUESTION_SCHEMA = "peercare.question-batch/1"


class ManifestError(ValueError):
    """The bytes are not a valid batch manifest."""


def load_manifest(data: bytes, schema: str, what: str, items: str, item: str) -> tuple[int, list[Any]]:
    """(brand id, raw items) of a JSON manifest of `schema` listing `items`; ManifestError when it
    is not one. Callers parse the items inside `parsing(what)`."""
    try:
        obj: Any = json.loads(data)
        if not isinstance(obj, dict) or obj.get("schema") != schema:
            found = obj.get("schema") if isinstance(obj, dict) else None
            raise ManifestError(f"not a {schema} manifest (schema {found!r})")
        brand_id, raw = int(obj["brand_id"]), obj[items]
        if not isinstance(raw, list) or not raw:
            raise ManifestError(f"a {what} manifest lists at least one {item}")
        return brand_id, raw
    except ManifestError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"malformed {what} manifest: {exc}") from None


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Turns an error reading a malformed manifest item into a ManifestError naming the manifest."""
    try:
        yield
    except ManifestError:
        raise
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise ManifestError(f"malformed {what} manifest: {exc}") from None


def _hash32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ManifestError(f"{value!r} is not a 32-byte hash")
    return raw


@dataclass(frozen=True)
class LeafSignature:
    """The advocate's EIP-712 `Answer` signature of a batched answer (never used on chain)."""

    nonce: int
    deadline: int
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        return {"nonce": self.nonce, "deadline": self.deadline, "signature": "0x" + self.signature.hex()}

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> LeafSignature:
        return cls(
            int(fields["nonce"]), int(fields["deadline"]), bytes.fromhex(str(fields["signature"]).removeprefix("0x"))
        )


@dataclass(frozen=True)
class Leaf:
    question_id: bytes
    advocate: str
    content_digest: bytes
    signature: LeafSignature | None = None  # not part of the leaf's hash

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
                    [
                        "0x" + leaf.question_id.hex(),
                        leaf.advocate,
                        "0x" + leaf.content_digest.hex(),
                        *([leaf.signature.as_json()] if leaf.signature is not None else []),
                    ]
                    for leaf in self.leaves
                ],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> BatchManifest:
        brand_id, raw = load_manifest(data, SCHEMA, "batch", "leaves", "leaf")
        with parsing("batch"):
            leaves = tuple(_answer_leaf(item) for item in raw)
        return cls(brand_id, leaves)


def _answer_leaf(item: list[Any]) -> Leaf:
    question, advocate, digest, *signed = item
    signature = None
    if signed:
        (fields,) = signed
        signature = LeafSignature.from_json(fields)
    return Leaf(_hash32(question), to_checksum_address(advocate), _hash32(digest), signature)


@dataclass(frozen=True)
class RatingLeaf:
    """One rating of one answer (named by question, advocate and content digest), on behalf of a
    rater: its kind and keyed id (a customer's pseudonym, never their id: docs/privacy.md)."""

    question_id: bytes
    advocate: str
    content_digest: bytes
    rating: int
    rater_kind: RaterKind
    rater_id: bytes

    def value(self) -> tuple[bytes, str, bytes, int, int, bytes]:
        return (self.question_id, self.advocate, self.content_digest, self.rating, int(self.rater_kind), self.rater_id)

    @property
    def answer_id(self) -> bytes:
        return answer_id(self.question_id, self.advocate, self.content_digest)


@dataclass(frozen=True)
class RatingManifest:
    brand_id: int
    leaves: tuple[RatingLeaf, ...]

    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of([leaf.value() for leaf in self.leaves], RATING_LEAF_ENCODING)

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "schema": RATING_SCHEMA,
                "brand_id": self.brand_id,
                "leaves": [
                    [
                        "0x" + leaf.question_id.hex(),
                        leaf.advocate,
                        "0x" + leaf.content_digest.hex(),
                        leaf.rating,
                        int(leaf.rater_kind),
                        "0x" + leaf.rater_id.hex(),
                    ]
                    for leaf in self.leaves
                ],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RatingManifest:
        brand_id, raw = load_manifest(data, RATING_SCHEMA, "rating batch", "leaves", "leaf")
        with parsing("rating batch"):
            leaves = tuple(_rating_leaf(item) for item in raw)
        return cls(brand_id, leaves)


def _rating_leaf(item: list[Any]) -> RatingLeaf:
    question, advocate, digest, rating, kind, rater = item
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ManifestError(f"a rating is 1 to 5, not {rating!r}")
    return RatingLeaf(
        _hash32(question), to_checksum_address(advocate), _hash32(digest), rating, RaterKind(int(kind)), _hash32(rater)
    )


@dataclass(frozen=True)
class QuestionLeaf:
    """One question of a batch: the leaf's fields (its index is its place in the manifest) and the
    ticket it was made from (`source`, a bytes32 label, and `ticket_id`), which its id hashes from."""

    question_id: bytes
    source: bytes
    ticket_id: str
    topic: bytes
    bounty: int
    content_digest: bytes

    def value(self, index: int) -> tuple[bytes, int, bytes, int, bytes]:
        return (self.question_id, index, self.topic, self.bounty, self.content_digest)


@dataclass(frozen=True)
class QuestionManifest:
    """The questions of one `postQuestionBatch`, in leaf order."""

    brand_id: int
    leaves: tuple[QuestionLeaf, ...]

    @property
    def total_bounty(self) -> int:
        return sum(leaf.bounty for leaf in self.leaves)

    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of([leaf.value(i) for i, leaf in enumerate(self.leaves)], QUESTION_LEAF_ENCODING)

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "schema": QUESTION_SCHEMA,
                "brand_id": self.brand_id,
                "questions": [
                    [
                        "0x" + leaf.question_id.hex(),
                        "0x" + leaf.source.hex(),
                        leaf.ticket_id,
                        "0x" + leaf.topic.hex(),
                        str(leaf.bounty),  # decimal text: a uint128 does not fit a JSON reader's double
                        "0x" + leaf.content_digest.hex(),
                    ]
                    for leaf in self.leaves
                ],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> QuestionManifest:
        brand_id, raw = load_manifest(data, QUESTION_SCHEMA, "question batch", "questions", "question")
        with parsing("question batch"):
            leaves = tuple(_question_leaf(brand_id, item) for item in raw)
        seen: set[bytes] = set()
        for leaf in leaves:
            if leaf.question_id in seen:
                raise ManifestError(f"question 0x{leaf.question_id.hex()} appears twice in the batch")
            seen.add(leaf.question_id)
        return cls(brand_id, leaves)


def _question_leaf(brand_id: int, item: list[Any]) -> QuestionLeaf:
    qid, source, ticket, topic, bounty, digest = item
    if not isinstance(ticket, str) or not isinstance(bounty, str) or not bounty.isdigit():
        raise ManifestError(f"a question's ticket id is text and its bounty decimal text, not {ticket!r}, {bounty!r}")
    leaf = QuestionLeaf(_hash32(qid), _hash32(source), ticket, _hash32(topic), int(bounty), _hash32(digest))
    if leaf.bounty >= 2**128:
        raise ManifestError(f"bounty {bounty} does not fit a uint128")
    if question_id(brand_id, leaf.source, ticket) != leaf.question_id:
        raise ManifestError(
            f"question 0x{leaf.question_id.hex()} is not the id of brand {brand_id}'s ticket {ticket!r}"
        )
    return leaf

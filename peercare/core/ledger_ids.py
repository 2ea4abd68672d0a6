"""Ids and Merkle leaves exactly as the ledger contracts compute them (contracts/libraries/Leaves.sol)."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

#: Leaf types of an answer in a batch: (question id, advocate, content digest).
ANSWER_LEAF_ENCODING = ("bytes32", "address", "bytes32")
#: Leaf types of a question in a batch posted by `postQuestionBatch`: (question id, index in the
#: batch, which is its settled bit, topic, bounty, content digest). The question id is
#: `question_id(brand, source, ticket)`; the batch's manifest carries source and ticket id beside
#: each leaf, and the audit, not the contract, checks they hash to it.
QUESTION_LEAF_ENCODING = ("bytes32", "uint32", "bytes32", "uint128", "bytes32")
#: Leaf types of a reputation score: (advocate, topic, score).
REPUTATION_LEAF_ENCODING = ("address", "bytes32", "uint256")
#: Leaf types of a routing decision's round: (question id, round, person offered or the zero
#: address for the round itself, the decision's commitment). Anchored by `anchorRoutingBatch`.
ROUTING_LEAF_ENCODING = ("bytes32", "uint32", "address", "bytes32")
#: A rating batch's leaf: the answer (question, advocate, content digest), the rating 1-5, the
#: rater kind (`RaterKind`) and the keyed rater id (`RatingBatchAnchored`).
RATING_LEAF_ENCODING = ("bytes32", "address", "bytes32", "uint8", "uint8", "bytes32")


def short_string(text: str) -> bytes:
    """A short ASCII label (a ticketing source, a topic) as a left-aligned, zero-padded bytes32,
    like Solidity's `bytes32("zendesk")`."""
    raw = text.encode("utf-8")
    if len(raw) > 32:
        raise ValueError(f"label {text!r} is {len(raw)} bytes; a bytes32 label holds at most 32")
    return raw.ljust(32, b"\0")


def question_id(brand_id: int, source: bytes, ticket_id: str) -> bytes:
    """keccak256(abi.encode(uint64 brandId, bytes32 source, string ticketId))."""
    return keccak(encode(["uint64", "bytes32", "string"], [brand_id, source, ticket_id]))


def answer_id(question: bytes, advocate: str, content_digest: bytes) -> bytes:
    """keccak256(abi.encode(bytes32 questionId, address advocate, bytes32 contentDigest)).
    The same id whether the answer was recorded directly or anchored in a batch. For these three
    static types abi.encode is the three 32-byte words side by side, built here directly (the oracle
    and the indexer hash thousands of answers a second)."""
    account = bytes.fromhex(advocate.removeprefix("0x"))
    if len(question) != 32 or len(content_digest) != 32 or len(account) != 20:
        raise ValueError("an answer id takes a 32-byte question id, a 20-byte address and a 32-byte digest")
    return keccak(question + bytes(12) + account + content_digest)


def reputation_topic(brand_id: int, topic: bytes) -> bytes:
    """The topic a reputation leaf names for brand `brand_id`'s question topic `topic` (a bytes32
    label): keccak256(abi.encode(uint64 brandId, bytes32 topic)). Reputation is namespaced by brand,
    so two brands that both call a topic "general" or "billing" never pool their reputation, nor
    seed each other's trust, by accident."""
    if len(topic) != 32:
        raise ValueError("a topic is a bytes32 label")
    return keccak(encode(["uint64", "bytes32"], [brand_id, topic]))


def question_leaf(question: bytes, index: int, topic: bytes, bounty: int, content_digest: bytes) -> bytes:
    """A question's leaf in a batch, as `Leaves.questionLeaf` (and `questionLeafOf`) computes it:
    keccak256(keccak256(abi.encode(bytes32 questionId, uint32 index, bytes32 topic, uint128 bounty,
    bytes32 contentDigest))), the StandardMerkleTree leaf of `QUESTION_LEAF_ENCODING`."""
    return keccak(keccak(encode(list(QUESTION_LEAF_ENCODING), [question, index, topic, bounty, content_digest])))

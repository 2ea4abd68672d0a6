"""Edge cases of the StandardMerkleTree port (peercare/core/merkle.py), table-driven.

Interoperability with the JavaScript reference library itself is in test_merkle_interop.py.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import keccak

from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING, REPUTATION_LEAF_ENCODING, answer_id, short_string
from peercare.core.merkle import MerkleError, StandardMerkleTree, hash_pair, leaf_hash, process_proof, verify

ALICE = "0x1111111111111111111111111111111111111111"
BOB = "0x2222222222222222222222222222222222222222"
CAROL = "0x3333333333333333333333333333333333333333"


def _answers(n: int) -> list[tuple[bytes, str, bytes]]:
    return [
        (
            keccak(text=f"question {i % 3}"),
            [ALICE, BOB, CAROL][i % 3],
            hashlib.sha256(b"answer %d" % i).digest(),
        )
        for i in range(n)
    ]


TREE = StandardMerkleTree.of(_answers(5), ANSWER_LEAF_ENCODING)


# ---------------------------------------------------------------- known answers


def test_readme_example_root() -> None:
    """The example of the library's README (github.com/OpenZeppelin/merkle-tree), whose root the
    README prints and the pinned npm package 1.0.8 reproduces."""
    tree = StandardMerkleTree.of([[ALICE, "5000000000000000000"], [BOB, "2500000000000000000"]], ["address", "uint256"])
    assert "0x" + tree.root.hex() == "0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77"


def test_answer_leaf_is_the_contracts_leaf() -> None:
    """Leaves.answerLeaf(answerId) = keccak256(answerId), answerId = keccak256(abi.encode(leaf values))."""
    for value in _answers(3):
        assert leaf_hash(ANSWER_LEAF_ENCODING, value) == keccak(answer_id(*value))


def test_single_leaf_tree_has_empty_proof_and_leaf_as_root() -> None:
    tree = StandardMerkleTree.of(_answers(1), ANSWER_LEAF_ENCODING)
    assert tree.proof(0) == []
    assert tree.root == tree.leaf(0) == leaf_hash(ANSWER_LEAF_ENCODING, _answers(1)[0])
    assert verify(tree.root, ANSWER_LEAF_ENCODING, _answers(1)[0], [])


def test_pair_hash_is_commutative() -> None:
    a, b = keccak(b"a"), keccak(b"b")
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))


@pytest.mark.parametrize("index", range(5))
def test_every_proof_verifies_and_leads_to_the_root(index: int) -> None:
    value = _answers(5)[index]
    assert TREE.index_of(value) == index
    assert process_proof(TREE.leaf(index), TREE.proof(index)) == TREE.root
    assert verify(TREE.root, ANSWER_LEAF_ENCODING, value, TREE.proof(index))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param((ALICE.lower(), short_string("billing"), 7), id="lower-case address"),
        pytest.param((ALICE, "0x" + short_string("billing").hex(), "7"), id="hex bytes32, decimal string"),
        pytest.param((ALICE, short_string("billing"), "0x7"), id="hex string uint (the JS library takes it)"),
    ],
)
def test_equivalent_spellings_give_the_same_leaf(value: tuple[Any, ...]) -> None:
    canonical = (ALICE, short_string("billing"), 7)
    assert leaf_hash(REPUTATION_LEAF_ENCODING, value) == leaf_hash(REPUTATION_LEAF_ENCODING, canonical)
    tree = StandardMerkleTree.of([canonical, (BOB, short_string("billing"), 3)], REPUTATION_LEAF_ENCODING)
    assert tree.index_of(value) == 0


# ---------------------------------------------------------------- refusals

BAD_VALUES = [
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 31, ALICE, b"\2" * 32), id="bytes32 of 31 bytes"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 33, ALICE, b"\2" * 32), id="bytes32 of 33 bytes"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 32, ALICE, "0x" + "02" * 31), id="bytes32 hex of 31 bytes"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 32, ALICE, b""), id="empty bytes32"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 32, "0x1234", b"\2" * 32), id="short address"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 32, ALICE), id="too few fields"),
    pytest.param(ANSWER_LEAF_ENCODING, (b"\1" * 32, ALICE, b"\2" * 32, 1), id="too many fields"),
    pytest.param(REPUTATION_LEAF_ENCODING, (ALICE, short_string("x"), "seven"), id="uint not a number"),
]


@pytest.mark.parametrize(("encoding", "value"), BAD_VALUES)
def test_malformed_values_are_refused(encoding: tuple[str, ...], value: tuple[Any, ...]) -> None:
    with pytest.raises(MerkleError):
        leaf_hash(encoding, value)
    with pytest.raises(MerkleError):
        StandardMerkleTree.of([value], encoding)


@pytest.mark.parametrize("values", [[], ()], ids=["list", "tuple"])
def test_empty_tree_is_refused(values: Any) -> None:
    with pytest.raises(MerkleError, match="at least one leaf"):
        StandardMerkleTree.of(values, ANSWER_LEAF_ENCODING)


@pytest.mark.parametrize("index", [-1, 5, 6, 1000])
def test_proof_index_out_of_range_is_refused(index: int) -> None:
    with pytest.raises(MerkleError, match=f"no value at index {index}"):
        TREE.proof(index)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param((keccak(text="question 0"), ALICE, hashlib.sha256(b"answer 1").digest()), id="other digest"),
        pytest.param((keccak(text="question 4"), ALICE, hashlib.sha256(b"answer 0").digest()), id="other question"),
        pytest.param((keccak(text="question 0"), BOB, hashlib.sha256(b"answer 0").digest()), id="other advocate"),
    ],
)
def test_index_of_a_missing_value_is_refused(value: tuple[Any, ...]) -> None:
    with pytest.raises(MerkleError, match="not in the tree"):
        TREE.index_of(value)
    assert not any(verify(TREE.root, ANSWER_LEAF_ENCODING, value, TREE.proof(i)) for i in range(5))


def test_index_of_a_malformed_value_is_refused() -> None:
    with pytest.raises(MerkleError):
        TREE.index_of((keccak(text="question 0"), ALICE))


# ---------------------------------------------------------------- dumps


def test_dump_round_trips() -> None:
    dump = TREE.dump()
    assert dump["format"] == "standard-v1"
    assert dump["leafEncoding"] == list(ANSWER_LEAF_ENCODING)
    assert len(dump["tree"]) == 2 * 5 - 1
    assert StandardMerkleTree.load(dump) == TREE
    assert StandardMerkleTree.load(copy.deepcopy(dump)).dump() == dump


def _set(path: tuple[Any, ...], new: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(dump: dict[str, Any]) -> None:
        target = dump
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = new(target[path[-1]]) if callable(new) else new

    return mutate


def _flip(hex_node: str) -> str:
    return hex_node[:-1] + ("0" if hex_node[-1] != "0" else "1")


def _swap_tree_indices(dump: dict[str, Any]) -> None:
    first, second = dump["values"][0], dump["values"][1]
    first["treeIndex"], second["treeIndex"] = second["treeIndex"], first["treeIndex"]


TAMPERED_DUMPS = [
    pytest.param(_set(("format",), "standard-v2"), id="unknown format"),
    pytest.param(_set(("format",), None), id="no format"),
    pytest.param(_set(("tree", 0), _flip), id="root changed"),
    pytest.param(_set(("tree", 1), _flip), id="inner node changed"),
    pytest.param(_set(("tree", -1), _flip), id="leaf changed"),
    pytest.param(_set(("values", 2, "value", 2), "0x" + "00" * 32), id="value changed"),
    pytest.param(_set(("values", 0, "value", 1), BOB), id="advocate changed"),
    pytest.param(_set(("values", 0, "treeIndex"), 0), id="tree index points at the root"),
    pytest.param(_swap_tree_indices, id="tree indices swapped"),
    pytest.param(_set(("tree",), lambda tree: [*tree, tree[-1]]), id="extra node"),
    pytest.param(_set(("tree",), lambda tree: tree[:-1]), id="missing node"),
    pytest.param(_set(("values",), lambda values: values[:-1]), id="missing value"),
    pytest.param(_set(("leafEncoding",), ["bytes32", "address", "string"]), id="other leaf encoding"),
    pytest.param(_set(("tree", 3), "0xnothex"), id="node not hex"),
    pytest.param(_set(("tree", 3), "0x1234"), id="node too short"),
    pytest.param(_set(("values", 1, "value"), None), id="value missing"),
    pytest.param(_set(("values", 1, "value", 0), "0x1234"), id="bytes32 too short"),
    pytest.param(lambda dump: dump.pop("tree"), id="no tree"),
    pytest.param(lambda dump: dump.pop("values"), id="no values"),
    pytest.param(lambda dump: dump.pop("leafEncoding"), id="no leaf encoding"),
    pytest.param(_set(("values",), []), id="no leaves"),
]


@pytest.mark.parametrize("tamper", TAMPERED_DUMPS)
def test_load_refuses_a_tampered_dump(tamper: Callable[[dict[str, Any]], None]) -> None:
    dump = copy.deepcopy(TREE.dump())
    tamper(dump)
    with pytest.raises(MerkleError):
        StandardMerkleTree.load(dump)


# ---------------------------------------------------------------- forged proofs


def _forgeries() -> list[Any]:
    values = _answers(5)
    other = StandardMerkleTree.of(_answers(9)[4:], ANSWER_LEAF_ENCODING)
    tampered = (values[0][0], values[0][1], b"\0" * 32)
    return [
        pytest.param(values[1], TREE.proof(0), id="proof of leaf 0 for leaf 1"),
        pytest.param(values[4], TREE.proof(3), id="proof of leaf 3 for leaf 4"),
        pytest.param(tampered, TREE.proof(0), id="tampered leaf"),
        pytest.param(values[0], other.proof(0), id="proof from another batch"),
        pytest.param(values[0], TREE.proof(0)[:-1], id="truncated proof"),
        pytest.param(values[0], [*TREE.proof(0), TREE.root], id="proof one step too long"),
        pytest.param(values[0], [], id="empty proof"),
        pytest.param(values[0], list(reversed(TREE.proof(0))), id="proof in reverse order"),
    ]


@pytest.mark.parametrize(("value", "proof"), _forgeries())
def test_forged_proofs_do_not_verify(value: tuple[Any, ...], proof: list[bytes]) -> None:
    assert not verify(TREE.root, ANSWER_LEAF_ENCODING, value, proof)

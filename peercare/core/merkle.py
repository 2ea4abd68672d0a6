"""Merkle trees in the format of OpenZeppelin's `@openzeppelin/merkle-tree` (StandardMerkleTree).

Leaves are `keccak256(keccak256(abi.encode(values)))`, pairs are hashed sorted, and the tree is the
same flat array the JavaScript library builds, so roots, proofs and dumps (`standard-v1`) are
interchangeable with it and verify with OpenZeppelin's `MerkleProof` on-chain. Pure: no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

Value = tuple[Any, ...]


class MerkleError(ValueError):
    """A tree, proof or dump that is malformed or does not match."""


def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """The standard leaf: keccak256(keccak256(abi.encode(value)))."""
    return keccak(keccak(encode(list(leaf_encoding), list(_normalise_value(leaf_encoding, value)))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """keccak256 of the two nodes in ascending byte order (OpenZeppelin's commutative hash)."""
    return keccak(a + b) if a <= b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by a leaf and its proof."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(root: bytes, leaf_encoding: Sequence[str], value: Sequence[Any], proof: Sequence[bytes]) -> bool:
    """Whether `value` is in the tree with `root`, as `MerkleProof.verify` would decide."""
    return process_proof(leaf_hash(leaf_encoding, value), proof) == root


def root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    """The root `StandardMerkleTree.of` builds over these leaf hashes, without the values (a
    batch's root from its answers' leaf hashes, as the indexer checks a manifest)."""
    if not leaves:
        raise MerkleError("a Merkle tree needs at least one leaf")
    return _flat_tree(sorted(leaves))[0]


def _flat_tree(sorted_leaves: Sequence[bytes]) -> list[bytes]:
    """The flat array of the JavaScript library: the sorted leaves at the end, in reverse, and
    each inner node the sorted-pair hash of its two children."""
    size = 2 * len(sorted_leaves) - 1
    tree: list[bytes] = [b""] * size
    for index, leaf in enumerate(sorted_leaves):
        tree[size - 1 - index] = leaf
    for i in range(size - 1 - len(sorted_leaves), -1, -1):
        tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return tree


@dataclass(frozen=True)
class StandardMerkleTree:
    """A StandardMerkleTree: `tree` is the flat node array (root first), `tree_indices[i]` the
    position of `values[i]`'s leaf in it."""

    leaf_encoding: tuple[str, ...]
    values: tuple[Value, ...]
    tree: tuple[bytes, ...]
    tree_indices: tuple[int, ...]

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], leaf_encoding: Sequence[str]) -> StandardMerkleTree:
        """Build the tree the JavaScript library builds for the same values (leaves sorted)."""
        if not values:
            raise MerkleError("a Merkle tree needs at least one leaf")
        encoding = tuple(leaf_encoding)
        normalised = tuple(_normalise_value(encoding, value) for value in values)
        hashed = sorted(
            ((leaf_hash(encoding, value), index) for index, value in enumerate(normalised)),
            key=lambda pair: pair[0],
        )
        tree = _flat_tree([leaf for leaf, _ in hashed])
        size = len(tree)
        tree_indices = [0] * len(hashed)
        for leaf_index, (_, value_index) in enumerate(hashed):
            tree_indices[value_index] = size - 1 - leaf_index
        return cls(encoding, normalised, tuple(tree), tuple(tree_indices))

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def leaf(self, index: int) -> bytes:
        return self.tree[self.tree_indices[index]]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the leaf of `values[index]` up to the root."""
        if not 0 <= index < len(self.values):
            raise MerkleError(f"no value at index {index}: the tree has {len(self.values)} values")
        node = self.tree_indices[index]
        proof = []
        while node > 0:
            proof.append(self.tree[node + 1 if node % 2 else node - 1])
            node = (node - 1) // 2
        return proof

    def index_of(self, value: Sequence[Any]) -> int:
        wanted = _normalise_value(self.leaf_encoding, value)
        try:
            return self.values.index(wanted)
        except ValueError:
            raise MerkleError(f"value {wanted!r} is not in the tree") from None

    def dump(self) -> dict[str, Any]:
        """The library's `standard-v1` dump (hex strings; integers as decimal strings)."""
        return {
            "format": "standard-v1",
            "leafEncoding": list(self.leaf_encoding),
            "tree": ["0x" + node.hex() for node in self.tree],
            "values": [
                {
                    "value": [_to_json(t, v) for t, v in zip(self.leaf_encoding, value, strict=True)],
                    "treeIndex": index,
                }
                for value, index in zip(self.values, self.tree_indices, strict=True)
            ],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> StandardMerkleTree:
        """Load a `standard-v1` dump and check that every node and leaf is what its values imply."""
        if data.get("format") != "standard-v1":
            raise MerkleError(f"unknown Merkle dump format {data.get('format')!r}, expected 'standard-v1'")
        try:
            encoding = tuple(data["leafEncoding"])
            values = [entry["value"] for entry in data["values"]]
            rebuilt = cls.of(values, encoding)
            given = tuple(bytes.fromhex(node.removeprefix("0x")) for node in data["tree"])
            indices = tuple(int(entry["treeIndex"]) for entry in data["values"])
        except MerkleError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MerkleError(f"malformed Merkle dump: {err!r}") from err
        if given != rebuilt.tree or indices != rebuilt.tree_indices:
            raise MerkleError("the dump's tree does not match its values")
        return rebuilt


def _normalise_value(leaf_encoding: Sequence[str], value: Sequence[Any]) -> Value:
    """The value in canonical form (checksummed addresses, bytes, ints); MerkleError if it does not
    fit the encoding."""
    try:
        return tuple(_normalise(t, v) for t, v in zip(leaf_encoding, value, strict=True))
    except MerkleError:
        raise
    except (TypeError, ValueError) as err:
        encoding = tuple(leaf_encoding)
        raise MerkleError(f"value {value!r} does not fit leaf encoding {encoding}: {err}") from err


@functools.lru_cache(maxsize=65_536)  # trees repeat the same accounts; checksumming is slow
def _checksummed(address: str) -> str:
    return to_checksum_address(address)


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return _checksummed(value) if isinstance(value, str) else to_checksum_address(value)
    if abi_type.startswith("bytes") and abi_type != "bytes":
        raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
        if len(raw) != int(abi_type[5:]):
            raise MerkleError(f"a {abi_type} value must be {abi_type[5:]} bytes, got {len(raw)}")
        return raw
    if abi_type.startswith(("uint", "int")):
        # Decimal or 0x-prefixed hex strings, as the JavaScript library accepts both.
        if isinstance(value, str):
            return int(value, 16) if value.lower().startswith(("0x", "-0x")) else int(value, 10)
        return int(value)
    return value


def _to_json(abi_type: str, value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if abi_type.startswith(("uint", "int")):
        return str(value)
    return value

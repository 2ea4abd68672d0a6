"""The Python StandardMerkleTree (peercare/core/merkle.py) against the JavaScript reference library.

Trees of answer batches (1 to 1,000 leaves), of question batches and of reputation scores are built
on both sides by toolchain/merkle-oz.mjs (npm @openzeppelin/merkle-tree, the version pinned in
package.json): roots, proofs and dumps must be identical, each side's proofs and dumps must be
accepted by the other, and forgeries (a tampered leaf, a proof used for another leaf, a proof from
another batch, a tampered dump) must be refused by both. Every case goes to a single node process.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak, to_checksum_address

from peercare.core.ledger_ids import (
    ANSWER_LEAF_ENCODING,
    QUESTION_LEAF_ENCODING,
    REPUTATION_LEAF_ENCODING,
    question_id,
    short_string,
)
from peercare.core.merkle import MerkleError, StandardMerkleTree, verify

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "toolchain" / "merkle-oz.mjs"
LIBRARY = REPO / "node_modules" / "@openzeppelin" / "merkle-tree"

ANSWER_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 257, 1000]
REPUTATION_SIZES = [1, 2, 6, 33]
QUESTION_SIZES = [1, 2, 7, 100, 257]
CASES = (
    [("answers", n) for n in ANSWER_SIZES]
    + [("reputation", n) for n in REPUTATION_SIZES]
    + [("questions", n) for n in QUESTION_SIZES]
)
CASE_IDS = [f"{kind}-{n}" for kind, n in CASES]
ENCODINGS = {
    "answers": ANSWER_LEAF_ENCODING,
    "reputation": REPUTATION_LEAF_ENCODING,
    "questions": QUESTION_LEAF_ENCODING,
}


def _node(request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (LIBRARY / "package.json").is_file():
        pytest.fail(f"the interop tests need node and {LIBRARY.relative_to(REPO)} (run `make setup`)")
    done = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _address(label: str) -> str:
    return to_checksum_address(keccak(text=label)[-20:])


def _values(kind: str, n: int, batch: str) -> list[tuple[Any, ...]]:
    """`n` leaves: answers spread over 23 questions (two brands) and 41 advocates, questions of a
    batch (index, bounty up to the extremes of uint128), or scores."""
    if kind == "questions":
        bounties = [0, 1, 2**128 - 1, 10**18]
        return [
            (
                question_id(1, short_string("zendesk"), f"{batch} T-{i}"),
                i,
                short_string(f"topic {i % 5}"),
                bounties[i % 4],
                hashlib.sha256(f"{batch} question {i}".encode()).digest(),
            )
            for i in range(n)
        ]
    if kind == "answers":
        return [
            (
                question_id(1 + i % 2, short_string("zendesk"), f"T-{i % 23}"),
                _address(f"advocate {i % 41}"),
                hashlib.sha256(f"{batch} answer {i}".encode()).digest(),
            )
            for i in range(n)
        ]
    scores = [0, 1, 2**256 - 1, 10**18]  # the extremes of uint256 and a typical score
    return [
        (_address(f"{batch} advocate {i}"), short_string(f"topic {i % 5}"), (scores[i % 4] + i // 4) % 2**256)
        for i in range(n)
    ]


def _tampered(kind: str, value: tuple[Any, ...]) -> tuple[Any, ...]:
    """The same leaf with its last field (content digest, score) changed."""
    *head, last = value
    if kind in ("answers", "questions"):
        return (*head, bytes([last[0] ^ 1]) + last[1:])
    return (*head, (last + 1) % 2**256)


def _hex(proof: list[bytes]) -> list[str]:
    return ["0x" + node.hex() for node in proof]


def _bytes(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(node[2:]) for node in proof]


def _tamper_dump(dump: dict[str, Any]) -> list[dict[str, Any]]:
    """A dump with a node changed, and one with a value changed (its tree left as is)."""
    node_changed, value_changed = copy.deepcopy(dump), copy.deepcopy(dump)
    last = node_changed["tree"][-1]
    node_changed["tree"][-1] = last[:-1] + ("1" if last[-1] == "0" else "0")
    entry = value_changed["values"][0]["value"]
    entry[-1] = "0x" + "ab" * 32 if entry[-1].startswith("0x") else str(int(entry[-1]) ^ 1)
    return [node_changed, value_changed]


def _sample(n: int) -> list[int]:
    """Every index of a small tree; of a large one both ends, the middle and a spread between."""
    if n <= 17:
        return list(range(n))
    return sorted({0, 1, n // 2, n - 2, n - 1, *range(0, n, n // 12)})


def _forgeries(
    kind: str, values: list[Any], proofs: list[list[bytes]], other: StandardMerkleTree, sample: list[int]
) -> dict[str, list[tuple[Any, list[bytes]]]]:
    """(value, proof) pairs that must not verify against the root of `values`' tree."""
    n = len(values)
    return {
        "tampered leaf": [(_tampered(kind, values[i]), proofs[i]) for i in sample],
        "wrong index": [(values[(i + 1) % n], proofs[i]) for i in sample] if n > 1 else [],
        # A one-leaf batch's proof is empty, whatever the batch: it cannot be foreign.
        "proof of another batch": [(values[i], other.proof(i)) for i in sample] if n > 1 else [],
        "leaf of another batch": [(other.values[i], other.proof(i)) for i in sample],
    }


def _json(value: tuple[Any, ...]) -> list[str]:
    """A normalised value as the dump spells it (hex bytes, checksummed addresses, decimal ints)."""
    return ["0x" + part.hex() if isinstance(part, bytes) else str(part) for part in value]


@dataclass
class Exchange:
    """One tree built on both sides, and what the JavaScript library said about Python's output."""

    kind: str
    n: int
    py: StandardMerkleTree
    other: StandardMerkleTree  # another batch of the same size: the source of foreign leaves and proofs
    requests: dict[str, list[dict[str, Any]]]
    js: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def encoding(self) -> tuple[str, ...]:
        return ENCODINGS[self.kind]

    @property
    def values(self) -> list[tuple[Any, ...]]:
        return list(self.py.values)

    @property
    def js_build(self) -> dict[str, Any]:
        return self.js["build"][0]

    def js_oks(self, name: str) -> list[bool]:
        return [result["ok"] for result in self.js.get(name, [])]


def _prepare(kind: str, n: int) -> Exchange:
    encoding = ENCODINGS[kind]
    py = StandardMerkleTree.of(_values(kind, n, "batch A"), encoding)
    other = StandardMerkleTree.of(_values(kind, n, "batch B"), encoding)
    root, dump, sample = "0x" + py.root.hex(), py.dump(), _sample(n)
    proofs = [py.proof(i) for i in range(n)]

    def check(value: tuple[Any, ...], proof: list[bytes]) -> dict[str, Any]:
        return {
            "op": "verifyProof",
            "root": root,
            "leafEncoding": list(encoding),
            "value": _json(value),
            "proof": _hex(proof),
        }

    requests = {
        "build": [{"op": "build", "leafEncoding": list(encoding), "values": [_json(v) for v in py.values]}],
        "load": [{"op": "load", "dump": dump}],
        "verify proofs": [check(value, proof) for value, proof in zip(py.values, proofs, strict=True)],
        "verify through dump": [
            {"op": "verify", "dump": dump, "index": i, "proof": _hex(proofs[i])} for i in sorted({0, n - 1})
        ],
        **{
            name: [check(value, proof) for value, proof in pairs]
            for name, pairs in _forgeries(kind, list(py.values), proofs, other, sample).items()
        },
        "tampered dumps": [{"op": "load", "dump": tampered} for tampered in _tamper_dump(dump)],
    }
    return Exchange(kind, n, py, other, requests)


@functools.cache
def _exchanges() -> dict[tuple[str, int], Exchange]:
    """Every case prepared in Python, then sent to a single node process."""
    exchanges = {case: _prepare(*case) for case in CASES}
    flat = [
        (ex, name, request) for ex in exchanges.values() for name, group in ex.requests.items() for request in group
    ]
    results = _node({"op": "batch", "requests": [request for _, _, request in flat]})["results"]
    for (ex, name, _), result in zip(flat, results, strict=True):
        ex.js.setdefault(name, []).append(result)
    return exchanges


def exchange(kind: str, n: int) -> Exchange:
    return _exchanges()[(kind, n)]


def test_reference_library_is_the_pinned_version() -> None:
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["@openzeppelin/merkle-tree"]
    installed = json.loads((LIBRARY / "package.json").read_text())["version"]
    assert installed == pinned == "1.0.8"


@pytest.mark.parametrize(("kind", "n"), CASES, ids=CASE_IDS)
def test_root_proofs_and_dump_equal_the_libraries(kind: str, n: int) -> None:
    ex = exchange(kind, n)
    assert ex.js_build["root"] == "0x" + ex.py.root.hex()
    assert ex.js_build["proofs"] == [_hex(ex.py.proof(i)) for i in range(n)]
    assert ex.js_build["dump"] == ex.py.dump()


@pytest.mark.parametrize(("kind", "n"), CASES, ids=CASE_IDS)
def test_each_sides_proofs_verify_on_the_other(kind: str, n: int) -> None:
    ex = exchange(kind, n)
    assert ex.js_oks("verify proofs") == [True] * n
    assert ex.js_oks("verify through dump") == [True] * len(ex.js["verify through dump"])
    root = bytes.fromhex(ex.js_build["root"][2:])
    for value, proof in zip(ex.values, ex.js_build["proofs"], strict=True):
        assert verify(root, ex.encoding, value, _bytes(proof))


@pytest.mark.parametrize(("kind", "n"), CASES, ids=CASE_IDS)
def test_each_sides_dump_loads_on_the_other(kind: str, n: int) -> None:
    ex = exchange(kind, n)
    assert ex.js["load"] == [{"ok": True, "root": "0x" + ex.py.root.hex(), "length": n}]
    loaded = StandardMerkleTree.load(ex.js_build["dump"])
    assert loaded == ex.py
    assert [loaded.index_of(value) for value in ex.values] == list(range(n))


@pytest.mark.parametrize(("kind", "n"), CASES, ids=CASE_IDS)
def test_forgeries_fail_on_both_sides(kind: str, n: int) -> None:
    ex = exchange(kind, n)
    root = bytes.fromhex(ex.js_build["root"][2:])
    js_proofs = [_bytes(proof) for proof in ex.js_build["proofs"]]
    forgeries = _forgeries(kind, ex.values, js_proofs, ex.other, _sample(n))
    assert sum(map(len, forgeries.values())) >= 2 * min(n, 13)
    for name, pairs in forgeries.items():
        assert not any(verify(root, ex.encoding, value, proof) for value, proof in pairs), f"Python took {name}"
        assert ex.js_oks(name) == [False] * len(pairs), f"the JavaScript library took {name}"


@pytest.mark.parametrize(("kind", "n"), CASES, ids=CASE_IDS)
def test_tampered_dumps_are_refused_on_both_sides(kind: str, n: int) -> None:
    ex = exchange(kind, n)
    assert [result["ok"] for result in ex.js["tampered dumps"]] == [False, False]
    assert all(result["error"] for result in ex.js["tampered dumps"])
    for tampered in _tamper_dump(ex.js_build["dump"]):
        with pytest.raises(MerkleError):
            StandardMerkleTree.load(tampered)


def test_library_dump_with_other_spellings_loads_in_python() -> None:
    """The library keeps values as given: lower-case addresses and hex-string integers load in
    Python as the same tree (and Python's own dump of it then spells them canonically)."""
    answers = _values("answers", 9, "spelling")
    scores = _values("reputation", 9, "spelling")
    built = _node(
        {
            "op": "batch",
            "requests": [
                {
                    "op": "build",
                    "leafEncoding": list(ANSWER_LEAF_ENCODING),
                    "values": [["0x" + q.hex(), a.lower(), "0x" + d.hex()] for q, a, d in answers],
                },
                {
                    "op": "build",
                    "leafEncoding": list(REPUTATION_LEAF_ENCODING),
                    "values": [[a.lower(), "0x" + t.hex(), hex(s)] for a, t, s in scores],
                },
            ],
        }
    )["results"]
    for result, values, encoding in zip(
        built, (answers, scores), (ANSWER_LEAF_ENCODING, REPUTATION_LEAF_ENCODING), strict=True
    ):
        loaded = StandardMerkleTree.load(result["dump"])
        assert loaded == StandardMerkleTree.of(values, encoding)
        assert "0x" + loaded.root.hex() == result["root"]

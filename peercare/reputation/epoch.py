"""An epoch's reputation tree: (advocate, topic, score) leaves, root, proofs and manifest.

The tree is OpenZeppelin's StandardMerkleTree with `REPUTATION_LEAF_ENCODING`, so
`IReputationRoots.verifyScore` and any standard library check its proofs. The manifest is the
tree's `standard-v1` dump plus what is needed to recompute it: the epoch number, the history cut,
the parameters, the brands whose history it counts with their topics and experts (`scope.Scope`:
nothing on chain says who a brand's experts are), the seeds of trust, and a digest of the history
used. `verify_manifest` rebuilds the tree from the dump (every node checked) and,
given the history, recomputes every score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from peercare.content.document import canonical_json
from peercare.core.ledger_ids import REPUTATION_LEAF_ENCODING
from peercare.core.merkle import MerkleError, StandardMerkleTree
from peercare.reputation.history import Expert, History, account_key
from peercare.reputation.scope import Scope
from peercare.reputation.scores import ScoreParams, Scores, scores_of
from peercare.reputation.trust_model import TrustParams

MANIFEST_FORMAT = "peercare-reputation-v2"
#: Formats whose tree `verify_manifest` checks; v1 manifests (before `brands`) cannot be recomputed.
READABLE_FORMATS = ("peercare-reputation-v1", MANIFEST_FORMAT)


class EpochError(ValueError):
    """An epoch that cannot be built, or a manifest that does not match."""


@dataclass(frozen=True)
class Epoch:
    """The scores of one epoch and their tree."""

    epoch: int
    cut: int
    params: ScoreParams
    scores: Scores
    tree: StandardMerkleTree
    history_digest: bytes
    experts: tuple[Expert, ...] = ()  # the seeds of trust: the history's experts
    scope: Scope | None = None  # the brands counted (the history given is already `trusted` to it)

    @property
    def root(self) -> bytes:
        return self.tree.root

    def score(self, advocate: str, topic: bytes) -> int:
        return self.scores.get((account_key(advocate), topic), 0)

    def proof(self, advocate: str, topic: bytes) -> tuple[int, list[bytes]]:
        """(score, proof) for `verifyScore(epoch, advocate, topic, score, proof)`."""
        score = self.score(advocate, topic)
        try:
            index = self.tree.index_of((advocate, topic, score))
        except MerkleError as err:
            raise EpochError(f"{advocate} has no score in topic 0x{topic.hex()} at epoch {self.epoch}") from err
        return score, self.tree.proof(index)

    def manifest(self) -> dict[str, Any]:
        named = {} if self.scope is None else {"brands": self.scope.as_json()}
        return named | {
            "format": MANIFEST_FORMAT,
            "epoch": self.epoch,
            "cut": self.cut,
            "params": self.params.as_json(),
            "historyDigest": "0x" + self.history_digest.hex(),
            "experts": experts_json(self.experts),
            "root": "0x" + self.root.hex(),
            "tree": self.tree.dump(),
        }

    def manifest_bytes(self) -> bytes:
        """The manifest as canonical JSON (sorted keys, no spaces): what goes to the content store."""
        return canonical_json(self.manifest())


def history_digest(history: History) -> bytes:
    """keccak256 over the history's events, each packed in fixed width and the lists sorted: two
    indexers that saw the same events get the same digest whatever order they stored them in.
    Packing (big-endian): acceptance = questionId 32 | topic 32 | advocate 20 | time 8 | bounty 32;
    rating = answerId 32 | topic 32 | advocate 20 | rating 1 | raterKind 1 | raterId 32 | time 8;
    payout = questionId 32 | account 20 | token 20 | amount 32 | time 8; expert = account 20 | topic 32."""

    def addr(value: str) -> bytes:
        return bytes.fromhex(account_key(value)[2:])

    sections = [
        sorted(
            a.question_id + a.topic + addr(a.advocate) + a.time.to_bytes(8, "big") + a.bounty.to_bytes(32, "big")
            for a in history.acceptances
        ),
        sorted(
            r.answer_id
            + r.topic
            + addr(r.advocate)
            + bytes((r.rating, int(r.rater_kind)))
            + r.rater_id
            + r.time.to_bytes(8, "big")
            for r in history.ratings
        ),
        sorted(
            p.question_id + addr(p.account) + addr(p.token) + p.amount.to_bytes(32, "big") + p.time.to_bytes(8, "big")
            for p in history.payouts
        ),
        sorted(addr(e.account) + e.topic for e in history.experts),
    ]
    head = b"peercare.history.v1" + history.cut.to_bytes(8, "big")
    return keccak(head + b"".join(keccak(b"".join(section)) for section in sections))


def tree_of(scores: Scores) -> StandardMerkleTree:
    if not scores:
        raise EpochError("no positive score: there is nothing to publish")
    values = [(to_checksum_address(advocate), topic, score) for (advocate, topic), score in sorted(scores.items())]
    return StandardMerkleTree.of(values, REPUTATION_LEAF_ENCODING)


def build_epoch(history: History, epoch: int, params: ScoreParams | None = None, scope: Scope | None = None) -> Epoch:
    """The epoch of `history` (already `scope.trusted` to `scope` when one is given: the scope is
    only recorded, in the manifest's `brands`)."""
    params = params or ScoreParams()
    scores = scores_of(history, params)
    digest = history_digest(history)
    return Epoch(epoch, history.cut, params, scores, tree_of(scores), digest, history.experts, scope)


def params_from_json(data: dict[str, Any]) -> ScoreParams:
    trust = TrustParams(**data["trust"])
    return ScoreParams(**{k: v for k, v in data.items() if k != "trust"}, trust=trust)


def experts_json(experts: tuple[Expert, ...]) -> list[list[str]]:
    """`[[account, topic hex], ...]` in canonical order. Duplicates are kept: the history digest
    counts them, so dropping one would make the manifest disagree with its own digest."""
    return sorted([account_key(e.account), "0x" + e.topic.hex()] for e in experts)


def experts_from_json(data: Any) -> tuple[Expert, ...]:
    """The experts a manifest lists (EpochError if the list is missing or malformed). Manifests
    written before experts were listed cannot be recomputed by anyone but their author."""
    if not isinstance(data, list):
        raise EpochError("the manifest does not list its experts: it cannot be recomputed")
    experts = []
    for item in data:
        try:
            account, topic = item
            experts.append(Expert(account_key(account), _bytes32(topic)))
        except (AttributeError, TypeError, ValueError) as err:  # not a pair of strings, or bad hex
            raise EpochError(f"malformed expert {item!r} in the manifest: {err}") from err
    return tuple(experts)


def _bytes32(text: str) -> bytes:
    if not text.startswith("0x") or len(text) != 66:
        raise ValueError(f"not 0x-prefixed bytes32 hex: {text!r}")
    return bytes.fromhex(text[2:])


def verify_manifest(manifest: dict[str, Any], history: History | None = None) -> bytes:
    """The manifest's root after checking it: the dump's nodes match its values, the declared root
    is the tree's, and (given the history) the history digest and every score recompute. Raises
    EpochError otherwise."""
    if manifest.get("format") not in READABLE_FORMATS:
        raise EpochError(f"unknown manifest format {manifest.get('format')!r}")
    try:
        tree = StandardMerkleTree.load(manifest["tree"])
    except MerkleError as err:
        raise EpochError(f"the manifest's tree is invalid: {err}") from err
    if tree.leaf_encoding != REPUTATION_LEAF_ENCODING:
        raise EpochError(f"leaf encoding {tree.leaf_encoding} is not {REPUTATION_LEAF_ENCODING}")
    if manifest.get("root") != "0x" + tree.root.hex():
        raise EpochError("the declared root is not the tree's root")
    if history is not None:
        if history.cut != manifest["cut"]:
            raise EpochError(f"history cut {history.cut} is not the manifest's {manifest['cut']}")
        if "experts" in manifest and experts_json(history.experts) != manifest["experts"]:
            raise EpochError("the history's experts differ from the manifest's")
        if "0x" + history_digest(history).hex() != manifest["historyDigest"]:
            raise EpochError("the history's digest differs from the manifest's")
        rebuilt = build_epoch(history, manifest["epoch"], params_from_json(manifest["params"]))
        if rebuilt.root != tree.root:
            raise EpochError("recomputing the scores from the history gives another root")
    return tree.root

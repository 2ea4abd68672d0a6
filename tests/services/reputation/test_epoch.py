"""The epoch's reputation tree, proofs and manifest (peercare/reputation/epoch.py)."""

from __future__ import annotations

import copy
import json
import random

import pytest

from peercare.core.ledger_ids import REPUTATION_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree, verify
from peercare.reputation.epoch import EpochError, build_epoch, history_digest, verify_manifest
from peercare.reputation.history import Expert, History
from tests.support.reputation_helpers import CUT, OTHER, TOPIC, accepted, addr, customer, peer

E, A, B = addr(0), addr(1), addr(2)


def _history(**overrides: object) -> History:
    fields: dict[str, object] = {
        "acceptances": [accepted(A, 1), accepted(B, 2, topic=OTHER), accepted(A, 3, time=CUT - 86_400)],
        "ratings": [peer(E, A, n=1), peer(E, B, stars=4, n=2), customer(7, B, n=3), peer(A, B, n=4, topic=OTHER)],
        "experts": [Expert(E, TOPIC), Expert(E, OTHER)],
    }
    fields.update(overrides)
    return History.of(CUT, **fields)  # type: ignore[arg-type]


HISTORY = _history()
EPOCH = build_epoch(HISTORY, 7)


def test_every_score_has_a_proof_against_the_root() -> None:
    assert len(EPOCH.scores) >= 4
    for (advocate, topic), score in EPOCH.scores.items():
        proven, proof = EPOCH.proof(advocate, topic)
        assert proven == score
        assert verify(EPOCH.root, REPUTATION_LEAF_ENCODING, (advocate, topic, score), proof)
        assert not verify(EPOCH.root, REPUTATION_LEAF_ENCODING, (advocate, topic, score + 1), proof)


def test_no_proof_for_an_account_without_a_score() -> None:
    with pytest.raises(EpochError, match="no score"):
        EPOCH.proof(addr(50), TOPIC)


def test_the_manifest_recomputes_to_the_root() -> None:
    manifest = json.loads(EPOCH.manifest_bytes())
    assert manifest["epoch"] == 7 and manifest["cut"] == CUT
    assert manifest["params"]["trust"]["half_life"] == 180 * 86_400
    assert verify_manifest(manifest) == EPOCH.root
    assert verify_manifest(manifest, HISTORY) == EPOCH.root
    # The tree is a standard-v1 dump that OpenZeppelin's library loads as is.
    assert StandardMerkleTree.load(manifest["tree"]).root == EPOCH.root


def test_the_manifest_bytes_are_canonical() -> None:
    assert build_epoch(HISTORY, 7).manifest_bytes() == EPOCH.manifest_bytes()


def _tampered(change: str) -> dict:
    manifest = copy.deepcopy(EPOCH.manifest())
    if change == "score":
        manifest["tree"]["values"][0]["value"][2] = str(int(manifest["tree"]["values"][0]["value"][2]) + 1)
    elif change == "root":
        manifest["root"] = "0x" + "00" * 32
    elif change == "params":
        manifest["params"]["trust"]["teleport_bps"] = 1_000
    elif change == "format":
        manifest["format"] = "something-else"
    elif change == "digest":
        manifest["historyDigest"] = "0x" + "11" * 32
    return manifest


@pytest.mark.parametrize(
    ("change", "with_history", "message"),
    [
        ("score", False, "tree is invalid"),
        ("root", False, "declared root"),
        ("format", False, "unknown manifest format"),
        ("params", True, "another root"),
        ("digest", True, "digest differs"),
    ],
)
def test_a_tampered_manifest_is_refused(change: str, with_history: bool, message: str) -> None:
    with pytest.raises(EpochError, match=message):
        verify_manifest(_tampered(change), HISTORY if with_history else None)


def test_another_history_does_not_verify() -> None:
    other = _history(acceptances=[accepted(A, 1)])
    with pytest.raises(EpochError, match="digest differs"):
        verify_manifest(EPOCH.manifest(), other)


def test_root_and_digest_do_not_depend_on_event_order() -> None:
    rng = random.Random(3)
    for _ in range(5):
        shuffled = History.of(
            CUT,
            rng.sample(HISTORY.acceptances, len(HISTORY.acceptances)),
            rng.sample(HISTORY.ratings, len(HISTORY.ratings)),
            (),
            rng.sample(HISTORY.experts, len(HISTORY.experts)),
        )
        assert history_digest(shuffled) == history_digest(HISTORY)
        assert build_epoch(shuffled, 7).root == EPOCH.root


def test_the_history_digest_changes_with_any_event() -> None:
    changed = _history(ratings=[peer(E, A, n=1, stars=4), *HISTORY.ratings[1:]])
    assert history_digest(changed) != history_digest(HISTORY)


def test_an_epoch_without_scores_is_refused() -> None:
    with pytest.raises(EpochError, match="nothing to publish"):
        build_epoch(History(cut=CUT), 1)

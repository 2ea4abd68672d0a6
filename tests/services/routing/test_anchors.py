"""Routing batches (`peercare.routing.anchors`): every round is a leaf, and every person it offered
the question to is one, so an advocate proves an offer with one Merkle path; a manifest that does
not build its anchored root, or a leaf for someone not offered, proves nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from eth_utils.address import to_checksum_address

from peercare.content.cid import MAX_BLOCK_SIZE, digest_from_cid
from peercare.content.document import canonical_json
from peercare.content.embedded import EmbeddedStore
from peercare.core.hex import hexed
from peercare.routing.anchors import (
    DEFAULT_BATCH_ROUNDS,
    ZERO_ADDRESS,
    AnchoredRound,
    ManifestError,
    RoutingManifest,
    offer_proof,
)
from peercare.routing.offers import CandidateIndex, OfferParams, OfferRequest, decision_record, route

TOPIC = keccak(b"topic")
M = 1_000_000


def addr(i: int) -> str:
    return "0x" + (0xC000 + i).to_bytes(20, "big").hex()


def record(n: int, *, escalated: bool = False) -> dict[str, Any]:
    reputation = {addr(i): 100 * M // 2**i for i in range(6)}
    request = OfferRequest(keccak(b"q%d" % n), TOPIC, escalated=escalated)
    decision = route(request, CandidateIndex(reputation), params=OfferParams(explore_bps=0), experts=[addr(50)])
    return decision_record(decision) | {"experts": [addr(50)]}


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "content")


@pytest.fixture
def decided(store: EmbeddedStore) -> Callable[..., AnchoredRound]:
    def make(n: int, *, escalated: bool = False) -> AnchoredRound:
        return AnchoredRound.stored(store, keccak(b"q%d" % n), 0, 3, record(n, escalated=escalated))

    return make


def anchored(store: EmbeddedStore, manifest: RoutingManifest) -> tuple[int, str, str]:
    cid = store.put(manifest.to_bytes())
    return manifest.brand_id, hexed(manifest.tree().root), hexed(digest_from_cid(cid))


def test_a_round_has_a_leaf_of_its_own_and_one_per_person_offered(decided: Callable[..., AnchoredRound]) -> None:
    direct, swarm = decided(1), decided(2, escalated=True)
    assert [leaf[2] for leaf in direct.leaves()] == [ZERO_ADDRESS, *[to_checksum_address(addr(i)) for i in range(3)]]
    members = swarm.offered
    assert len(members) == 4 and to_checksum_address(addr(50)) in members  # three advocates and the expert
    assert {leaf[3] for leaf in [*direct.leaves(), *swarm.leaves()]} == {direct.commitment, swarm.commitment}


def test_a_manifest_reads_back_to_the_same_tree(decided: Callable[..., AnchoredRound]) -> None:
    manifest = RoutingManifest(7, (decided(1), decided(2, escalated=True)))
    again = RoutingManifest.from_bytes(manifest.to_bytes())
    assert again == manifest and again.tree().root == manifest.tree().root


def test_an_offered_advocate_gets_a_proof_that_verifies_and_no_one_else_does(
    store: EmbeddedStore, decided: Callable[..., AnchoredRound]
) -> None:
    first, second = decided(1), decided(2)
    batch = anchored(store, RoutingManifest(7, (first, second)))
    qid = "0x" + second.question_id.hex()

    proof = offer_proof(store, [batch], qid, 0, addr(1))

    assert proof is not None and proof.verifies()
    assert (proof.brand_id, proof.root, proof.advocate) == (7, batch[1], to_checksum_address(addr(1)))
    assert proof.decision["commitment"] == hexed(second.commitment)
    round_itself = offer_proof(store, [batch], qid, 0, ZERO_ADDRESS)
    assert round_itself is not None and round_itself.verifies()
    assert offer_proof(store, [batch], qid, 0, addr(5)) is None  # not offered
    assert offer_proof(store, [batch], qid, 1, addr(1)) is None  # no such round
    forged = proof.__class__(**{**proof.__dict__, "round": 1})
    assert not forged.verifies()


def test_a_manifest_that_does_not_build_its_anchored_root_proves_nothing(
    store: EmbeddedStore, decided: Callable[..., AnchoredRound]
) -> None:
    honest = RoutingManifest(7, (decided(1),))
    brand, root, _ = anchored(store, honest)
    tampered = RoutingManifest(7, (replace(honest.rounds[0], offered=(to_checksum_address(addr(5)),)),))
    _, _, digest = anchored(store, tampered)
    qid = "0x" + honest.rounds[0].question_id.hex()
    assert offer_proof(store, [(brand, root, digest)], qid, 0, addr(5)) is None


def test_a_stored_record_that_is_not_the_anchored_decision_proves_nothing(
    store: EmbeddedStore, decided: Callable[..., AnchoredRound]
) -> None:
    honest = decided(1)
    doctored = record(1) | {"offers": [addr(5), addr(1), addr(2)]}  # the commitment kept, the choice changed
    swapped = replace(honest, record_cid=store.put(canonical_json(doctored)))
    assert not swapped.matches(swapped.record(store)) and honest.matches(honest.record(store))
    batch = anchored(store, RoutingManifest(7, (swapped,)))
    assert offer_proof(store, [batch], "0x" + honest.question_id.hex(), 0, addr(1)) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "malformed routing manifest"),
        (b'{"schema": "peercare.answer-batch/1"}', "not a peercare.routing-batch/1 manifest"),
        (b'{"schema": "peercare.routing-batch/1", "brand_id": 1, "rounds": []}', "at least one round"),
    ],
)
def test_a_malformed_manifest_is_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        RoutingManifest.from_bytes(data)


def test_a_full_batchs_manifest_fits_in_one_content_block(decided: Callable[..., AnchoredRound]) -> None:
    """The records stay out of the manifest: 256 of them were 2 MB, over a block (the demo found it)."""
    swarm = decided(1, escalated=True)
    rounds = tuple(replace(swarm, question_id=keccak(b"%d" % i)) for i in range(DEFAULT_BATCH_ROUNDS))
    assert len(RoutingManifest(2**63, rounds).to_bytes()) < MAX_BLOCK_SIZE

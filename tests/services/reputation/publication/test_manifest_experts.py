"""The epoch manifest lists the experts that seeded trust (peercare/reputation/epoch.py), so that
anyone can recompute the epoch without the oracle's configuration. Pure: no chain, no database."""

from __future__ import annotations

import copy

import pytest

from peercare.core.enums import RaterKind
from peercare.reputation.epoch import EpochError, build_epoch, experts_from_json, verify_manifest
from peercare.reputation.history import Acceptance, Expert, History, Rating, rater_id_of

TOPIC = b"wallets".ljust(32, b"\0")
EXPERT, ALICE = "0x" + "e1" * 20, "0x" + "a1" * 20
CUT = 100 * 86_400
HISTORY = History.of(
    CUT,
    [Acceptance(b"\1" * 32, TOPIC, ALICE, CUT - 10, 1)],
    [Rating(b"\2" * 32, b"\1" * 32, TOPIC, ALICE, 5, RaterKind.BRAND_EXPERT, rater_id_of(EXPERT), CUT - 5)],
    experts=[Expert(EXPERT.upper().replace("0X", "0x"), TOPIC), Expert(EXPERT, TOPIC)],  # a duplicate
)
EPOCH = build_epoch(HISTORY, 1)


def test_the_manifest_lists_every_expert_and_they_read_back() -> None:
    manifest = EPOCH.manifest()
    assert manifest["experts"] == [[EXPERT, "0x" + TOPIC.hex()]] * 2  # duplicates kept: the digest counts them
    assert experts_from_json(manifest["experts"]) == (Expert(EXPERT, TOPIC), Expert(EXPERT, TOPIC))
    rebuilt = History.of(CUT, HISTORY.acceptances, HISTORY.ratings, experts=experts_from_json(manifest["experts"]))
    assert build_epoch(rebuilt, 1).manifest_bytes() == EPOCH.manifest_bytes()


def test_a_history_with_other_experts_does_not_verify() -> None:
    other = History.of(CUT, HISTORY.acceptances, HISTORY.ratings, experts=[Expert(ALICE, TOPIC)])
    with pytest.raises(EpochError, match="experts differ"):
        verify_manifest(EPOCH.manifest(), other)


def test_a_manifest_written_before_experts_were_listed_still_verifies() -> None:
    manifest = copy.deepcopy(EPOCH.manifest())
    del manifest["experts"]
    assert verify_manifest(manifest, HISTORY) == EPOCH.root
    with pytest.raises(EpochError, match="does not list its experts"):
        experts_from_json(manifest.get("experts"))


@pytest.mark.parametrize("item", [["0x12", "0x" + "00" * 32], [EXPERT, "wallets"], [EXPERT], [1, 2], "x"])
def test_malformed_experts_are_refused(item: object) -> None:
    with pytest.raises(EpochError, match="malformed expert"):
        experts_from_json([item])

"""Identifiers: Kubo's own vectors, the bytes32 round trip, and the one-block limit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from peercare.content.cid import (
    MAX_BLOCK_SIZE,
    cid_from_digest,
    compute_cid,
    digest_from_cid,
    is_cid,
    matches,
)
from peercare.content.errors import ContentTooLarge, InvalidCid

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ipfs-cid" / "vectors.json"
V1_RAW = [case for case in json.loads(VECTORS.read_text())["cases"] if case["kind"] == "v1 raw"]


def test_vectors_include_v1_raw_cases() -> None:
    assert len(V1_RAW) >= 2


@pytest.mark.parametrize("case", V1_RAW, ids=[repr(c["bytes_utf8"]) for c in V1_RAW])
def test_cid_matches_kubo_vector(case: dict[str, str]) -> None:
    data = case["bytes_utf8"].encode("utf-8")
    assert compute_cid(data) == case["cid"]
    assert matches(case["cid"], data)


@pytest.mark.parametrize("case", V1_RAW, ids=[repr(c["bytes_utf8"]) for c in V1_RAW])
def test_digest_round_trips_through_bytes32(case: dict[str, str]) -> None:
    digest = digest_from_cid(case["cid"])
    assert len(digest) == 32
    assert cid_from_digest(digest) == case["cid"]


def test_random_digests_round_trip() -> None:
    for _ in range(200):
        digest = os.urandom(32)
        assert digest_from_cid(cid_from_digest(digest)) == digest


def test_document_of_exactly_one_block_is_accepted() -> None:
    assert is_cid(compute_cid(b"x" * MAX_BLOCK_SIZE))


def test_document_over_one_block_is_refused_with_its_size() -> None:
    with pytest.raises(ContentTooLarge, match="262145 bytes; the limit is 262144"):
        compute_cid(b"x" * (MAX_BLOCK_SIZE + 1))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD",  # CIDv0
        "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa",  # dag-pb
        "BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E",  # upper-case base32
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5f",  # non-canonical last char
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5",  # truncated
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n1e",  # '1' is not base32
        "../../etc/passwd",
    ],
)
def test_other_identifiers_are_refused(bad: str) -> None:
    assert not is_cid(bad)
    with pytest.raises(InvalidCid):
        digest_from_cid(bad)


def test_digest_must_be_32_bytes() -> None:
    with pytest.raises(InvalidCid):
        cid_from_digest(b"\0" * 31)

"""The Store contract, run against both stores: the embedded one and a real js-ipfs node."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from peercare.content.cid import MAX_BLOCK_SIZE, compute_cid
from peercare.content.embedded import EmbeddedStore
from peercare.content.errors import ContentCorrupted, ContentMissing, ContentTooLarge, InvalidCid, StoreUnavailable
from peercare.content.ipfs import IpfsStore
from peercare.content.store import EveryStore, Store

if TYPE_CHECKING:
    from tests.services.content.conftest import Harness

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ipfs-cid" / "vectors.json"
HELLO = next(c for c in json.loads(VECTORS.read_text())["cases"] if c["kind"] == "v1 raw" and c["bytes_utf8"])


def test_both_stores_implement_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.store, Store)


def test_put_returns_kubos_identifier(harness: Harness) -> None:
    assert harness.store.put(HELLO["bytes_utf8"].encode()) == HELLO["cid"]


def test_get_returns_what_was_put(harness: Harness) -> None:
    data = os.urandom(3000)
    cid = harness.store.put(data)
    assert cid == compute_cid(data)
    assert harness.store.get(cid) == data


def test_largest_document_round_trips(harness: Harness) -> None:
    data = os.urandom(MAX_BLOCK_SIZE)
    assert harness.store.get(harness.store.put(data)) == data


def test_put_pins(harness: Harness) -> None:
    cid = harness.store.put(os.urandom(100))
    assert harness.store.is_pinned(cid)


def test_unpin_then_pin_again(harness: Harness) -> None:
    data = os.urandom(100)
    cid = harness.store.put(data)
    harness.store.unpin(cid)
    assert not harness.store.is_pinned(cid)
    harness.store.unpin(cid)  # idempotent
    harness.store.put(data)
    harness.store.pin(cid)
    assert harness.store.is_pinned(cid)


def test_pinning_missing_content_is_reported_missing(harness: Harness) -> None:
    with pytest.raises(ContentMissing):
        harness.store.pin(compute_cid(os.urandom(64)))


def test_put_is_idempotent(harness: Harness) -> None:
    data = os.urandom(2048)
    first = harness.store.put(data)
    assert harness.store.put(data) == first
    assert harness.store.get(first) == data
    assert harness.store.is_pinned(first)


def test_missing_content_is_reported_missing(harness: Harness) -> None:
    cid = compute_cid(os.urandom(64))
    with pytest.raises(ContentMissing, match=cid):
        harness.store.get(cid)


def test_corrupted_content_is_reported_and_never_returned(harness: Harness) -> None:
    data = os.urandom(4096)
    cid = harness.store.put(data)
    harness.corrupt(cid)
    with pytest.raises(ContentCorrupted, match=cid):
        harness.store.get(cid)


def test_oversize_document_is_refused_before_storing(harness: Harness) -> None:
    data = os.urandom(MAX_BLOCK_SIZE + 1)
    with pytest.raises(ContentTooLarge, match="262145 bytes"):
        harness.store.put(data)


def test_malformed_identifier_is_refused(harness: Harness) -> None:
    with pytest.raises(InvalidCid):
        harness.store.get("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")


def test_unreachable_store_fails_fast_with_a_clear_error(harness: Harness) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"unavailable|cannot use data folder"):
        harness.unreachable().put(b"conversation")
    assert time.monotonic() - started < 3.0


def test_reading_several_stores_never_calls_missing_what_an_unreachable_one_may_hold(
    tmp_path: Path, silent_port: int
) -> None:
    embedded = EmbeddedStore(tmp_path / "content")
    down = IpfsStore(f"http://127.0.0.1:{silent_port}", timeout=0.2, fetch_timeout=0.2, attempts=1)
    cid = compute_cid(os.urandom(64))
    with pytest.raises(StoreUnavailable, match=cid):
        EveryStore([embedded, down]).get(cid)
    with pytest.raises(ContentMissing, match=cid):
        EveryStore([embedded, EmbeddedStore(tmp_path / "other")]).get(cid)
    stored = embedded.put(b"a block the first store holds")
    assert EveryStore([down, embedded]).get(stored) == b"a block the first store holds"

"""The IPFS node store against a real js-ipfs node, and the faults a real node will not produce."""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest

from peercare.content.cid import MAX_BLOCK_SIZE, compute_cid, is_cid
from peercare.content.errors import CidMismatch, NodeError, StoreUnavailable
from peercare.content.ipfs import IpfsStore


def test_node_assigns_the_local_identifier_to_200_random_documents(node_store: IpfsStore) -> None:
    rng = random.Random(20250301)
    sizes = [0, 1, MAX_BLOCK_SIZE - 1, MAX_BLOCK_SIZE] + [rng.randint(1, MAX_BLOCK_SIZE) for _ in range(196)]
    for size in sizes:
        data = rng.randbytes(size)
        assert node_store.add(data) == compute_cid(data), f"size {size}"


def test_node_would_chunk_a_larger_document_under_another_identifier(node_store: IpfsStore) -> None:
    """Why the store refuses documents over one block: the node's identifier is not a raw CID."""
    data = random.Random(7).randbytes(MAX_BLOCK_SIZE + 1)
    assigned = node_store.add(data)
    assert assigned.startswith("bafybei")  # dag-pb root over two chunks
    assert not is_cid(assigned)


def _fake_node(handler: httpx.MockTransport) -> IpfsStore:
    return IpfsStore("http://node.invalid:5001", transport=handler, sleep=lambda _: None)


def test_a_node_assigning_another_identifier_is_refused_and_its_copy_unpinned() -> None:
    """A fault a correct node never produces, so the node is faked at the HTTP boundary."""
    other = compute_cid(b"something else")
    calls: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, request.url.params.get("arg")))
        if request.url.path == "/api/v0/add":
            return httpx.Response(200, text=json.dumps({"Name": "document", "Hash": other, "Size": "12"}))
        return httpx.Response(200, json={"Pins": [other]})

    with pytest.raises(CidMismatch, match=f"assigned {other} but the content's identifier is"):
        _fake_node(httpx.MockTransport(handler)).put(b"conversation")
    assert ("/api/v0/pin/rm", other) in calls


def test_transient_node_errors_are_retried_with_backoff() -> None:
    answers = iter([503, 502, 200])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status != 200:
            return httpx.Response(status, text="busy")
        return httpx.Response(200, text=json.dumps({"Hash": compute_cid(b"doc")}))

    store = IpfsStore(
        "http://node.invalid:5001",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        backoff_base=0.1,
    )
    assert store.put(b"doc") == compute_cid(b"doc")
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2  # full jitter under a doubling ceiling


def test_node_errors_are_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"Message": "datastore full", "Code": 0, "Type": "error"})

    with pytest.raises(NodeError, match="datastore full"):
        _fake_node(httpx.MockTransport(handler)).put(b"doc")
    assert calls == 1


def test_a_node_that_never_answers_times_out_with_a_clear_error(silent_port: int) -> None:
    store = IpfsStore(f"http://127.0.0.1:{silent_port}", timeout=0.3, attempts=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Timeout"):
        store.put(b"conversation")
    assert time.monotonic() - started < 3.0

"""Benchmark: documents per second put and got, embedded store vs a real IPFS node, 3 KB conversations.

    .venv/bin/python scripts/bench_content.py [--count 500] [--rounds 3] [--size 3000]

The node is js-ipfs 0.66 from toolchain/ipfs (`make setup` installs it), started offline on
127.0.0.1 (ports 5815-5819) with its repository in a temporary folder, and stopped at the end.
Each store gets the same documents, one at a time (the oracle stores one conversation per
webhook); the embedded store fsyncs every write. Figures go to stdout, JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from peercare.content.devnode import JsIpfsNode, free_port_pair
from peercare.content.document import Conversation, Message, parse
from peercare.content.embedded import EmbeddedStore
from peercare.content.ipfs import IpfsStore
from peercare.content.keystore import KeyStore
from peercare.content.vault import Vault

Figures = dict[str, float]

WORDS = ["the", "sim", "card", "eSIM", "activate", "network", "roaming", "bill", "refund", "plan", "data", "router"]
IPFS_PACKAGE = Path(__file__).resolve().parents[1] / "toolchain" / "ipfs" / "node_modules" / "ipfs" / "package.json"


def conversations(count: int, size: int, seed: int = 1) -> list[bytes]:
    """`count` distinct canonical conversation documents of about `size` bytes each."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(count):
        messages = []
        for m in range(6):
            body = " ".join(rng.choice(WORDS) for _ in range(60))
            role = "customer" if m % 2 == 0 else "advocate"
            messages.append(
                Message(
                    role=role,
                    author=f"user-{rng.randrange(10**6)}",
                    time=start + timedelta(minutes=i * 10 + m),
                    body=body,
                )
            )
        doc = Conversation(
            brand=1,
            source="zendesk",
            ticket_id=f"T-{i}",
            language="en",
            topics=("esim", "billing"),
            messages=tuple(messages),
        )
        data = doc.canonical_bytes()
        if len(data) < size:  # pad the last message to the target size
            last = messages[-1].model_copy(update={"body": messages[-1].body + " " + "x" * (size - len(data) - 1)})
            data = doc.model_copy(update={"messages": (*messages[:-1], last)}).canonical_bytes()
        docs.append(data)
    return docs


def measure(name: str, put: Callable[[bytes], str], get: Callable[[str], object], rounds: list[list[bytes]]) -> Figures:
    """Median put and get rates over rounds of fresh documents."""
    puts, gets = [], []
    for docs in rounds:
        started = time.perf_counter()
        cids = [put(doc) for doc in docs]
        puts.append(len(docs) / (time.perf_counter() - started))
        started = time.perf_counter()
        for cid in cids:
            get(cid)
        gets.append(len(cids) / (time.perf_counter() - started))
    figures = {"put_per_s": round(statistics.median(puts), 1), "get_per_s": round(statistics.median(gets), 1)}
    print(f"{name:<58} {figures['put_per_s']:9.1f} put/s {figures['get_per_s']:9.1f} get/s")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="documents per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per store (the median is reported)")
    parser.add_argument("--size", type=int, default=3000, help="bytes per document")
    args = parser.parse_args()

    docs = conversations(args.count * args.rounds, args.size)
    rounds = [docs[i * args.count : (i + 1) * args.count] for i in range(args.rounds)]
    mean_size = sum(map(len, docs)) / len(docs)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    package = json.loads(IPFS_PACKAGE.read_text())["version"]
    print(
        f"{args.rounds} rounds of {args.count} conversations of {mean_size:.0f} bytes, one at a time, "
        f"median of rounds; {machine}"
    )

    results: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="peercare-bench-") as tmp:
        embedded = EmbeddedStore(Path(tmp) / "content")
        results["embedded"] = measure("embedded store (fsync per write)", embedded.put, embedded.get, rounds)

        api_port, gateway_port = free_port_pair(range(5815, 5820))
        with (
            JsIpfsNode(Path(tmp) / "ipfs", api_port=api_port, gateway_port=gateway_port) as node,
            IpfsStore(node.api_url) as store,
        ):
            core = store.version()
            node_label = f"js-ipfs {package} (ipfs-core {core}), offline on 127.0.0.1, HTTP RPC API"
            results["node"] = measure(f"node store, js-ipfs {package}", store.put, store.get, rounds)

        vault = Vault([EmbeddedStore(Path(tmp) / "sealed")], KeyStore.in_folder(Path(tmp) / "keys"))
        results["embedded_encrypted"] = measure(
            "embedded, encrypted (Vault: AES-256-GCM + SQLite keys)",
            lambda doc: vault.put(parse(doc)),
            vault.get,
            rounds,
        )

    print(
        json.dumps(
            {
                "benchmark": "content-store",
                "documents_per_round": args.count,
                "rounds": args.rounds,
                "mean_bytes": round(mean_size),
                "machine": machine,
                "node_software": node_label,
                **results,
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures for the API tests: one running PeerCare with a history (`world.py`), shared by the
session. Port: `PEERCARE_TEST_API_CHAIN_PORT` (8740), apart from the other suites' chains.

Tests that change state must not depend on totals other tests change: post a new ticket, use a
fresh advocate, or compare before and after.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "oracle"))

import pytest
from devchain import start_dev_ledger
from world import World, build_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_API_CHAIN_PORT", "8740"))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    chain, dev = start_dev_ledger(tmp_path_factory.mktemp("chain"), CHAIN_PORT, f"peercare-api-test-{CHAIN_PORT}")
    try:
        built = build_world(dev, tmp_path_factory.mktemp("data"))
        try:
            yield built
        finally:
            built.client.close()
            built.oracle.stop_workers()
    finally:
        chain.stop()

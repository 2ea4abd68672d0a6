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
from world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_API_CHAIN_PORT", "8740"))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "api") as built:
        yield built

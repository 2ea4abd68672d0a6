"""The rounds' own world (`tests/support/world.py`) on `PEERCARE_TEST_ROUNDS_CHAIN_PORT` (8754):
its router offers one advocate per direct round, so that with the world's three advocates per
topic a next round can still reach someone new, and its loads start from this module's questions
only."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_ROUNDS_CHAIN_PORT", "8754"))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "rounds", route_offers=1) as built:
        yield built

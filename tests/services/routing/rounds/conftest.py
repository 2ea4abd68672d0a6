"""The rounds' own world (`tests/support/world.py`) on `PEERCARE_TEST_ROUNDS_CHAIN_PORT` (8754):
its router offers one advocate per direct round, so that with the world's three advocates per
topic a next round can still reach someone new, and no open-offer cap (loads would otherwise
carry from one test's questions to the next)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_ROUNDS_CHAIN_PORT", "8754"))
# No open-offer cap: the tests' questions stay open, and a cap would let an earlier test's offers
# decide who a later test's question can reach.
UNCAPPED = 10**6


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "rounds", route_offers=1, route_max_open=UNCAPPED) as built:
        yield built

"""The fixture the API's tests and the live router's share: one running PeerCare with a history
(`tests/support/world.py`), started once per session on `PEERCARE_TEST_API_CHAIN_PORT` (8740),
apart from the other suites' chains. The web and audit suites start worlds of their own (their
`conftest.py` overrides `world`).

Tests that change state must not depend on totals other tests change: post a new ticket, use a
fresh advocate, or compare before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_API_CHAIN_PORT", "8740"))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "api") as built:
        yield built

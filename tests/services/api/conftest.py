"""Fixtures for the API tests: one running PeerCare with a history (`world.py`), shared by the
session. Port: `PEERCARE_TEST_API_CHAIN_PORT` (8740), apart from the other suites' chains.

`database` runs a test twice, on an empty migrated database of its own on SQLite and on
PostgreSQL (a throwaway server, `pgserver.py`, on `PEERCARE_TEST_API_PG_PORT` (5940): distinct from
the oracle and reputation suites' so that runs side by side do not collide), for what the world's
SQLite cannot show: races between concurrent transactions.

Tests that change state must not depend on totals other tests change: post a new ticket, use a
fresh advocate, or compare before and after.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercare.db.database import Database, sqlite_url
from tests.support.pgserver import PostgresServer, running_postgres
from tests.support.world import World, running_world

CHAIN_PORT = int(os.environ.get("PEERCARE_TEST_API_CHAIN_PORT", "8740"))
POSTGRES_PORT = int(os.environ.get("PEERCARE_TEST_API_PG_PORT", "5940"))
_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory, CHAIN_PORT, "api") as built:
        yield built


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres(POSTGRES_PORT) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "api.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"api_{next(_database_numbers)}")
    db = Database(url)
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()

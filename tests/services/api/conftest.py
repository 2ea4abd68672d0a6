"""Fixtures for the API tests besides the shared `world` (`tests/services/conftest.py`).

`database` runs a test twice, on an empty migrated database of its own on SQLite and on
PostgreSQL (a throwaway server, `pgserver.py`, on `PEERCARE_TEST_API_PG_PORT` (5940): distinct from
the oracle and reputation suites' so that runs side by side do not collide), for what the world's
SQLite cannot show: races between concurrent transactions.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercare.db.database import Database, sqlite_url
from tests.support.pgserver import PostgresServer, running_postgres

POSTGRES_PORT = int(os.environ.get("PEERCARE_TEST_API_PG_PORT", "5940"))
_database_numbers = itertools.count()


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

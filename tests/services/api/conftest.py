"""Fixtures for the API tests besides the shared `world` (`tests/services/conftest.py`).

`database` runs a test twice, on an empty migrated database of its own on SQLite and on
PostgreSQL (a throwaway server, `pgserver.py`, on `PEERCARE_TEST_API_PG_PORT` (5940): distinct from
the oracle and reputation suites' so that runs side by side do not collide), for what the world's
SQLite cannot show: races between concurrent transactions.
"""

from tests.support.databases import database_fixture, postgres_fixture

postgres = postgres_fixture("PEERCARE_TEST_API_PG_PORT", 5940)
database = database_fixture("api")

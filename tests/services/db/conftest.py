"""Fixtures for the database package's tests: `database` runs a test on an empty migrated database
of its own on SQLite and on PostgreSQL (a throwaway server on `PEERCARE_TEST_DB_PG_PORT` (5950),
apart from the other suites' servers)."""

from tests.support.databases import database_fixture, postgres_fixture

postgres = postgres_fixture("PEERCARE_TEST_DB_PG_PORT", 5950)
database = database_fixture("db")

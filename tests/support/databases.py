"""Databases for tests: a new empty one on either engine, migrated.

A PostgreSQL database is created on the calling suite's `postgres` fixture: each suite that runs
on PostgreSQL starts its own throwaway server (`pgserver.py`) on its own port, so that the suites
`make test` runs side by side do not collide.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from peercare.db.database import Database, sqlite_url
from tests.support.pgserver import PostgresServer, running_postgres

ENGINES = ["sqlite", "postgresql"]
_numbers = itertools.count()


def new_database_url(request: pytest.FixtureRequest, engine: str, folder: Path, name: str) -> str:
    """The URL of a new empty database: a SQLite file `<name>.sqlite3` in `folder`, or a new
    database `<name>_<n>` on the suite's PostgreSQL server."""
    if engine == "sqlite":
        return sqlite_url(folder / f"{name}.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"{name}_{next(_numbers)}")


@contextmanager
def migrated(url: str) -> Iterator[Database]:
    """The database at `url`, migrated to the head; its connections closed afterwards."""
    database = Database(url)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()


def postgres_fixture(port_variable: str, default_port: int) -> Callable[..., Iterator[PostgresServer]]:
    """A suite's `postgres` fixture: its own server for the session, on the port in the
    environment variable `port_variable` (else `default_port`)."""

    @pytest.fixture(scope="session")
    def postgres() -> Iterator[PostgresServer]:
        with running_postgres(int(os.environ.get(port_variable, str(default_port)))) as server:
            yield server

    return postgres


def database_fixture(name: str) -> Callable[..., Iterator[Database]]:
    """A `database` fixture that runs a test twice: on a new migrated SQLite database and on a new
    one on the suite's PostgreSQL server (its `postgres` fixture)."""

    @pytest.fixture(params=ENGINES)
    def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
        with migrated(new_database_url(request, request.param, tmp_path, name)) as db:
            yield db

    return database

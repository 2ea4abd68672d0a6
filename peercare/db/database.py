"""The database: SQLite by default, PostgreSQL by configuration, one schema for both (SQLAlchemy 2),
created and upgraded by alembic migrations (`migrations/`; the tables are in `tables/`, on
`base.Base`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")

READ_ONLY = "peercare_read_only"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions start (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the indexer read while intake writes; FULL syncs the WAL on every commit, so an
    # acknowledged webhook survives a power cut, not only a killed process.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: several threads write (intake, processor, signer,
    # indexer), and a read transaction that later writes would fail at once with SQLITE_BUSY
    # instead of waiting. It also makes SAVEPOINTs nest inside a real transaction. Read-only
    # sessions (`Database.read`) take no lock: WAL readers never block the writer.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def insert_or_ignore(
    bind: Engine | Session, table: Any, index_elements: list[Any]
) -> postgresql.Insert | sqlite.Insert:
    """`INSERT ... ON CONFLICT (index_elements) DO NOTHING` into `table` (a mapped class or a
    `Table`), in the SQL of the database `bind` talks to: how every writer inserts a row that may
    exist already (a replayed cause) without a race between reading and writing."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=index_elements)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` URLs use psycopg 3."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Database:
    """An engine and its sessions. `migrate()` brings the schema to the newest revision."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in steps of
        # up to 100 ms before trying again. Threads of this process queue on a lock instead, which
        # hands over at once (intake's acknowledgement latency depends on it).
        self._write_lock = threading.RLock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends, rolled back if it raises."""
        with self._write_lock, self.sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only: it never waits for, or holds up, a writer."""
        with self.read_sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        from alembic import command

        command.upgrade(alembic_config(self.engine), "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config

"""One oracle process writes at a time: a lease on PostgreSQL, a lock file on SQLite.

Every `peercare oracle run` serves webhooks and the API; only the holder of the writer's lease runs
the processor, signer, indexer and router. Two writers on one database fight over the same rows
(retried IntegrityErrors, a signer that finds its nonce taken) and could queue one write twice.

PostgreSQL: the lease is the session-level advisory lock `LEASE_KEY` ("peercare" in ASCII, as a
64-bit integer), taken with `pg_try_advisory_lock` on a connection of its own and held for as long
as the process leads. Contenders try again every `POLL_S`. The server frees the lock when the
holder's connection ends, whatever killed it, so another process takes over within about a
second. The holder checks its connection on every poll; when it is gone, it stops its writers at
once (it must not write without the lease) and contends again. A partitioned holder notices within
`POLL_S` plus the connection's 5 s TCP timeout, before the server (told to probe its client every
2 s after 5 s idle, three times) drops the session and lets another process take over.

Several processes on one database must see the same content (each writes conversations and batch
manifests that the others read after a takeover): every process names its content store in its
connection's `application_name`, and a process whose store differs from a running peer's refuses
to start (`check_peers`). A content store is either "ipfs" (an IPFS node: shared by every process
that uses it) or the embedded store, named by a random identifier kept in its folder (shared only
by processes that use the same folder).

SQLite: one process only. `lock_sqlite_database` takes an exclusive `flock` on `<database>.lock`,
writes its PID there, and keeps it for the life of the process; a second oracle is refused with
that PID. Commands that only configure the oracle (`peercare oracle brand`, the demo's set-up) take
no lock and keep working while it runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger("peercare.oracle.leadership")

LEASE_KEY = 0x7065657263617265  # b"peercare" as a big-endian int64: pg_advisory_lock(LEASE_KEY) is the lease
MIGRATION_KEY = LEASE_KEY + 1  # held while one process migrates the schema (two would race)
POLL_S = 1.0  # how often a contender tries for the lease and the holder checks it still has it
APPLICATION_NAME = "peercare-oracle"  # prefix of every oracle process's lease connection


class OracleRefused(RuntimeError):
    """This process must not run the oracle: another one holds the database, or the processes on
    one database do not share their content."""


# ---------------------------------------------------------------------------------- SQLite


class DatabaseLock:
    """An exclusive `flock` on a lock file beside the SQLite database, with the holder's PID in it.
    The kernel releases it when the process ends, however it ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        _sqlite_locks.pop(self.path, None)
        os.close(self._fd)  # closing the only descriptor drops the lock; the file stays (unlinking races)
        self._fd = None


_sqlite_locks: dict[Path, DatabaseLock] = {}


def lock_sqlite_database(database_url: str) -> DatabaseLock | None:
    """Take the SQLite database's oracle lock for this process (again: the one it holds), or raise
    `OracleRefused` naming the PID that holds it. None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database).resolve()
    path = database.with_name(database.name + ".lock")
    held = _sqlite_locks.get(path)
    if held is not None:
        return held
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes (anvil)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder_pid(fd)
        os.close(fd)
        raise OracleRefused(
            f"another oracle (PID {holder}) already runs on the SQLite database {database} (lock {path}); "
            "SQLite allows one oracle process per database: stop that one, or use PostgreSQL "
            "(PEERCARE_DATABASE_URL) to run several"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    lock = _sqlite_locks[path] = DatabaseLock(path, fd)
    return lock


def _holder_pid(fd: int) -> str:
    """The PID the lock's holder wrote (it writes it right after locking: wait a moment for it)."""
    deadline = time.monotonic() + 1.0
    while True:
        written = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if written or time.monotonic() > deadline:
            return written or "unknown"
        time.sleep(0.02)


# ---------------------------------------------------------------------------------- PostgreSQL


def content_identity(data_dir: Path, ipfs_api_url: str | None) -> str:
    """What every oracle process on one database must have in common to share its content."""
    if ipfs_api_url:
        return "ipfs"
    return "embedded:" + embedded_store_id(Path(data_dir) / "content")


def embedded_store_id(folder: Path) -> str:
    """The embedded store's identifier, made on first use: a random one, kept in `<folder>/store-id`
    (so two folders never share one, and two processes that use one folder always do)."""
    path = folder / "store-id"
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".store-id-{os.getpid()}-{uuid.uuid4().hex}"
    tmp.write_text(uuid.uuid4().hex[:16] + "\n")
    try:
        os.link(tmp, path)  # atomic: the first process to get here names the store
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


class PostgresLease:
    """The writer's lease: `pg_try_advisory_lock(LEASE_KEY)` on a connection kept for the purpose.
    Its `application_name` names this process and its content store, for `check_peers`."""

    def __init__(self, database_url: str, identity: str) -> None:
        url = make_url(database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        self.identity = identity
        self.process = f"{os.getpid()}@{socket.gethostname()}"
        self.application_name = f"{APPLICATION_NAME} {identity} {self.process}"[:63]  # PostgreSQL keeps 63 bytes
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",  # each statement its own transaction: fresh pg_stat_activity
            connect_args={
                "application_name": self.application_name,
                "connect_timeout": 5,
                # Notice a dead network within seconds on both sides (client: keepalives and
                # unacknowledged sends; server: these GUCs for this session only).
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "tcp_user_timeout": 5000,
                "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3",
            },
        )
        self._connection: Connection | None = None
        self.held = False

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _scalar(self, sql: str, **params: Any) -> Any:
        """One statement on the lease connection; a failed connection is dropped (and the lease
        with it: the server releases a session's locks when the session ends)."""
        try:
            return self._connect().execute(text(sql), params).scalar()
        except DBAPIError:
            self._drop()
            raise

    def _drop(self) -> None:
        self.held = False
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None

    def check_peers(self) -> None:
        """Refuse (`OracleRefused`) to join running oracle processes whose content store is not
        ours. This connection is named before it looks, so of two processes that start together the
        later one to look sees the other."""
        rows = self._connect().execute(
            text(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name LIKE :prefix"
            ),
            {"prefix": APPLICATION_NAME + " %"},
        )
        for (name,) in rows:
            _, identity, process = [*name.split(" "), "", ""][:3]
            if identity != self.identity:
                raise OracleRefused(
                    f"oracle process {process or '?'} already runs on this PostgreSQL database with another "
                    f"content store ({_describe(identity)}; this process: {_describe(self.identity)}). "
                    "Processes on one database read each other's conversations and batch manifests: give "
                    "every one the same IPFS node (PEERCARE_IPFS_API_URL), or the same data dir"
                )

    @contextlib.contextmanager
    def migrating(self) -> Iterator[None]:
        """Hold the migration lock: one process at a time brings the schema up to date."""
        self._scalar("SELECT pg_advisory_lock(:key)", key=MIGRATION_KEY)
        try:
            yield
        finally:
            with contextlib.suppress(DBAPIError):
                self._scalar("SELECT pg_advisory_unlock(:key)", key=MIGRATION_KEY)

    def try_acquire(self) -> bool:
        self.held = bool(self._scalar("SELECT pg_try_advisory_lock(:key)", key=LEASE_KEY))
        return self.held

    def still_held(self) -> bool:
        """Whether this session still holds the lease (a query on its connection: False, never an
        error, when the connection is gone)."""
        try:
            held = self._scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = :high AND objid = :low AND objsubid = 1 AND granted",
                high=LEASE_KEY >> 32,
                low=LEASE_KEY & 0xFFFFFFFF,
            )
        except DBAPIError as exc:
            log.warning("the lease connection failed: %s", _first_line(exc))
            return False
        self.held = bool(held)
        return self.held

    def holder(self) -> str | None:
        """The `application_name` of the session that holds the lease, if any."""
        with contextlib.suppress(DBAPIError):
            name = self._scalar(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = :high AND l.objid = :low AND l.objsubid = 1 "
                "AND l.granted",
                high=LEASE_KEY >> 32,
                low=LEASE_KEY & 0xFFFFFFFF,
            )
            return str(name) if name is not None else None
        return None

    def release(self) -> None:
        """Give the lease up (and keep the connection, to contend again)."""
        if self.held:
            with contextlib.suppress(DBAPIError):
                self._scalar("SELECT pg_advisory_unlock(:key)", key=LEASE_KEY)
        self.held = False

    def close(self) -> None:
        """End the session: the server releases the lease with it."""
        self._drop()
        self._engine.dispose()


def _describe(identity: str) -> str:
    if identity == "ipfs":
        return "an IPFS node"
    return f"the embedded store {identity.removeprefix('embedded:')} of its own data dir"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class Lease(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def holder(self) -> str | None: ...
    def release(self) -> None: ...
    def close(self) -> None: ...


class Leadership:
    """Contends for `lease` every `poll_s`; calls `elect` on winning it and `depose` on losing it
    (or on `stop`). `elect` starts the writers, `depose` stops them and returns once they stopped."""

    def __init__(
        self, lease: Lease, elect: Callable[[], None], depose: Callable[[], None], *, poll_s: float = POLL_S
    ) -> None:
        self.lease = lease
        self.elect = elect
        self.depose = depose
        self.poll_s = poll_s
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_holder: str | None = None
        self._unreachable = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="peercare-leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop contending; stop the writers if this process leads; end the lease's session."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.leading:
            self.leading = False
            self.depose()
            log.info("gave up the writer's lease (stopping)")
        self.lease.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._stop.wait(self.poll_s)

    def _tick(self) -> None:
        if self.leading:
            if self.lease.still_held():
                return
            self.leading = False
            self.depose()
            log.warning(
                "lost the writer's lease: stopped the processor, signer, indexer and router "
                "(this process no longer writes); contending again"
            )
            return
        try:
            won = self.lease.try_acquire()
        except DBAPIError as exc:
            if not self._unreachable:
                log.warning("cannot reach the database to contend for the writer's lease: %s", _first_line(exc))
            self._unreachable = True
            return
        self._unreachable = False
        if not won:
            holder = self.lease.holder()
            if holder != self._seen_holder and holder is not None:
                log.info("the writer's lease is held by %s: this process serves webhooks and the API", holder)
            self._seen_holder = holder
            return
        if self._stop.is_set():  # stopping: start nothing
            self.lease.release()
            return
        self.leading = True
        if self._seen_holder:
            log.warning(
                "took over the writer's lease from %s: this process now runs the processor, signer, indexer and router",
                self._seen_holder,
            )
        else:
            log.info("holds the writer's lease: this process runs the processor, signer, indexer and router")
        self._seen_holder = None
        try:
            self.elect()
        except Exception:
            log.exception("could not start the writers; giving the lease up")
            self.leading = False
            self.depose()
            self.lease.release()
            self._stop.wait(self.poll_s)  # let another process try first

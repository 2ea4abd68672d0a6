"""A throwaway PostgreSQL server from Debian's packages, for the tests: its own cluster in a
temporary folder, on 127.0.0.1 and a dedicated port, stopped by its process id.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` account the
Debian package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PORT = 5871


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make setup` installs Debian's postgresql package")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, port: int = PORT) -> None:
        # Not under pytest's tmp_path: its parents are private to root, and the server may run
        # as `postgres`.
        self.folder = Path(tempfile.mkdtemp(prefix="peercare-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = port
        self.pid: int | None = None
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            self._prefix = ["runuser", "-u", "postgres", "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql://peercare@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://peercare@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        bin_dir = postgres_bin()
        if self._prefix:
            shutil.chown(self.folder, "postgres", "postgres")
        initdb = [str(bin_dir / "initdb"), "-D", str(self.data), "-U", "peercare", "-A", "trust", "-E", "UTF8"]
        subprocess.run(
            [*self._prefix, *initdb],
            check=True,
            capture_output=True,
        )
        log = self.folder / "postgres.log"
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start"]
        subprocess.run(
            [*self._prefix, *pg_ctl],
            check=True,
            capture_output=True,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._stop_server()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _stop_server(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGINT)  # fast shutdown
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None


@contextmanager
def running_postgres(port: int) -> Iterator[PostgresServer]:
    """A throwaway server for a test session, stopped by its process id at the end."""
    server = PostgresServer(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()

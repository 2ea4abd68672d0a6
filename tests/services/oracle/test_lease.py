"""The writer's lease on PostgreSQL: one holder at a time, taken over when the holder's session
ends, and a holder whose lease connection dies stops writing at once (fencing)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest

from peercare.oracle.leadership import Leadership, OracleRefused, PostgresLease
from tests.support.pgserver import PostgresServer

POLL_S = 0.05


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.01)


class Writers:
    """What `Oracle` starts and stops on election and deposition, as a log of calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.running = threading.Event()

    def elect(self) -> None:
        self.calls.append("elect")
        self.running.set()

    def depose(self) -> None:
        self.calls.append("depose")
        self.running.clear()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.create_database(f"lease_{uuid.uuid4().hex[:12]}")


def test_one_contender_writes_and_the_other_takes_over_when_its_session_ends(pg_url: str) -> None:
    first, second = PostgresLease(pg_url, "ipfs"), PostgresLease(pg_url, "ipfs")
    writers = [Writers(), Writers()]
    leaderships = [
        Leadership(lease, w.elect, w.depose, poll_s=POLL_S) for lease, w in zip((first, second), writers, strict=True)
    ]
    leaderships[0].start()
    wait_for(writers[0].running.is_set, "the first contender writes")
    leaderships[1].start()
    wait_for(lambda: second.holder() is not None and "ipfs" in (second.holder() or ""), "the second sees the holder")
    assert not writers[1].running.is_set()
    leaderships[0].stop()  # ends its session: PostgreSQL frees the lock
    assert writers[0].calls == ["elect", "depose"]
    wait_for(writers[1].running.is_set, "the second contender takes over")
    leaderships[1].stop()
    assert writers[1].calls == ["elect", "depose"]


def test_a_writer_whose_lease_connection_dies_stops_writing_and_contends_again(
    pg_url: str, postgres: PostgresServer
) -> None:
    lease = PostgresLease(pg_url, "ipfs")
    writers = Writers()
    leadership = Leadership(lease, writers.elect, writers.depose, poll_s=POLL_S)
    leadership.start()
    try:
        wait_for(writers.running.is_set, "the writer starts")
        with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
                [lease.application_name, pg_url.rsplit("/", 1)[1]],
            ).fetchall()
        assert killed == [(True,)]
        wait_for(lambda: writers.calls[:2] == ["elect", "depose"], "the writer stops when its lease is gone")
        wait_for(lambda: writers.calls == ["elect", "depose", "elect"], "it contends again and wins (no one else)")
    finally:
        leadership.stop()


def test_a_process_whose_content_store_differs_from_a_running_ones_is_refused(pg_url: str) -> None:
    running = PostgresLease(pg_url, "embedded:aaaa")
    running.check_peers()
    same_folder, elsewhere, ipfs = (
        PostgresLease(pg_url, identity) for identity in ("embedded:aaaa", "embedded:bbbb", "ipfs")
    )
    try:
        same_folder.check_peers()
        for lease in (elsewhere, ipfs):
            with pytest.raises(
                OracleRefused, match="already runs on this PostgreSQL database with another content store"
            ):
                lease.check_peers()
    finally:
        for lease in (running, same_folder, elsewhere, ipfs):
            lease.close()

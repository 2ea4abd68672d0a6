"""Several oracle processes on one PostgreSQL database: all take webhooks, one writes (the holder
of the writer's lease), and when it dies another takes over within seconds, with nothing lost or
doubled. A process that cannot share the others' content is refused."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxTx
from tests.support.devchain import DevLedger
from tests.support.oracle_process import (
    OracleProcess,
    Sender,
    assert_exactly_once_on_chain,
    assert_projections_equal_a_rescan,
    lease_holder_pid,
    serve_cardano_brand,
    ticket_stream,
    wait_until_drained,
)
from tests.support.pgserver import PostgresServer

KILLS = 10
PORTS = (8915, 8916)
REFUSED_PORT = 8917
FAILOVER_LIMIT_S = 5.0


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.create_database(f"failover_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    database.migrate()
    serve_cardano_brand(database, 1)
    yield database
    database.dispose()


def wait_for_holder(database: Database, among: set[int], timeout_s: float = 30.0) -> int:
    """The pid of the process (one of `among`) that holds the lease, once one does."""
    deadline = time.monotonic() + timeout_s
    while (holder := lease_holder_pid(database)) not in among:
        assert time.monotonic() < deadline, f"none of {among} held the lease within {timeout_s} s (holder {holder})"
        time.sleep(0.01)
    assert holder is not None
    return holder


def test_when_the_writing_oracle_is_killed_another_takes_over_and_every_event_is_on_chain_once(
    dev_ledger: DevLedger, pg_database: Database, pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261206)
    settings = {"batch_size": "16", "batch_max_age_s": "0.5", "confirmations": "0"}
    oracles = [
        OracleProcess(dev_ledger, tmp_path, pg_url, port, log_name=f"oracle-{port}.log", **settings) for port in PORTS
    ]
    urls = [f"{oracle.url}/api/v1/webhooks/1/generic" for oracle in oracles]
    sender = Sender(urls[0], ticket_stream(400, rng), others=urls[1:])
    for oracle in oracles:
        oracle.start()
    thread = threading.Thread(target=sender.run)
    thread.start()
    failovers: list[float] = []
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 1.5))  # the moment of the crash: anywhere in the leader's work
            holder = wait_for_holder(pg_database, {oracle.pid for oracle in oracles})
            victim = next(oracle for oracle in oracles if oracle.pid == holder)
            survivor = next(oracle for oracle in oracles if oracle is not victim)
            killed_at = time.monotonic()
            victim.kill()
            wait_for_holder(pg_database, {survivor.pid}, timeout_s=30)
            failovers.append(time.monotonic() - killed_at)
            victim.start()  # two processes run again
        sender.stop.set()
        thread.join()
        wait_until_drained(dev_ledger, pg_database)
    finally:
        sender.stop.set()
        thread.join()
        stopped = [oracle.stop() for oracle in oracles]
    assert stopped == [0, 0], [oracle.log.read_text()[-3000:] for oracle in oracles]
    print(
        f"failover after SIGKILL (kill -> the other process holds the lease), {KILLS} times: "
        f"median {sorted(failovers)[len(failovers) // 2]:.2f} s, max {max(failovers):.2f} s; "
        f"{len(sender.acknowledged)} events acknowledged, {sender.retries} retried"
    )
    assert max(failovers) < FAILOVER_LIMIT_S, failovers
    assert len(sender.acknowledged) > 300, "too few events got through to test anything"
    assert_exactly_once_on_chain(dev_ledger, pg_database, tmp_path, sender.acknowledged)
    assert_projections_equal_a_rescan(dev_ledger, pg_database, tmp_path)
    with pg_database.read() as session:
        calls = session.scalars(select(OutboxTx.data).where(OutboxTx.kind.in_(["accept", "accept_batch"]))).all()
    # Each question in one acceptance write at most, whichever process wrote it: alone, or in a call.
    accepted = Counter(qid for data in calls for qid in accepted_questions(dev_ledger, data))
    assert accepted and max(accepted.values()) == 1, "a question accepted twice"
    logs = "".join(oracle.log.read_text() for oracle in oracles)
    for sign in ("IntegrityError", "AssertionError", "Traceback"):
        assert sign not in logs, f"{sign} in the oracles' logs"
    assert logs.count("took over the writer's lease from") >= KILLS  # one more if the stopped leader went first


def test_a_second_process_without_a_shared_content_store_is_refused_on_postgresql(
    dev_ledger: DevLedger, pg_database: Database, pg_url: str, tmp_path: Path
) -> None:
    first = OracleProcess(dev_ledger, tmp_path / "host-a", pg_url, PORTS[0])
    (tmp_path / "host-a").mkdir()
    first.start()
    try:
        other = OracleProcess(dev_ledger, tmp_path / "host-b", pg_url, REFUSED_PORT)
        run = other.run_command("oracle", "run")
        assert run.returncode == 1, run.stdout + run.stderr
        assert run.stderr.startswith(f"error: oracle process {first.pid}@") and run.stderr.count("\n") == 1
        assert "PEERCARE_IPFS_API_URL" in run.stderr, run.stderr
        # The same data dir shares the content: a second process there joins (and waits for the lease).
        same = OracleProcess(dev_ledger, tmp_path / "host-a", pg_url, REFUSED_PORT, log_name="second.log")
        same.start()
        assert same.stop() == 0
        assert wait_for_holder(pg_database, {first.pid}) == first.pid
    finally:
        assert first.stop() == 0, first.log.read_text()[-3000:]


def accepted_questions(dev: DevLedger, data: str) -> list[bytes]:
    """The question ids an acceptance write accepts: one (`acceptAnswer`...), or each of a call's."""
    _, args = dev.ledger.decode_function_input(data)
    if "acceptances" in args:
        return [bytes(item["question"]["questionId"]) for item in args["acceptances"]]
    return [bytes(args["answer"]["questionId"])]

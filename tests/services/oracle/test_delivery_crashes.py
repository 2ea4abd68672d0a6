"""Nothing lost or doubled on the way out, whatever crashes: the delivery sender runs as a process
of its own and is killed with SIGKILL at random moments, 25 times, while it delivers 300 queued
notes and replies to the Zendesk stand-in, some of whose answers are lost after it applied the
change. Afterwards every delivery is delivered, and the stand-in holds exactly one comment per
delivery."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from peercare.db.database import Database, sqlite_url
from peercare.db.tables.deliveries import Delivery
from peercare.oracle.brands import configure_brand
from tests.support.delivery_load import TICKETS, applied, delivered, queue_deliveries
from tests.support.health_support import wait_for
from tests.support.ticketing_standins import AppliedButLost, ZendeskStandin

ROOT = Path(__file__).resolve().parents[3]
KILLS = 25


class Worker:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.requests_before = 0  # the stand-in's requests when this run started

    def start(self) -> None:
        """Start the worker and wait until it is sending (its imports take longer than a kill's
        random delay: a kill before then would test nothing)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.delivery_worker", self.url], cwd=ROOT, stdout=out, stderr=out
            )
        self.starts += 1
        wait_for(lambda: self.log.read_text().count("sending") >= self.starts, "the worker to start", timeout_s=30)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


def test_every_delivery_is_applied_exactly_once_after_25_kills(tmp_path: Path, zendesk_tickets: ZendeskStandin) -> None:
    url = sqlite_url(tmp_path / "oracle.sqlite3")
    database = Database(url)
    database.migrate()
    with database.transaction() as session:
        configure_brand(session, 1, "Acme")
        keys = queue_deliveries(session, zendesk_tickets, TICKETS)
    zendesk_tickets.inject(*[AppliedButLost(method="PUT") for _ in range(15)])
    rng = random.Random(20261207)
    worker = Worker(url, tmp_path / "worker.log")
    worker.start()
    mid_stream = 0  # kills that cut the work short: some delivered, some not yet
    try:
        for _ in range(KILLS):
            # A random moment to die at while it sends: once a request of this run reached the
            # stand-in, then up to 80 ms. (A delay counted from its start alone ended every run
            # before its first request when the machine was loaded, and then tested nothing.)
            wait_for(
                lambda: len(zendesk_tickets.requests) > worker.requests_before or delivered(database) == len(keys),
                "the worker to send a request",
                timeout_s=60,
            )
            time.sleep(rng.uniform(0.0, 0.08))
            worker.kill()
            mid_stream += 0 < delivered(database) < len(keys)
            worker.requests_before = len(zendesk_tickets.requests)
            worker.start()

        wait_for(lambda: delivered(database) == len(keys), "every delivery delivered", timeout_s=120)
    finally:
        worker.kill()
    assert mid_stream >= KILLS // 2, f"only {mid_stream} kills landed while deliveries were under way"
    assert zendesk_tickets.pending_faults() == [], "not every lost answer was met"
    posted = applied(zendesk_tickets, TICKETS)
    assert sorted(posted) == sorted(keys), "a delivery is missing"
    assert [key for key, n in posted.items() if n > 1] == [], "a delivery was applied twice"
    with database.read() as session:
        attempts = session.scalar(select(func.sum(Delivery.attempts)))
    assert attempts is not None and attempts > len(keys), "no attempt was ever cut short"
    database.dispose()

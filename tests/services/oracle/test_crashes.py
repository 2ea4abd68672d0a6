"""Exactly once, whatever crashes: the oracle process is killed with SIGKILL at random moments, 50
times, while a brand's ticketing system keeps sending webhooks (and retries every delivery until it
is acknowledged, as Zendesk does) and the oracle sends 300 queued deliveries back to the brand's
Zendesk (the stand-in, some of whose answers are lost after it applied the change). Afterwards
every acknowledged event is on the chain exactly once, the oracle's projections equal a full rescan
of the chain, and the stand-in holds exactly one comment per delivery."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

from peercare.db.database import Database
from tests.support.delivery_load import TICKETS, applied, delivered, queue_deliveries
from tests.support.devchain import DevLedger
from tests.support.health_support import wait_for
from tests.support.oracle_process import (
    OracleProcess,
    Sender,
    assert_exactly_once_on_chain,
    assert_projections_equal_a_rescan,
    ticket_stream,
    wait_until_drained,
)
from tests.support.ticketing_standins import AppliedButLost, ZendeskStandin

KILLS = 50
PORT = int(os.environ.get("PEERCARE_TEST_CRASH_PORT", "8711"))


def test_every_acknowledged_event_is_on_chain_and_every_delivery_applied_exactly_once_after_50_kills(
    dev_ledger: DevLedger, oracle_database: Database, database_url: str, tmp_path: Path, zendesk_tickets: ZendeskStandin
) -> None:
    rng = random.Random(20261122)
    with oracle_database.transaction() as session:
        keys = queue_deliveries(session, zendesk_tickets, TICKETS)
    zendesk_tickets.inject(*[AppliedButLost(method="PUT") for _ in range(10)])
    stream = ticket_stream(400, rng)
    oracle = OracleProcess(
        dev_ledger, tmp_path, database_url, PORT, batch_size="16", batch_max_age_s="0.5", confirmations="0"
    )
    sender = Sender(f"{oracle.url}/api/v1/webhooks/1/generic", stream)
    oracle.start()
    thread = threading.Thread(target=sender.run)
    thread.start()
    kills = 0
    try:
        for kills in range(1, KILLS + 1):  # noqa: B007
            time.sleep(rng.uniform(0.1, 0.6))
            oracle.kill()
            oracle.start()
        sender.stop.set()
        thread.join()
        wait_until_drained(dev_ledger, oracle_database)
        wait_for(lambda: delivered(oracle_database) == len(keys), "every delivery delivered", timeout_s=120)
    finally:
        sender.stop.set()
        thread.join()
        assert oracle.stop() == 0, oracle.log.read_text()[-3000:]
    assert kills == KILLS
    assert len(sender.acknowledged) > 300, "too few events got through to test anything"
    assert sender.retries > 0, "no delivery ever met a dead oracle"
    assert_exactly_once_on_chain(dev_ledger, oracle_database, tmp_path, sender.acknowledged)
    assert_projections_equal_a_rescan(dev_ledger, oracle_database, tmp_path)
    posted = applied(zendesk_tickets, TICKETS)
    assert sorted(posted) == sorted(keys), "a delivery is missing"
    assert [key for key, n in posted.items() if n > 1] == [], "a delivery was applied twice"

"""RPC faults between the oracle and its node (timeouts, HTTP 429 and 503, connections dropped
before or after the request reached the node), injected by a proxy on loopback, cause back-off and
retries, and lose nothing: every acknowledged event still reaches the chain exactly once."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from peercare.db.database import Database
from tests.support.devchain import DevLedger
from tests.support.faultproxy import FaultProxy
from tests.support.oracle_process import (
    OracleProcess,
    Sender,
    assert_exactly_once_on_chain,
    assert_projections_equal_a_rescan,
    ticket_stream,
    wait_until_drained,
)

ORACLE_PORT, PROXY_PORT = 8713, 8714
FAULTS = ("timeout", "http429", "http503", "drop", "drop_after_forward")


def test_rpc_faults_are_retried_and_lose_nothing(
    dev_ledger: DevLedger, oracle_database: Database, database_url: str, tmp_path: Path
) -> None:
    proxy = FaultProxy(dev_ledger.url, PROXY_PORT, hold_s=1.0, retry_after="0")
    proxy.start()
    oracle = OracleProcess(
        dev_ledger,
        tmp_path,
        database_url,
        ORACLE_PORT,
        rpc_url=proxy.url,
        batch_size="8",
        batch_max_age_s="0.3",
        confirmations="0",
        rpc_timeout_s="0.5",
    )
    sender = Sender(f"{oracle.url}/api/v1/webhooks/1/generic", ticket_stream(48, random.Random(7)))
    try:
        oracle.start()
        proxy.set_random(0.25, FAULTS, seed=11)  # a quarter of all calls fail, in every way
        thread = threading.Thread(target=sender.run)
        thread.start()
        thread.join(timeout=240)
        assert not thread.is_alive(), "the ticketing system could not deliver its events"
        wait_until_drained(dev_ledger, oracle_database)
    finally:
        sender.stop.set()
        stopped = oracle.stop()
        proxy.stop()
    assert stopped == 0, oracle.log.read_text()[-3000:]
    assert all(proxy.counts.get(kind, 0) > 0 for kind in FAULTS), proxy.counts
    assert "retrying" in oracle.log.read_text() or "retry" in oracle.log.read_text()
    assert len(sender.acknowledged) == 48 * 6
    assert_exactly_once_on_chain(dev_ledger, oracle_database, tmp_path, sender.acknowledged)
    assert_projections_equal_a_rescan(dev_ledger, oracle_database, tmp_path)

"""On SQLite one oracle process owns the database: a second `peercare oracle run` or `peercare up`
on the same data dir is refused with a one-line message naming the PID that holds it (before
`up` starts a chain), the commands that configure the oracle keep working, and the first oracle
is unharmed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.db.database import Database, sqlite_url
from peercare.db.tables.oracle import (
    Brand,
    EventStatus,
    OutboxStatus,
    OutboxTx,
    Question,
    QuestionBatch,
    WebhookEvent,
)
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from tests.support.devchain import DevLedger
from tests.support.oracle_process import SECRET, OracleProcess, serve_cardano_brand

PORT = 8913
SECOND_PORT = 8914


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.1)


def test_a_second_oracle_on_one_sqlite_database_is_refused_and_the_first_keeps_serving(
    dev_ledger: DevLedger, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "oracle.sqlite3")
    database = Database(url)
    database.migrate()
    serve_cardano_brand(database, 1)
    first = OracleProcess(dev_ledger, tmp_path, url, PORT, confirmations="0")
    first.start()
    try:
        second = OracleProcess(dev_ledger, tmp_path, url, SECOND_PORT, log_name="second.log")
        refused = f"error: another oracle (PID {first.pid}) already runs on the SQLite database"
        run = second.run_command("oracle", "run")
        assert run.returncode == 1, run.stdout + run.stderr
        assert run.stderr.startswith(refused) and run.stderr.count("\n") == 1, run.stderr
        # `peercare up` would start a local chain (no PEERCARE_RPC_URL): it must refuse before that.
        up = second.run_command("up", PEERCARE_RPC_URL=None)
        assert up.returncode == 1, up.stdout + up.stderr
        assert up.stderr.startswith(refused) and up.stderr.count("\n") == 1, up.stderr
        assert up.stdout == "" and not (tmp_path / "chain").exists()
        # Configuring while the oracle runs takes no lock.
        brand = second.run_command(
            "oracle", "brand", "2", "--name", "Second brand", "--bounty", "1", "--decimals", "18"
        )
        assert brand.returncode == 0, brand.stderr
        with database.read() as session:
            assert session.get(Brand, 2) is not None

        # The first oracle still takes webhooks and puts them on chain.
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data = {"subject": "Still there?", "body": "Hello", "tags": ["wallets"], "requester_id": "cust-after"}
        body = generic_body("ticket_created", "after-refusal", "T-after", now, **data)
        response = httpx.post(
            f"{first.url}/api/v1/webhooks/1/generic", content=body, headers=generic_headers(SECRET, body, brand_id=1)
        )
        assert response.status_code == 200, response.text

        def posted_on_chain() -> bool:
            with database.read() as session:
                event = session.scalars(select(WebhookEvent).where(WebhookEvent.event_key == "after-refusal")).one()
                question = session.scalars(select(Question).where(Question.ticket_id == "T-after")).one_or_none()
                posting = None if question is None else posting_outbox_id(session, question)
                outbox = None if posting is None else session.get(OutboxTx, posting)  # None: still collecting
            return event.status == EventStatus.DONE and outbox is not None and outbox.status == OutboxStatus.CONFIRMED

        wait_for(posted_on_chain, "the first oracle put the ticket on chain")
    finally:
        assert first.stop() == 0, first.log.read_text()[-3000:]
        database.dispose()
    log = first.log.read_text()
    assert "Traceback" not in log, log[-3000:]


def posting_outbox_id(session: Session, question: Question) -> int | None:
    """The write that puts the question on chain: its own `postQuestion`, or its batch's."""
    if question.outbox_id is not None or question.batch_id is None:
        return question.outbox_id
    batch = session.get(QuestionBatch, question.batch_id)
    return None if batch is None else batch.outbox_id

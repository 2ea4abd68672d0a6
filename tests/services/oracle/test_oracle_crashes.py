"""Exactly once, whatever crashes: the oracle process is killed with SIGKILL at random moments, 50
times, while a brand's ticketing system keeps sending webhooks (and retries every delivery until it
is acknowledged, as Zendesk does). Afterwards every acknowledged event is on the chain exactly once,
and the oracle's projections equal a full rescan of the chain."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from devchain import DevLedger, dev_account
from oracle_process import SECRET, OracleProcess, configure_brand, drained
from sqlalchemy import select

from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.ledger_ids import answer_id, question_id, short_string
from peercare.oracle.db import Database, sqlite_url
from peercare.oracle.generic_client import generic_body, generic_headers
from peercare.oracle.indexer import Indexer
from peercare.oracle.manifest import BatchManifest
from peercare.oracle.models import Answer, EventStatus, OutboxStatus, OutboxTx, WebhookEvent
from peercare.oracle.processor import rater_id
from peercare.oracle.projections import projection_snapshot
from peercare.oracle.rpc import Rpc

KILLS = 50
PORT = 8711
ADVOCATES = [dev_account(i) for i in range(3, 9)]


@dataclass
class Delivery:
    kind: str
    event_id: str
    ticket: str
    data: dict[str, object]


def ticket_history(n: int, rng: random.Random) -> Iterator[Delivery]:
    """A ticket's life: opened, answered by two advocates and its requester, solved, rated."""
    ticket = f"T{n}"
    first, second = rng.sample(ADVOCATES, 2)
    tags = rng.sample(["staking", "wallets", "nodes", "urgent", "billing"], 2)
    yield Delivery(
        "ticket_created",
        f"{ticket}-open",
        ticket,
        {"subject": f"Help {n}", "body": "It broke", "tags": tags, "requester_id": f"cust-{n}"},
    )
    yield Delivery(
        "comment_added",
        f"{ticket}-c1",
        ticket,
        {
            "comment_id": "c1",
            "author_id": "adv-a",
            "author_wallet": first.address,
            "body": f"Try A ({n})",
            "public": True,
        },
    )
    yield Delivery(
        "comment_added",
        f"{ticket}-c2",
        ticket,
        {"comment_id": "c2", "author_id": f"cust-{n}", "body": "Thanks", "public": True},
    )
    yield Delivery(
        "comment_added",
        f"{ticket}-c3",
        ticket,
        {
            "comment_id": "c3",
            "author_id": "adv-b",
            "author_wallet": second.address,
            "body": f"Or B ({n})",
            "public": True,
        },
    )
    yield Delivery("ticket_solved", f"{ticket}-solved", ticket, {"solved_by_comment_id": rng.choice(["c1", "c3"])})
    yield Delivery(
        "satisfaction_rated", f"{ticket}-csat", ticket, {"rating": rng.randint(1, 5), "rater_id": f"cust-{n}"}
    )


@dataclass
class Sender:
    """A ticketing system: sends its events in order, retrying each one until acknowledged."""

    url: str
    deliveries: list[Delivery]
    acknowledged: list[Delivery] = field(default_factory=list)
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            for delivery in self.deliveries:
                while not self.stop.is_set():
                    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    body = generic_body(delivery.kind, delivery.event_id, delivery.ticket, now, **delivery.data)
                    try:
                        response = client.post(self.url, content=body, headers=generic_headers(SECRET, body))
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 200:
                        self.acknowledged.append(delivery)
                        break
                    assert response is None or response.status_code >= 500, response.text
                    self.retries += 1
                    time.sleep(0.02)
                if self.stop.is_set():
                    return
                time.sleep(0.005)


@pytest.fixture
def oracle_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    configure_brand(database, 1)
    yield database
    database.dispose()


def test_every_acknowledged_event_is_on_chain_exactly_once_after_50_kills(
    dev_ledger: DevLedger, oracle_database: Database, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261122)
    histories = [list(ticket_history(n, rng)) for n in range(400)]
    # Eight tickets in flight at a time, the events of each in order.
    chunks = (histories[i : i + 8] for i in range(0, len(histories), 8))
    stream = [delivery for chunk in chunks for step in zip(*chunk, strict=True) for delivery in step]
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
            time.sleep(rng.uniform(0.1, 1.0))
            oracle.kill()
            oracle.start()
        sender.stop.set()
        thread.join()
        rpc = Rpc(dev_ledger.url)
        deadline = time.monotonic() + 180
        while not drained(oracle_database, rpc, dev_ledger.oracle.address):
            assert time.monotonic() < deadline, "the oracle did not finish its work within 180 s"
            time.sleep(0.5)
        time.sleep(1.5)  # the indexer's last step
    finally:
        sender.stop.set()
        thread.join()
        assert oracle.stop() == 0, oracle.log.read_text()[-3000:]
    assert kills == KILLS
    assert len(sender.acknowledged) > 300, "too few events got through to test anything"
    assert sender.retries > 0, "no delivery ever met a dead oracle"
    _assert_exactly_once_on_chain(dev_ledger, oracle_database, tmp_path, sender.acknowledged)
    _assert_projections_equal_a_rescan(dev_ledger, oracle_database, tmp_path)


def _assert_exactly_once_on_chain(dev: DevLedger, database: Database, data_dir: Path, acked: list[Delivery]) -> None:
    with database.transaction() as session:
        events = {e.event_key: e for e in session.scalars(select(WebhookEvent))}
        outbox = list(session.scalars(select(OutboxTx)))
        answers = {(a.question_id, a.comment_id): a for a in session.scalars(select(Answer))}
    assert {d.event_id for d in acked} <= set(events), "an acknowledged event was lost"
    assert [e.error for e in events.values() if e.status != EventStatus.DONE] == []
    assert [o.error for o in outbox if o.status != OutboxStatus.CONFIRMED] == []
    # One transaction per outbox row, and no other: the signer's nonce never skipped or repeated.
    assert dev.w3.eth.get_transaction_count(dev.oracle.address) == len(outbox)

    ledger, start = dev.ledger, dev.deployment.deployed_at_block
    posted = Counter(log["args"]["questionId"] for log in ledger.events.QuestionPosted.get_logs(from_block=start))
    anchored = ledger.events.AnswerBatchAnchored.get_logs(from_block=start)
    accepted = Counter(log["args"]["questionId"] for log in ledger.events.AnswerAccepted.get_logs(from_block=start))
    rated = Counter(
        (log["args"]["answerId"], log["args"]["raterId"])
        for log in ledger.events.AnswerRated.get_logs(from_block=start)
    )
    store = EmbeddedStore(data_dir / "content")
    leaves: Counter[bytes] = Counter()
    for log in anchored:
        manifest = BatchManifest.from_bytes(store.get(cid_from_digest(log["args"]["manifestDigest"])))
        assert manifest.tree().root == log["args"]["batchRoot"]
        leaves.update(answer_id(*leaf.value()) for leaf in manifest.leaves)

    source = short_string("generic")
    for delivery in acked:
        qid = question_id(1, source, delivery.ticket)
        if delivery.kind == "ticket_created":
            assert posted[qid] == 1, f"ticket {delivery.ticket} posted {posted[qid]} times"
        elif delivery.kind == "comment_added" and "author_wallet" in delivery.data:
            answer = answers["0x" + qid.hex(), delivery.data["comment_id"]]
            assert leaves[bytes.fromhex(answer.answer_id[2:])] == 1, f"{delivery.event_id} anchored more than once"
        elif delivery.kind == "ticket_solved":
            assert accepted[qid] == 1, f"ticket {delivery.ticket} accepted {accepted[qid]} times"
        elif delivery.kind == "satisfaction_rated":
            rater = rater_id("generic", str(delivery.data["rater_id"]))
            assert sum(n for (_, r), n in rated.items() if r == rater) == 1
    assert sum(posted.values()) == sum(d.kind == "ticket_created" for d in acked)
    assert sum(leaves.values()) == sum(d.kind == "comment_added" and "author_wallet" in d.data for d in acked)


def _assert_projections_equal_a_rescan(dev: DevLedger, database: Database, data_dir: Path) -> None:
    fresh = Database(sqlite_url(data_dir / "rescan.sqlite3"))
    fresh.migrate()
    rpc = Rpc(dev.url)
    indexer = Indexer(fresh, rpc, dev.deployment, EmbeddedStore(data_dir / "content"), confirmations=0)
    while indexer.step():
        pass
    with database.transaction() as live, fresh.transaction() as rescanned:
        assert projection_snapshot(live) == projection_snapshot(rescanned)
    fresh.dispose()

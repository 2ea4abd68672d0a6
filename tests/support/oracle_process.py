"""Running `peercare oracle run` as a real process for the end-to-end tests: started with its
settings in the environment, killed or stopped by its process id."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from peercare.chain.rpc import Rpc
from peercare.content.cid import cid_from_digest
from peercare.content.embedded import EmbeddedStore
from peercare.content.keystore import KeyStore
from peercare.core.ledger_ids import answer_id, question_id, short_string
from peercare.db.database import Database, sqlite_url
from peercare.db.tables.oracle import (
    Answer,
    EventStatus,
    OutboxStatus,
    OutboxTx,
    WebhookCredential,
    WebhookEvent,
)
from peercare.db.tables.projections import IndexerCursor, projection_snapshot, snapshot_differences
from peercare.db.tables.routing import RouteRound
from peercare.oracle.batching import collecting
from peercare.oracle.brands import configure_brand
from peercare.oracle.indexer import Indexer
from peercare.oracle.leadership import LEASE_KEY
from peercare.oracle.manifest import BatchManifest, RatingManifest
from peercare.oracle.posted_questions import questions_on_chain
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers
from tests.support.devchain import DevLedger, dev_account

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ is two levels below the repository
SECRET = "end-to-end-secret"
ADVOCATES = [dev_account(i) for i in range(3, 9)]


def serve_cardano_brand(database: Database, brand_id: int, *, batch_experts: dict[str, str] | None = None) -> None:
    """Configure `brand_id` as the end-to-end tests' brand, with a generic webhook signed by `SECRET`."""
    with database.transaction() as session:
        configure_brand(
            session,
            brand_id,
            "Cardano Support",
            topics=["staking", "wallets", "nodes"],
            default_bounty=10**18,
            bounty_by_tag={"urgent": 5 * 10**18},
            answer_window_s=30 * 86400,
            experts=batch_experts or {},
        )
        session.add(WebhookCredential(brand_id=brand_id, source="generic", secret=SECRET))


class OracleProcess:
    def __init__(
        self,
        dev: DevLedger,
        data_dir: Path,
        database_url: str,
        port: int,
        log_name: str = "oracle.log",
        **settings: str,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir / log_name
        self.env = dict(
            os.environ,
            PEERCARE_DATA_DIR=str(data_dir),
            PEERCARE_DATABASE_URL=database_url,
            PEERCARE_RPC_URL=dev.url,
            PEERCARE_DEPLOYMENT_FILE=str(dev.deployment_file),
            PEERCARE_ORACLE_KEY=dev.oracle.key.hex(),
            PEERCARE_API_PORT=str(port),
        )
        self.env.update({f"PEERCARE_{name.upper()}": value for name, value in settings.items()})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "peercare.cli", "oracle", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the oracle exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"the oracle did not answer within {timeout_s} s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def run_command(self, *args: str, timeout_s: float = 60.0, **env: str | None) -> subprocess.CompletedProcess[str]:
        """`peercare ARGS` with this oracle's settings (`env` changes them; None removes one)."""
        environment = dict(self.env)
        for name, value in env.items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        return subprocess.run(
            [sys.executable, "-m", "peercare.cli", *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


def wait_until_drained(dev: DevLedger, database: Database, timeout_s: float = 180) -> None:
    """Wait until the oracle has nothing left to do, then for its indexer's last step."""
    rpc = Rpc(dev.url)
    deadline = time.monotonic() + timeout_s
    while not drained(database, rpc, dev.oracle.address):
        assert time.monotonic() < deadline, f"the oracle did not finish its work within {timeout_s} s"
        time.sleep(0.5)
    head = int(rpc.call("eth_blockNumber"), 16)
    while _indexed_to(database) < head:  # its indexer (confirmations 0 in these tests) catches up
        assert time.monotonic() < deadline, f"the oracle's indexer did not reach block {head} within {timeout_s} s"
        time.sleep(0.2)
    rpc.close()


def _indexed_to(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(IndexerCursor.block_number)) or -1


def drained(database: Database, rpc: Rpc, oracle_address: str) -> bool:
    """Every event handled, every answer and round of routing in a batch, every outbox row final, and
    the chain has nothing pending from us."""
    with database.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == EventStatus.PENDING)
        )
        unfinished = session.scalar(
            select(func.count())
            .select_from(OutboxTx)
            .where(OutboxTx.status.not_in([OutboxStatus.CONFIRMED, OutboxStatus.FAILED]))
        )
        # A question, answer, acceptance or rating waiting for its batch's age flush has neither a
        # batch nor an outbox row yet.
        unbatched = collecting(session)
        # Likewise a round of routing waiting for its routing batch.
        unanchored = session.scalar(select(func.count()).select_from(RouteRound).where(RouteRound.batch_id.is_(None)))
    return (
        pending == 0
        and unfinished == 0
        and unbatched == 0
        and unanchored == 0
        and rpc.call("eth_getTransactionCount", [oracle_address, "pending"])
        == (rpc.call("eth_getTransactionCount", [oracle_address, "latest"]))
    )


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


def ticket_stream(tickets: int, rng: random.Random) -> list[Delivery]:
    """Eight tickets in flight at a time, the events of each in order."""
    histories = [list(ticket_history(n, rng)) for n in range(tickets)]
    chunks = (histories[i : i + 8] for i in range(0, len(histories), 8))
    return [delivery for chunk in chunks for step in zip(*chunk, strict=True) for delivery in step]


@dataclass
class Sender:
    """A ticketing system: sends its events in order, retrying each one until acknowledged. With
    `others`, it is behind a load balancer: each try goes to the next oracle process in turn (the
    other one at once when one does not answer), and it pauses only after every process failed."""

    url: str
    deliveries: list[Delivery]
    acknowledged: list[Delivery] = field(default_factory=list)
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    others: list[str] = field(default_factory=list)
    brand_id: int = 1  # the brand `url` posts to: the generic signature binds it

    def run(self) -> None:
        urls, turn = [self.url, *self.others], 0
        with httpx.Client(timeout=5.0) as client:
            for delivery in self.deliveries:
                while not self.stop.is_set():
                    url = urls[turn % len(urls)]
                    turn += 1
                    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    body = generic_body(delivery.kind, delivery.event_id, delivery.ticket, now, **delivery.data)
                    try:
                        headers = generic_headers(SECRET, body, brand_id=self.brand_id)
                        response = client.post(url, content=body, headers=headers)
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 200:
                        self.acknowledged.append(delivery)
                        break
                    assert response is None or response.status_code >= 500, response.text
                    self.retries += 1
                    if turn % len(urls) == 0:
                        time.sleep(0.02)
                if self.stop.is_set():
                    return
                time.sleep(0.005)


def assert_exactly_once_on_chain(dev: DevLedger, database: Database, data_dir: Path, acked: list[Delivery]) -> None:
    with database.transaction() as session:
        events = {e.event_key: e for e in session.scalars(select(WebhookEvent))}
        outbox = list(session.scalars(select(OutboxTx)))
        answers = {(a.question_id, a.comment_id): a for a in session.scalars(select(Answer))}
    assert {d.event_id for d in acked} <= set(events), "an acknowledged event was lost"
    unhandled = [(e.event_key, e.status, e.error) for e in events.values() if e.status != EventStatus.DONE]
    assert unhandled == [], f"events not handled: {unhandled}"
    unconfirmed = [(o.id, o.kind, o.status, o.error) for o in outbox if o.status != OutboxStatus.CONFIRMED]
    assert unconfirmed == [], f"outbox rows not confirmed: {unconfirmed}"
    # One transaction per outbox row, and no other: the signer's nonce never skipped or repeated.
    assert dev.w3.eth.get_transaction_count(dev.oracle.address) == len(outbox)

    ledger, start = dev.ledger, dev.deployment.deployed_at_block
    store = EmbeddedStore(data_dir / "content")
    posted = Counter({qid: len(postings) for qid, postings in questions_on_chain(ledger, store, start).items()})
    anchored = ledger.events.AnswerBatchAnchored.get_logs(from_block=start)
    accepted = Counter(log["args"]["questionId"] for log in ledger.events.AnswerAccepted.get_logs(from_block=start))
    rated = Counter(
        (log["args"]["answerId"], log["args"]["raterId"])
        for log in ledger.events.AnswerRated.get_logs(from_block=start)
    )
    for log in ledger.events.RatingBatchAnchored.get_logs(from_block=start):  # the oracle's default
        ratings = RatingManifest.from_bytes(store.get(cid_from_digest(log["args"]["manifestDigest"])))
        assert ratings.tree().root == log["args"]["batchRoot"]
        rated.update((leaf.answer_id, leaf.rater_id) for leaf in ratings.leaves)
    keys = KeyStore.in_folder(data_dir)  # the customers' pseudonyms: their rater ids on chain
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
            rater = keys.pseudonym(dev.brand_id, "generic", str(delivery.data["rater_id"]))
            assert sum(n for (_, r), n in rated.items() if r == rater) == 1
    assert sum(posted.values()) == sum(d.kind == "ticket_created" for d in acked)
    assert sum(leaves.values()) == sum(d.kind == "comment_added" and "author_wallet" in d.data for d in acked)
    keys.close()


def assert_projections_equal_a_rescan(dev: DevLedger, database: Database, data_dir: Path) -> None:
    fresh = Database(sqlite_url(data_dir / "rescan.sqlite3"))
    fresh.migrate()
    rpc = Rpc(dev.url)
    indexer = Indexer(fresh, rpc, dev.deployment, EmbeddedStore(data_dir / "content"), confirmations=0)
    indexer.catch_up()
    with database.transaction() as live, fresh.transaction() as rescanned:
        differences = snapshot_differences(projection_snapshot(live), projection_snapshot(rescanned))
    fresh.dispose()
    shown = {table: (live_only[:3], rescan_only[:3]) for table, (live_only, rescan_only) in differences.items()}
    assert differences == {}, f"(rows only in the live index, rows only in the rescan), per table: {shown}"


def lease_holder_pid(database: Database) -> int | None:
    """The process id of the oracle that holds the writer's lease (PostgreSQL), from its lease
    connection's application name ("peercare-oracle <content store> <pid>@<host>")."""
    with database.read() as session:
        name = session.scalar(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = :high AND l.objid = :low AND l.objsubid = 1 "
                "AND l.granted"
            ),
            {"high": LEASE_KEY >> 32, "low": LEASE_KEY & 0xFFFFFFFF},
        )
    return None if name is None else int(name.split(" ")[2].split("@")[0])

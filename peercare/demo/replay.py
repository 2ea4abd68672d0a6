"""Replaying a plan (`plan.py`) against a running PeerCare, the way a brand would.

`peercare up` runs in another terminal; this process shares its data folder (the oracle's
database, where it configures the demo brand and its webhook secret like `peercare oracle brand`
and `peercare oracle webhook` do, and the content store, where advocates' answers are drafted
before they sign them, like the API's draft route does) and talks to its HTTP API and chain:

1. set-up, idempotent: find the brand by name in the oracle's database, or register one on the
   local chain (anvil #2 its admin, the oracle's signer its oracle); configure its topics, bounties
   and answer window; keep or create its generic webhook secret; top its pool up to the bounties of
   the questions not posted yet;
2. deliveries, one at a time in plan order (the order the oracle handles them, hence the order of
   each advocate's signed answers and their nonces), re-sent on a second run and answered
   "duplicate" by the oracle;
3. waiting for the oracle to handle every event, settle every chain write and index it, mining
   empty blocks on the local chain so that the last writes reach their confirmation depth;
4. a reputation epoch published through the oracle's outbox (or the latest one reused when it
   already covers this brand's history), then the summary, read from the indexed chain events.
"""

from __future__ import annotations

import heapq
import json
import random
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import click
import httpx
from eth_utils.address import to_checksum_address
from sqlalchemy import distinct, func, select
from web3 import Web3

from peercare.chain.deployment import Deployment, DeploymentError
from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, dev_account, register_funded_brand, transact
from peercare.chain.rpc import Rpc
from peercare.config import LOCAL_CHAIN_ID, Settings
from peercare.content.cid import digest_from_cid
from peercare.content.document import Conversation
from peercare.content.vault import Vault
from peercare.core.ledger_ids import question_id, reputation_topic, short_string
from peercare.core.typed_data import answer_typed_data, sign_answer
from peercare.db.database import Database
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import (
    Answer,
    Brand,
    EventStatus,
    OutboxStatus,
    OutboxTx,
    Question,
    WebhookCredential,
    WebhookEvent,
)
from peercare.db.tables.reputation import ReputationEpoch
from peercare.demo.plan import (
    DEFAULT_BOUNTY,
    DEFAULT_TOPIC,
    SOURCE,
    TOKEN,
    TOPIC_BOUNTY,
    Delivery,
    Plan,
    advocate_account,
    topic_of,
)
from peercare.oracle.account import OracleConfigError, oracle_account
from peercare.oracle.processor import answer_conversation
from peercare.oracle.webhooks.generic_client import generic_headers
from peercare.reputation.chain import (
    PublicationError,
    chain_latest_epoch,
    holds_publisher_role,
    latest_complete_cut,
    next_epoch,
    publish_epoch,
    roots_contract,
)

ANSWER_WINDOW_S = 30 * 86_400  # long enough for any replay: acceptances must come before it ends
SIGNATURE_VALIDITY_S = 86_400
CREDENTIALS_DELAY_S = 15.0  # the intake re-reads webhook secrets every few seconds
CONCURRENCY = 8  # deliveries in flight at once (of different tickets and advocates)
POLL_S = 0.25
MINE_AFTER_S = 0.5  # a local chain idle this long while writes wait for confirmations gets a block
_SETTLED = (OutboxStatus.CONFIRMED, OutboxStatus.FAILED)


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


def brand_name(site: str) -> str:
    return f"{site} (Stack Exchange demo)"


# ---------------------------------------------------------------- connecting


@dataclass
class Connection:
    """A running PeerCare as the demo reaches it: its API, chain, database and content store."""

    settings: Settings
    deployment: Deployment
    w3: Web3
    rpc: Rpc
    database: Database
    vault: Vault
    http: httpx.Client
    oracle_address: str

    @property
    def api_base(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def close(self) -> None:
        self.http.close()
        self.rpc.close()
        self.vault.close()
        self.database.dispose()


@contextmanager
def connect(settings: Settings) -> Iterator[Connection]:
    """Reach the running PeerCare, or say what is missing."""

    base = f"http://{settings.api_host}:{settings.api_port}"
    http = httpx.Client(base_url=base, timeout=30.0)
    try:
        http.get("/api/v1/health")
    except httpx.TransportError as exc:
        http.close()
        raise DemoError(
            f"no PeerCare API answers at {base} ({type(exc).__name__}): start it with `peercare up` in another "
            "terminal, with the same PEERCARE_* settings as this command"
        ) from None
    try:
        deployment = Deployment.load(settings.deployment_path)
    except DeploymentError as exc:
        http.close()
        raise DemoError(f"{exc} (is `peercare up` using PEERCARE_DATA_DIR={settings.data_dir}?)") from None
    w3 = Web3(Web3.HTTPProvider(settings.effective_rpc_url))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        http.close()
        raise DemoError(f"the chain at {settings.effective_rpc_url} does not answer: {exc}") from None
    if chain_id != deployment.chain_id or chain_id != LOCAL_CHAIN_ID:
        http.close()
        raise DemoError(
            f"the demo registers and funds its brand with anvil's public dev accounts, so it runs only on the "
            f"local chain {LOCAL_CHAIN_ID}; {settings.effective_rpc_url} is chain {chain_id} "
            f"(the deployment manifest says {deployment.chain_id})"
        )
    try:
        oracle = oracle_account(settings, chain_id).address
    except OracleConfigError as exc:
        http.close()
        raise DemoError(str(exc)) from None
    database = Database(settings.effective_database_url)
    database.migrate()
    connection = Connection(
        settings,
        deployment,
        w3,
        Rpc(settings.effective_rpc_url, timeout_s=settings.rpc_timeout_s),
        database,
        Vault.open(settings.data_dir, ipfs_api_url=settings.ipfs_api_url),
        http,
        oracle,
    )
    try:
        yield connection
    finally:
        connection.close()


# ---------------------------------------------------------------- set-up


@dataclass(frozen=True)
class BrandSetup:
    brand_id: int
    secret: str
    registered: bool  # now, by this run
    deposited: int  # tokens (wei) added to the pool by this run


def bounty_rules(plan: Plan) -> dict[str, str]:
    return {topic: str(TOPIC_BOUNTY) for topic in plan.topics}


def set_up_brand(conn: Connection, plan: Plan) -> BrandSetup:
    """Find or register the demo brand, configure it in the oracle, fund its pool. Idempotent."""
    name = brand_name(plan.site)
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    admin = dev_account(BRAND_ADMIN)
    with conn.database.read() as session:
        brand_id = session.scalar(select(Brand.id).where(Brand.name == name).order_by(Brand.id).limit(1))
    registered = brand_id is None
    if brand_id is None:
        brand_id = register_funded_brand(
            conn.w3, conn.deployment, admin=admin, oracle=conn.oracle_address, funds=0, minter=dev_account(DEPLOYER)
        )
    else:
        _check_brand_on_chain(ledger, brand_id, admin.address, conn.oracle_address)
    with conn.database.transaction() as session:
        row = session.get(Brand, brand_id) or Brand(id=brand_id, created_at_ms=int(time.time() * 1000))
        row.name, row.default_topic, row.topics = name, DEFAULT_TOPIC, sorted(plan.topics)
        row.default_bounty, row.bounty_by_tag = DEFAULT_BOUNTY, bounty_rules(plan)
        row.answer_window_s, row.experts = ANSWER_WINDOW_S, {}
        session.add(row)
        session.flush()
        credential = session.get(WebhookCredential, (brand_id, SOURCE))
        if credential is None:
            credential = WebhookCredential(brand_id=brand_id, source=SOURCE, secret=secrets.token_urlsafe(32))
            session.add(credential)
        secret = credential.secret
    return BrandSetup(brand_id, secret, registered, _fund(conn, plan, brand_id))


def _check_brand_on_chain(ledger: Any, brand_id: int, admin: str, oracle: str) -> None:
    try:
        on_chain_admin = ledger.functions.brand(brand_id).call()[0]
    except Exception:
        raise DemoError(
            f"the oracle's database configures brand {brand_id} for the demo, but the chain has no such brand: "
            "was the chain reset without the database? Use a fresh PEERCARE_DATA_DIR"
        ) from None
    if on_chain_admin != admin or not ledger.functions.isBrandOracle(brand_id, oracle).call():
        raise DemoError(
            f"brand {brand_id} on chain is not the demo's (admin {on_chain_admin}, expected {admin} with oracle "
            f"{oracle}): rename or remove brand {brand_id} in the oracle's database"
        )


def _fund(conn: Connection, plan: Plan, brand_id: int) -> int:
    """Deposit what the pool lacks for the bounties of the plan's questions not posted yet."""
    with conn.database.read() as session:
        posted = set(
            session.scalars(select(Question.ticket_id).where(Question.brand_id == brand_id, Question.source == SOURCE))
        )
    needed = sum(plan.bounty_of(t) for t in plan.tickets if t.ticket_id not in posted)
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    available = int(ledger.functions.pool(brand_id).call()[0])
    missing = needed - available
    if missing <= 0:
        return 0
    token = conn.deployment.contract(conn.w3, "PeerCareToken")
    admin = dev_account(BRAND_ADMIN)
    transact(conn.w3, dev_account(DEPLOYER), token.functions.mint(admin.address, missing))
    transact(conn.w3, admin, token.functions.approve(ledger.address, missing))
    transact(conn.w3, admin, ledger.functions.deposit(brand_id, missing))
    return missing


# ---------------------------------------------------------------- deliveries


@dataclass
class Sent:
    accepted: int = 0
    duplicate: int = 0
    ignored: int = 0
    signed: int = 0  # deliveries that carried an advocate's signature

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.ignored


def answer_document(plan: Plan, brand_id: int, delivery: Delivery) -> Conversation:
    """The stored document of a signed answer, exactly as the oracle's processor will build it from
    the delivered event: its digest is what the advocate signs."""
    assert delivery.signer is not None
    tags = plan.tags_by_ticket[delivery.ticket_id]
    return answer_conversation(
        brand_id,
        SOURCE,
        delivery.ticket_id,
        topic_of(tags, plan.topics, DEFAULT_TOPIC),
        "advocate",
        advocate_account(plan.site, delivery.signer).address,
        delivery.occurred_at,
        str(delivery.data["body"]),
    )


class Signer:
    """Advocates drafting and signing their answers: the answer document stored in the content
    store first (as the API's draft route does), then its digest signed with EIP-712."""

    def __init__(self, conn: Connection, plan: Plan, brand_id: int) -> None:
        self.conn, self.plan, self.brand_id = conn, plan, brand_id
        self.ledger = conn.deployment.contracts["PeerCareLedger"].address

    def signature(self, delivery: Delivery) -> dict[str, Any]:
        assert delivery.signer is not None and delivery.nonce is not None
        account = advocate_account(self.plan.site, delivery.signer)
        digest = digest_from_cid(self.conn.vault.put(answer_document(self.plan, self.brand_id, delivery)))
        deadline = int(time.time()) + SIGNATURE_VALIDITY_S
        typed = answer_typed_data(
            chain_id=self.conn.deployment.chain_id,
            ledger=self.ledger,
            question_id=question_id(self.brand_id, short_string(SOURCE), delivery.ticket_id),
            content_digest=digest,
            nonce=delivery.nonce,
            deadline=deadline,
        )
        signature = "0x" + sign_answer(account.key, typed).hex()
        return {"nonce": delivery.nonce, "deadline": deadline, "signature": signature}


def send_all(
    conn: Connection,
    plan: Plan,
    setup: BrandSetup,
    *,
    rate: float,
    bar_file: TextIO | None,
    concurrency: int = CONCURRENCY,
) -> Sent:
    """Deliver every event of the plan, at most `rate` per second (0: no limit) and `concurrency` at
    once. A delivery is sent only once the oracle has acknowledged (stored) the deliveries it must
    follow (`Plan.predecessors`), so the oracle handles each ticket's events, and each advocate's
    signed answers, in plan order; other tickets go in parallel, first in plan order first."""
    signer = Signer(conn, plan, setup.brand_id)
    path = f"/api/v1/webhooks/{setup.brand_id}/{SOURCE}"
    sent = Sent()
    deliveries = list(plan.deliveries())
    waiting_on = [len(before) for before in plan.predecessors()]
    followers: list[list[int]] = [[] for _ in deliveries]
    for n, before in enumerate(plan.predecessors()):
        for m in before:
            followers[m].append(n)
    ready = [n for n, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    started = time.monotonic()
    credentials_until = started + CREDENTIALS_DELAY_S

    def deliver(delivery: Delivery) -> str:
        extra = {}
        if delivery.signer is not None:
            extra["signature"] = signer.signature(delivery)
        body = delivery.body(**extra)
        return _post(conn.http, path, body, setup.secret, setup.brand_id, delivery, credentials_until)

    submitted = 0
    in_flight: dict[Future[str], int] = {}
    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="peercare-demo-send") as pool,
        click.progressbar(length=len(deliveries), label="sending webhooks", file=bar_file, show_pos=True) as bar,
    ):
        while ready or in_flight:
            while ready and len(in_flight) < concurrency:
                if rate > 0 and (pause := started + submitted / rate - time.monotonic()) > 0:
                    if in_flight:
                        break  # collect answers meanwhile
                    time.sleep(pause)
                n = heapq.heappop(ready)
                in_flight[pool.submit(deliver, deliveries[n])] = n
                submitted += 1
            timeout = None if not (rate > 0 and ready) else max(0.0, started + submitted / rate - time.monotonic())
            finished, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                n = in_flight.pop(future)
                status = future.result()  # a DemoError stops everything: what was stored stays stored
                sent.signed += deliveries[n].signer is not None
                if status == "accepted":
                    sent.accepted += 1
                elif status == "duplicate":
                    sent.duplicate += 1
                else:
                    sent.ignored += 1
                for m in followers[n]:
                    waiting_on[m] -= 1
                    if waiting_on[m] == 0:
                        heapq.heappush(ready, m)
                bar.update(1)
    return sent


def _post(
    http: httpx.Client,
    path: str,
    body: bytes,
    secret: str,
    brand_id: int,
    delivery: Delivery,
    credentials_until: float,
) -> str:
    """POST one delivery; retry what may pass later (the secret not loaded yet, 429 once its
    Retry-After has passed, 503, transport)."""
    for attempt in range(1, 61):
        try:
            response = http.post(path, content=body, headers=generic_headers(secret, body, brand_id=brand_id))
        except httpx.TransportError as exc:
            if attempt >= 10:
                raise DemoError(f"{delivery.event_id}: the API stopped answering ({type(exc).__name__})") from None
            time.sleep(min(5.0, 0.2 * 2**attempt))
            continue
        if response.status_code == 200:
            return str(response.json().get("status"))
        if response.status_code == 429:  # the brand's webhook burst is spent: wait as told (jittered), go on
            time.sleep(_retry_after(response) + random.uniform(0.0, 0.5))
            continue
        retry = response.status_code == 503 and attempt < 10
        retry |= response.status_code == 404 and time.monotonic() < credentials_until
        if not retry:
            raise DemoError(_refusal(response, delivery, path))
        time.sleep(0.5 if response.status_code == 404 else min(5.0, 0.2 * 2**attempt))
    raise DemoError(_refusal(response, delivery, path))


def _retry_after(response: httpx.Response) -> float:
    """The 429's `Retry-After` in seconds (1 when absent or not a number of seconds), at most 60."""
    value = response.headers.get("retry-after", "")
    return min(60.0, float(value)) if value.isdigit() else 1.0


def _refusal(response: httpx.Response, delivery: Delivery, path: str) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    hint = ""
    if response.status_code == 404:
        hint = (
            " (the API does not know this brand's generic webhook: is `peercare up` using the same "
            "PEERCARE_DATA_DIR or PEERCARE_DATABASE_URL as this command?)"
        )
    return f"{delivery.event_id}: POST {path} answered {response.status_code}: {detail}{hint}"


# ---------------------------------------------------------------- waiting


@dataclass
class Progress:
    done: int
    total: int
    ready: bool  # this phase is over


def wait_for(
    label: str,
    measure: Callable[[], Progress],
    *,
    bar_file: TextIO | None,
    timeout_s: float,
    stalled: Callable[[], None] | None = None,
    what: str = "the oracle",
) -> None:
    """Show a progress bar until `measure` says the phase is over; call `stalled` whenever progress
    has stopped for `MINE_AFTER_S`; give up after `timeout_s` without progress."""
    state = measure()
    with click.progressbar(length=max(state.total, 1), label=label, file=bar_file, show_pos=True) as bar:
        shown, last_change = 0, time.monotonic()
        while True:
            bar.length = max(state.total, 1)
            if state.done != shown:
                bar.update(state.done - shown)
                shown, last_change = state.done, time.monotonic()
            if state.ready:
                return
            idle = time.monotonic() - last_change
            if idle > timeout_s:
                raise DemoError(
                    f"{label}: no progress for {timeout_s:.0f} s ({state.done} of {state.total}): "
                    f"is {what} (`peercare up`) still running? Its log says why it is stuck"
                )
            if stalled is not None and idle >= MINE_AFTER_S:
                stalled()
            time.sleep(POLL_S)
            state = measure()


class Watcher:
    """Where the oracle is with one brand's work, read from its database and the chain."""

    def __init__(self, conn: Connection, brand_id: int) -> None:
        self.conn, self.brand_id = conn, brand_id
        self._last_head = -1
        self._last_head_at = time.monotonic()

    def events(self) -> Progress:
        """Events handled, and no answer waiting for its batch to be sealed."""
        with self.conn.database.read() as session:
            counts = dict(
                session.execute(
                    select(WebhookEvent.status, func.count())
                    .where(WebhookEvent.brand_id == self.brand_id)
                    .group_by(WebhookEvent.status)
                ).all()
            )
            unbatched = session.scalar(
                select(func.count())
                .select_from(Answer)
                .where(Answer.brand_id == self.brand_id, Answer.batch_id.is_(None), Answer.outbox_id.is_(None))
            )
        total = sum(counts.values())
        pending = counts.get(EventStatus.PENDING, 0)
        return Progress(total - pending, total, pending == 0 and unbatched == 0)

    def writes(self) -> Progress:
        """Chain writes confirmed (or failed) among the brand's outbox rows."""
        with self.conn.database.read() as session:
            counts = dict(
                session.execute(
                    select(OutboxTx.status, func.count())
                    .where(OutboxTx.brand_id == self.brand_id)
                    .group_by(OutboxTx.status)
                ).all()
            )
        total = sum(counts.values())
        settled = sum(counts.get(status, 0) for status in _SETTLED)
        return Progress(settled, total, settled == total)

    def indexed(self) -> Progress:
        """Blocks indexed up to the last block holding one of the brand's writes."""
        with self.conn.database.read() as session:
            target = session.scalar(select(func.max(OutboxTx.block_number)).where(OutboxTx.brand_id == self.brand_id))
            cursor = session.get(ix.Cursor, 1)
        reached = -1 if cursor is None else cursor.block_number
        if target is None:
            return Progress(1, 1, True)
        return Progress(min(reached, target), target, reached >= target)

    def mine_if_idle(self) -> None:
        """A block on the local chain when it has been idle: anvil mines only when sent a
        transaction, and the oracle's last writes wait for `confirmations` blocks above them."""
        head = int(self.conn.rpc.call("eth_blockNumber"), 16)
        now = time.monotonic()
        if head != self._last_head:
            self._last_head, self._last_head_at = head, now
        elif now - self._last_head_at >= MINE_AFTER_S:
            self.conn.rpc.call("evm_mine")
            self._last_head_at = now


def wait_for_oracle(conn: Connection, brand_id: int, *, bar_file: TextIO | None, timeout_s: float) -> None:
    watcher = Watcher(conn, brand_id)
    wait_for("oracle handling events ", watcher.events, bar_file=bar_file, timeout_s=timeout_s)
    wait_for(
        "chain writes confirmed ",
        watcher.writes,
        bar_file=bar_file,
        timeout_s=timeout_s,
        stalled=watcher.mine_if_idle,
    )
    wait_for(
        "indexing chain events  ",
        watcher.indexed,
        bar_file=bar_file,
        timeout_s=timeout_s,
        stalled=watcher.mine_if_idle,
    )


# ---------------------------------------------------------------- reputation


@dataclass(frozen=True)
class EpochInfo:
    epoch: int | None
    cut: int | None
    published_now: bool
    manifest_cid: str | None
    note: str | None = None  # why there is no epoch, when there is none
    top: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def last_write_time(conn: Connection, brand_id: int) -> int | None:
    """Block time of the brand's latest confirmed write."""
    with conn.database.read() as session:
        block = session.scalar(
            select(func.max(OutboxTx.block_number)).where(
                OutboxTx.brand_id == brand_id, OutboxTx.status == OutboxStatus.CONFIRMED
            )
        )
    if block is None:
        return None
    header = conn.rpc.call("eth_getBlockByNumber", [hex(block), False])
    return int(header["timestamp"], 16)


def publish_reputation(
    conn: Connection, plan: Plan, brand_id: int, *, bar_file: TextIO | None, timeout_s: float
) -> EpochInfo:
    """The epoch covering the brand's history: the latest one if it does, else a new one queued
    with the oracle's outbox (`publish_epoch`, latest complete cut), once on chain and indexed."""
    since = last_write_time(conn, brand_id)
    if since is None:
        return EpochInfo(None, None, False, None, "nothing of this brand is on chain yet")
    with conn.database.read() as session:
        latest = session.scalars(select(ReputationEpoch).order_by(ReputationEpoch.epoch.desc()).limit(1)).first()
    published_now = False
    if latest is not None and latest.cut >= since:
        epoch, cut, cid = latest.epoch, latest.cut, latest.manifest_cid
    else:
        roots = roots_contract(conn.deployment)
        if not holds_publisher_role(conn.rpc, roots, conn.oracle_address):
            return EpochInfo(
                None, None, False, None, f"the oracle {conn.oracle_address} may not publish reputation roots"
            )
        watcher = Watcher(conn, brand_id)

        def covered() -> Progress:
            cut = latest_complete_cut(conn.database, conn.rpc)
            return Progress(int(cut >= since), 1, cut >= since)

        wait_for(
            "indexing up to a cut   ", covered, bar_file=bar_file, timeout_s=timeout_s, stalled=watcher.mine_if_idle
        )
        with conn.database.read() as session:
            epoch = next_epoch(session, chain_latest=chain_latest_epoch(conn.rpc, roots))
        try:
            published = publish_epoch(
                conn.database,
                conn.deployment,
                conn.vault.stores[0],
                conn.rpc,
                epoch=epoch,
                cut=latest_complete_cut(conn.database, conn.rpc),
            )
        except PublicationError as exc:
            return EpochInfo(None, None, False, None, f"no epoch published: {exc}")
        epoch, cut, cid, published_now = published.epoch, published.cut, published.manifest_cid, True
    _wait_for_epoch(conn, epoch, bar_file=bar_file, timeout_s=timeout_s)
    manifest = json.loads(conn.vault.stores[0].get(cid))
    return EpochInfo(epoch, cut, published_now, cid, top=top_advocates(manifest, plan, brand_id))


def _wait_for_epoch(conn: Connection, epoch: int, *, bar_file: TextIO | None, timeout_s: float) -> None:
    watcher = Watcher(conn, 0)

    def measure() -> Progress:
        with conn.database.read() as session:
            row = session.scalar(
                select(OutboxTx)
                .join(ReputationEpoch, ReputationEpoch.outbox_id == OutboxTx.id)
                .where(ReputationEpoch.epoch == epoch)
            )
            indexed = session.scalar(select(func.count()).where(ix.ReputationRoot.epoch == epoch))
        if row is not None and row.status == OutboxStatus.FAILED:
            raise DemoError(f"publishing reputation epoch {epoch} failed on chain: {row.error}")
        confirmed = row is not None and row.status == OutboxStatus.CONFIRMED
        done = int(confirmed) + int(bool(indexed))
        return Progress(done, 2, bool(indexed))

    wait_for(
        f"publishing epoch {epoch:<6} ", measure, bar_file=bar_file, timeout_s=timeout_s, stalled=watcher.mine_if_idle
    )


def top_advocates(
    manifest: dict[str, Any], plan: Plan, brand_id: int, count: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """The `count` best scores in each of the brand's topics (namespaced by the brand: reputation
    is per brand and topic), from an epoch manifest."""
    topics = {"0x" + reputation_topic(brand_id, short_string(t)).hex(): t for t in (*plan.topics, DEFAULT_TOPIC)}
    by_topic: dict[str, list[tuple[int, str]]] = {t: [] for t in topics.values()}
    for entry in manifest["tree"]["values"]:
        advocate, topic_hex, score = entry["value"]
        topic = topics.get(str(topic_hex).lower())
        if topic is not None:
            by_topic[topic].append((int(score), to_checksum_address(advocate)))
    top: dict[str, list[dict[str, Any]]] = {}
    for topic, scores in sorted(by_topic.items()):
        best = sorted(scores, key=lambda item: (-item[0], item[1]))[:count]
        top[topic] = [
            {"advocate": address, "se_user": plan.advocates.get(address), "score": score} for score, address in best
        ]
    return top


# ---------------------------------------------------------------- summary


def chain_figures(conn: Connection, brand_id: int) -> dict[str, Any]:
    """The brand's history as indexed from the chain's events, its pool as the ledger holds it, and
    the gas of the oracle's writes for it."""
    with conn.database.read() as session:
        questions = select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
        posted = session.scalar(select(func.count()).where(ix.QuestionPosted.brand_id == brand_id))
        answers = dict(
            session.execute(
                select(ix.AnswerRow.batch_root.is_(None), func.count())
                .where(ix.AnswerRow.question_id.in_(questions))
                .group_by(ix.AnswerRow.batch_root.is_(None))
            ).all()
        )
        batches = session.scalar(
            select(func.count(distinct(ix.AnswerRow.batch_root))).where(
                ix.AnswerRow.question_id.in_(questions), ix.AnswerRow.batch_root.is_not(None)
            )
        )
        ratings = session.scalar(select(func.count()).where(ix.Rating.question_id.in_(questions)))
        acceptances = session.scalar(select(func.count()).where(ix.Acceptance.question_id.in_(questions)))
        paid = sum(session.scalars(select(ix.RewardCredit.amount).where(ix.RewardCredit.question_id.in_(questions))))
        gas = session.scalars(select(OutboxTx.gas_used).where(OutboxTx.brand_id == brand_id))
        gas_used = sum(g for g in gas if g is not None)
        failed_events = session.scalar(
            select(func.count()).where(WebhookEvent.brand_id == brand_id, WebhookEvent.status == EventStatus.FAILED)
        )
        failed_writes = session.scalar(
            select(func.count()).where(OutboxTx.brand_id == brand_id, OutboxTx.status == OutboxStatus.FAILED)
        )
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    available, escrowed = ledger.functions.pool(brand_id).call()
    return {
        "questions": posted or 0,
        "answers": (answers.get(True, 0) or 0) + (answers.get(False, 0) or 0),
        "answers_relayed": answers.get(True, 0) or 0,
        "answers_batched": answers.get(False, 0) or 0,
        "batches": batches or 0,
        "ratings": ratings or 0,
        "acceptances": acceptances or 0,
        "gas_used": gas_used,
        "tokens_paid": paid,
        "pool_available": int(available),
        "pool_escrowed": int(escrowed),
        "failed_events": failed_events or 0,
        "failed_writes": failed_writes or 0,
    }


def tokens(amount: int) -> str:
    whole, rest = divmod(amount, TOKEN)
    return f"{whole:,}" + (f".{rest:018d}".rstrip("0") if rest else "")


def describe(summary: dict[str, Any]) -> list[str]:
    """The summary as lines for a person."""
    chain = summary["chain"]
    sent = summary["deliveries"]
    lines = [
        f"brand {summary['brand_id']} ({summary['brand']}), questions {summary['questions_planned']} planned "
        f"of the dump's {summary['questions_in_dump']}",
        f"  deliveries this run   {sent['total']:,} ({sent['accepted']:,} new, {sent['duplicate']:,} duplicates"
        f"{', ' + format(sent['ignored'], ',') + ' ignored' if sent['ignored'] else ''})",
        f"  questions posted      {chain['questions']:,}",
        f"  answers               {chain['answers']:,}: {chain['answers_relayed']:,} relayed with the advocate's "
        f"signature, {chain['answers_batched']:,} anchored in {chain['batches']:,} Merkle batches",
        f"  ratings               {chain['ratings']:,}",
        f"  acceptances           {chain['acceptances']:,}",
        f"  gas used (oracle)     {chain['gas_used']:,}",
        f"  tokens paid           {tokens(chain['tokens_paid'])} {summary['token']}",
        f"  pool                  {tokens(chain['pool_available'])} {summary['token']} available, "
        f"{tokens(chain['pool_escrowed'])} escrowed",
    ]
    if chain["failed_events"] or chain["failed_writes"]:
        lines.append(
            f"  FAILED                {chain['failed_events']} events, {chain['failed_writes']} chain writes "
            "(see the oracle's database: webhook_events.error, outbox.error)"
        )
    epoch = summary["epoch"]
    if epoch["epoch"] is None:
        lines.append(f"  reputation            {epoch['note']}")
    else:
        how = "published now" if epoch["published_now"] else "already covering this history"
        lines.append(
            f"  top advocates per topic, reputation epoch {epoch['epoch']} ({how}; 1.00 = one fresh acceptance):"
        )
        for topic, best in epoch["top"].items():
            if not best:
                continue
            names = ", ".join(
                f"{'se-user-' + str(b['se_user']) if b['se_user'] is not None else b['advocate']} "
                f"{b['score'] / 1_000_000:.2f}"
                for b in best
            )
            lines.append(f"    {topic:24} {names}")
    at = summary.get("timings", {})
    steps = ", ".join(f"{name.removesuffix('_s').replace('_', ' ')} at {seconds:.1f}" for name, seconds in at.items())
    lines.append(f"  elapsed               {summary['elapsed_s']:.1f} s ({steps})")
    return lines

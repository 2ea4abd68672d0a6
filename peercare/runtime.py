"""`peercare oracle run`: webhook intake and the HTTP API, processor, signer, indexer and router in one process.

Each worker is a loop in its own thread that keeps going through errors (logged, then retried
after a pause): a database or chain that is briefly unreachable delays work, it never loses it,
because every step is a database transaction and the outbox is persistent.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI

from peercare.api.app import create_app
from peercare.api.context import ApiContext
from peercare.api.intake import Intake
from peercare.api.limits import RateLimiter
from peercare.chain.deployment import Deployment
from peercare.chain.revert_reasons import RevertReasons
from peercare.chain.rpc import Rpc
from peercare.config import Settings
from peercare.content.store import EveryStore, Store
from peercare.content.vault import Vault
from peercare.db.database import Database
from peercare.oracle.account import oracle_account
from peercare.oracle.deliveries.sender import DeliverySender
from peercare.oracle.indexer import Indexer
from peercare.oracle.leadership import Leadership, PostgresLease, content_identity, lock_sqlite_database
from peercare.oracle.processor import Processor
from peercare.oracle.signer import Signer, SignerError
from peercare.routing.anchors import RoutingAnchorer
from peercare.routing.live import Router
from peercare.routing.offers import OfferParams

log = logging.getLogger("peercare.oracle")

ERROR_PAUSE_S = 1.0


class WorkerStopped(RuntimeError):
    """A worker met an error that retrying cannot mend (`Worker.fatal`); the message says which."""


@dataclass
class Worker:
    """A step function run in a loop until `stop` is set; idles when a step did nothing. A failing
    step is logged and retried after `ERROR_PAUSE_S`, except an exception of the `fatal` types (a
    `SignerError`: "fix the configuration"), which ends the loop and is handed to `on_fatal`. With
    `observe_step` (`Metrics.observe_step`: runs the step and records its duration and outcome
    under the worker's name), every step is measured."""

    name: str
    step: Callable[[], int]
    idle_s: float
    errors: int = 0
    thread: threading.Thread | None = field(default=None, repr=False)
    observe_step: Callable[[str, Callable[[], int]], int] | None = field(default=None, repr=False)
    fatal: tuple[type[Exception], ...] = ()
    on_fatal: Callable[[WorkerStopped], None] | None = field(default=None, repr=False)

    def start(self, stop: threading.Event) -> None:
        self.thread = threading.Thread(target=self._loop, args=(stop,), name=f"peercare-{self.name}", daemon=True)
        self.thread.start()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                done = self.step() if self.observe_step is None else self.observe_step(self.name, self.step)
            except self.fatal as exc:
                stopped = WorkerStopped(f"the {self.name} stopped: {exc}")
                log.critical("%s", stopped)
                if self.on_fatal is not None:
                    self.on_fatal(stopped)
                return
            except Exception:
                self.errors += 1
                log.exception("%s step failed; retrying in %.1f s", self.name, ERROR_PAUSE_S)
                stop.wait(ERROR_PAUSE_S)
                continue
            if not done:
                stop.wait(self.idle_s)


class Oracle:
    """Everything the oracle runs, wired from the settings and the deployment manifest.

    Every process serves webhooks and the API. The writers (processor, signer, indexer, router) run
    in one process per database: on SQLite the only one (a second is refused), on PostgreSQL the
    holder of the writer's lease (see leadership.py), which another process takes over when it dies.
    """

    def __init__(self, settings: Settings, deployment: Deployment) -> None:
        self.settings = settings
        self.deployment = deployment
        database_url = settings.effective_database_url
        self.database_lock = lock_sqlite_database(database_url)  # SQLite: refuses a second oracle
        self.database = Database(database_url)
        self.lease: PostgresLease | None = None
        if self.database.engine.dialect.name == "postgresql":
            self.lease = PostgresLease(database_url, content_identity(settings.data_dir, settings.ipfs_api_url))
            try:
                self.lease.check_peers()
                with self.lease.migrating():
                    self.database.migrate()
            except BaseException:
                self.lease.close()
                raise
        else:
            self.database.migrate()
        self.vault = Vault.open(settings.data_dir, ipfs_api_url=settings.ipfs_api_url)
        # Manifests are public: stored unencrypted beside the sealed blocks, and on the IPFS node as
        # well when there is one (where a process on another host that takes over finds them).
        self.public_store = public_store(self.vault.stores)
        url = settings.effective_rpc_url
        self.signer_rpc = Rpc(url, timeout_s=settings.rpc_timeout_s)
        self.indexer_rpc = Rpc(url, timeout_s=settings.rpc_timeout_s)
        self.account = oracle_account(settings, deployment.chain_id)
        # To the brands' ticketing systems; never through an environment's proxy settings.
        self.deliveries_http = httpx.Client(trust_env=False)
        self._build_writers()
        self.intake = Intake(self.database)
        self.api_rpc = Rpc(url, timeout_s=settings.rpc_timeout_s, max_attempts=3)
        self.context = ApiContext(
            settings,
            self.database,
            deployment,
            self.vault,
            self.api_rpc,
            RateLimiter(settings.api_rate_per_s, settings.api_burst),
        )
        self.app: FastAPI = create_app(self.context, self.intake)
        self.stop_event = threading.Event()
        self._term_stop = threading.Event()  # stops the writers of the current leadership term
        self._terms = 0
        self.stopped: WorkerStopped | None = None  # why a worker stopped the process, if one did
        self._server: _Server | None = None
        observe = self.app.state.metrics.observe_step  # step durations on GET /metrics
        self.workers = [
            Worker("processor", lambda: self.processor.step(), idle_s=0.05, observe_step=observe),
            Worker(
                "signer",
                lambda: self.signer.step(),
                idle_s=0.2,
                observe_step=observe,
                fatal=(SignerError,),
                on_fatal=self._stop_for,
            ),
            Worker("indexer", lambda: self.indexer.step(), idle_s=0.5, observe_step=observe),
            Worker("router", lambda: self.router.step(), idle_s=0.5, observe_step=observe),
            Worker("routing-anchors", lambda: self.routing_anchors.step(), idle_s=0.5, observe_step=observe),
            Worker("deliveries", lambda: self.deliveries.step(), idle_s=0.2, observe_step=observe),
        ]
        self.leadership = None if self.lease is None else Leadership(self.lease, self._elect, self._depose)

    def _build_writers(self) -> None:
        """The processor, signer, indexer, router and routing anchorer, built anew for each leadership term: what they
        keep in memory is stale once another process wrote in between."""
        settings, deployment, public_store = self.settings, self.deployment, self.public_store
        self.signer = Signer(
            self.database,
            self.signer_rpc,
            self.account,
            deployment.chain_id,
            confirmations=settings.confirmations,
            max_in_flight=settings.max_in_flight,
            replace_after_blocks=settings.replace_after_blocks,
            replace_after_s=settings.replace_after_s,
            max_fee_ceiling_wei=settings.max_fee_ceiling_wei,
            revert_reasons=RevertReasons.from_deployment(deployment),
        )
        self.processor = Processor(
            self.database,
            self.vault,
            public_store,
            deployment,
            batch_size=settings.batch_size,
            batch_max_age_s=settings.batch_max_age_s,
            relay_signed_answers=settings.relay_signed_answers,
            rate_in_batches=settings.rate_in_batches,
            post_questions_in_batches=settings.post_questions_in_batches,
            accept_in_batches=settings.accept_in_batches,
        )
        self.indexer = Indexer(
            self.database, self.indexer_rpc, deployment, public_store, confirmations=settings.confirmations
        )
        params = OfferParams(offers=settings.route_offers, max_open=settings.route_max_open)
        self.router = Router(self.database, public_store, params=params)
        self.routing_anchors = RoutingAnchorer(
            self.database, public_store, deployment, max_age_s=settings.batch_max_age_s
        )
        self.deliveries = DeliverySender(self.database, client=self.deliveries_http)

    def _stop_for(self, stopped: WorkerStopped) -> None:
        """A worker cannot go on: stop serving, so that `serve` raises it and the process exits."""
        self.stopped = stopped
        self.stop_event.set()
        if self._server is not None:
            self._server.should_exit = True

    def start_workers(self) -> None:
        """Take webhooks; run the writers at once on SQLite (the lock file made this process the
        only oracle), and from when this process holds the writer's lease on PostgreSQL."""
        if self.leadership is None:
            self._elect()
        self.intake.writer.start()
        if self.leadership is not None:
            self.leadership.start()

    def _elect(self) -> None:
        """Start the writers: this process may write now."""
        if self._terms:
            self._build_writers()
        self._terms += 1
        self._term_stop = threading.Event()
        self.signer.start()
        for worker in self.workers:
            worker.start(self._term_stop)

    def _depose(self) -> None:
        """Stop the writers (each finishes the step it is in) and wait for them."""
        self._term_stop.set()
        for worker in self.workers:
            if worker.thread is not None:
                worker.thread.join(timeout=30)
                if worker.thread.is_alive():
                    log.error("the %s worker did not stop within 30 s", worker.name)

    def stop_workers(self) -> None:
        self.stop_event.set()
        if self.leadership is not None:
            self.leadership.stop()  # the writers first, then the lease's session
        else:
            self._depose()
        self.intake.writer.stop()
        self.deliveries_http.close()
        self.signer_rpc.close()
        self.indexer_rpc.close()
        self.api_rpc.close()
        self.vault.close()
        self.database.dispose()
        if self.database_lock is not None:
            self.database_lock.release()

    def serve(self, on_listening: Callable[[], None] | None = None) -> None:
        """Serve webhooks until SIGINT/SIGTERM, with the workers running; then stop them cleanly.
        `on_listening` is called once the API accepts connections (not before: a caller that says
        "running" must not be refused a moment later). Raises `WorkerStopped` when a worker met an
        error that retrying cannot mend (after stopping everything)."""
        # uvicorn catches both signals while it serves, then restores the handlers it found and
        # raises the signal again: these handlers make that a no-op instead of the default death.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stop_event.set())
        self.start_workers()
        try:
            config = uvicorn.Config(
                self.app,
                host=self.settings.api_host,
                port=self.settings.api_port,
                log_level="warning",
                access_log=False,
                lifespan="off",  # nothing to set up per application start
            )
            base = f"http://{self.settings.api_host}:{self.settings.api_port}"
            log.info("API at %s/api/v1, docs at %s/docs, webhooks at %s/api/v1/webhooks/{brand}/{source}", *[base] * 3)
            self._server = _Server(config, on_listening)
            if self.stopped is None:  # a worker may have stopped before the server was built
                self._server.run()
        finally:
            self.stop_workers()
        if self.stopped is not None:
            raise self.stopped


def public_store(stores: list[Store]) -> Store:
    """Where batch manifests go: the embedded store alone, or every store (embedded and IPFS)."""
    return stores[0] if len(stores) == 1 else EveryStore(stores)


class _Server(uvicorn.Server):
    """uvicorn's server, telling its caller when it listens."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_listening is not None:
            self._on_listening()

"""End-to-end oracle benchmark: answers per second from webhook to indexed, anchored answer, and
webhook acknowledgement latency, on SQLite and on PostgreSQL.

    .venv/bin/python scripts/bench_oracle.py [--databases sqlite,postgresql]
        [--answers N] [--rate R] [--latency-answers L] [--latency-rate LR]
        [--baseline-answers M] [--baseline-rate BR]

For each database in turn (either alone with `--databases`) it starts a fresh anvil on
127.0.0.1:8720 (its own chain data), deploys with Brownie, registers and funds brand 1, and gives
the oracle a fresh database: a SQLite file, or a database on a throwaway PostgreSQL cluster from
Debian's packages (`tests/support/pgserver.py`: 127.0.0.1:5891, started once, stopped by its
process id at the end). Each phase runs `peercare oracle run` as a separate process (API on
127.0.0.1:8721, confirmations 0, batches sealed by size or after 1 s), opens 200 tickets and waits
until their questions are on chain (in Merkle question batches, the oracle's default) and indexed
and the oracle has nothing left to do (`tests.support.oracle_process.drained`); then it sends the
phase's answer webhooks open-loop over 32 keep-alive connections. The phases:
  - batched: N answers (default 20,000) offered at R per second (default 1,000), answer batches of
    up to 512: throughput;
  - latency_<LR>: L answers (default 6,000) offered at LR per second (default 300), batches of up
    to 512: acknowledgement latency below saturation;
  - one_tx_per_answer: M answers (default 1,000) offered at BR per second (default 200), batch
    size 1: the baseline. `speedup` is the batched phase's answers_per_s over this one's.
Each phase measures:
  - acknowledgement latency p50/p99 (nearest rank) and max, each from its request's scheduled send
    time, so a slow server cannot hide queueing (no coordinated omission);
  - answers_per_s: answers over the time from the first scheduled send until the oracle's own
    indexer has projected the last answer from its anchored batch's manifest;
  - sustained_answers_per_s: answers indexed per second from when 10% of them were indexed to when
    90% were (the pipeline's filling and draining left out): the rate the oracle keeps up with,
    at most about the offered rate;
  - anchor transactions and blocks during the phase.
The targets (issue: `make bench-oracle`): >= 1,000 sustained answers per second (the batched
phase; judged only when offered at least that), and acknowledgement p99 under 50 ms when offered
300 per second (the latency phase; judged only when offered at least that; null otherwise). An
oracle that keeps up sustains about the offered rate, so at R = 1,000 the throughput verdict is
within a few percent either way: offer more (--rate 1200) to see the headroom. Progress goes to
stderr; the last line on stdout is one JSON object: per database each phase, the batching
speed-up, and whether the targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from web3 import Web3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peercare.chain.deploy import ensure_deployed, register_brownie_network  # noqa: E402
from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, ORACLE, dev_account, register_funded_brand  # noqa: E402
from peercare.chain.local import LocalChain  # noqa: E402
from peercare.chain.rpc import Rpc  # noqa: E402
from peercare.config import Settings  # noqa: E402
from peercare.core.enums import OutboxKind  # noqa: E402
from peercare.db.database import Database, sqlite_url  # noqa: E402
from peercare.db.tables.oracle import OutboxTx, WebhookCredential  # noqa: E402
from peercare.db.tables.projections import AnswerRow, QuestionPosted  # noqa: E402
from peercare.oracle.brands import configure_brand  # noqa: E402
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers  # noqa: E402
from tests.support.oracle_process import drained  # noqa: E402
from tests.support.pgserver import PostgresServer  # noqa: E402

CHAIN_PORT, API_PORT, POSTGRES_PORT = 8720, 8721, 5891
DATABASES = ("sqlite", "postgresql")
SECRET = "bench-secret"
TICKETS = 200
CONNECTIONS = 32
BATCH_SIZE = 512
POLL_S = 0.1  # how often the benchmark counts indexed answers (a read: it never takes the write lock)
TARGET_ANSWERS_PER_S = 1000
TARGET_ACK_P99_MS, TARGET_ACK_RATE = 50, 300


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_chain(data_dir: Path, port: int = CHAIN_PORT) -> tuple[LocalChain, Any]:
    os.environ["PATH"] = f"{ROOT / '.toolchain' / 'bin'}:{ROOT / '.venv-brownie' / 'bin'}:{os.environ['PATH']}"
    os.environ["SOLCX_BINARY_PATH"] = str(ROOT / ".toolchain" / "solc")
    network = f"peercare-bench-{port}"
    settings = Settings(data_dir=data_dir, chain_port=port, brownie_network=network)
    register_brownie_network(network, port)
    chain = LocalChain(settings)
    chain.start()
    try:
        w3 = Web3(Web3.HTTPProvider(settings.local_rpc_url))
        deployment, _ = ensure_deployed(settings, w3, echo=log)
        register_funded_brand(
            w3,
            deployment,
            admin=dev_account(BRAND_ADMIN),
            oracle=dev_account(ORACLE).address,
            funds=10**30,
            minter=dev_account(DEPLOYER),
        )
    except BaseException:
        chain.stop()
        raise
    return chain, (settings, w3, deployment)


def configure(database: Database) -> None:
    with database.transaction() as session:
        configure_brand(session, 1, "Bench", default_bounty=10**18, answer_window_s=86400)
        session.flush()
        session.add(WebhookCredential(brand_id=1, source="generic", secret=SECRET))


def start_oracle(
    data_dir: Path,
    database_url: str,
    chain_url: str,
    deployment_file: Path,
    batch_size: int,
    api_port: int = API_PORT,
    *,
    log_name: str | None = None,
    **settings: str,
) -> subprocess.Popen[bytes]:
    """`peercare oracle run` in its own process (API on `api_port`); `settings`: more PEERCARE_ ones."""
    env = dict(
        os.environ,
        PEERCARE_DATA_DIR=str(data_dir),
        PEERCARE_DATABASE_URL=database_url,
        PEERCARE_RPC_URL=chain_url,
        PEERCARE_DEPLOYMENT_FILE=str(deployment_file),
        PEERCARE_ORACLE_KEY=dev_account(ORACLE).key.hex(),
        PEERCARE_API_PORT=str(api_port),
        PEERCARE_BATCH_SIZE=str(batch_size),
        PEERCARE_BATCH_MAX_AGE_S="1.0",
        PEERCARE_CONFIRMATIONS="0",
        # The benchmark offers up to 1,000 deliveries a second to one source: out of the limit's way.
        PEERCARE_WEBHOOK_RATE_PER_S="1000000",
        PEERCARE_WEBHOOK_BURST="1000000",
        **{f"PEERCARE_{name.upper()}": value for name, value in settings.items()},
    )
    out = (data_dir / (log_name or f"oracle-{batch_size}.log")).open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "peercare.cli", "oracle", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    out.close()  # the child has its own copy
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the oracle exited with {process.returncode}; see {data_dir}")
        try:
            httpx.get(f"http://127.0.0.1:{api_port}/openapi.json", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_oracle(process)
    raise SystemExit("the oracle did not start; see " + str(data_dir))


def stop_oracle(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the oracle stops its workers cleanly), SIGKILL if it has not exited within 60 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request_bytes(path: str, body: bytes) -> bytes:
    headers = generic_headers(SECRET, body, brand_id=1)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{API_PORT}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> None:
    """Send one HTTP/1.1 request on a keep-alive connection and read its whole answer (200 only)."""
    writer.write(payload)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    if b" 200 " not in status_line:
        raise SystemExit(f"answered {status_line!r}")


async def send_open_loop(
    requests: list[bytes],
    rate: float,
    port: int = API_PORT,
    connections: int = CONNECTIONS,
    start: float | None = None,
) -> list[float]:
    """Send request i at start + i/rate (`start`: a `time.perf_counter()` value, by default 0.2 s
    from now) over `connections` keep-alive connections; latencies in ms measured from each
    request's scheduled time."""
    latencies: list[float] = [0.0] * len(requests)
    next_index = 0
    if start is None:
        start = time.perf_counter() + 0.2

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while next_index < len(requests):
            i = next_index
            next_index += 1
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await exchange(reader, writer, requests[i])
            latencies[i] = (time.perf_counter() - scheduled) * 1000
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies


def percentile(values: list[float], percent: int) -> float:
    """The nearest-rank percentile: the smallest value with at least `percent`% of the values at or
    below it (p99 of 100 values is the 99th smallest, of 50 values the 50th, of 1,000 the 990th)."""
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil(percent/100 * n), in integers
    return ordered[rank - 1]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def open_tickets(prefix: str) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=30) as client:
        for t in range(TICKETS):
            body = generic_body(
                "ticket_created",
                f"{prefix}-open-{t}",
                f"{prefix}-{t}",
                now_iso(),
                subject="Bench",
                body="question",
                tags=[],
                requester_id=f"cust-{t}",
            )
            headers = generic_headers(SECRET, body, brand_id=1)
            client.post("/api/v1/webhooks/1/generic", content=body, headers=headers).raise_for_status()


def wait_for_questions(database: Database, chain_url: str, prefix: str, timeout_s: float = 180) -> None:
    """Until the tickets' questions are on chain and indexed (answers count only to a posted
    question; a question waits for its batch, sealed by size or age, then for its
    `postQuestionBatch`) and the oracle has nothing left to do: no event pending, nothing collecting
    for a batch, every outbox row final, nothing of ours unmined."""
    posted = select(func.count()).select_from(QuestionPosted).where(QuestionPosted.ticket_id.like(f"{prefix}-%"))
    rpc = Rpc(chain_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with database.read() as session:
                indexed = session.scalar(posted) or 0
            if indexed >= TICKETS and drained(database, rpc, dev_account(ORACLE).address):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"[{prefix}] {indexed} of {TICKETS} questions indexed, or the oracle still busy")
            time.sleep(0.2)
    finally:
        rpc.close()


def answers(prefix: str, n: int) -> list[bytes]:
    wallets = [dev_account(i).address for i in range(3, 13)]
    return [
        request_bytes(
            "/api/v1/webhooks/1/generic",
            generic_body(
                "comment_added",
                f"{prefix}-a{i}",
                f"{prefix}-{i % TICKETS}",
                now_iso(),
                comment_id=f"a{i}",
                author_id=f"adv-{i % 10}",
                author_wallet=wallets[i % 10],
                body=f"answer {i}",
                public=True,
            ),
        )
        for i in range(n)
    ]


def count(database: Database, query: Any) -> int:
    with database.read() as session:
        return session.scalar(query) or 0


class IndexedAnswers(threading.Thread):
    """Counts the indexed answers every `POLL_S` in a thread of its own, from before the first send
    until `target`: each count that differs from the one before, with when it was seen."""

    QUERY = select(func.count()).select_from(AnswerRow)

    def __init__(self, database: Database, n: int, timeout_s: float) -> None:
        super().__init__(name="bench-indexed-answers", daemon=True)
        self.database, self.timeout_s = database, timeout_s
        self.before = count(database, self.QUERY)
        self.target = self.before + n
        self.samples: list[tuple[float, int]] = []  # (perf_counter, answers of this phase indexed)
        self._halt = threading.Event()

    @property
    def indexed(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    @property
    def reached(self) -> float | None:
        """When the last answer was seen indexed."""
        return self.samples[-1][0] if self.samples and self.before + self.indexed >= self.target else None

    def when(self, share: float) -> tuple[float, int]:
        """The first sample with at least `share` of the phase's answers indexed."""
        wanted = share * (self.target - self.before)
        return next((t, c) for t, c in self.samples if c >= wanted)

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self._halt.is_set() and time.monotonic() < deadline:
            indexed = count(self.database, self.QUERY) - self.before
            if indexed != self.indexed:
                self.samples.append((time.perf_counter(), indexed))
            if self.reached is not None:
                return
            self._halt.wait(POLL_S)

    def stop(self) -> None:
        self._halt.set()


def sustained_rate(indexed: IndexedAnswers) -> float | None:
    """Answers indexed per second from the sample where 10% of the phase's answers were indexed to
    the one where 90% were: the filling and the draining of the pipeline (the first batch's wait,
    the last batch's age flush) left out. None when one batch took both (a run too small to say)."""
    (t_low, low), (t_high, high) = indexed.when(0.1), indexed.when(0.9)
    return round((high - low) / (t_high - t_low), 1) if t_high > t_low else None


@dataclass(frozen=True)
class Phase:
    key: str  # its name in the JSON, and its tickets' prefix
    answers: int
    rate: float
    batch_size: int


def run_phase(
    label: str, phase: Phase, data_dir: Path, database: Database, chain: Any, timeout_s: float = 600
) -> dict[str, Any]:
    """Start the oracle with the phase's batch size, open its tickets and wait for their questions,
    then offer its answers and wait until the last one is indexed."""
    settings, w3, _ = chain
    prefix, n, rate = phase.key, phase.answers, phase.rate
    anchors = select(func.count()).select_from(OutboxTx).where(OutboxTx.kind == OutboxKind.ANCHOR_BATCH.value)
    process = start_oracle(
        data_dir,
        database.url,
        settings.local_rpc_url,
        settings.deployment_path,
        phase.batch_size,
        log_name=f"oracle-{phase.key}.log",
    )
    try:
        opened = time.perf_counter()
        open_tickets(prefix)
        wait_for_questions(database, settings.local_rpc_url, prefix)
        log(f"[{label}] {TICKETS} questions on chain and indexed in {time.perf_counter() - opened:.1f} s")
        anchors_before, block_before = count(database, anchors), w3.eth.block_number
        requests = answers(prefix, n)
        log(f"[{label}] sending {n} answers at {rate:g}/s, batch size {phase.batch_size}")
        indexed = IndexedAnswers(database, n, timeout_s)
        indexed.start()
        try:
            started = time.perf_counter() + 0.2
            latencies = asyncio.run(send_open_loop(requests, rate, start=started))
            sent = time.perf_counter()
            indexed.join(timeout_s)
        finally:
            indexed.stop()
            indexed.join()
        done_at = indexed.reached
        if done_at is None:
            raise SystemExit(f"[{label}] timed out: {indexed.indexed} of {n} answers indexed")
        anchor_txs, blocks = count(database, anchors) - anchors_before, w3.eth.block_number - block_before
    finally:
        stop_oracle(process)
    return {
        "answers": n,
        "batch_size": phase.batch_size,
        "offered_rate": rate,
        "send_s": round(sent - started, 2),
        "acked_per_s": round(n / (sent - started), 1),
        "end_to_end_s": round(done_at - started, 2),
        "answers_per_s": round(n / (done_at - started), 1),
        "sustained_answers_per_s": sustained_rate(indexed),
        "first_indexed_s": round(indexed.samples[0][0] - started, 2),
        "ack_p50_ms": round(percentile(latencies, 50), 2),
        "ack_p99_ms": round(percentile(latencies, 99), 2),
        "ack_max_ms": round(max(latencies), 2),
        "anchor_transactions": anchor_txs,
        "blocks": blocks,
    }


def run_database(name: str, database_url: str, data_dir: Path, phases: list[Phase]) -> dict[str, Any]:
    """The phases on one database, with a fresh chain of its own; the phases share the chain and the
    database, each with its own tickets."""
    data_dir.mkdir(parents=True)
    chain, chain_info = start_chain(data_dir / "chain-data")
    try:
        database = Database(database_url)
        try:
            database.migrate()
            configure(database)
            results: dict[str, Any] = {}
            for phase in phases:
                label = f"{name} {phase.key}"
                results[phase.key] = run_phase(label, phase, data_dir, database, chain_info)
                log(f"[{label}] {json.dumps(results[phase.key])}")
            return results
        finally:
            database.dispose()
    finally:
        chain.stop()


def meets(results: dict[str, Any], batched: Phase, latency: Phase) -> dict[str, bool | None]:
    """Each target, met or not; None where this run's offered rate could not show it."""
    throughput = results[batched.key]["sustained_answers_per_s"]
    p99 = results[latency.key]["ack_p99_ms"]
    return {
        "answers_per_s": None
        if throughput is None or batched.rate < TARGET_ANSWERS_PER_S
        else throughput >= TARGET_ANSWERS_PER_S,
        f"ack_p99_ms_at_{TARGET_ACK_RATE}": p99 < TARGET_ACK_P99_MS if latency.rate >= TARGET_ACK_RATE else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default=",".join(DATABASES), help="comma-separated: sqlite, postgresql")
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--latency-answers", type=int, default=6_000)
    parser.add_argument("--latency-rate", type=float, default=float(TARGET_ACK_RATE))
    parser.add_argument("--baseline-answers", type=int, default=1_000)
    parser.add_argument("--baseline-rate", type=float, default=200.0)
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not databases or set(databases) - set(DATABASES) or len(set(databases)) < len(databases):
        parser.error(f"--databases: one or both of {', '.join(DATABASES)}, each once")
    batched = Phase("batched", args.answers, args.rate, BATCH_SIZE)
    latency = Phase(f"latency_{args.latency_rate:g}", args.latency_answers, args.latency_rate, BATCH_SIZE)
    single = Phase("one_tx_per_answer", args.baseline_answers, args.baseline_rate, 1)
    results: dict[str, Any] = {}
    postgres: PostgresServer | None = None
    with tempfile.TemporaryDirectory(prefix="peercare-bench-") as tmp:
        try:
            for name in databases:
                data_dir = Path(tmp) / name
                if name == "sqlite":
                    url = sqlite_url(data_dir / "oracle.sqlite3")
                else:
                    if postgres is None:
                        postgres = PostgresServer(POSTGRES_PORT)
                        postgres.start()
                    url = postgres.create_database("bench")
                log(f"[{name}] {url}")
                results[name] = run_database(name, url, data_dir, [batched, latency, single])
                speedup = results[name][batched.key]["answers_per_s"] / results[name][single.key]["answers_per_s"]
                results[name]["speedup"] = round(speedup, 1)
        finally:
            if postgres is not None:
                postgres.stop()
    result = {
        "benchmark": "oracle_end_to_end",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "databases": results,
        "targets": {"answers_per_s": TARGET_ANSWERS_PER_S, f"ack_p99_ms_at_{TARGET_ACK_RATE}": TARGET_ACK_P99_MS},
        "meets": {name: meets(results[name], batched, latency) for name in databases},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

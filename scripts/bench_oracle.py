"""End-to-end oracle benchmark: answers per second from webhook to indexed, anchored answer.

    .venv/bin/python scripts/bench_oracle.py [--answers N] [--rate R] [--baseline-answers M]

Starts its own anvil (127.0.0.1:8720), deploys with Brownie, registers and funds a brand, and runs
`peercare oracle run` as a separate process. Opens 200 tickets first, then sends N answer webhooks
open-loop at R per second over keep-alive connections and measures:
  - acknowledgement latency (from each request's scheduled send time, so a slow server cannot hide
    queueing: no coordinated omission), p50/p99;
  - end-to-end answers per second: N divided by the time from the first send until the last
    answer is anchored on chain and indexed by the oracle's own indexer.
Then, in the same run, the same with one transaction per answer (batch size 1) as the baseline.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
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
from peercare.config import Settings  # noqa: E402
from peercare.db.database import Database, sqlite_url  # noqa: E402
from peercare.db.tables.oracle import OutboxStatus, OutboxTx, Question, WebhookCredential  # noqa: E402
from peercare.db.tables.projections import AnswerRow  # noqa: E402
from peercare.oracle.brands import configure_brand  # noqa: E402
from peercare.oracle.webhooks.generic_client import generic_body, generic_headers  # noqa: E402

CHAIN_PORT, API_PORT = 8720, 8721
SECRET = "bench-secret"
TICKETS = 200
CONNECTIONS = 32


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
    **settings: str,
) -> Any:
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
    out = (data_dir / f"oracle-{batch_size}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "peercare.cli", "oracle", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{api_port}/openapi.json", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the oracle did not start; see " + str(data_dir))


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
    requests: list[bytes], rate: float, port: int = API_PORT, connections: int = CONNECTIONS
) -> list[float]:
    """Send request i at start + i/rate over `connections` keep-alive connections; latencies in ms
    measured from each request's scheduled time."""
    latencies: list[float] = [0.0] * len(requests)
    next_index = 0
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


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def open_tickets(prefix: str) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}") as client:
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
            client.post("/api/v1/webhooks/1/generic", content=body, headers=generic_headers(SECRET, body, brand_id=1))


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


def wait_for(database: Database, what: Any, target: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with database.transaction() as session:
            if (session.scalar(what) or 0) >= target:
                return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {target} rows")


def run_phase(prefix: str, data_dir: Path, database: Database, chain: Any, n: int, rate: float, batch: int) -> dict:
    settings, w3, _ = chain
    process = start_oracle(data_dir, database.url, settings.local_rpc_url, settings.deployment_path, batch)
    try:
        open_tickets(prefix)
        posted = select(func.count()).select_from(Question).where(Question.ticket_id.like(f"{prefix}-%"))
        wait_for(database, posted, TICKETS, 120)
        confirmed = select(func.count()).select_from(OutboxTx).where(OutboxTx.status == OutboxStatus.CONFIRMED)
        with database.transaction() as session:
            base_confirmed = session.scalar(confirmed) or 0
        wait_for(database, confirmed, base_confirmed, 120)
        with database.transaction() as session:
            indexed_before = session.scalar(select(func.count()).select_from(AnswerRow)) or 0
        requests = answers(prefix, n)
        log(f"[{prefix}] sending {n} answers at {rate:.0f}/s, batch size {batch}")
        started = time.perf_counter()
        latencies = asyncio.run(send_open_loop(requests, rate))
        sent = time.perf_counter()
        indexed = wait_for(database, select(func.count()).select_from(AnswerRow), indexed_before + n, 600)
        block = w3.eth.block_number
    finally:
        process.terminate()
        process.wait(timeout=60)
    latencies.sort()
    return {
        "answers": n,
        "batch_size": batch,
        "offered_rate": rate,
        "send_s": round(sent - started, 2),
        "end_to_end_s": round(indexed - started, 2),
        "answers_per_s": round(n / (indexed - started), 1),
        "ack_p50_ms": round(statistics.median(latencies), 2),
        "ack_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "blocks": block,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--baseline-answers", type=int, default=1_000)
    parser.add_argument("--baseline-rate", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peercare-bench-") as tmp:
        data_dir = Path(tmp)
        chain, chain_info = start_chain(data_dir / "chain-data")
        try:
            database = Database(sqlite_url(data_dir / "oracle.sqlite3"))
            database.migrate()
            configure(database)
            batched = run_phase("batched", data_dir, database, chain_info, args.answers, args.rate, 512)
            log(json.dumps(batched))
            single = run_phase("single", data_dir, database, chain_info, args.baseline_answers, args.baseline_rate, 1)
            log(json.dumps(single))
        finally:
            chain.stop()
    result = {
        "benchmark": "oracle_end_to_end",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "batched": batched,
        "one_tx_per_answer": single,
        "speedup": round(batched["answers_per_s"] / single["answers_per_s"], 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

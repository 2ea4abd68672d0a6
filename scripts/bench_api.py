"""API benchmark: reputation reads under 200 concurrent clients, one worker.

    .venv/bin/python scripts/bench_api.py [--clients 200] [--seconds 10] [--rates 250,500,1000]

Starts its own anvil (127.0.0.1:8750), deploys with Brownie, publishes reputation epoch 1 built
from a synthetic community (`peercare.reputation.synthetic`, about 300 advocates with scores),
and runs `peercare oracle run` (one process, one uvicorn worker, the API on 127.0.0.1:8751; the
rate limit raised out of the way) once its indexer has indexed the root. Then
`GET /api/v1/advocates/{address}/reputation` for advocates drawn at random, over `--clients`
keep-alive connections:
  - closed loop: every client sends its next request as soon as the last is answered, for
    `--seconds`: requests per second at saturation, p50/p99 latency;
  - open loop at each of `--rates` requests per second spread over the same connections, latency
    measured from each request's scheduled send time (no coordinated omission): p50/p99.
The load generator runs in this process, on the machine's other core. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_oracle import exchange, send_open_loop, start_chain, start_oracle  # noqa: E402

from peercare.chain.devnet import DEPLOYER, ORACLE, dev_account, transact  # noqa: E402
from peercare.content.cid import digest_from_cid  # noqa: E402
from peercare.content.vault import Vault  # noqa: E402
from peercare.db.database import Database, sqlite_url  # noqa: E402
from peercare.reputation.epoch import build_epoch  # noqa: E402
from peercare.reputation.synthetic import sybil_scenario  # noqa: E402

CHAIN_PORT, API_PORT = 8750, 8751


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def publish_synthetic_epoch(data_dir: Path, chain: tuple) -> list[str]:
    """Epoch 1 of a synthetic community, its manifest in the data folder's store, its root on
    chain; returns the advocates it scores."""
    _, w3, deployment = chain
    scenario = sybil_scenario(n_accounts=320, customer_ratings=2_000, seed=7)
    epoch = build_epoch(scenario.history, 1)
    vault = Vault.open(data_dir)
    cid = vault.stores[0].put(epoch.manifest_bytes())
    vault.close()
    roots = deployment.contract(w3, "ReputationRoots")
    role = roots.functions.REPUTATION_ORACLE_ROLE().call()
    transact(w3, dev_account(DEPLOYER), roots.functions.grantRole(role, dev_account(ORACLE).address))
    transact(w3, dev_account(ORACLE), roots.functions.publishRoot(1, epoch.root, digest_from_cid(cid)))
    advocates = sorted({advocate for advocate, _ in epoch.scores})
    log(f"epoch 1: {len(epoch.scores)} scores of {len(advocates)} advocates, manifest {cid}")
    return advocates


def request(address: str) -> bytes:
    return f"GET /api/v1/advocates/{address}/reputation HTTP/1.1\r\nHost: 127.0.0.1:{API_PORT}\r\n\r\n".encode()


async def closed_loop(requests: list[bytes], clients: int, seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", API_PORT)
        i = k
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await exchange(reader, writer, requests[i % len(requests)])
            latencies.append((time.perf_counter() - started) * 1000)
            i += clients
        writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    return len(latencies), latencies


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 2),
    }


def wait_until_served(address: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = httpx.get(f"http://127.0.0.1:{API_PORT}/api/v1/advocates/{address}/reputation", timeout=5)
        if response.status_code == 200 and response.json().get("scores"):
            return
        time.sleep(0.5)
    raise SystemExit("the API never served the published epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="250,500,1000")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    with tempfile.TemporaryDirectory(prefix="peercare-bench-api-") as tmp:
        data_dir = Path(tmp)
        chain, chain_info = start_chain(data_dir / "chain-data", CHAIN_PORT)
        try:
            advocates = publish_synthetic_epoch(data_dir, chain_info)
            database = Database(sqlite_url(data_dir / "oracle.sqlite3"))
            database.migrate()
            settings = chain_info[0]
            process = start_oracle(
                data_dir,
                database.url,
                settings.local_rpc_url,
                settings.deployment_path,
                256,
                API_PORT,
                api_rate_per_s="1000000000",
                api_burst="1000000000",
            )
            try:
                wait_until_served(advocates[0])
                rng = random.Random(1)
                requests = [request(rng.choice(advocates)) for _ in range(10_000)]
                asyncio.run(closed_loop(requests, args.clients, 2.0))  # warm-up: every connection, the cache
                log(f"closed loop: {args.clients} clients for {args.seconds:g} s")
                count, latencies = asyncio.run(closed_loop(requests, args.clients, args.seconds))
                saturated = {"requests_per_s": round(count / args.seconds), **percentiles(latencies)}
                log(json.dumps(saturated))
                offered = []
                for rate in rates:
                    log(f"open loop: {rate:g} requests/s over {args.clients} connections for {args.seconds:g} s")
                    offered_requests = [requests[i % len(requests)] for i in range(int(rate * args.seconds))]
                    latencies = asyncio.run(send_open_loop(offered_requests, rate, API_PORT, args.clients))
                    result = {"rate": rate, **percentiles(latencies)}
                    log(json.dumps(result))
                    offered.append(result)
            finally:
                process.terminate()
                process.wait(timeout=60)
        finally:
            chain.stop()
    print(
        json.dumps(
            {
                "benchmark": "api_reputation_reads",
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                f"{platform.python_version()}",
                "clients": args.clients,
                "advocates": len(advocates),
                "closed_loop": saturated,
                "open_loop": offered,
            }
        )
    )


if __name__ == "__main__":
    main()

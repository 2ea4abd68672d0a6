"""Running `peercare oracle run` as a real process for the end-to-end tests: started with its
settings in the environment, killed or stopped by its process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from devchain import DevLedger
from sqlalchemy import func, select

from peercare.oracle.db import Database
from peercare.oracle.models import Brand, EventStatus, OutboxStatus, OutboxTx, WebhookCredential, WebhookEvent
from peercare.oracle.rpc import Rpc

ROOT = Path(__file__).resolve().parents[3]
SECRET = "end-to-end-secret"


def configure_brand(database: Database, brand_id: int, *, batch_experts: dict[str, str] | None = None) -> None:
    with database.transaction() as session:
        session.add(
            Brand(
                id=brand_id,
                name="Cardano Support",
                default_topic="general",
                topics=["staking", "wallets", "nodes"],
                default_bounty=10**18,
                bounty_by_tag={"urgent": str(5 * 10**18)},
                answer_window_s=30 * 86_400,
                experts=batch_experts or {},
                created_at_ms=0,
            )
        )
        session.flush()
        session.add(WebhookCredential(brand_id=brand_id, source="generic", secret=SECRET))


class OracleProcess:
    def __init__(self, dev: DevLedger, data_dir: Path, database_url: str, port: int, **settings: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir / "oracle.log"
        self.env = dict(
            os.environ,
            PEERCARE_DATA_DIR=str(data_dir),
            PEERCARE_DATABASE_URL=database_url,
            PEERCARE_RPC_URL=dev.url,
            PEERCARE_DEPLOYMENT_FILE=str(dev.deployment_file),
            PEERCARE_ORACLE_KEY=dev.oracle.key.hex(),
            PEERCARE_API_PORT=str(port),
            **{f"PEERCARE_{name.upper()}": value for name, value in settings.items()},
        )
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


def drained(database: Database, rpc: Rpc, oracle_address: str) -> bool:
    """Every event handled, every outbox row final, and the chain has nothing pending from us."""
    with database.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == EventStatus.PENDING)
        )
        unfinished = session.scalar(
            select(func.count())
            .select_from(OutboxTx)
            .where(OutboxTx.status.not_in([OutboxStatus.CONFIRMED, OutboxStatus.FAILED]))
        )
    return (
        pending == 0
        and unfinished == 0
        and rpc.call("eth_getTransactionCount", [oracle_address, "pending"])
        == (rpc.call("eth_getTransactionCount", [oracle_address, "latest"]))
    )

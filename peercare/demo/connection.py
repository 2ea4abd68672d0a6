"""Reaching a running PeerCare (`peercare up` in another terminal) and checking it is one the demo
can replay into: its HTTP API answers, its deployment manifest loads, its chain is the local dev
chain, its oracle's signer is configured. The `Connection` holds what the other steps talk to: the
API, the chain, the oracle's database (shared data folder) and the content store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from web3 import Web3

from peercare.chain.deployment import Deployment, DeploymentError
from peercare.chain.rpc import Rpc
from peercare.config import LOCAL_CHAIN_ID, Settings
from peercare.content.vault import Vault
from peercare.db.database import Database
from peercare.demo.errors import DemoError
from peercare.oracle.account import OracleConfigError, oracle_account


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

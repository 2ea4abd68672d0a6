"""A deployed ledger on a real anvil chain for the oracle tests.

anvil runs on 127.0.0.1 and a dedicated port; the contracts are deployed by the Brownie deploy
script (as `make run` does), then brand 1 is registered with the oracle's account as its oracle
signer and its pool funded. Tests revert to a snapshot of that state (`evm_snapshot`), so each one
starts from the same chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from peercare.chain.deploy import ensure_deployed, register_brownie_network
from peercare.chain.deployment import Deployment
from peercare.chain.devnet import BRAND_ADMIN, DEPLOYER, ORACLE, dev_account, register_funded_brand
from peercare.chain.local import LocalChain
from peercare.config import Settings

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ is two levels below the repository
POOL_FUNDS = 10**30


@dataclass
class DevLedger:
    url: str
    w3: Web3
    deployment: Deployment
    deployment_file: Path
    oracle: LocalAccount  # anvil #1: the brand's oracle signer
    brand_admin: LocalAccount  # anvil #2
    brand_id: int
    mixed_mining: bool = True  # a block every second besides automine (peercare.chain.local)

    @property
    def ledger(self) -> Contract:
        return self.deployment.contract(self.w3, "PeerCareLedger")

    @property
    def token(self) -> Contract:
        return self.deployment.contract(self.w3, "PeerCareToken")

    @property
    def roots(self) -> Contract:
        return self.deployment.contract(self.w3, "ReputationRoots")

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        assert self.rpc("evm_revert", snapshot_id) is True


def start_dev_ledger(
    data_dir: Path, port: int, network: str, *, mixed_mining: bool = True
) -> tuple[LocalChain, DevLedger]:
    """Start anvil, deploy with Brownie, register and fund brand 1. The caller stops the chain."""
    os.environ["PATH"] = f"{ROOT / '.toolchain' / 'bin'}:{ROOT / '.venv-brownie' / 'bin'}:{os.environ['PATH']}"
    os.environ["SOLCX_BINARY_PATH"] = str(ROOT / ".toolchain" / "solc")
    settings = Settings(data_dir=data_dir, chain_port=port, brownie_network=network)
    register_brownie_network(network, port)
    chain = LocalChain(settings, mixed_mining=mixed_mining)
    chain.start()
    try:
        w3 = Web3(Web3.HTTPProvider(settings.local_rpc_url))
        deployment, _ = ensure_deployed(settings, w3, echo=lambda _line: None)
        deployer, oracle, brand_admin = dev_account(DEPLOYER), dev_account(ORACLE), dev_account(BRAND_ADMIN)
        brand_id = register_funded_brand(
            w3, deployment, admin=brand_admin, oracle=oracle.address, funds=POOL_FUNDS, minter=deployer
        )
    except BaseException:
        chain.stop()
        raise
    dev = DevLedger(
        url=settings.local_rpc_url,
        w3=w3,
        deployment=deployment,
        deployment_file=settings.deployment_path,
        oracle=oracle,
        brand_admin=brand_admin,
        brand_id=brand_id,
        mixed_mining=mixed_mining,
    )
    return chain, dev

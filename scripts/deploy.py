"""Deploy PeerCare's contracts and write the deployment manifest the services read.

    brownie run scripts/deploy.py --network NAME

Environment (all optional on a local development chain):
  PEERCARE_DEPLOYER_KEY      private key of the deployer (required on live networks, except the
                             local anvil chain 31337, where anvil's well-known first account is used)
  PEERCARE_ADMIN             admin of the ledger, token and reputation roots, and the ledger's brand
                             registrar (BRAND_REGISTRAR_ROLE: who admits brands) (default: deployer)
  PEERCARE_PAUSER            holder of PAUSER_ROLE (default: admin)
  PEERCARE_REPUTATION_ORACLE holder of REPUTATION_ORACLE_ROLE (default: admin; on the local chain
                             31337 the oracle's dev account, anvil's #1)
  PEERCARE_DEPLOYMENT_FILE   where to write the manifest (default: deployments/<network>.json)
"""

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from brownie import PeerCareLedger, PeerCareToken, ReputationRoots, accounts, chain, config, network

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_FORMAT = "peercare-deployment-v1"
# anvil's first default account: public knowledge, only ever used on the local chain 31337.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# anvil's second default account: the oracle's signer on the local chain (peercare.runtime).
ANVIL_ORACLE_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def deployer():
    key = os.environ.get("PEERCARE_DEPLOYER_KEY")
    if key:
        return accounts.add(key)
    if network.rpc.is_active():  # a throwaway development chain Brownie launched itself
        return accounts[0]
    if network.is_connected() and chain.id == 31337:
        return accounts.add(ANVIL_DEV_KEY)
    raise SystemExit(f"deploy: set PEERCARE_DEPLOYER_KEY to deploy on {network.show_active()} (chain {chain.id})")


def deploy_all(sender, admin=None, pauser=None, reputation_oracle=None):
    """Deploy token, ledger and reputation roots; allow the token; grant the roles (the admin also
    admits brands: BRAND_REGISTRAR_ROLE). Returns (contracts by name, first deployment block, roles)."""
    admin = admin or sender.address
    pauser = pauser or admin
    reputation_oracle = reputation_oracle or admin
    tx = {"from": sender}
    token = PeerCareToken.deploy("PeerCare Reward", "PCR", sender, tx)
    first_block = token.tx.block_number
    ledger = PeerCareLedger.deploy(sender, pauser, tx)
    roots = ReputationRoots.deploy(sender, tx)
    ledger.setTokenAllowed(token, True, tx)
    ledger.grantRole(ledger.BRAND_REGISTRAR_ROLE(), admin, tx)
    roots.grantRole(roots.REPUTATION_ORACLE_ROLE(), reputation_oracle, tx)
    if admin != sender.address:
        # Hand every admin role over, then give up the deployer's.
        for contract in (token, ledger, roots):
            contract.grantRole(contract.DEFAULT_ADMIN_ROLE(), admin, tx)
        token.grantRole(token.MINTER_ROLE(), admin, tx)
        token.renounceRole(token.MINTER_ROLE(), sender, tx)
        for contract in (token, ledger, roots):
            contract.renounceRole(contract.DEFAULT_ADMIN_ROLE(), sender, tx)
    contracts = {"PeerCareToken": token, "PeerCareLedger": ledger, "ReputationRoots": roots}
    roles = {"admin": admin, "pauser": pauser, "brand_registrar": admin, "reputation_oracle": reputation_oracle}
    return contracts, first_block, roles


def manifest(contracts, first_block, roles, deployer_address):
    build = PROJECT_ROOT / "build" / "contracts"
    return {
        "format": MANIFEST_FORMAT,
        "network": network.show_active(),
        "chain_id": chain.id,
        "deployed_at_block": first_block,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "deployer": deployer_address,
        "roles": roles,
        "artifacts_dir": str(build),
        "contracts": {
            name: {"address": contract.address, "artifact": f"{name}.json"} for name, contract in contracts.items()
        },
        "compiler": {
            "solc": config["compiler"]["solc"]["version"],
            "evm_version": config["compiler"]["evm_version"],
        },
    }


def main():
    sender = deployer()
    contracts, first_block, roles = deploy_all(
        sender,
        admin=os.environ.get("PEERCARE_ADMIN"),
        pauser=os.environ.get("PEERCARE_PAUSER"),
        reputation_oracle=os.environ.get("PEERCARE_REPUTATION_ORACLE")
        or (ANVIL_ORACLE_ADDRESS if chain.id == 31337 else None),  # locally the oracle publishes epochs
    )
    out = Path(
        os.environ.get("PEERCARE_DEPLOYMENT_FILE") or PROJECT_ROOT / "deployments" / f"{network.show_active()}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    data = manifest(contracts, first_block, roles, sender.address)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(out)
    if chain.id == 31337:
        # Local chains are throwaway and several may run at once (tests, benchmarks) under the same
        # chain id: Brownie's own deployment records would point one at another's contracts.
        # The manifest is the record.
        shutil.rmtree(PROJECT_ROOT / "build" / "deployments" / "31337", ignore_errors=True)
    for name, contract in contracts.items():
        print(f"{name:16} {contract.address}")
    print(f"deployment manifest: {out}")

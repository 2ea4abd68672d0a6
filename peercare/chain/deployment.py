"""The deployment manifest written by scripts/deploy.py, and contracts built from it.

Services never import Brownie: they read addresses from the manifest and ABIs from the compiled
artifacts it points to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from web3 import Web3
from web3.contract import Contract

MANIFEST_FORMAT = "peercare-deployment-v1"
CONTRACT_NAMES = ("PeerCareToken", "PeerCareLedger", "ReputationRoots")


class DeploymentError(RuntimeError):
    """The manifest is missing, malformed, or does not match the chain."""


class DeployedContract(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    artifact: str


class Deployment(BaseModel):
    model_config = ConfigDict(extra="allow")
    format: str
    network: str
    chain_id: int
    deployed_at_block: int
    deployer: str
    roles: dict[str, str]
    artifacts_dir: Path
    contracts: dict[str, DeployedContract]

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise DeploymentError(f"no deployment manifest at {path}: deploy first (make run does)") from None
        except json.JSONDecodeError as exc:
            raise DeploymentError(f"deployment manifest {path} is not JSON: {exc}") from None
        try:
            deployment = cls.model_validate(data)
        except ValidationError as exc:
            raise DeploymentError(f"deployment manifest {path} is malformed: {exc}") from None
        if deployment.format != MANIFEST_FORMAT:
            raise DeploymentError(
                f"deployment manifest {path} has format {deployment.format!r}, expected {MANIFEST_FORMAT!r}"
            )
        missing = [name for name in CONTRACT_NAMES if name not in deployment.contracts]
        if missing:
            raise DeploymentError(f"deployment manifest {path} lacks {', '.join(missing)}")
        return deployment

    def abi(self, name: str) -> list[dict[str, Any]]:
        artifact = self.artifacts_dir / self.contracts[name].artifact
        try:
            abi: list[dict[str, Any]] = json.loads(artifact.read_text())["abi"]
        except FileNotFoundError:
            raise DeploymentError(f"ABI artifact {artifact} is missing: compile the contracts (make compile)") from None
        return abi

    def contract(self, w3: Web3, name: str) -> Contract:
        return w3.eth.contract(address=Web3.to_checksum_address(self.contracts[name].address), abi=self.abi(name))

    def check_live(self, w3: Web3) -> list[str]:
        """Problems that make this manifest unusable on the connected chain (empty when it is fine)."""
        problems = []
        if w3.eth.chain_id != self.chain_id:
            problems.append(f"chain id is {w3.eth.chain_id}, the manifest says {self.chain_id}")
        else:
            for name, entry in self.contracts.items():
                if not w3.eth.get_code(Web3.to_checksum_address(entry.address)):
                    problems.append(f"no code for {name} at {entry.address}")
        return problems

"""What every API route reads: settings, database, deployment, content and chain, in one object
built once per process (`ApiContext.open`) and handed to the routers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from web3 import Web3
from web3.contract import Contract

from peercare.api.limits import RateLimiter
from peercare.chain.deployment import Deployment
from peercare.chain.rpc import Rpc
from peercare.config import Settings
from peercare.content.store import Store
from peercare.content.vault import Vault
from peercare.db.database import Database


@dataclass
class ApiContext:
    settings: Settings
    database: Database
    deployment: Deployment
    vault: Vault  # conversations (sealed); `public_store` holds manifests in the clear
    rpc: Rpc  # chain reads and relays
    limiter: RateLimiter = field(default_factory=RateLimiter)
    token_decimals: dict[str, int] = field(default_factory=dict)  # `chain_reads.token_decimals`' cache

    @property
    def public_store(self) -> Store:
        return self.vault.stores[0]

    @cached_property
    def ledger(self) -> Contract:
        """The ledger, for encoding calls and decoding results (no provider: reads go through `rpc`)."""
        return self.deployment.contract(Web3(), "PeerCareLedger")

    @cached_property
    def roots(self) -> Contract:
        return self.deployment.contract(Web3(), "ReputationRoots")

    @cached_property
    def token(self) -> Contract:
        return self.deployment.contract(Web3(), "PeerCareToken")

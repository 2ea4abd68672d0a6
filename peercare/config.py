"""One settings object, read from the environment with the PEERCARE_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The local chain's id: anvil's default, which wallets and tools recognise as a dev chain.
LOCAL_CHAIN_ID = 31337


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEERCARE_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder holding every piece of local state.")
    chain_host: str = Field("127.0.0.1", description="Interface the local chain listens on.")
    chain_port: int = Field(8646, ge=1, le=65535, description="Port of the local chain (not 8545 on purpose).")
    rpc_url: str | None = Field(None, description="An existing EVM JSON-RPC endpoint; no local chain is started.")
    brownie: str = Field("brownie", description="Brownie executable used to deploy the contracts.")
    brownie_network: str = Field("peercare-local", description="Brownie network id of the chain to deploy to.")
    deployment_file: Path | None = Field(None, description="Deployment manifest (default: DATA_DIR/deployment.json).")
    rpc_timeout_s: float = Field(10.0, gt=0, description="Timeout of one JSON-RPC request (then retried).")
    database_url: str | None = Field(
        None, description="Oracle database: a sqlite:/// or postgresql:// URL (default: DATA_DIR/oracle.sqlite3)."
    )
    ipfs_api_url: str | None = Field(None, description="A Kubo RPC API URL; content is stored there as well.")
    oracle_key: SecretStr | None = Field(
        None, description="Private key of the oracle's signer (default on the local chain: anvil's account #1)."
    )
    api_host: str = Field("127.0.0.1", description="Interface the HTTP API listens on.")
    api_port: int = Field(8700, ge=1, le=65535, description="Port of the HTTP API.")
    demo_brand_port: int = Field(
        8702, ge=1, le=65535, description="Port of `peercare demo`'s stand-in for the brand's own system."
    )
    api_domains: str | None = Field(
        None,
        description="Comma-separated host[:port] a Sign-In with Ethereum message may name "
        "(default: API_HOST:API_PORT and localhost:API_PORT).",
    )
    api_rate_per_s: float = Field(50.0, gt=0, description="Requests per second per caller, sustained (then 429).")
    api_burst: int = Field(100, ge=1, description="Requests per caller at once before the rate applies.")
    batch_size: int = Field(
        256, ge=1, le=10_000, description="Items per Merkle batch (questions, answers, ratings; sealed by size)."
    )
    batch_max_age_s: float = Field(2.0, gt=0, description="Age of a brand's oldest waiting item that seals its batch.")
    relay_signed_answers: bool = Field(
        False,
        description="Relay each answer its advocate signed as its own `submitAnswerWithSig` transaction "
        "(79,000 gas each) instead of anchoring it in a batch with its signature in the manifest.",
    )
    post_questions_in_batches: bool = Field(
        True,
        description="Post questions in Merkle batches (`postQuestionBatch`, sealed like answer batches); "
        "false: one `postQuestion` each (61,000 gas).",
    )
    accept_in_batches: bool = Field(
        True,
        description="Accept a brand's batched questions together, up to 50 in one `acceptBatchedAnswers` "
        "(sealed like answer batches); false: one `acceptBatchedAnswer` each.",
    )
    rate_in_batches: bool = Field(
        True,
        description="Anchor ratings in Merkle batches (`anchorRatingBatch`); false: one `rateAnswer` each (58k gas).",
    )
    confirmations: int = Field(2, ge=0, le=1000, description="Blocks below head before a write or event is final.")
    route_offers: int = Field(
        3, ge=1, le=20, description="Advocates offered a question at once in a direct round (docs/routing.md)."
    )
    route_max_open: int = Field(
        3, ge=1, description="Open offers an advocate may hold before routing passes them over (docs/routing.md)."
    )
    # The signer (docs/signer.md). A transaction not mined after `replace_after_blocks` blocks and
    # `replace_after_s` seconds (whichever comes later) is replaced with a 12.5% higher fee, up to the ceiling.
    max_in_flight: int = Field(64, ge=1, le=4096, description="Signed transactions not yet mined, at most.")
    replace_after_blocks: int = Field(
        3, ge=1, le=10_000, description="Blocks a transaction may wait before replacement."
    )
    replace_after_s: float = Field(12.0, gt=0, description="Seconds a transaction may wait before replacement.")
    max_fee_ceiling_wei: int = Field(
        500 * 10**9, gt=0, description="Highest max fee per gas a replacement may offer (then a WARNING and health)."
    )
    stall_after_s: float = Field(
        60.0, gt=0, description="Health says degraded when the oldest unmined transaction is older than this."
    )
    # Limits of their own (docs/api.md, "Errors and limits"; docs/webhooks.md, "Responses").
    webhook_rate_per_s: float = Field(
        200.0, gt=0, description="Authentic webhook deliveries per second per brand and source, sustained (then 429)."
    )
    webhook_burst: int = Field(
        2000, ge=1, description="Authentic webhook deliveries per brand and source at once before the rate applies."
    )
    relay_quota_per_wallet_hour: int = Field(
        30, ge=1, description="Answers one wallet may have relayed through the API (the oracle pays the gas) per hour."
    )
    relay_quota_per_brand_day: int = Field(
        2000, ge=1, description="Answers relayed through the API to one brand's questions per 24 hours, all wallets."
    )

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def deployment_path(self) -> Path:
        return self.deployment_file or self.data_dir / "deployment.json"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'oracle.sqlite3'}"

    @property
    def siwe_domains(self) -> frozenset[str]:
        if self.api_domains:
            return frozenset(d.strip() for d in self.api_domains.split(",") if d.strip())
        return frozenset({f"{self.api_host}:{self.api_port}", f"localhost:{self.api_port}"})

    @property
    def local_rpc_url(self) -> str:
        return f"http://{self.chain_host}:{self.chain_port}"

    @property
    def effective_rpc_url(self) -> str:
        return self.rpc_url or self.local_rpc_url

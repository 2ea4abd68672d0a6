"""Models of the transactions a user signs with their own wallet (`peercare.api.relay`): the
unsigned transaction prepared for them, and the signed one they send back to be broadcast."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from peercare.api.schemas.common import Strict


class PreparedTx(BaseModel):
    """An unsigned EIP-1559 transaction for the `from` account to sign (e.g. eth_signTransaction)."""

    chain_id: int
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    data: str
    value: str = "0"
    gas: int
    nonce: int
    max_fee_per_gas: str
    max_priority_fee_per_gas: str
    description: str


class SignedTx(Strict):
    raw: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2}){1,32768}$", description="The signed transaction, hex")]


class Relayed(BaseModel):
    tx_hash: str
    sender: str
    to: str

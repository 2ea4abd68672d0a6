"""Models of Sign-In with Ethereum (`routes/auth.py`): the nonce, the signed message, the session."""

from __future__ import annotations

from pydantic import Field

from peercare.api.schemas.common import Strict


class NonceOut(Strict):
    nonce: str
    domain: str = Field(description="What the message's domain must be")
    chain_id: int
    expires_at_ms: int


class SiweIn(Strict):
    message: str = Field(max_length=4000, description="The EIP-4361 message, exactly as signed")
    signature: str = Field(max_length=200, description="The personal_sign signature, 0x-prefixed hex")


class SessionOut(Strict):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'")
    address: str
    expires_at_ms: int

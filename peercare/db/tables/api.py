"""The API's own state: API keys (stored hashed), and Sign-In with Ethereum nonces and sessions.

Secrets are never stored: an API key or session token is 32 random bytes shown once, and the
database keeps its SHA-256. A key is found by its public prefix, then compared in constant time.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from peercare.db.base import ADDRESS, Base

SHA256_HEX = String(64)


class KeyRole(StrEnum):
    BRAND = "brand"  # reads and configures one brand
    AUDITOR = "auditor"  # reads everything auditors read, of one brand or (brand_id null) all


class ApiKey(Base):
    """An API key: `pc_<prefix>_<secret>`; `prefix` finds the row, `secret_sha256` checks it."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(SHA256_HEX)
    role: Mapped[str] = mapped_column(String(16))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    label: Mapped[str] = mapped_column(String(200))
    created_at_ms: Mapped[int]
    revoked_at_ms: Mapped[int | None]


class SiweNonce(Base):
    """A nonce handed out for a Sign-In with Ethereum message; deleted when used (single use)."""

    __tablename__ = "siwe_nonces"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at_ms: Mapped[int] = mapped_column(index=True)


class AdvocateSession(Base):
    """A signed-in advocate: the bearer token's SHA-256, the wallet it proves, until when."""

    __tablename__ = "advocate_sessions"
    token_sha256: Mapped[str] = mapped_column(SHA256_HEX, primary_key=True)
    address: Mapped[str] = mapped_column(ADDRESS, index=True)
    created_at_ms: Mapped[int]
    expires_at_ms: Mapped[int]

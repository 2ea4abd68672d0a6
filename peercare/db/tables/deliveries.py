"""What the oracle tells the brands' ticketing systems (`peercare.oracle.deliveries`): each brand's
outbound channel per ticketing system (`DeliveryChannel`) and the durable queue of deliveries
(`Delivery`), written in the same transaction as the change it reports, sent by one worker."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from peercare.db.base import Base


class DeliveryChannel(Base):
    """Where and how the oracle reaches brand `brand_id`'s `source` system: the receiving URL (generic)
    or the account's base URL (Zendesk, Freshdesk), and the credential the system checks (HMAC
    secret, API token with the agent's email, API key). Kept in the clear: the oracle must present
    it; it is never shown again after it is set."""

    __tablename__ = "delivery_channels"
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(Text)
    created_at_ms: Mapped[int]


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to send (again) from `next_attempt_at_ms`
    DELIVERED = "delivered"  # the system confirmed it (or it was found already applied)
    PARKED = "parked"  # cannot succeed as it is (refused credentials, unknown ticket, invalid): `last_error`


class Delivery(Base):
    """One message to a ticketing system, at most once: `key` is unique ("offer:<question>:<round>")
    and travels with it as the idempotency key. `uncertain` is set before each attempt and cleared
    by a definite answer, so after a crash or a lost response the next attempt first checks whether
    the system already applied it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next", "status", "next_attempt_at_ms"),
        Index("ix_deliveries_brand_id_id", "brand_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    source: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[str] = mapped_column(String(100))
    question_id: Mapped[str | None] = mapped_column(String(66), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # offer | escalation | answer
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    uncertain: Mapped[bool] = mapped_column(default=False)
    next_attempt_at_ms: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at_ms: Mapped[int]
    delivered_at_ms: Mapped[int | None]

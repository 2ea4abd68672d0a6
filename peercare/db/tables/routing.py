"""Routing's state: the rounds of offers of each question (`RouteRound`: the committed decision of
one round) and each offer to one advocate (`Offer`: its role, window and state). Written by
`peercare.routing` only; the API reads them and records an advocate's accept or decline through
`peercare.routing.inbox`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from peercare.core.enums import OfferState
from peercare.db.base import ADDRESS, HASH, Base


class RouteRound(Base):
    """Round `round` (0 first) of routing a question: `peercare.routing.offers.decision_record` of
    the decision taken with the scores of reputation epoch `epoch`, plus the expert wallets it could
    pick from. A round after the first is opened when no offer of the one before was taken; its
    decision excludes everyone offered before, and is escalated to a swarm from the brand's
    `max_offer_rounds` on (`peercare.routing.rounds`)."""

    __tablename__ = "route_rounds"
    __table_args__ = (Index("ix_route_rounds_brand_id", "brand_id"),)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.question_id"), primary_key=True)
    round: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    epoch: Mapped[int | None]
    decision: Mapped[dict[str, Any]]
    created_at_ms: Mapped[int]
    # The routing batch anchoring this round on chain (`RoutingBatch.id`; no foreign key: the
    # column was added to a table other rows point at, in place). None until it is sealed.
    batch_id: Mapped[int | None] = mapped_column(index=True)


class RoutingBatch(Base):
    """A Merkle batch of routing decisions (`peercare.routing.anchors`), anchored by one
    `anchorRoutingBatch`. Its manifest (every round's decision record) is public, in the content
    store under `manifest_cid`."""

    __tablename__ = "routing_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    root: Mapped[str] = mapped_column(HASH, unique=True)
    size: Mapped[int]  # leaves: one per round plus one per person it offered the question to
    rounds: Mapped[int]
    manifest_cid: Mapped[str] = mapped_column(String(100))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    created_at_ms: Mapped[int]


class Offer(Base):
    """Round `round`'s offer of a question to `advocate` (a wallet, checksummed)."""

    __tablename__ = "offers"
    __table_args__ = (
        ForeignKeyConstraint(["question_id", "round"], ["route_rounds.question_id", "route_rounds.round"]),
        Index("ix_offers_advocate_state", "advocate", "state"),
        Index("ix_offers_state_window", "state", "window_ends_at_ms"),
    )
    question_id: Mapped[str] = mapped_column(HASH, primary_key=True)
    round: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    advocate: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"))
    role: Mapped[str] = mapped_column(String(16))  # core.enums.OfferRole
    share_bps: Mapped[int]  # a swarm member's share of the bounty; 0 for a direct offer
    state: Mapped[str] = mapped_column(String(16), default=OfferState.OFFERED)  # core.enums.OfferState
    offered_at_ms: Mapped[int]
    window_ends_at_ms: Mapped[int]  # the advocate's exclusive window: accept or decline before it ends
    decided_at_ms: Mapped[int | None]  # when it was accepted, declined, expired or answered
    accepted_at_ms: Mapped[int | None]  # when the advocate accepted it (kept once it is answered)
    reason: Mapped[str | None] = mapped_column(Text)  # the advocate's reason for declining, if given

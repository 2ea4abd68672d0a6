"""The oracle's record of the reputation epochs it published (or queued for publication).

One row per epoch, written in the same transaction as the outbox row that publishes its root, so
an epoch is either queued with its record or not at all. The record is the oracle's own
bookkeeping only: recomputation (`peercare.reputation.publication.recompute_epoch`) never reads it.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from peercare.db.base import HASH, Base


class ReputationEpoch(Base):
    """An epoch whose root was queued for `publishRoot` by outbox row `outbox_id`."""

    __tablename__ = "reputation_epochs"
    epoch: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(HASH)
    manifest_cid: Mapped[str] = mapped_column(String(100))  # the manifest in the content store
    cut: Mapped[int]  # the history's cut, unix seconds (block time), inclusive
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    created_at_ms: Mapped[int]

"""Watching the oracle work and waiting on it: a progress bar per phase until a condition holds (or
no progress for too long), the measures of one brand's work read from the oracle's database and
the chain (events handled, chain writes settled, blocks indexed), and empty blocks mined on the
local chain when it idles so that the last writes reach their confirmation depth."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import click
from sqlalchemy import func, select

from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import EventStatus, OutboxStatus, OutboxTx, WebhookEvent
from peercare.demo.connection import Connection
from peercare.demo.errors import DemoError
from peercare.oracle.batching import collecting

POLL_S = 0.25
MINE_AFTER_S = 0.5  # a local chain idle this long while writes wait for confirmations gets a block
_SETTLED = (OutboxStatus.CONFIRMED, OutboxStatus.FAILED)


@dataclass
class Progress:
    done: int
    total: int
    ready: bool  # this phase is over


def wait_for(
    label: str,
    measure: Callable[[], Progress],
    *,
    bar_file: TextIO | None,
    timeout_s: float,
    stalled: Callable[[], None] | None = None,
    what: str = "the oracle",
) -> None:
    """Show a progress bar until `measure` says the phase is over; call `stalled` whenever progress
    has stopped for `MINE_AFTER_S`; give up after `timeout_s` without progress."""
    state = measure()
    with click.progressbar(length=max(state.total, 1), label=label, file=bar_file, show_pos=True) as bar:
        shown, last_change = 0, time.monotonic()
        while True:
            bar.length = max(state.total, 1)
            if state.done != shown:
                bar.update(state.done - shown)
                shown, last_change = state.done, time.monotonic()
            if state.ready:
                return
            idle = time.monotonic() - last_change
            if idle > timeout_s:
                raise DemoError(
                    f"{label}: no progress for {timeout_s:.0f} s ({state.done} of {state.total}): "
                    f"is {what} (`peercare up`) still running? Its log says why it is stuck"
                )
            if stalled is not None and idle >= MINE_AFTER_S:
                stalled()
            time.sleep(POLL_S)
            state = measure()


class Watcher:
    """Where the oracle is with one brand's work, read from its database and the chain."""

    def __init__(self, conn: Connection, brand_id: int) -> None:
        self.conn, self.brand_id = conn, brand_id
        self._last_head = -1
        self._last_head_at = time.monotonic()

    def events(self) -> Progress:
        """Events handled, and nothing waiting for its batch to be sealed (`collecting`)."""
        with self.conn.database.read() as session:
            counts = dict(
                session.execute(
                    select(WebhookEvent.status, func.count())
                    .where(WebhookEvent.brand_id == self.brand_id)
                    .group_by(WebhookEvent.status)
                ).all()
            )
            unbatched = collecting(session, self.brand_id)
        total = sum(counts.values())
        pending = counts.get(EventStatus.PENDING, 0)
        return Progress(total - pending, total, pending == 0 and unbatched == 0)

    def writes(self) -> Progress:
        """Chain writes confirmed (or failed) among the brand's outbox rows."""
        with self.conn.database.read() as session:
            counts = dict(
                session.execute(
                    select(OutboxTx.status, func.count())
                    .where(OutboxTx.brand_id == self.brand_id)
                    .group_by(OutboxTx.status)
                ).all()
            )
        total = sum(counts.values())
        settled = sum(counts.get(status, 0) for status in _SETTLED)
        return Progress(settled, total, settled == total)

    def indexed(self) -> Progress:
        """Blocks indexed up to the last block holding one of the brand's writes."""
        with self.conn.database.read() as session:
            target = session.scalar(select(func.max(OutboxTx.block_number)).where(OutboxTx.brand_id == self.brand_id))
            cursor = session.get(ix.IndexerCursor, 1)
        reached = -1 if cursor is None else cursor.block_number
        if target is None:
            return Progress(1, 1, True)
        return Progress(min(reached, target), target, reached >= target)

    def mine_if_idle(self) -> None:
        """A block on the local chain when it has been idle: anvil mines only when sent a
        transaction, and the oracle's last writes wait for `confirmations` blocks above them."""
        head = int(self.conn.rpc.call("eth_blockNumber"), 16)
        now = time.monotonic()
        if head != self._last_head:
            self._last_head, self._last_head_at = head, now
        elif now - self._last_head_at >= MINE_AFTER_S:
            self.conn.rpc.call("evm_mine")
            self._last_head_at = now


def wait_for_oracle(conn: Connection, brand_id: int, *, bar_file: TextIO | None, timeout_s: float) -> None:
    watcher = Watcher(conn, brand_id)
    wait_for("oracle handling events ", watcher.events, bar_file=bar_file, timeout_s=timeout_s)
    wait_for(
        "chain writes confirmed ",
        watcher.writes,
        bar_file=bar_file,
        timeout_s=timeout_s,
        stalled=watcher.mine_if_idle,
    )
    wait_for(
        "indexing chain events  ",
        watcher.indexed,
        bar_file=bar_file,
        timeout_s=timeout_s,
        stalled=watcher.mine_if_idle,
    )

"""What every kind of batch the oracle seals shares: which items wait for their brand's next batch,
when a brand's waiting items are due, and the Merkle trees of sealed batches.

Questions, answers, acceptances and ratings each wait (no batch, no outbox row) until their
brand's next batch is sealed: by size (a full batch) or by age (the oldest has waited long
enough; then the rest goes too, in batches of at most the size). One rule for the four kinds
(`seal_due`), one definition of "waiting" per kind (`WAITING`), which the count of what the oracle
still holds (`collecting`) reads too, so the demo and the tests wait for exactly what is sealed.
A batch anchored by one write (answers, ratings) whose anchor failed for good gives its items back
to the waiting ones by one rule too (`recover_failed`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from peercare.core.merkle import StandardMerkleTree
from peercare.db.tables.oracle import Answer, OutboxStatus, OutboxTx, PendingAcceptance, Question, SentRating
from peercare.oracle.anchor_failures import failed_for_good, recovery_due_ms

log = logging.getLogger("peercare.oracle.batching")


@dataclass(frozen=True)
class Waiting:
    """Items of one kind waiting for their brand's next batch."""

    table: type[Any]
    brand: Any  # the table's brand column
    created_ms: Any  # the table's creation-time column (ms), which ages them
    condition: ColumnElement[bool]  # neither in a batch nor queued on its own
    order: tuple[Any, ...]  # the order they go into batches: oldest first, with a tie-break


QUESTIONS = Waiting(
    Question,
    Question.brand_id,
    Question.created_at_ms,
    Question.batch_id.is_(None) & Question.outbox_id.is_(None),
    (Question.created_at_ms, Question.question_id),
)
ANSWERS = Waiting(
    Answer,
    Answer.brand_id,
    Answer.created_at_ms,
    Answer.batch_id.is_(None) & Answer.outbox_id.is_(None),
    (Answer.created_at_ms, Answer.answer_id),
)
ACCEPTANCES = Waiting(
    PendingAcceptance,
    PendingAcceptance.brand_id,
    PendingAcceptance.created_at_ms,
    PendingAcceptance.outbox_id.is_(None),
    (PendingAcceptance.created_at_ms, PendingAcceptance.question_id),
)
# A rating without a brand is from before rating batches: it was sent on its own.
RATINGS = Waiting(
    SentRating,
    SentRating.brand_id,
    SentRating.created_at_ms,
    SentRating.batch_id.is_(None) & SentRating.outbox_id.is_(None) & SentRating.brand_id.is_not(None),
    (SentRating.id,),
)
WAITING = (QUESTIONS, ANSWERS, ACCEPTANCES, RATINGS)

#: Seals the given waiting items of the brand (at most a batch, in `Waiting.order`) as one batch.
Seal = Callable[[Session, int, list[Any]], None]


def seal_due(session: Session, waiting: Waiting, seal: Seal, *, batch_size: int, max_age_ms: int, now_ms: int) -> int:
    """Seal, for every brand, the full batches of its `waiting` items, and the rest too if the
    oldest has waited `max_age_ms`. Returns the batches sealed."""
    session.flush()
    pending = session.execute(
        select(waiting.brand, func.count(), func.min(waiting.created_ms))
        .where(waiting.condition)
        .group_by(waiting.brand)
    ).all()
    sealed = 0
    for brand_id, count, oldest in pending:
        while count >= batch_size or (count > 0 and now_ms - oldest >= max_age_ms):
            taken = seal_next(session, waiting, seal, brand_id, batch_size)
            if taken == 0:  # none left after all (sealed meanwhile, ahead of another write)
                break
            count -= taken
            sealed += 1
    return sealed


def seal_next(session: Session, waiting: Waiting, seal: Seal, brand_id: int, batch_size: int) -> int:
    """Seal the brand's next batch: its first `batch_size` waiting items. Returns how many."""
    items = next_batch(session, waiting, brand_id, batch_size)
    if items:
        seal(session, brand_id, items)
    return len(items)


def next_batch(session: Session, waiting: Waiting, brand_id: int, batch_size: int) -> list[Any]:
    """The brand's first `batch_size` waiting items, in order."""
    query = select(waiting.table).where(waiting.brand == brand_id, waiting.condition)
    return list(session.scalars(query.order_by(*waiting.order).limit(batch_size)))


@dataclass(frozen=True)
class Anchored:
    """A kind of batch anchored on chain by one outbox write: its table, the table of its items
    (their `batch_id` names it) and the indexed event that says the chain holds it."""

    batch: type[Any]
    items: type[Any]
    on_chain: type[Any]
    name: str  # the kind, and its items, as the log calls them
    noun: str


def record_batch(
    session: Session,
    kind: Anchored,
    brand_id: int,
    root: str,
    size: int,
    manifest_cid: str,
    outbox_id: int,
    now_ms: int,
) -> Any:
    """The row of a batch just sealed and queued (`outbox_id`), flushed. The same items sealed
    again after their anchor failed make the same root: the dead batch's row (roots are unique in
    its table) becomes the new batch, with the new anchor."""
    batch = session.scalar(select(kind.batch).where(kind.batch.root == root))
    if batch is not None:
        batch.outbox_id, batch.created_at_ms = outbox_id, now_ms
    else:
        batch = kind.batch(
            brand_id=brand_id,
            root=root,
            size=size,
            manifest_cid=manifest_cid,
            outbox_id=outbox_id,
            created_at_ms=now_ms,
        )
        session.add(batch)
    session.flush()
    return batch


#: Told of each batch whose items went back to the waiting ones, with its dead anchor.
Recovered = Callable[[Session, Any, OutboxTx], None]


def recover_failed(session: Session, kind: Anchored, now_ms: int, recovered: Recovered | None = None) -> int:
    """Give the items of every batch of `kind` whose anchor failed for good (`anchor_failures`), and
    that the chain does not hold anyway (anchored by another write of ours), back to the waiting
    ones, once the brand's back-off allows; tell `recovered` of each. Returns the batches recovered."""
    still_tied = select(kind.items.batch_id).where(kind.items.batch_id == kind.batch.id).exists()
    dead = session.execute(
        select(kind.batch, OutboxTx)
        .join(OutboxTx, OutboxTx.id == kind.batch.outbox_id)
        .where(OutboxTx.status == OutboxStatus.FAILED, still_tied)
        .order_by(kind.batch.id)
    ).all()
    count = 0
    for batch, anchor in dead:
        if not failed_for_good(session, anchor) or _on_chain(session, kind, batch):
            continue
        if now_ms < recovery_due_ms(session, anchor):
            continue
        session.execute(
            update(kind.items)
            .where(kind.items.batch_id == batch.id)
            .values(batch_id=None)
            .execution_options(synchronize_session="fetch")
        )
        log.warning(
            "%s batch %d of brand %d (root %s): its anchor (outbox %d) failed: %s; its %d %s go into a new batch",
            kind.name,
            batch.id,
            batch.brand_id,
            batch.root,
            anchor.id,
            anchor.error,
            batch.size,
            kind.noun,
        )
        if recovered is not None:
            recovered(session, batch, anchor)
        count += 1
    return count


def _on_chain(session: Session, kind: Anchored, batch: Any) -> bool:
    found = session.scalar(
        select(kind.on_chain.id).where(kind.on_chain.brand_id == batch.brand_id, kind.on_chain.root == batch.root)
    )
    return found is not None


def collecting(session: Session, brand_id: int | None = None) -> int:
    """Questions, answers, acceptances and ratings (of `brand_id`, or of every brand) waiting for
    their batch. Whoever waits for the oracle to have written everything (the demo, the tests)
    waits for this to be zero, besides pending events and unmined writes."""
    total = 0
    for waiting in WAITING:
        query = select(func.count()).select_from(waiting.table).where(waiting.condition)
        if brand_id is not None:
            query = query.where(waiting.brand == brand_id)
        total += session.scalar(query) or 0
    return total


class Trees:
    """Merkle trees of sealed batches by root (not by id: a rolled-back step may reuse an id),
    rebuilt from the batch's manifest on a miss. Bounded: the least recently used goes first."""

    def __init__(self, build: Callable[[str], StandardMerkleTree], size: int = 256) -> None:
        self._build = build  # manifest CID -> tree
        self._size = size
        self._trees: OrderedDict[str, StandardMerkleTree] = OrderedDict()

    def get(self, root: str, manifest_cid: str) -> StandardMerkleTree:
        tree = self._trees.get(root)
        if tree is None:
            tree = self._build(manifest_cid)
        self.put(root, tree)
        return tree

    def put(self, root: str, tree: StandardMerkleTree) -> None:
        self._trees[root] = tree
        self._trees.move_to_end(root)
        while len(self._trees) > self._size:
            self._trees.popitem(last=False)

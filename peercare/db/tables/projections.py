"""Projections of the ledger's events, written by the indexer (`peercare.oracle.indexer`).

Every projection is an append-only table of event rows, each carrying the block, transaction and
log it came from, unique on `(tx_hash, log_index)` (plus `leaf_index` for the answers of a batch,
which expand one log into one row per manifest leaf). Nothing is ever updated in place except a
batch's `manifest_status` (until its manifest arrives), so undoing a reorganisation is deleting the
rows above the fork point, and balances are sums over rows computed on read (`pool_balance`,
`earnings`): sum in Python, since amounts are exact decimal text (`Amount`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from peercare.core.enums import QuestionStatus
from peercare.db.base import ADDRESS, HASH, Amount, Base

# ---------------------------------------------------------------- bookkeeping


class IndexedBlock(Base):
    """A block the indexer has processed, kept to detect reorganisations (newest 512 only)."""

    __tablename__ = "ix_blocks"
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HASH)
    parent_hash: Mapped[str] = mapped_column(HASH)


class IndexerCursor(Base):
    """The one row saying up to which block (inclusive) the projections are complete."""

    __tablename__ = "ix_cursor"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    block_number: Mapped[int]


# ---------------------------------------------------------------- event rows


class _EventRow:
    """Columns every projection row has: where its log is on the chain."""

    # sort_order: these columns come first in every table, before the event's own.
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-6)
    block_number: Mapped[int] = mapped_column(index=True, sort_order=-5)
    block_hash: Mapped[str] = mapped_column(HASH, sort_order=-4)
    block_time: Mapped[int] = mapped_column(sort_order=-3)  # the block's timestamp, unix seconds
    tx_hash: Mapped[str] = mapped_column(HASH, sort_order=-2)
    log_index: Mapped[int] = mapped_column(sort_order=-1)


class BrandRegistration(_EventRow, Base):
    """`BrandRegistered`: a brand, its first admin and its pool's token."""

    __tablename__ = "ix_brands"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    brand_id: Mapped[int] = mapped_column(index=True)
    admin: Mapped[str] = mapped_column(ADDRESS)
    token: Mapped[str] = mapped_column(ADDRESS)


class QuestionPosted(_EventRow, Base):
    """A ticket became a question and its bounty was escrowed: `QuestionPosted` (`batch_root` null,
    `leaf_index` 0), or a leaf of a posted question batch whose manifest matched its root and that
    the indexer admitted (`leaf_index`: position in the manifest; the bounty is escrowed as part of
    the batch's total). One row per question id: a later posting of the same id is left out."""

    __tablename__ = "ix_questions"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", "leaf_index"),
        Index("ix_ix_questions_brand_id", "brand_id"),
    )
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    topic: Mapped[str] = mapped_column(HASH)
    source: Mapped[str] = mapped_column(HASH)
    ticket_id: Mapped[str] = mapped_column(Text)  # any string a brand oracle chose: unbounded
    bounty: Mapped[int] = mapped_column(Amount)
    deadline: Mapped[int]
    content_digest: Mapped[str] = mapped_column(HASH)
    batch_root: Mapped[str | None] = mapped_column(HASH)
    leaf_index: Mapped[int] = mapped_column(default=0, server_default="0")


class QuestionBatchPostedRow(_EventRow, Base):
    """`QuestionBatchPosted`: a batch of questions and its total escrowed, with what became of its
    manifest (as `BatchAnchored`)."""

    __tablename__ = "ix_question_batches"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_question_batches_brand_id", "brand_id"),
        Index("ix_ix_question_batches_manifest_status", "manifest_status"),
    )
    root: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    size: Mapped[int]
    total_bounty: Mapped[int] = mapped_column(Amount)
    deadline: Mapped[int]
    manifest_digest: Mapped[str] = mapped_column(HASH)
    manifest_status: Mapped[str] = mapped_column(String(16))


class SettledHow(StrEnum):
    """How a batched question left its batch's escrow (`BatchedQuestionSettled.how`)."""

    OPENED = "opened"  # BatchedQuestionOpened: now a stored question with its own escrow
    ACCEPTED = "accepted"  # BatchedQuestionAccepted: paid (AnswerAccepted follows in the same transaction)


class BatchedQuestionSettled(_EventRow, Base):
    """A question of a batch left the batch's escrow: `BatchedQuestionOpened` (`how` "opened": it
    became a stored question, with its own escrow) or `BatchedQuestionAccepted` (`how` "accepted":
    its bounty was paid; `AnswerAccepted` follows in the same transaction)."""

    __tablename__ = "ix_batched_questions_settled"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_batched_questions_settled_root", "batch_root"),
    )
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    batch_root: Mapped[str] = mapped_column(HASH)
    leaf_index: Mapped[int]
    how: Mapped[str] = mapped_column(String(16))


class QuestionBatchRelease(_EventRow, Base):
    """`QuestionBatchReleased`: an expired batch's remaining escrow went back to its pool."""

    __tablename__ = "ix_question_batch_releases"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    brand_id: Mapped[int]
    batch_root: Mapped[str] = mapped_column(HASH, index=True)
    refunded: Mapped[int] = mapped_column(Amount)


class AnswerRow(_EventRow, Base):
    """An answer: recorded directly (`AnswerRecorded`: `batch_root` null, `leaf_index` 0) or a leaf
    of an anchored batch whose manifest matched its root (`leaf_index`: position in the manifest)."""

    __tablename__ = "ix_answers"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", "leaf_index"),
        Index("ix_ix_answers_advocate", "advocate"),
    )
    answer_id: Mapped[str] = mapped_column(HASH, index=True)
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    advocate: Mapped[str] = mapped_column(ADDRESS)
    content_digest: Mapped[str] = mapped_column(HASH)
    batch_root: Mapped[str | None] = mapped_column(HASH)
    leaf_index: Mapped[int]


class ManifestStatus(StrEnum):
    OK = "ok"  # fetched, its tree has the anchored root and size: its answers are in ix_answers
    MISSING = "missing"  # not in the content store (yet): fetched again on later steps
    INVALID = "invalid"  # not a batch manifest: final (content is immutable)
    MISMATCH = "mismatch"  # a manifest whose root, size or brand differs from the anchored batch: final


class BatchAnchored(_EventRow, Base):
    """`AnswerBatchAnchored`, with what became of its manifest."""

    __tablename__ = "ix_batches"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_batches_brand_id", "brand_id"),
        Index("ix_ix_batches_manifest_status", "manifest_status"),
    )
    root: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    size: Mapped[int]
    manifest_digest: Mapped[str] = mapped_column(HASH)
    manifest_status: Mapped[str] = mapped_column(String(16))


class RatingBatchAnchored(_EventRow, Base):
    """`RatingBatchAnchored`, with what became of its manifest (as `BatchAnchored`)."""

    __tablename__ = "ix_rating_batches"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_rating_batches_brand_id", "brand_id"),
        Index("ix_ix_rating_batches_manifest_status", "manifest_status"),
    )
    root: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    size: Mapped[int]
    manifest_digest: Mapped[str] = mapped_column(HASH)
    manifest_status: Mapped[str] = mapped_column(String(16))


class RoutingBatchAnchoredRow(_EventRow, Base):
    """`RoutingBatchAnchored`: a batch of a brand's routing decisions (`peercare.routing.anchors`)."""

    __tablename__ = "ix_routing_batches"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"), Index("ix_ix_routing_batches_brand_id", "brand_id"))
    root: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    size: Mapped[int]
    manifest_digest: Mapped[str] = mapped_column(HASH)


class AnswerRated(_EventRow, Base):
    """A rating: `AnswerRated` (`batch_root` null, `leaf_index` 0), or a leaf of an anchored rating
    batch whose manifest matched its root and that the indexer admitted (`leaf_index`: position in
    the manifest). One row per (answer, rater kind, rater): a repeat is left out."""

    __tablename__ = "ix_ratings"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", "leaf_index"),
        Index("ix_ix_ratings_advocate", "advocate"),
    )
    answer_id: Mapped[str] = mapped_column(HASH, index=True)
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    advocate: Mapped[str] = mapped_column(ADDRESS)
    rating: Mapped[int]
    rater_kind: Mapped[str] = mapped_column(String(16))  # customer | peer_advocate | brand_expert
    rater_id: Mapped[str] = mapped_column(HASH)
    batch_root: Mapped[str | None] = mapped_column(HASH)
    leaf_index: Mapped[int] = mapped_column(default=0, server_default="0")


class Acceptance(_EventRow, Base):
    """`AnswerAccepted`: the question is closed and its bounty released from escrow."""

    __tablename__ = "ix_acceptances"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"), Index("ix_ix_acceptances_advocate", "advocate"))
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    answer_id: Mapped[str] = mapped_column(HASH, index=True)
    advocate: Mapped[str] = mapped_column(ADDRESS)
    bounty: Mapped[int] = mapped_column(Amount)


class RewardCredit(_EventRow, Base):
    """`RewardCredited`: a payout to an account's earnings (one per swarm member)."""

    __tablename__ = "ix_reward_credits"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_reward_credits_account_token", "account", "token"),
    )
    account: Mapped[str] = mapped_column(ADDRESS)
    token: Mapped[str] = mapped_column(ADDRESS)
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    amount: Mapped[int] = mapped_column(Amount)


class EarningsWithdrawal(_EventRow, Base):
    """`EarningsWithdrawn`."""

    __tablename__ = "ix_earnings_withdrawals"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_ix_earnings_withdrawals_account_token", "account", "token"),
    )
    account: Mapped[str] = mapped_column(ADDRESS)
    token: Mapped[str] = mapped_column(ADDRESS)
    to: Mapped[str] = mapped_column(ADDRESS)
    amount: Mapped[int] = mapped_column(Amount)


class PoolMovementKind(StrEnum):
    DEPOSIT = "deposit"  # PoolDeposited: into available
    WITHDRAW = "withdraw"  # PoolWithdrawn: out of available
    ESCROW = "escrow"  # QuestionPosted, QuestionBatchPosted (its total): available -> escrowed
    REFUND = "refund"  # QuestionExpired, QuestionBatchReleased: escrowed -> available
    PAYOUT = "payout"  # AnswerAccepted: escrowed -> advocates' earnings


class PoolMovement(_EventRow, Base):
    """A change of a brand's pool. `account`: who deposited or received a withdrawal (else null);
    `question_id`: the question escrowed, refunded or paid (else null; null too for a question
    batch's escrow and release, which are the batch's)."""

    __tablename__ = "ix_pool_movements"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"), Index("ix_ix_pool_movements_brand_id", "brand_id"))
    brand_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Amount)
    account: Mapped[str | None] = mapped_column(ADDRESS)
    question_id: Mapped[str | None] = mapped_column(HASH)


class QuestionExpiry(_EventRow, Base):
    """`QuestionExpired`: the bounty went back to the pool."""

    __tablename__ = "ix_question_expiries"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    question_id: Mapped[str] = mapped_column(HASH, index=True)
    brand_id: Mapped[int]
    refunded: Mapped[int] = mapped_column(Amount)


class ReputationRoot(_EventRow, Base):
    """`ReputationRootPublished` or `RootCorrected` (ReputationRoots contract): an epoch's root and
    manifest as of this event. The admin's correction supersedes the publication (`verifyScore`
    reads the corrected root), so readers take an epoch's latest row: `current_root`."""

    __tablename__ = "ix_reputation_roots"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    epoch: Mapped[int] = mapped_column(index=True)
    root: Mapped[str] = mapped_column(HASH)
    manifest_digest: Mapped[str] = mapped_column(HASH)


#: Every table of event rows: what a rewind deletes above the fork point and a snapshot compares.
PROJECTIONS: tuple[type[_EventRow], ...] = (
    BrandRegistration,
    QuestionPosted,
    QuestionBatchPostedRow,
    BatchedQuestionSettled,
    QuestionBatchRelease,
    AnswerRow,
    BatchAnchored,
    RoutingBatchAnchoredRow,
    RatingBatchAnchored,
    AnswerRated,
    Acceptance,
    RewardCredit,
    EarningsWithdrawal,
    PoolMovement,
    QuestionExpiry,
    ReputationRoot,
)


# ---------------------------------------------------------------- reads


def brand_token(session: Session, brand_id: int) -> str | None:
    """The token the brand's pool is in, as its registration on chain says (None before it is indexed)."""
    token: str | None = session.scalars(
        select(BrandRegistration.token).where(BrandRegistration.brand_id == brand_id).limit(1)
    ).first()
    return token


def current_root(session: Session, epoch: int | None = None) -> ReputationRoot | None:
    """Epoch `epoch`'s root as ReputationRoots holds it now (the latest epoch's when None): its
    latest `ReputationRootPublished` or `RootCorrected` row, in chain order."""
    rows = select(ReputationRoot)
    query = rows.order_by(ReputationRoot.epoch.desc()) if epoch is None else rows.where(ReputationRoot.epoch == epoch)
    newest = query.order_by(ReputationRoot.block_number.desc(), ReputationRoot.log_index.desc()).limit(1)
    return session.scalars(newest).first()


def current_roots(session: Session, *, after: int = 0, limit: int | None = None) -> list[ReputationRoot]:
    """The current root (`current_root`) of each epoch after `after`, by epoch, at most `limit`."""
    rows = session.scalars(
        select(ReputationRoot)
        .where(ReputationRoot.epoch > after)
        .order_by(ReputationRoot.epoch, ReputationRoot.block_number, ReputationRoot.log_index)
    )
    latest: dict[int, ReputationRoot] = {}
    for row in rows:  # a correction comes after what it corrects: the last row of an epoch wins
        latest[row.epoch] = row
    found = list(latest.values())
    return found if limit is None else found[:limit]


@dataclass(frozen=True)
class PoolBalance:
    """A brand's pool from its events; `available` and `escrowed_open` equal the ledger's `pool()`."""

    deposited: int
    withdrawn: int
    escrowed_open: int  # bounties of questions still open
    paid: int  # bounties released to advocates on acceptance
    refunded: int  # bounties returned on expiry
    available: int  # deposited - withdrawn - every escrow + refunded


def pool_balance(session: Session, brand_id: int) -> PoolBalance:
    totals = dict.fromkeys(PoolMovementKind, 0)
    for kind, amount in session.execute(
        select(PoolMovement.kind, PoolMovement.amount).where(PoolMovement.brand_id == brand_id)
    ):
        totals[PoolMovementKind(kind)] += amount
    escrowed = totals[PoolMovementKind.ESCROW]
    refunded = totals[PoolMovementKind.REFUND]
    paid = totals[PoolMovementKind.PAYOUT]
    deposited = totals[PoolMovementKind.DEPOSIT]
    withdrawn = totals[PoolMovementKind.WITHDRAW]
    return PoolBalance(
        deposited=deposited,
        withdrawn=withdrawn,
        escrowed_open=escrowed - refunded - paid,
        paid=paid,
        refunded=refunded,
        available=deposited - withdrawn - escrowed + refunded,
    )


@dataclass(frozen=True)
class Earnings:
    """An account's earnings in one token; `claimable` equals the ledger's `earnings()`."""

    credited: int
    withdrawn: int
    claimable: int


def earnings(session: Session, account: str, token: str) -> Earnings:
    account, token = to_checksum_address(account), to_checksum_address(token)
    credited = sum(
        session.scalars(select(RewardCredit.amount).where(RewardCredit.account == account, RewardCredit.token == token))
    )
    withdrawn = sum(
        session.scalars(
            select(EarningsWithdrawal.amount).where(
                EarningsWithdrawal.account == account, EarningsWithdrawal.token == token
            )
        )
    )
    return Earnings(credited=credited, withdrawn=withdrawn, claimable=credited - withdrawn)


@dataclass(frozen=True)
class QuestionState:
    question_id: str
    status: QuestionStatus
    brand_id: int | None = None
    bounty: int | None = None
    deadline: int | None = None
    answers: int = 0  # answers indexed so far (direct, and in batches whose manifest matched)
    accepted_answer_id: str | None = None
    accepted_advocate: str | None = None
    batch_root: str | None = None  # the question batch it was posted in (None: posted alone)
    leaf_index: int = 0  # its position in that batch


def question_statuses(session: Session, posted: Iterable[QuestionPosted]) -> dict[str, QuestionStatus]:
    """question id -> status, for indexed postings, in a fixed number of queries. Accepted once
    an `AnswerAccepted` is indexed; expired by its `QuestionExpired` (posted alone, or batched and
    opened), or, batched and never opened nor accepted, once its batch was released
    (`QuestionBatchReleased`); open otherwise (past its deadline too, as on the ledger)."""
    rows = list(posted)
    ids = [row.question_id for row in rows]
    accepted = set(session.scalars(select(Acceptance.question_id).where(Acceptance.question_id.in_(ids))))
    expired = set(session.scalars(select(QuestionExpiry.question_id).where(QuestionExpiry.question_id.in_(ids))))
    batched = [row for row in rows if row.batch_root is not None]
    opened: set[str] = set()
    released: set[tuple[int, str]] = set()
    if batched:
        opened = set(
            session.scalars(
                select(BatchedQuestionSettled.question_id).where(
                    BatchedQuestionSettled.question_id.in_([row.question_id for row in batched]),
                    BatchedQuestionSettled.how == SettledHow.OPENED,
                )
            )
        )
        released = {
            (brand, root)
            for brand, root in session.execute(
                select(QuestionBatchRelease.brand_id, QuestionBatchRelease.batch_root).where(
                    QuestionBatchRelease.batch_root.in_({row.batch_root for row in batched})
                )
            )
        }
    statuses = {}
    for row in rows:
        question = row.question_id
        if question in accepted:
            statuses[question] = QuestionStatus.ACCEPTED
        elif question in expired or (
            row.batch_root is not None and question not in opened and (row.brand_id, row.batch_root) in released
        ):
            statuses[question] = QuestionStatus.EXPIRED
        else:
            statuses[question] = QuestionStatus.OPEN
    return statuses


def question_status(session: Session, question_id: str) -> QuestionState:
    question_id = question_id.lower()
    posted = session.scalars(select(QuestionPosted).where(QuestionPosted.question_id == question_id)).first()
    if posted is None:
        return QuestionState(question_id, QuestionStatus.NONE)
    answers = session.scalar(select(func.count()).where(AnswerRow.question_id == question_id)) or 0
    accepted = session.scalars(select(Acceptance).where(Acceptance.question_id == question_id)).first()
    return QuestionState(
        question_id=question_id,
        status=question_statuses(session, [posted])[question_id],
        brand_id=posted.brand_id,
        bounty=posted.bounty,
        deadline=posted.deadline,
        answers=answers,
        accepted_answer_id=None if accepted is None else accepted.answer_id,
        accepted_advocate=None if accepted is None else accepted.advocate,
        batch_root=posted.batch_root,
        leaf_index=posted.leaf_index,
    )


def projection_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows without their surrogate ids, sorted: two databases that
    indexed the same chain to the same block have equal snapshots."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for model in PROJECTIONS:
        table = model.__table__  # type: ignore[attr-defined]
        columns = [column for column in table.columns if column.name != "id"]
        rows = session.execute(select(*columns)).all()
        snapshot[table.name] = sorted((tuple(row) for row in rows), key=_sort_key)
    return snapshot


def snapshot_differences(
    a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]
) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Per table whose rows differ: (rows only in `a`, rows only in `b`). Empty when equal."""
    differences = {}
    for name in sorted(set(a) | set(b)):
        rows_a, rows_b = a.get(name, []), b.get(name, [])
        if rows_a != rows_b:
            only_a = [row for row in rows_a if row not in rows_b]
            only_b = [row for row in rows_b if row not in rows_a]
            differences[name] = (only_a, only_b)
    return differences


def _sort_key(row: Iterable[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, "") if value is None else (1, value) for value in row)

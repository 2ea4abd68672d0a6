"""A brand's whole history from the indexer's projections, for the brand's own books and for
auditors: one JSON document with a list per kind of event, or one CSV table with a `kind` column
and the union of every kind's columns, streamed page by page.

Both read only the rows up to the indexer's cursor block, taken once at the start, so an export is
a cut of the chain at one block even while the indexer keeps writing; the CSV reads each page in
its own short read transaction instead of holding one open while the client downloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from peercare.api.schemas.common import Address, Hex32, TokenAmount
from peercare.content.cid import cid_from_digest
from peercare.db.database import Database
from peercare.db.tables import projections as ix

#: Rows read per query while streaming the CSV.
CSV_PAGE = 500


class Position(BaseModel):
    """Where an event's log is on the chain."""

    block_number: int
    block_time: int = Field(description="The block's timestamp, unix seconds")
    tx_hash: Hex32
    log_index: int


class QuestionEvent(Position):
    """`QuestionPosted`, or a question of a posted question batch (`batch_root`): a ticket became a
    question; its bounty was escrowed (a batched one's as part of its batch's total)."""

    question_id: Hex32
    ticket_id: str
    topic: Hex32
    source: Hex32
    bounty: TokenAmount
    deadline: int = Field(description="Unix seconds")
    content_digest: Hex32
    batch_root: Hex32 | None = Field(description="The question batch it was posted in; null when posted alone")
    leaf_index: int = Field(description="Position in the question batch's manifest (0 when posted alone)")


class AnswerEvent(Position):
    """An answer, recorded directly (`batch_root` null) or a leaf of an anchored batch."""

    answer_id: Hex32
    question_id: Hex32
    advocate: Address
    content_digest: Hex32
    batch_root: Hex32 | None
    leaf_index: int = Field(description="Position in the batch manifest (0 for a direct answer)")


class BatchEvent(Position):
    """`AnswerBatchAnchored`: a Merkle root of answers and the manifest listing them."""

    batch_root: Hex32
    size: int
    manifest_cid: str
    manifest_status: str = Field(description="What the indexer found: ok, missing, invalid or mismatch")


class RatingEvent(Position):
    """A rating: `AnswerRated`, or a leaf of a rating batch (`RatingBatchAnchored`) the index admitted."""

    answer_id: Hex32
    question_id: Hex32
    advocate: Address
    rating: int
    rater_kind: str
    rater_id: Hex32
    batch_root: Hex32 | None = Field(description="The rating batch's Merkle root; null for a direct rating")
    leaf_index: int = Field(description="Position in the rating batch's manifest (0 for a direct rating)")


class AcceptanceEvent(Position):
    """`AnswerAccepted`: the question closed and its bounty was released."""

    question_id: Hex32
    answer_id: Hex32
    advocate: Address
    bounty: TokenAmount


class RewardCreditEvent(Position):
    """`RewardCredited`: a payout to one swarm member's earnings for one of the brand's questions."""

    question_id: Hex32
    account: Address
    token: Address
    amount: TokenAmount


class PoolMovementEvent(Position):
    """A change of the brand's pool (`movement`: deposit, withdraw, escrow, refund or payout)."""

    movement: str
    amount: TokenAmount
    account: Address | None
    question_id: Hex32 | None


class QuestionBatchEvent(Position):
    """`QuestionBatchPosted`: a Merkle root of questions, their total bounty escrowed, and the manifest listing them."""

    batch_root: Hex32
    size: int
    total_bounty: TokenAmount
    deadline: int = Field(description="Unix seconds, shared by the batch's questions")
    manifest_cid: str
    manifest_status: str = Field(description="What the indexer found: ok, missing, invalid or mismatch")


class BatchedQuestionEvent(Position):
    """`BatchedQuestionAccepted` or `BatchedQuestionOpened` (`how`): a batched question left its batch's escrow."""

    question_id: Hex32
    batch_root: Hex32
    leaf_index: int
    how: str = Field(description="accepted (paid: see its acceptance) or opened (a question stored on its own)")


class QuestionBatchReleaseEvent(Position):
    """`QuestionBatchReleased`: an expired question batch's remaining escrow went back to the pool."""

    batch_root: Hex32
    refunded: TokenAmount


class QuestionExpiryEvent(Position):
    """`QuestionExpired`: the bounty went back to the pool."""

    question_id: Hex32
    refunded: TokenAmount


def _of_brand_questions(table: Any) -> Callable[[int], ColumnElement[bool]]:
    """Rows about one of the brand's questions (tables without a brand column)."""
    return lambda brand_id: table.question_id.in_(
        select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
    )


def _of_brand(table: Any) -> Callable[[int], ColumnElement[bool]]:
    return lambda brand_id: table.brand_id == brand_id


def _position(row: Any) -> dict[str, Any]:
    return {
        "block_number": row.block_number,
        "block_time": row.block_time,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
    }


@dataclass(frozen=True)
class Kind:
    """One kind of event: its CSV `kind`, its JSON list, its table and how a row becomes a model."""

    name: str
    plural: str
    model: type[Position]
    table: Any
    of_brand: Callable[[int], ColumnElement[bool]]
    convert: Callable[[Any], dict[str, Any]]

    def event(self, row: Any) -> Position:
        return self.model(**_position(row), **self.convert(row))


KINDS: tuple[Kind, ...] = (
    Kind(
        "question",
        "questions",
        QuestionEvent,
        ix.QuestionPosted,
        _of_brand(ix.QuestionPosted),
        lambda r: {
            "question_id": r.question_id,
            "ticket_id": r.ticket_id,
            "topic": r.topic,
            "source": r.source,
            "bounty": str(r.bounty),
            "deadline": r.deadline,
            "content_digest": r.content_digest,
            "batch_root": r.batch_root,
            "leaf_index": r.leaf_index,
        },
    ),
    Kind(
        "answer",
        "answers",
        AnswerEvent,
        ix.AnswerRow,
        _of_brand_questions(ix.AnswerRow),
        lambda r: {
            "answer_id": r.answer_id,
            "question_id": r.question_id,
            "advocate": r.advocate,
            "content_digest": r.content_digest,
            "batch_root": r.batch_root,
            "leaf_index": r.leaf_index,
        },
    ),
    Kind(
        "batch",
        "batches",
        BatchEvent,
        ix.BatchAnchored,
        _of_brand(ix.BatchAnchored),
        lambda r: {
            "batch_root": r.root,
            "size": r.size,
            "manifest_cid": cid_from_digest(bytes.fromhex(r.manifest_digest[2:])),
            "manifest_status": r.manifest_status,
        },
    ),
    Kind(
        "rating",
        "ratings",
        RatingEvent,
        ix.AnswerRated,
        _of_brand_questions(ix.AnswerRated),
        lambda r: {
            "answer_id": r.answer_id,
            "question_id": r.question_id,
            "advocate": r.advocate,
            "rating": r.rating,
            "rater_kind": r.rater_kind,
            "rater_id": r.rater_id,
            "batch_root": r.batch_root,
            "leaf_index": r.leaf_index,
        },
    ),
    Kind(
        "acceptance",
        "acceptances",
        AcceptanceEvent,
        ix.Acceptance,
        _of_brand_questions(ix.Acceptance),
        lambda r: {
            "question_id": r.question_id,
            "answer_id": r.answer_id,
            "advocate": r.advocate,
            "bounty": str(r.bounty),
        },
    ),
    Kind(
        "reward_credit",
        "reward_credits",
        RewardCreditEvent,
        ix.RewardCredit,
        _of_brand_questions(ix.RewardCredit),
        lambda r: {"question_id": r.question_id, "account": r.account, "token": r.token, "amount": str(r.amount)},
    ),
    Kind(
        "pool_movement",
        "pool_movements",
        PoolMovementEvent,
        ix.PoolMovement,
        _of_brand(ix.PoolMovement),
        lambda r: {"movement": r.kind, "amount": str(r.amount), "account": r.account, "question_id": r.question_id},
    ),
    Kind(
        "question_expiry",
        "question_expiries",
        QuestionExpiryEvent,
        ix.QuestionExpiry,
        _of_brand(ix.QuestionExpiry),
        lambda r: {"question_id": r.question_id, "refunded": str(r.refunded)},
    ),
    Kind(
        "question_batch",
        "question_batches",
        QuestionBatchEvent,
        ix.QuestionBatchPostedRow,
        _of_brand(ix.QuestionBatchPostedRow),
        lambda r: {
            "batch_root": r.root,
            "size": r.size,
            "total_bounty": str(r.total_bounty),
            "deadline": r.deadline,
            "manifest_cid": cid_from_digest(bytes.fromhex(r.manifest_digest[2:])),
            "manifest_status": r.manifest_status,
        },
    ),
    Kind(
        "batched_question",
        "batched_questions",
        BatchedQuestionEvent,
        ix.BatchedQuestionSettled,
        _of_brand(ix.BatchedQuestionSettled),
        lambda r: {"question_id": r.question_id, "batch_root": r.batch_root, "leaf_index": r.leaf_index, "how": r.how},
    ),
    Kind(
        "question_batch_release",
        "question_batch_releases",
        QuestionBatchReleaseEvent,
        ix.QuestionBatchRelease,
        _of_brand(ix.QuestionBatchRelease),
        lambda r: {"batch_root": r.batch_root, "refunded": str(r.refunded)},
    ),
)


def _csv_columns() -> list[str]:
    columns = ["kind", *Position.model_fields]
    for kind in KINDS:
        columns += [name for name in kind.model.model_fields if name not in columns]
    return columns


#: `kind`, the position columns, then every kind's own columns in order of first appearance.
CSV_COLUMNS = _csv_columns()


class BrandHistory(BaseModel):
    """Every event of one brand up to `indexed_block`, a list per kind, each in indexing order."""

    brand_id: int
    chain_id: int
    indexed_block: int | None = Field(description="The export holds every event up to this block (null: none yet)")
    contracts: dict[str, Address] = Field(description="The deployment's contracts, by name")
    questions: list[QuestionEvent]
    answers: list[AnswerEvent]
    batches: list[BatchEvent]
    ratings: list[RatingEvent]
    acceptances: list[AcceptanceEvent]
    reward_credits: list[RewardCreditEvent]
    pool_movements: list[PoolMovementEvent]
    question_expiries: list[QuestionExpiryEvent]
    question_batches: list[QuestionBatchEvent]
    batched_questions: list[BatchedQuestionEvent]
    question_batch_releases: list[QuestionBatchReleaseEvent]


def indexed_block(session: Session) -> int | None:
    cursor = session.get(ix.IndexerCursor, 1)
    return None if cursor is None else cursor.block_number


def brand_registered(session: Session, brand_id: int) -> bool:
    return session.scalar(select(ix.BrandRegistration.id).where(ix.BrandRegistration.brand_id == brand_id)) is not None


def events(
    session: Session, kind: Kind, brand_id: int, upto: int, *, after_id: int = 0, limit: int | None = None
) -> list[tuple[int, Position]]:
    """(row id, event) of `kind` for the brand in blocks up to `upto`, by row id, after `after_id`."""
    table = kind.table
    query = (
        select(table)
        .where(kind.of_brand(brand_id), table.block_number <= upto, table.id > after_id)
        .order_by(table.id)
        .limit(limit)
    )
    return [(row.id, kind.event(row)) for row in session.scalars(query)]


def brand_history(session: Session, brand_id: int, chain_id: int, contracts: dict[str, str]) -> BrandHistory:
    upto = indexed_block(session)
    lists = {
        kind.plural: [] if upto is None else [e for _, e in events(session, kind, brand_id, upto)] for kind in KINDS
    }
    return BrandHistory.model_validate(
        {"brand_id": brand_id, "chain_id": chain_id, "indexed_block": upto, "contracts": contracts, **lists}
    )


def csv_row(kind: Kind, event: Position) -> dict[str, Any]:
    """One CSV row: the event's fields under their columns, the other columns left empty."""
    return {"kind": kind.name, **event.model_dump()}


def history_csv(database: Database, brand_id: int, upto: int | None, page: int = CSV_PAGE) -> Iterator[str]:
    """The brand's history up to block `upto` as CSV text (columns: `CSV_COLUMNS`), a chunk per page."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    if upto is not None:
        for kind in KINDS:
            after = 0
            while True:
                with database.read() as session:
                    rows = events(session, kind, brand_id, upto, after_id=after, limit=page)
                for _, event in rows:
                    writer.writerow(csv_row(kind, event))
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                if len(rows) < page:
                    break
                after = rows[-1][0]
    yield buffer.getvalue()

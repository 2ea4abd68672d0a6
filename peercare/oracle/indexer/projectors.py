"""Events to rows: one projector per projected event, registered by event name in `PROJECTORS`.

A projector adds the rows one decoded log projects (`at`: the log's position, `v`: its decoded
values) to the step's `Projection`; `Projection.finish` completes what needs the whole step (the
brand of a payout: its question's posting, or the `BatchedQuestionAccepted` or
`BatchedQuestionOpened` that names it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from peercare.core.enums import RaterKind
from peercare.core.hex import unhex
from peercare.core.ledger_ids import answer_id
from peercare.db.tables.projections import (
    Acceptance,
    AnswerRated,
    AnswerRow,
    BatchAnchored,
    BatchedQuestionSettled,
    BrandRegistration,
    EarningsWithdrawal,
    PoolMovement,
    PoolMovementKind,
    QuestionBatchPostedRow,
    QuestionBatchRelease,
    QuestionExpiry,
    QuestionPosted,
    RatingBatchAnchored,
    ReputationRoot,
    RewardCredit,
    RoutingBatchAnchoredRow,
    SettledHow,
)
from peercare.oracle.indexer.admission import (
    admitted_answers,
    admitted_questions,
    admitted_ratings,
    earlier_ratings,
    posted_brands,
    rating_key,
    settled_brands,
)
from peercare.oracle.indexer.decoder import PROJECTED_EVENTS
from peercare.oracle.indexer.errors import IndexerError
from peercare.oracle.indexer.manifests import (
    ANSWER_BATCH,
    QUESTION_BATCH,
    RATING_BATCH,
    ContentSource,
    Manifest,
    ManifestKey,
    batch_leaves,
    log,
)

Rows = dict[type[Any], list[dict[str, Any]]]  # projection table -> rows to insert


@dataclass
class Projection:
    """The rows one step projects, and what its projectors share while building them."""

    session: Session
    content_store: ContentSource
    manifests: Mapping[ManifestKey, Manifest]  # the batches' manifests, read and checked before the step
    rows: Rows = field(default_factory=lambda: defaultdict(list))
    brand_of_question: dict[str, int] = field(default_factory=dict)  # of the questions posted in the step
    brand_of_settled: dict[str, int] = field(default_factory=dict)  # of the batched questions settled in the step
    payouts: list[dict[str, Any]] = field(default_factory=list)  # without their brand until `finish`
    rated_in_step: set[tuple[str, str, str]] = field(default_factory=set)  # (answer, rater kind, rater)

    def finish(self, start_block: int) -> Rows:
        """The rows, the payouts completed with their question's brand."""
        if self.payouts:
            # AnswerAccepted does not name the brand: its question's posting does (earlier on chain),
            # or for a batched question the event that settled it (whatever became of the manifest).
            brands = self.brand_of_question | self.brand_of_settled
            unknown = {row["question_id"] for row in self.payouts} - brands.keys()
            brands.update(posted_brands(self.session, unknown))
            brands.update(settled_brands(self.session, unknown - brands.keys()))
            for row in self.payouts:
                brand = brands.get(row["question_id"])
                if brand is None:
                    raise IndexerError(
                        f"question {row['question_id']} was accepted but its posting was never indexed: "
                        f"start_block {start_block} is after it"
                    )
                self.rows[PoolMovement].append(row | {"brand_id": brand})
        return self.rows


Projector = Callable[[Projection, dict[str, Any], dict[str, Any]], None]


def brand_registered(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[BrandRegistration].append(at | {"brand_id": v["brandId"], "admin": v["admin"], "token": v["token"]})


def pool_deposited(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[PoolMovement].append(
        at | _movement(v["brandId"], PoolMovementKind.DEPOSIT, v["amount"], account=v["from"])
    )


def pool_withdrawn(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[PoolMovement].append(at | _movement(v["brandId"], PoolMovementKind.WITHDRAW, v["amount"], account=v["to"]))


def question_posted(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[PoolMovement].append(
        at | _movement(v["brandId"], PoolMovementKind.ESCROW, v["bounty"], question=v["questionId"])
    )
    # The ledger refuses an id it stores, not one listed in a batch and never opened: first posting wins.
    if v["questionId"] in out.brand_of_question or posted_brands(out.session, [v["questionId"]]):
        log.warning("question %s posted in tx %s was posted before: left out", v["questionId"], at["tx_hash"])
        return
    out.brand_of_question[v["questionId"]] = v["brandId"]
    out.rows[QuestionPosted].append(
        at
        | {
            "question_id": v["questionId"],
            "brand_id": v["brandId"],
            "topic": v["topic"],
            "source": v["source"],
            "ticket_id": v["ticketId"],
            "bounty": v["bounty"],
            "deadline": v["deadline"],
            "content_digest": v["contentDigest"],
            "batch_root": None,
            "leaf_index": 0,
        }
    )


def question_batch_posted(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    batch = at | _batch(v) | {"total_bounty": v["totalBounty"], "deadline": v["deadline"]}
    status, questions = batch_leaves(out.content_store, QUESTION_BATCH, batch, out.manifests)
    out.rows[QuestionBatchPostedRow].append(batch | {"manifest_status": status})
    out.rows[PoolMovement].append(at | _movement(v["brandId"], PoolMovementKind.ESCROW, v["totalBounty"]))
    admitted = admitted_questions(out.session, batch, questions, out.brand_of_question)
    out.rows[QuestionPosted].extend(admitted)
    out.brand_of_question.update((row["question_id"], row["brand_id"]) for row in admitted)


def _batched_question_settled(how: SettledHow) -> Projector:
    def project(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
        out.brand_of_settled[v["questionId"]] = v["brandId"]
        out.rows[BatchedQuestionSettled].append(
            at
            | {
                "question_id": v["questionId"],
                "brand_id": v["brandId"],
                "batch_root": v["batchRoot"],
                "leaf_index": v["index"],
                "how": how.value,
            }
        )

    return project


def question_batch_released(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[QuestionBatchRelease].append(
        at | {"brand_id": v["brandId"], "batch_root": v["batchRoot"], "refunded": v["refunded"]}
    )
    out.rows[PoolMovement].append(at | _movement(v["brandId"], PoolMovementKind.REFUND, v["refunded"]))


def question_expired(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[QuestionExpiry].append(
        at | {"question_id": v["questionId"], "brand_id": v["brandId"], "refunded": v["refunded"]}
    )
    out.rows[PoolMovement].append(
        at | _movement(v["brandId"], PoolMovementKind.REFUND, v["refunded"], question=v["questionId"])
    )


def answer_recorded(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    recorded = answer_id(unhex(v["questionId"]), v["advocate"], unhex(v["contentDigest"]))
    out.rows[AnswerRow].append(
        at
        | {
            "answer_id": "0x" + recorded.hex(),
            "question_id": v["questionId"],
            "advocate": v["advocate"],
            "content_digest": v["contentDigest"],
            "batch_root": None,
            "leaf_index": 0,
        }
    )


def answer_batch_anchored(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    batch = at | _batch(v)
    status, answers = batch_leaves(out.content_store, ANSWER_BATCH, batch, out.manifests)
    out.rows[BatchAnchored].append(batch | {"manifest_status": status})
    out.rows[AnswerRow].extend(admitted_answers(out.session, batch, answers, out.brand_of_question))


def routing_batch_anchored(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    # Only the event: its decisions are read from the manifest by who checks them (the audit, the
    # routing proofs), since no contract reads them.
    out.rows[RoutingBatchAnchoredRow].append(at | _batch(v))


def rating_batch_anchored(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    batch = at | _batch(v)
    status, ratings = batch_leaves(out.content_store, RATING_BATCH, batch, out.manifests)
    out.rows[RatingBatchAnchored].append(batch | {"manifest_status": status})
    out.rows[AnswerRated].extend(
        admitted_ratings(out.session, batch, ratings, out.brand_of_question, out.rated_in_step)
    )


def answer_rated(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    row = at | {
        "answer_id": v["answerId"],
        "question_id": v["questionId"],
        "advocate": v["advocate"],
        "rating": v["rating"],
        "rater_kind": _rater_kind(v["raterKind"]),
        "rater_id": v["raterId"],
        "batch_root": None,
        "leaf_index": 0,
    }
    # The ledger refuses a direct repeat, not one of a batched rating: the earliest counts.
    key = rating_key(row)
    if key in out.rated_in_step or key in earlier_ratings(out.session, [row["answer_id"]]):
        log.warning("rating of %s in tx %s repeats an earlier one by the same rater: left out", key[0], at["tx_hash"])
        return
    out.rated_in_step.add(key)
    out.rows[AnswerRated].append(row)


def answer_accepted(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[Acceptance].append(
        at
        | {
            "question_id": v["questionId"],
            "answer_id": v["answerId"],
            "advocate": v["advocate"],
            "bounty": v["bounty"],
        }
    )
    out.payouts.append(at | _movement(0, PoolMovementKind.PAYOUT, v["bounty"], question=v["questionId"]))


def reward_credited(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[RewardCredit].append(
        at
        | {
            "account": v["account"],
            "token": v["token"],
            "question_id": v["questionId"],
            "amount": v["amount"],
        }
    )


def earnings_withdrawn(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[EarningsWithdrawal].append(
        at | {"account": v["account"], "token": v["token"], "to": v["to"], "amount": v["amount"]}
    )


def reputation_root(out: Projection, at: dict[str, Any], v: dict[str, Any]) -> None:
    out.rows[ReputationRoot].append(
        at | {"epoch": v["epoch"], "root": v["root"], "manifest_digest": v["manifestDigest"]}
    )


PROJECTORS: dict[str, Projector] = {
    "BrandRegistered": brand_registered,
    "PoolDeposited": pool_deposited,
    "PoolWithdrawn": pool_withdrawn,
    "QuestionPosted": question_posted,
    "QuestionExpired": question_expired,
    "QuestionBatchPosted": question_batch_posted,
    "BatchedQuestionOpened": _batched_question_settled(SettledHow.OPENED),
    "BatchedQuestionAccepted": _batched_question_settled(SettledHow.ACCEPTED),
    "QuestionBatchReleased": question_batch_released,
    "AnswerRecorded": answer_recorded,
    "AnswerBatchAnchored": answer_batch_anchored,
    "RoutingBatchAnchored": routing_batch_anchored,
    "RatingBatchAnchored": rating_batch_anchored,
    "AnswerRated": answer_rated,
    "AnswerAccepted": answer_accepted,
    "RewardCredited": reward_credited,
    "EarningsWithdrawn": earnings_withdrawn,
    "ReputationRootPublished": reputation_root,
    "RootCorrected": reputation_root,
}

# Every event decoded has a projector, and every projector an event to decode.
if set(PROJECTORS) != {name for names in PROJECTED_EVENTS.values() for name in names}:
    raise RuntimeError("PROJECTORS and decoder.PROJECTED_EVENTS name different events")


def _batch(v: dict[str, Any]) -> dict[str, Any]:
    """The columns every batch's event has (a question batch has its total and deadline too)."""
    return {"root": v["batchRoot"], "brand_id": v["brandId"], "size": v["size"], "manifest_digest": v["manifestDigest"]}


def _movement(
    brand_id: int, kind: PoolMovementKind, amount: int, *, account: str | None = None, question: str | None = None
) -> dict[str, Any]:
    return {"brand_id": brand_id, "kind": kind.value, "amount": amount, "account": account, "question_id": question}


def _rater_kind(value: int) -> str:
    try:
        return RaterKind(value).label
    except ValueError:  # a kind the ledger added after this code: kept as its number
        return str(value)

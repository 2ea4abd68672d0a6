"""Which leaves of a batch become questions, answers or ratings, and the brand of each question.

A question batch's leaves (its manifest already checked: each id hashes from the batch's brand and
a ticket, none twice) become questions unless their id was posted before, directly or in an
earlier batch: the first posting wins (`admitted_questions`), as the ledger's `postQuestion` and
`openBatchedQuestion` refuse an id already stored. A direct `QuestionPosted` repeating a batched id
is left out the same way (the projector), its escrow still counted.

A batch's leaves become answers only where the ledger would accept them (`_requireAnswer`): a leaf
counts when its question was posted, before the anchoring log, by the brand that anchored the
batch, and names an advocate. Any other leaf (another brand's question, a question never posted,
the zero address) is left out and reported with a warning: a brand cannot add answers to another
brand's questions by listing them in its own batch. The rule depends only on the chain's order, so
an incremental index and a rescan agree however late a manifest arrives.

A rating batch's leaves count under the same brand rule, and once per (answer, rater kind, rater):
the ledger refuses a repeated `rateAnswer` but stores nothing for a rating batch, so the index
keeps the earliest and leaves repeats out (`admitted_ratings`); a direct rating repeating a batched
one is left out the same way. (The one order this depends on: a batch's manifest that arrives
after a later repeat was indexed loses to it; only an oracle repeating ratings causes that, and the
audit reports every repeat.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from peercare.db.tables.projections import AnswerRated, BatchedQuestionSettled, QuestionPosted
from peercare.oracle.indexer.chunks import chunks

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")


def posted_brands(session: Session, questions: Iterable[str], *conditions: ColumnElement[bool]) -> dict[str, int]:
    """question -> brand, for those of `questions` whose posting is indexed (and meets `conditions`)."""
    return _brands(session, QuestionPosted, questions, *conditions)


def settled_brands(session: Session, questions: Iterable[str]) -> dict[str, int]:
    """question -> brand, for those of `questions` of which a `BatchedQuestionOpened` or
    `BatchedQuestionAccepted` is indexed: the chain names their brand even when their batch's
    manifest could not be read."""
    return _brands(session, BatchedQuestionSettled, questions)


def _brands(
    session: Session,
    table: type[QuestionPosted] | type[BatchedQuestionSettled],
    questions: Iterable[str],
    *conditions: ColumnElement[bool],
) -> dict[str, int]:
    brands: dict[str, int] = {}
    for chunk in chunks(sorted(questions), 500):
        found = session.execute(
            select(table.question_id, table.brand_id).where(table.question_id.in_(chunk), *conditions)
        )
        brands.update((question, brand) for question, brand in found)
    return brands


def admitted_questions(
    session: Session,
    batch: Mapping[str, Any],
    questions: list[dict[str, Any]],
    posted_in_step: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The question batch's rows whose question id was not posted before (directly or in another
    batch: indexed, or `posted_in_step`, question -> brand of the postings projected earlier in the
    same step). The others are left out (the first posting wins) and reported."""
    if not questions:
        return questions
    posted_in_step = posted_in_step or {}
    ids = {row["question_id"] for row in questions}
    posted = (ids & posted_in_step.keys()) | posted_brands(session, ids - posted_in_step.keys()).keys()
    admitted = [row for row in questions if row["question_id"] not in posted]
    if len(admitted) < len(questions):
        repeated = [f"leaf {r['leaf_index']} ({r['question_id']})" for r in questions if r["question_id"] in posted]
        _log_left_out("question batch", "posted", batch, repeated, len(questions), "questions left out, posted before")
    return admitted


def admitted_answers(
    session: Session,
    batch: Mapping[str, Any],
    answers: list[dict[str, Any]],
    posted_in_step: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The batch's answer rows the ledger would accept (`_requireAnswer`): those whose question
    was posted before the anchoring log by the anchoring brand, and that name an advocate. The
    others are left out and reported. `posted_in_step`: question -> brand of the postings
    projected earlier in the same step (not in the database yet)."""
    if not answers:
        return answers
    posted_in_step = posted_in_step or {}
    brands = {q: posted_in_step[q] for q in {row["question_id"] for row in answers} if q in posted_in_step}
    earlier = or_(
        QuestionPosted.block_number < batch["block_number"],
        and_(QuestionPosted.block_number == batch["block_number"], QuestionPosted.log_index < batch["log_index"]),
    )
    brands.update(posted_brands(session, {row["question_id"] for row in answers} - brands.keys(), earlier))
    admitted, refused = [], []
    for row in answers:
        brand = brands.get(row["question_id"])
        if brand == batch["brand_id"] and int(row["advocate"], 16) != 0:
            admitted.append(row)
            continue
        why = (
            "names no advocate"
            if int(row["advocate"], 16) == 0
            else "answers a question not posted before the batch"
            if brand is None
            else f"answers a question of brand {brand}"
        )
        refused.append(f"leaf {row['leaf_index']} {why} ({row['question_id']})")
    if refused:
        why = "leaves left out, the ledger would not accept them for the brand"
        _log_left_out("batch", "anchored", batch, refused, len(answers), why)
    return admitted


def admitted_ratings(
    session: Session,
    batch: Mapping[str, Any],
    ratings: list[dict[str, Any]],
    posted_in_step: Mapping[str, int] | None = None,
    rated_in_step: set[tuple[str, str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The rating batch's rows that count: those rating an answer to a question the anchoring brand
    posted before the anchoring log (as a batched answer must), and not repeating an earlier rating
    by the same rater of the same answer (the ledger stores nothing for a rating batch, so the
    oracle's rule of one rating per rater and answer is applied here: the earliest counts). The
    others are left out and reported. `rated_in_step`: (answer, rater kind, rater) of the ratings
    projected earlier in the same step; the admitted ones are added to it."""
    if not ratings:
        return ratings
    posted_in_step = posted_in_step or {}
    rated = rated_in_step if rated_in_step is not None else set()
    questions = {row["question_id"] for row in ratings}
    brands = {q: posted_in_step[q] for q in questions if q in posted_in_step}
    earlier = or_(
        QuestionPosted.block_number < batch["block_number"],
        and_(QuestionPosted.block_number == batch["block_number"], QuestionPosted.log_index < batch["log_index"]),
    )
    brands.update(posted_brands(session, questions - brands.keys(), earlier))
    rated |= earlier_ratings(session, {row["answer_id"] for row in ratings})
    admitted, refused = [], []
    for row in ratings:
        brand, key = brands.get(row["question_id"]), rating_key(row)
        if brand == batch["brand_id"] and key not in rated:
            rated.add(key)
            admitted.append(row)
            continue
        why = (
            "rates an answer to a question not posted before the batch"
            if brand is None
            else f"rates an answer to a question of brand {brand}"
            if brand != batch["brand_id"]
            else f"repeats an earlier rating of {row['answer_id']} by the same rater"
        )
        refused.append(f"leaf {row['leaf_index']} {why}")
    if refused:
        _log_left_out("rating batch", "anchored", batch, refused, len(ratings), "leaves left out")
    return admitted


def _log_left_out(what: str, verb: str, batch: Mapping[str, Any], left_out: list[str], total: int, why: str) -> None:
    """One warning naming a batch's left-out leaves (the first ten) and why."""
    log.warning(
        "%s %s %s by brand %d in tx %s (block %d): %d of %d %s: %s",
        what,
        batch["root"],
        verb,
        batch["brand_id"],
        batch["tx_hash"],
        batch["block_number"],
        len(left_out),
        total,
        why,
        "; ".join(left_out[:10]) + ("; ..." if len(left_out) > 10 else ""),
    )


def rating_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """What one rating per rater and answer is about: (answer, rater kind, rater)."""
    return (row["answer_id"], row["rater_kind"], row["rater_id"])


def earlier_ratings(session: Session, answers: Iterable[str]) -> set[tuple[str, str, str]]:
    """The (answer, rater kind, rater) of the indexed ratings of `answers`."""
    found: set[tuple[str, str, str]] = set()
    for chunk in chunks(sorted(answers), 500):
        found.update(
            session.execute(
                select(AnswerRated.answer_id, AnswerRated.rater_kind, AnswerRated.rater_id).where(
                    AnswerRated.answer_id.in_(chunk)
                )
            ).all()
        )
    return found

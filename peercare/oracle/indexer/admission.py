"""Which leaves of an anchored batch become answers or ratings, and the brand that posted each question.

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

from peercare.db.tables.projections import AnswerRated, QuestionPosted
from peercare.oracle.indexer.chunks import chunks

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")


def posted_brands(session: Session, questions: Iterable[str], *conditions: ColumnElement[bool]) -> dict[str, int]:
    """question -> brand, for those of `questions` whose posting is indexed (and meets `conditions`)."""
    brands: dict[str, int] = {}
    for chunk in chunks(sorted(questions), 500):
        found = session.execute(
            select(QuestionPosted.question_id, QuestionPosted.brand_id).where(
                QuestionPosted.question_id.in_(chunk), *conditions
            )
        )
        brands.update((question, brand) for question, brand in found)
    return brands


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
        log.warning(
            "batch %s anchored by brand %d in tx %s (block %d): %d of %d leaves left out, the ledger "
            "would not accept them for the brand: %s",
            batch["root"],
            batch["brand_id"],
            batch["tx_hash"],
            batch["block_number"],
            len(refused),
            len(answers),
            "; ".join(refused[:10]) + ("; ..." if len(refused) > 10 else ""),
        )
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
        log.warning(
            "rating batch %s anchored by brand %d in tx %s (block %d): %d of %d leaves left out: %s",
            batch["root"],
            batch["brand_id"],
            batch["tx_hash"],
            batch["block_number"],
            len(refused),
            len(ratings),
            "; ".join(refused[:10]) + ("; ..." if len(refused) > 10 else ""),
        )
    return admitted


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

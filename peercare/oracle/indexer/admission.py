"""Which leaves of an anchored batch become answers, and the brand that posted each question.

A batch's leaves become answers only where the ledger would accept them (`_requireAnswer`): a leaf
counts when its question was posted, before the anchoring log, by the brand that anchored the
batch, and names an advocate. Any other leaf (another brand's question, a question never posted,
the zero address) is left out and reported with a warning: a brand cannot add answers to another
brand's questions by listing them in its own batch. The rule depends only on the chain's order, so
an incremental index and a rescan agree however late a manifest arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from peercare.db.tables.projections import QuestionPosted
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

"""Check 7, ratings: each anchored rating batch's manifest (public, addressed by the digest the
chain carries) rebuilds a tree with the anchored root and size; every leaf rates an answer the
chain records for a question its batch's brand posted before it; no rater rates an answer twice
(across batches and `rateAnswer`: the ledger refuses a direct repeat, and the index leaves out a
direct rating repeating a batched one, so repeats are found in the manifests); and the index counts
exactly the leaves that rule admits. The ledger stores nothing for a rating batch, so this check is
what holds the oracle to one rating per rater and answer. Owns `check_ratings`.
"""

from __future__ import annotations

from collections import Counter

from peercare.audit.checks.batches import MANIFEST_COUNTERS, anchored_manifest
from peercare.audit.checks.common import Check, ScratchIndex, Section
from peercare.content.store import EveryStore
from peercare.oracle.manifest import RatingManifest


def check_ratings(index: ScratchIndex, public: EveryStore, brand_id: int | None) -> Section:
    section = Section(Check.RATINGS)
    for counter in (
        "batches",
        "proven",
        "leaves",
        "leaves counted",
        "direct ratings",
        "repeats",
        *MANIFEST_COUNTERS,
    ):
        section.counts[counter] = 0
    recorded = {row.answer_id for row in index.answers}
    counted = Counter(row.batch_root for row in index.ratings if row.batch_root is not None)
    seen: Counter[tuple[str, str, str]] = Counter()
    for row in index.ratings:
        if row.batch_root is None and brand_id in (None, index.brand_of_question(row.question_id)):
            section.count("direct ratings")
            seen[(row.answer_id, row.rater_kind, row.rater_id)] += 1
    for batch in index.rating_batches:
        if brand_id is not None and batch.brand_id != brand_id:
            continue
        section.count("batches")
        found = anchored_manifest(section, public, batch, RatingManifest.from_bytes, "ratings")
        if found is None:
            continue
        manifest, _, _, subject, where = found
        section.count("proven")
        section.count("leaves", len(manifest.leaves))
        admitted = 0
        for position, leaf in enumerate(manifest.leaves):
            question, answer = "0x" + leaf.question_id.hex(), "0x" + leaf.answer_id.hex()
            posted = index.questions.get(question)
            if posted is None or (posted.block_number, posted.log_index) >= (batch.block_number, batch.log_index):
                section.find(subject, f"leaf {position} rates an answer to {question}, not posted before it", **where)
                continue
            if posted.brand_id != batch.brand_id:
                section.find(
                    subject, f"leaf {position} rates an answer to {question} of brand {posted.brand_id}", **where
                )
                continue
            key = (answer, leaf.rater_kind.label, "0x" + leaf.rater_id.hex())
            seen[key] += 1
            if seen[key] > 1:
                section.count("repeats")
                section.find(
                    subject,
                    f"leaf {position} repeats a rating of {answer} by the same rater "
                    f"({leaf.rater_kind.label} 0x{leaf.rater_id.hex()}): one rating per rater and answer",
                    **where,
                )
                continue
            admitted += 1
            if answer not in recorded:
                section.find(subject, f"leaf {position} rates {answer}, which the chain never recorded", **where)
        section.count("leaves counted", counted[batch.root])
        if counted[batch.root] != admitted:
            section.find(
                subject,
                f"the index counts {counted[batch.root]} of its ratings, the rule admits {admitted}",
                **where,
            )
    return section

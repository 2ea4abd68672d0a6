"""Check 8, question batches: each posted question batch's manifest (public, addressed by the digest
the chain carries) is in the store and rebuilds the posted root, size and brand, lists questions
whose ids hash from the batch's brand and their tickets, none twice, with bounties adding up to the
total escrowed; no question id is posted twice (across the brand's batches, or also posted alone:
each copy could be paid); each settled (accepted or opened) index names the leaf of that question;
and each batch conserves its escrow: its total equals what acceptances paid out of it, the bounties
of its opened questions and what its release refunded, and while not released the ledger's
`questionBatch(brand, root).escrowed` is what remains. The ledger leaves all of this to the audit
(docs/architecture.md, "Questions in batches"). Owns `check_questions`.
"""

from __future__ import annotations

from collections import defaultdict

from web3.contract import Contract

from peercare.audit.checks.batches import MANIFEST_COUNTERS, anchored_manifest
from peercare.audit.checks.common import Check, ScratchIndex, Section, ledger_views
from peercare.chain.views import ChainReader
from peercare.content.store import EveryStore
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import QuestionManifest


def check_questions(
    index: ScratchIndex, public: EveryStore, rpc: ChainReader, ledger: Contract, head: int, brand_id: int | None
) -> Section:
    section = Section(Check.QUESTIONS)
    for counter in (
        "question batches",
        "proven",
        "questions",
        "accepted",
        "opened",
        "released",
        "conserved",
        "repeats",
        *MANIFEST_COUNTERS,
    ):
        section.counts[counter] = 0
    batches = [batch for batch in index.question_batches if brand_id in (None, batch.brand_id)]
    manifests: dict[tuple[int, str], QuestionManifest] = {}
    for batch in batches:
        section.count("question batches")
        found = anchored_manifest(section, public, batch, QuestionManifest.from_bytes, "questions")
        if found is None:
            continue
        manifest, _, cid, subject, where = found
        if manifest.total_bounty != batch.total_bounty:
            section.count("mismatched")
            section.find(
                subject,
                f"its manifest {cid} lists bounties adding up to {manifest.total_bounty}, "
                f"the batch escrowed {batch.total_bounty}",
                **where,
            )
            continue
        section.count("proven")
        section.count("questions", len(manifest.leaves))
        manifests[(batch.brand_id, batch.root)] = manifest
    _check_repeats(section, index, batches, manifests, brand_id)
    _check_conservation(section, index, batches, manifests, rpc, ledger, head)
    return section


def _check_repeats(
    section: Section,
    index: ScratchIndex,
    batches: list[ix.QuestionBatchPostedRow],
    manifests: dict[tuple[int, str], QuestionManifest],
    brand_id: int | None,
) -> None:
    """Every posting of a question id after its first, in chain order: a leaf of a batch, or a
    `QuestionPosted` (whose escrow movement names it)."""
    postings: list[tuple[tuple[int, int, int], str, str]] = []  # (position, question, what posted it)
    for batch in batches:
        manifest = manifests.get((batch.brand_id, batch.root))
        for position, leaf in enumerate(manifest.leaves if manifest is not None else ()):
            where = (batch.block_number, batch.log_index, position)
            postings.append((where, "0x" + leaf.question_id.hex(), f"leaf {position} of question batch {batch.root}"))
    for movement in index.direct_escrows:
        if brand_id in (None, movement.brand_id):
            where = (movement.block_number, movement.log_index, 0)
            postings.append((where, movement.question_id or "", f"QuestionPosted in transaction {movement.tx_hash}"))
    first: dict[str, str] = {}
    for _, question, what in sorted(postings):
        if question not in first:
            first[question] = what
            continue
        section.count("repeats")
        section.find(
            f"question {question}",
            f"posted again by {what}, first posted by {first[question]}: each copy could be paid",
            question_id=question,
        )


def _check_conservation(
    section: Section,
    index: ScratchIndex,
    batches: list[ix.QuestionBatchPostedRow],
    manifests: dict[tuple[int, str], QuestionManifest],
    rpc: ChainReader,
    ledger: Contract,
    head: int,
) -> None:
    """Per batch: total = accepted + opened + refunded (released), or the ledger's escrow is the
    rest (not released); every settled index names its question's leaf."""
    settled: dict[tuple[int, str], list[ix.BatchedQuestionSettled]] = defaultdict(list)
    for row in index.settled:
        settled[(row.brand_id, row.batch_root)].append(row)
    paid = {(row.tx_hash, row.question_id): row.bounty for row in index.acceptances}
    refunded = {(row.brand_id, row.batch_root): row.refunded for row in index.releases}
    opened = sorted({row.question_id for rows in settled.values() for row in rows if row.how == ix.SettledHow.OPENED})
    stored = ledger_views(rpc, ledger, head, [("question", [bytes.fromhex(q[2:])]) for q in opened], QUESTION)
    opened_bounty = {question: values[3] for question, values in zip(opened, stored, strict=True)}
    keys = [(batch.brand_id, batch.root) for batch in batches]
    escrows = ledger_views(rpc, ledger, head, [("questionBatch", [b, bytes.fromhex(r[2:])]) for b, r in keys], BATCH)
    for batch, (escrowed, *_) in zip(batches, escrows, strict=True):
        key, subject = (batch.brand_id, batch.root), f"question batch {batch.root}"
        where = {"root": batch.root, "brand_id": batch.brand_id, "tx_hash": batch.tx_hash}
        manifest = manifests.get(key)
        accepted = opened_total = 0
        for row in settled[key]:
            section.count(row.how)
            if row.how == ix.SettledHow.ACCEPTED:
                accepted += paid.get((row.tx_hash, row.question_id), 0)
            else:
                opened_total += opened_bounty[row.question_id]
            if manifest is not None and (
                row.leaf_index >= len(manifest.leaves)
                or "0x" + manifest.leaves[row.leaf_index].question_id.hex() != row.question_id
            ):
                section.find(
                    subject,
                    f"question {row.question_id} was {row.how} as its leaf {row.leaf_index}, "
                    "which its manifest does not list as that question",
                    **where,
                    question_id=row.question_id,
                    leaf_index=row.leaf_index,
                )
        released = refunded.get(key)
        rest = batch.total_bounty - accepted - opened_total
        parts = f"{accepted} paid on acceptance, {opened_total} opened"
        if released is not None:
            section.count("released")
            if released != rest:
                section.find(
                    subject,
                    f"escrowed {batch.total_bounty}, but {parts} and {released} refunded at release "
                    f"add up to {accepted + opened_total + released}",
                    **where,
                )
                continue
        elif escrowed != rest:
            section.find(
                subject,
                f"escrowed {batch.total_bounty}, less {parts}, leaves {rest}; the ledger holds {escrowed} "
                f"for it at block {head}",
                **where,
            )
            continue
        section.count("conserved")


#: `question(bytes32)` and `questionBatch(uint64, bytes32)` outputs (static structs: flat tuples).
QUESTION = ["uint64", "uint48", "uint8", "uint128"]
BATCH = ["uint128", "uint48", "uint32", "bool"]

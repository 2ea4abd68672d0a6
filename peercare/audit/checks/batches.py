"""Check 2, batches: each anchored batch's manifest (public, addressed by the digest the chain
carries) rebuilds a tree with the anchored root and size, and every leaf's proof verifies against
it; a leaf carrying its advocate's signature (a signed answer, batched) is verified as the ledger's
`isAnswerSignatureValid` would; leaves the ledger refuses for the batch's brand are noted, not
failed. Owns `check_batches` and `_leaves_left_out`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from peercare.audit.checks.common import Check, Entry, ScratchIndex, Section
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentCorrupted, ContentMissing
from peercare.content.store import EveryStore
from peercare.core.hex import unhex
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree, verify
from peercare.core.typed_data import is_answer_signature_valid
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import BatchManifest, Leaf, ManifestError, QuestionManifest, RatingManifest


def check_batches(
    index: ScratchIndex, public: EveryStore, brand_id: int | None, *, chain_id: int, ledger: str
) -> Section:
    section = Section(Check.BATCHES)
    for counter in (
        "batches",
        "proven",
        "leaves proven",
        "signatures verified",
        "leaves left out",
        "missing",
        "corrupted",
        "invalid",
        "mismatched",
    ):
        section.counts[counter] = 0
    section.counts["direct answers (no batch)"] = len(
        {
            row.answer_id
            for row in index.answers
            if row.batch_root is None and brand_id in (None, index.brand_of_question(row.question_id))
        }
    )
    for batch in index.batches:
        if brand_id is not None and batch.brand_id != brand_id:
            continue
        section.count("batches")
        found = anchored_manifest(section, public, batch, BatchManifest.from_bytes, "answers")
        if found is None:
            continue
        manifest, tree, cid, subject, where = found
        root = unhex(batch.root)
        unproven = [
            index_
            for index_, leaf in enumerate(manifest.leaves)
            if not verify(root, ANSWER_LEAF_ENCODING, leaf.value(), tree.proof(index_))
        ]
        section.count("leaves proven", len(manifest.leaves) - len(unproven))
        if unproven:
            section.find(subject, f"leaves {unproven[:10]} of manifest {cid} do not prove against the root", **where)
        else:
            section.count("proven")
        forged = [
            position
            for position, leaf in enumerate(manifest.leaves)
            if leaf.signature is not None and not _signed_by_advocate(leaf, chain_id, ledger)
        ]
        section.count("signatures verified", sum(leaf.signature is not None for leaf in manifest.leaves) - len(forged))
        if forged:
            section.find(
                subject,
                f"leaves {forged[:10]} of manifest {cid} carry a signature that is not their advocate's "
                "(EIP-712 Answer on this chain and ledger, low s)",
                **where,
            )
        left_out = _leaves_left_out(index, batch, manifest)
        if left_out:
            section.count("leaves left out", len(left_out))
            section.notes.append(
                Entry(
                    subject,
                    f"{len(left_out)} of its {len(manifest.leaves)} leaves are not answers of brand "
                    f"{batch.brand_id} (the ledger refuses them for it; the index leaves them out): "
                    + "; ".join(left_out[:10]),
                    where | {"left_out": left_out},
                )
            )
    return section


Anchored = ix.BatchAnchored | ix.RatingBatchAnchored | ix.QuestionBatchPostedRow
M = TypeVar("M", BatchManifest, RatingManifest, QuestionManifest)
#: What `anchored_manifest` counts when a manifest is unusable.
MANIFEST_COUNTERS = ("missing", "corrupted", "invalid", "mismatched")
#: How findings name a batch, by what it holds.
_SUBJECTS = {"answers": "batch", "ratings": "rating batch", "questions": "question batch"}


def anchored_manifest(
    section: Section, public: EveryStore, batch: Anchored, parse: Callable[[bytes], M], what: str
) -> tuple[M, StandardMerkleTree, str, str, dict[str, Any]] | None:
    """The manifest of an anchored batch (of answers, ratings or questions), its tree, CID, the subject that
    names the batch in findings and its details; None, with the finding (and its counter:
    missing, corrupted, invalid, mismatched), when it is not in the store, not a manifest, or not
    the anchored root, size and brand."""
    cid = cid_from_digest(unhex(batch.manifest_digest))
    subject = f"{_SUBJECTS[what]} {batch.root}"
    where = {
        "root": batch.root,
        "brand_id": batch.brand_id,
        "size": batch.size,
        "manifest_cid": cid,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
    }
    anchored = f"(brand {batch.brand_id}, {batch.size} {what}, anchored in block {batch.block_number})"
    try:
        manifest = parse(public.get(cid))
    except ContentMissing:
        section.count("missing")
        section.find(subject, f"its manifest {cid} is missing from the content store {anchored}", **where)
        return None
    except ContentCorrupted:
        section.count("corrupted")
        section.find(subject, f"its manifest {cid} is corrupted in the content store {anchored}", **where)
        return None
    except ManifestError as err:
        section.count("invalid")
        section.find(subject, f"its manifest {cid} is not a batch manifest: {err} {anchored}", **where)
        return None
    tree = manifest.tree()
    differences = []
    if tree.root != unhex(batch.root):
        differences.append(f"its tree's root is 0x{tree.root.hex()}, not the anchored {batch.root}")
    if len(manifest.leaves) != batch.size:
        differences.append(f"it lists {len(manifest.leaves)} {what}, the batch anchored {batch.size}")
    if manifest.brand_id != batch.brand_id:
        differences.append(f"it is for brand {manifest.brand_id}, the batch was anchored by brand {batch.brand_id}")
    if differences:
        section.count("mismatched")
        section.find(subject, f"its manifest {cid} does not match: " + "; ".join(differences), **where)
        return None
    return manifest, tree, cid, subject, where


def _signed_by_advocate(leaf: Leaf, chain_id: int, ledger: str) -> bool:
    """Whether the signature a leaf carries is its advocate's, as the ledger's
    `isAnswerSignatureValid` decides (the nonce and deadline bind a relay only)."""
    assert leaf.signature is not None
    return is_answer_signature_valid(
        chain_id=chain_id,
        ledger=ledger,
        question_id=leaf.question_id,
        content_digest=leaf.content_digest,
        advocate=leaf.advocate,
        nonce=leaf.signature.nonce,
        deadline=leaf.signature.deadline,
        signature=leaf.signature.signature,
    )


def _leaves_left_out(index: ScratchIndex, batch: ix.BatchAnchored, manifest: BatchManifest) -> list[str]:
    """The leaves the ledger would not accept for the batch's brand, and why: the same rule as the
    indexer (`peercare.oracle.indexer.admission.admitted_answers`), a question posted before the
    anchoring log by that brand and an advocate."""
    left_out = []
    for position, leaf in enumerate(manifest.leaves):
        question = "0x" + leaf.question_id.hex()
        posted = index.questions.get(question)
        if posted is not None and (posted.block_number, posted.log_index) >= (batch.block_number, batch.log_index):
            posted = None
        if int(leaf.advocate, 16) == 0:
            left_out.append(f"leaf {position} names no advocate")
        elif posted is None:
            left_out.append(f"leaf {position} answers {question}, not posted before the batch")
        elif posted.brand_id != batch.brand_id:
            left_out.append(f"leaf {position} answers {question} of brand {posted.brand_id}")
    return left_out

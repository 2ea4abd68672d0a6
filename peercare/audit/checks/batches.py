"""Check 2, batches: each anchored batch's manifest (public, addressed by the digest the chain
carries) rebuilds a tree with the anchored root and size, and every leaf's proof verifies against
it; leaves the ledger refuses for the batch's brand are noted, not failed. Owns `check_batches` and
`_leaves_left_out`.
"""

from __future__ import annotations

from peercare.audit.checks.common import Check, Entry, ScratchIndex, Section
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentCorrupted, ContentMissing
from peercare.content.store import EveryStore
from peercare.core.hex import unhex
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING
from peercare.core.merkle import verify
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import BatchManifest, ManifestError


def check_batches(index: ScratchIndex, public: EveryStore, brand_id: int | None) -> Section:
    section = Section(Check.BATCHES)
    for counter in (
        "batches",
        "proven",
        "leaves proven",
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
        cid = cid_from_digest(unhex(batch.manifest_digest))
        subject = f"batch {batch.root}"
        where = {
            "root": batch.root,
            "brand_id": batch.brand_id,
            "size": batch.size,
            "manifest_cid": cid,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
        }
        anchored = f"(brand {batch.brand_id}, {batch.size} answers, anchored in block {batch.block_number})"
        try:
            manifest = BatchManifest.from_bytes(public.get(cid))
        except ContentMissing:
            section.count("missing")
            section.find(subject, f"its manifest {cid} is missing from the content store {anchored}", **where)
            continue
        except ContentCorrupted:
            section.count("corrupted")
            section.find(subject, f"its manifest {cid} is corrupted in the content store {anchored}", **where)
            continue
        except ManifestError as err:
            section.count("invalid")
            section.find(subject, f"its manifest {cid} is not a batch manifest: {err} {anchored}", **where)
            continue
        tree = manifest.tree()
        root = unhex(batch.root)
        differences = []
        if tree.root != root:
            differences.append(f"its tree's root is 0x{tree.root.hex()}, not the anchored {batch.root}")
        if len(manifest.leaves) != batch.size:
            differences.append(f"it lists {len(manifest.leaves)} answers, the batch anchored {batch.size}")
        if manifest.brand_id != batch.brand_id:
            differences.append(f"it is for brand {manifest.brand_id}, the batch was anchored by brand {batch.brand_id}")
        if differences:
            section.count("mismatched")
            section.find(subject, f"its manifest {cid} does not match: " + "; ".join(differences), **where)
            continue
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

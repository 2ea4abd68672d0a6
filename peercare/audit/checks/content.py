"""Check 1, content: each answer's block (the CID of its digest) is present in a content store and
hashes to the digest, or was erased on request (the key store's record says who, when and why).
Owns `check_content`.
"""

from __future__ import annotations

from peercare.audit.checks.common import Check, Entry, ScratchIndex, Section
from peercare.content.cid import cid_from_digest
from peercare.content.vault import Status, Vault
from peercare.core.hex import unhex


def check_content(index: ScratchIndex, vault: Vault, brand_id: int | None) -> Section:
    section = Section(Check.CONTENT)
    # By the anchoring log an answer row came from: the same root may be anchored by two brands.
    batch_brand = {(batch.tx_hash, batch.log_index): batch.brand_id for batch in index.batches}
    seen: set[str] = set()
    statuses: dict[str, Status] = {}
    for counter in ("answers", "available", "erased", "present without key", "missing", "corrupted"):
        section.counts[counter] = 0
    for row in index.answers:
        brand = (
            batch_brand.get((row.tx_hash, row.log_index))
            if row.batch_root
            else index.brand_of_question(row.question_id)
        )
        if row.answer_id in seen or (brand_id is not None and brand != brand_id):
            continue
        seen.add(row.answer_id)
        section.count("answers")
        cid = cid_from_digest(unhex(row.content_digest))
        status = statuses.get(cid)
        if status is None:
            status = statuses[cid] = vault.status(cid)
        where = {"answer_id": row.answer_id, "cid": cid, "question_id": row.question_id, "brand_id": brand}
        if status is Status.AVAILABLE:
            section.count("available")
        elif status is Status.UNKNOWN_KEY:
            # The block is there and hashes to its identifier; this key store never held its key.
            section.count("present without key")
        elif status is Status.ERASED:
            section.count("erased")
            record = vault.keys.erasure(cid)
            if record is None:  # the key store said erased a moment ago
                section.find(f"answer {row.answer_id}", f"content {cid} is erased but its erasure record is gone")
                continue
            section.notes.append(
                Entry(
                    f"answer {row.answer_id}",
                    f"content {cid} erased at {record.erased_at.isoformat()} by {record.erased_by}: {record.reason}",
                    where
                    | {
                        "status": status.value,
                        "erased_at": record.erased_at.isoformat(),
                        "erased_by": record.erased_by,
                        "reason": record.reason,
                    },
                )
            )
        else:
            section.count(status.value)
            explanation = (
                "no store holds it" if status is Status.MISSING else "the stored bytes do not hash to its identifier"
            )
            section.find(
                f"answer {row.answer_id}", f"content {cid} is {status.value}: {explanation}", **where, status=status
            )
    return section

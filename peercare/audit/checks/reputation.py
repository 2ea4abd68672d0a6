"""Check 4, reputation: each published epoch recomputes to the root on chain
(`peercare.reputation.publication.recompute_from_index`), whatever --brand says (an epoch covers every
brand). Owns `check_reputation`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from peercare.audit.checks.common import Check, Progress, Section
from peercare.content.store import EveryStore
from peercare.db.tables import projections as ix
from peercare.reputation.publication import recompute_from_index


def check_reputation(session: Session, public: EveryStore, progress: Progress) -> Section:
    section = Section(Check.REPUTATION, scope="epochs cover every brand: checked whatever --brand says")
    section.counts = {"epochs": 0, "recomputed": 0}
    epochs = sorted(set(session.scalars(select(ix.ReputationRoot.epoch))))
    for epoch in epochs:
        progress(f"recomputing reputation epoch {epoch}")
        section.count("epochs")
        result = recompute_from_index(session, public, epoch)
        if result.ok:
            section.count("recomputed")
            continue
        roots = result.as_json()
        section.find(
            f"epoch {epoch}",
            f"root on chain {roots['root_on_chain']}, manifest's root {roots['manifest_root']}, recomputed "
            f"{roots['root_recomputed']}: " + "; ".join(result.mismatches),
            **roots,
        )
    return section

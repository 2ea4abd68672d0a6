"""Check 6, routing: what routing did, proven from the chain and the content alone.

Each `RoutingBatchAnchored` names a public manifest (`peercare.routing.anchors`); the check reads
it and requires that

- it rebuilds the anchored root and size (else every decision in it is unproven);
- each round's decision record hashes to its commitment, and replaying it on the reputation epoch
  it names (published on chain, its manifest checked against the root) gives the recorded choice
  (`routing.live.check_route`): a tampered decision fails here, naming the question and round;
- each question's anchored rounds run from 0 without a gap: a dropped round fails, named;
- no round offered the question to its asker;
- every acceptance whose author is in an anchored swarm round of the question (one written while
  the question was open: a round written after it closed offers no one) paid that round's shares
  exactly (each member `floor(bounty * bps / 10,000)`, the remainder to the author), and an
  acceptance that split its bounty was decided as a swarm that included its author
  (`peercare.oracle.swarm_credit` states the rule).

Owns `check_routing`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from peercare.audit.checks.common import Check, Entry, ScratchIndex, Section
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentError
from peercare.content.store import EveryStore
from peercare.core.hex import hexed, unhex
from peercare.db.tables import projections as ix
from peercare.oracle.manifest import ManifestError
from peercare.routing.anchors import AnchoredRound, RoutingManifest
from peercare.routing.live import Epochs, check_route
from peercare.routing.offers import BPS, decision_from_record


def check_routing(index: ScratchIndex, session: Session, public: EveryStore, brand_id: int | None) -> Section:
    section = Section(Check.ROUTING)
    for counter in ("routing batches", "rounds", "rounds replayed", "swarm payouts"):
        section.counts[counter] = 0
    rounds: dict[str, dict[int, AnchoredRound]] = defaultdict(dict)
    records: dict[tuple[str, int], Mapping[str, Any]] = {}  # the decision records that check out
    epochs = Epochs(public)
    for batch in index.routing_batches:
        if brand_id is not None and batch.brand_id != brand_id:
            continue
        section.count("routing batches")
        manifest = _manifest(section, public, batch)
        if manifest is None:
            continue
        for anchored in manifest.rounds:
            question = hexed(anchored.question_id)
            if index.brand_of_question(question) != batch.brand_id:
                section.find(
                    f"question {question}",
                    f"routed in a batch of brand {batch.brand_id}, but it is not that brand's question",
                    root=batch.root,
                )
                continue
            section.count("rounds")
            record = _check_round(section, session, public, epochs, question, anchored)  # every anchored claim
            first = rounds[question].setdefault(anchored.round, anchored)
            if record is not None and first is anchored:
                records[(question, anchored.round)] = record
            if first.commitment != anchored.commitment:
                section.find(
                    f"question {question} round {anchored.round}",
                    f"anchored twice with different decisions ({hexed(first.commitment)}, then "
                    f"{hexed(anchored.commitment)} in routing batch {batch.root})",
                    question_id=question,
                )
    for question, by_round in sorted(rounds.items()):
        missing = sorted(set(range(max(by_round) + 1)) - set(by_round))
        if missing:
            section.find(
                f"question {question}",
                f"round{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} missing: anchored rounds are "
                f"{', '.join(map(str, sorted(by_round)))}",
                question_id=question,
            )
    _check_swarm_payouts(section, index, records, brand_id)
    return section


def _manifest(section: Section, public: EveryStore, batch: ix.RoutingBatchAnchoredRow) -> RoutingManifest | None:
    cid = cid_from_digest(unhex(batch.manifest_digest))
    subject = f"routing batch {batch.root}"
    where = {"root": batch.root, "brand_id": batch.brand_id, "manifest_cid": cid, "tx_hash": batch.tx_hash}
    try:
        manifest = RoutingManifest.from_bytes(public.get(cid))
    except ContentError as err:
        section.find(subject, f"its manifest {cid} cannot be read: {err}", **where)
        return None
    except ManifestError as err:
        section.find(subject, f"its manifest {cid} is not a routing manifest: {err}", **where)
        return None
    tree = manifest.tree()
    if hexed(tree.root) != batch.root or len(tree.values) != batch.size or manifest.brand_id != batch.brand_id:
        section.find(
            subject,
            f"its manifest {cid} builds root {hexed(tree.root)} of {len(tree.values)} leaves for brand "
            f"{manifest.brand_id}, not the anchored root of {batch.size} leaves for brand {batch.brand_id}",
            **where,
        )
        return None
    return manifest


def _check_round(
    section: Section, session: Session, public: EveryStore, epochs: Epochs, question: str, anchored: AnchoredRound
) -> Mapping[str, Any] | None:
    """Check one anchored round; its decision record when it is the one anchored and untampered."""
    subject = f"question {question} round {anchored.round}"
    try:
        record = anchored.record(public)
    except (ContentError, ValueError) as err:
        section.find(subject, f"its decision record {anchored.record_cid} cannot be read: {err}", question_id=question)
        return None
    result = check_route(session, epochs, anchored.epoch, record)
    if not result.commitment_matches:
        section.find(subject, f"the decision was tampered with: {result.detail}", question_id=question)
        return None
    if not anchored.matches(record):
        section.find(
            subject,
            f"the decision was tampered with: its record {anchored.record_cid} is not the decision the leaves "
            f"commit to ({hexed(anchored.commitment)}, offered to {', '.join(anchored.offered) or 'no one'})",
            question_id=question,
        )
        return None
    if result.replays is False:
        section.find(subject, f"the decision does not follow the rule: {result.detail}", question_id=question)
    elif result.replays:
        section.count("rounds replayed")
    else:
        section.notes.append(Entry(subject, f"not replayed: {result.detail}"))
    asker = decision_from_record(record).request.asker
    if asker is not None and asker.lower() in {person.lower() for person in anchored.offered}:
        section.find(subject, f"the question was offered to its asker {asker}", question_id=question)
    return record


def _check_swarm_payouts(
    section: Section, index: ScratchIndex, records: Mapping[tuple[str, int], Mapping[str, Any]], brand_id: int | None
) -> None:
    credits: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for credit in index.credits:
        credits[(credit.tx_hash, credit.question_id)][credit.account.lower()] += credit.amount
    by_question: dict[str, dict[int, Mapping[str, Any]]] = defaultdict(dict)
    for (question_id, number), record in records.items():
        by_question[question_id][number] = record
    for acceptance in index.acceptances:
        question = acceptance.question_id
        if brand_id is not None and index.brand_of_question(question) != brand_id:
            continue
        author = acceptance.advocate.lower()
        paid = dict(credits.get((acceptance.tx_hash, question), {}))
        swarm = _swarm_of(by_question.get(question, {}), author)
        subject = f"question {question}"
        if swarm is None:
            if set(paid) - {author}:
                section.find(
                    subject,
                    f"its bounty was split ({_amounts(paid)}) but no anchored swarm decision of the question "
                    f"includes its author {acceptance.advocate}",
                    question_id=question,
                    tx_hash=acceptance.tx_hash,
                )
            continue
        number, shares = swarm
        section.count("swarm payouts")
        expected: dict[str, int] = defaultdict(int)
        for account, bps in shares.items():
            expected[account] += acceptance.bounty * bps // BPS
        expected[author] += acceptance.bounty - sum(expected.values())
        if dict(expected) != paid:
            section.find(
                subject,
                f"paid {_amounts(paid)}, off the shares committed at round {number} ({_amounts(dict(expected))})",
                question_id=question,
                tx_hash=acceptance.tx_hash,
                round=number,
            )


def _swarm_of(by_round: Mapping[int, Mapping[str, Any]], author: str) -> tuple[int, dict[str, int]] | None:
    """The latest anchored swarm round whose shares include `author`: (round, shares by account)."""
    for number in sorted(by_round, reverse=True):
        if by_round[number].get("open") is False:
            continue  # written once the question was closed: it offered no one, and pays no one
        shares = {s["account"].lower(): int(s["bps"]) for s in by_round[number].get("shares", [])}
        if author in shares:
            return number, shares
    return None


def _amounts(paid: Mapping[str, int]) -> str:
    return ", ".join(f"{account} {amount}" for account, amount in sorted(paid.items())) or "nothing"

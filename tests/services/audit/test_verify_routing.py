"""`peercare audit verify`, routing: a question swarmed at once (its ticket is urgent) and solved by a
swarm member is paid its committed shares, and the audit proves it from the chain and the content;
a tampered decision, a dropped round and a payout off its shares each fail, named. Every tamper is
undone (the chain through `evm_snapshot`/`evm_revert`) before the test ends.

(This file runs after test_verify.py: its tickets would change that file's counts.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from peercare.chain.devnet import transact
from peercare.content.cid import digest_from_cid
from peercare.content.document import canonical_json
from peercare.core.ledger_ids import question_id, short_string
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Answer, AnswerBatch
from peercare.db.tables.routing import RouteRound, RoutingBatch
from peercare.oracle.manifest import BatchManifest
from peercare.routing.anchors import AnchoredRound, RoutingManifest
from tests.support.audit_support import ROGUE, AuditRun, embedded_store, undone, wait_for_oracle_index
from tests.support.health_support import wait_for
from tests.support.question_batches import posted_question_ref
from tests.support.world import World

RunAudit = Callable[..., AuditRun]


def swarmed_question(world: World) -> tuple[str, AnchoredRound, dict[str, Any]]:
    """A new urgent ticket: swarmed at its first round, and that round anchored and indexed."""
    ticket = f"SWARM-{time.time_ns()}"
    data = {"subject": "Urgent", "body": "Now!", "tags": ["staking"], "requester_id": f"c-{ticket}"}
    world.deliver(world.dev.brand_id, "ticket_created", f"{ticket}-open", ticket, priority="urgent", **data)
    qid = "0x" + question_id(world.dev.brand_id, short_string("generic"), ticket).hex()

    def anchored() -> AnchoredRound | None:
        with world.oracle.database.read() as session:
            found = session.execute(
                select(RouteRound, RoutingBatch.root)
                .join(RoutingBatch, RoutingBatch.id == RouteRound.batch_id)
                .where(RouteRound.question_id == qid, RouteRound.round == 0)
            ).first()
            if found is None:
                return None
            row, root = found
            indexed = session.scalar(
                select(ix.RoutingBatchAnchoredRow.id).where(ix.RoutingBatchAnchoredRow.root == root)
            )
        if indexed is None:
            return None
        return AnchoredRound.stored(embedded_store(world), bytes.fromhex(qid[2:]), 0, row.epoch, row.decision)

    first = wait_for(anchored, f"round 0 of {qid} anchored and indexed", timeout_s=90)
    record = first.record(embedded_store(world))
    assert record["mode"] == "swarm" and record["escalated"] is True
    return qid, first, record


def member_of(record: dict[str, Any]) -> str:
    """A swarm member who is not the brand's expert (an advocate)."""
    expert = (record.get("expert") or "").lower()
    return next(s["account"] for s in record["shares"] if s["account"].lower() != expert)


def answer(world: World, qid: str, author: str) -> str:
    """The author's answer to the question, through the webhook; its comment's ticket id."""
    with world.oracle.database.read() as session:
        ticket = session.scalar(select(ix.QuestionPosted.ticket_id).where(ix.QuestionPosted.question_id == qid))
    assert ticket is not None
    comment = {"comment_id": "c1", "author_id": "adv", "author_wallet": author, "body": "Done.", "public": True}
    world.deliver(world.dev.brand_id, "comment_added", f"{ticket}-c1", ticket, **comment)
    return ticket


def anchor_routing(world: World, manifest: RoutingManifest) -> None:
    """Anchor `manifest` from the rogue oracle."""
    digest = digest_from_cid(embedded_store(world).put(manifest.to_bytes()))
    tree = manifest.tree()
    call = world.dev.ledger.functions.anchorRoutingBatch(manifest.brand_id, tree.root, len(tree.values), digest)
    transact(world.dev.w3, ROGUE, call)


def test_a_swarm_is_paid_its_committed_shares_and_the_audit_proves_it(world: World, run_audit: RunAudit) -> None:
    qid, _, record = swarmed_question(world)
    author = member_of(record)
    ticket = answer(world, qid, author)
    world.deliver(world.dev.brand_id, "ticket_solved", f"{ticket}-solved", ticket, solved_by_comment_id="c1")
    world.drain()
    wait_for_oracle_index(world)

    credits = world.dev.ledger.events.RewardCredited.get_logs(
        from_block=world.dev.deployment.deployed_at_block, argument_filters={"questionId": bytes.fromhex(qid[2:])}
    )
    (accepted,) = world.dev.ledger.events.AnswerAccepted.get_logs(
        from_block=world.dev.deployment.deployed_at_block, argument_filters={"questionId": bytes.fromhex(qid[2:])}
    )
    bounty = accepted["args"]["bounty"]
    expected = {s["account"]: bounty * s["bps"] // 10_000 for s in record["shares"]}
    expected[author] += bounty - sum(expected.values())
    assert {c["args"]["account"]: c["args"]["amount"] for c in credits} == expected

    run = run_audit("--json")

    assert run.exit_code == 0, run.stdout + run.stderr
    counts = run.section("routing")["counts"]
    assert counts["swarm payouts"] >= 1 and counts["rounds"] >= 1
    assert counts["rounds replayed"] == counts["rounds"]


def test_a_tampered_decision_fails_naming_the_question_and_round(world: World, run_audit: RunAudit) -> None:
    qid, first, record = swarmed_question(world)
    doctored = record | {"expert": "0x" + "ab" * 20}  # another expert named, the commitment kept
    tampered = replace(first, record_cid=embedded_store(world).put(canonical_json(doctored)))
    with undone(world):
        anchor_routing(world, RoutingManifest(world.dev.brand_id, (tampered,)))
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["routing"]
    about = [f["message"] for f in run.section("routing")["findings"] if f["subject"] == f"question {qid} round 0"]
    assert about and all(message.startswith("the decision was tampered with") for message in about)


def test_a_dropped_round_fails_naming_the_missing_round(world: World, run_audit: RunAudit) -> None:
    qid, first, _ = swarmed_question(world)
    with undone(world):
        anchor_routing(world, RoutingManifest(world.dev.brand_id, (replace(first, round=2),)))
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["routing"]
    (finding,) = run.section("routing")["findings"]
    assert finding["subject"] == f"question {qid}"
    assert finding["message"] == "round 1 missing: anchored rounds are 0, 2"


def test_a_payout_off_the_committed_shares_fails_naming_the_question(world: World, run_audit: RunAudit) -> None:
    qid, _, record = swarmed_question(world)
    author = member_of(record)
    answer(world, qid, author)

    def batched() -> tuple[Answer, AnswerBatch] | None:
        with world.oracle.database.read() as session:
            found = session.execute(
                select(Answer, AnswerBatch)
                .join(AnswerBatch, AnswerBatch.id == Answer.batch_id)
                .join(ix.BatchAnchored, ix.BatchAnchored.root == AnswerBatch.root)
                .where(Answer.question_id == qid)
            ).first()
        return None if found is None else (found[0], found[1])

    row, batch = wait_for(batched, f"the answer to {qid} anchored", timeout_s=60)
    tree = BatchManifest.from_bytes(embedded_store(world).get(batch.manifest_cid)).tree()
    leaf = (bytes.fromhex(qid[2:]), row.advocate, bytes.fromhex(row.content_digest[2:]))
    ref = (*leaf, bytes.fromhex(batch.root[2:]), tree.proof(tree.index_of(leaf)))
    question_ref = posted_question_ref(world.oracle.database, embedded_store(world), qid)
    with undone(world):
        # The whole bounty to the author, though the question was committed to a swarm.
        accept = world.dev.ledger.functions.acceptBatchedAnswer(question_ref, ref)
        transact(world.dev.w3, ROGUE, accept)
        run = run_audit("--json")

    assert run.exit_code == 1
    assert run.failed_checks() == ["routing"]
    (finding,) = run.section("routing")["findings"]
    assert finding["subject"] == f"question {qid}"
    assert "off the shares committed at round 0" in finding["message"]

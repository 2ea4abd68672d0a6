"""The demo's final summary: the brand's figures read from the indexed chain events, its pool and
the oracle's gas, and the summary as lines for a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select

from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Answer, EventStatus, OutboxStatus, OutboxTx, WebhookEvent
from peercare.db.tables.routing import RouteRound, RoutingBatch
from peercare.demo.connection import Connection
from peercare.demo.plan import TOKEN


def chain_figures(conn: Connection, brand_id: int) -> dict[str, Any]:
    """The brand's history as indexed from the chain's events, its pool as the ledger holds it, and
    the gas of the oracle's writes for it."""
    with conn.database.read() as session:
        questions = select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
        posted = session.scalar(select(func.count()).where(ix.QuestionPosted.brand_id == brand_id))
        answers = dict(
            session.execute(
                select(ix.AnswerRow.batch_root.is_(None), func.count())
                .where(ix.AnswerRow.question_id.in_(questions))
                .group_by(ix.AnswerRow.batch_root.is_(None))
            ).all()
        )
        batches = session.scalar(
            select(func.count(distinct(ix.AnswerRow.batch_root))).where(
                ix.AnswerRow.question_id.in_(questions), ix.AnswerRow.batch_root.is_not(None)
            )
        )
        signed = session.scalar(select(func.count()).where(Answer.brand_id == brand_id, Answer.signature.is_not(None)))
        ratings = session.scalar(select(func.count()).where(ix.AnswerRated.question_id.in_(questions)))
        rating_batches = session.scalar(select(func.count()).where(ix.RatingBatchAnchored.brand_id == brand_id))
        acceptances = session.scalar(select(func.count()).where(ix.Acceptance.question_id.in_(questions)))
        paid = sum(session.scalars(select(ix.RewardCredit.amount).where(ix.RewardCredit.question_id.in_(questions))))
        split = (
            select(ix.RewardCredit.question_id)
            .where(ix.RewardCredit.question_id.in_(questions))
            .group_by(ix.RewardCredit.question_id)
            .having(func.count() > 1)
        )
        swarm_acceptances = session.scalar(select(func.count()).select_from(split.subquery()))
        routing_batches = session.scalar(select(func.count()).where(ix.RoutingBatchAnchoredRow.brand_id == brand_id))
        anchored = select(RoutingBatch.id).join(
            ix.RoutingBatchAnchoredRow, ix.RoutingBatchAnchoredRow.root == RoutingBatch.root
        )
        rounds_anchored = session.scalar(
            select(func.count()).where(RouteRound.brand_id == brand_id, RouteRound.batch_id.in_(anchored))
        )
        gas_by_kind = {
            str(kind): (writes, int(gas or 0))
            for kind, writes, gas in session.execute(
                select(OutboxTx.kind, func.count(), func.sum(OutboxTx.gas_used))
                .where(OutboxTx.brand_id == brand_id)
                .group_by(OutboxTx.kind)
                .order_by(OutboxTx.kind)
            )
        }
        gas_used = sum(gas for _, gas in gas_by_kind.values())
        failed_events = session.scalar(
            select(func.count()).where(WebhookEvent.brand_id == brand_id, WebhookEvent.status == EventStatus.FAILED)
        )
        failed_writes = session.scalar(
            select(func.count()).where(OutboxTx.brand_id == brand_id, OutboxTx.status == OutboxStatus.FAILED)
        )
    ledger = conn.deployment.contract(conn.w3, "PeerCareLedger")
    available, escrowed = ledger.functions.pool(brand_id).call()
    return {
        "questions": posted or 0,
        "answers": (answers.get(True, 0) or 0) + (answers.get(False, 0) or 0),
        "answers_relayed": answers.get(True, 0) or 0,
        "answers_batched": answers.get(False, 0) or 0,
        "answers_signed": signed or 0,
        "batches": batches or 0,
        "ratings": ratings or 0,
        "rating_batches": rating_batches or 0,
        "acceptances": acceptances or 0,
        "swarm_acceptances": swarm_acceptances or 0,
        "routing_batches": routing_batches or 0,
        "rounds_anchored": rounds_anchored or 0,
        "gas_used": gas_used,
        "gas": gas_figures(gas_by_kind, questions=posted or 0, acceptances=acceptances or 0),
        "tokens_paid": paid,
        "pool_available": int(available),
        "pool_escrowed": int(escrowed),
        "failed_events": failed_events or 0,
        "failed_writes": failed_writes or 0,
    }


def gas_figures(by_kind: dict[str, tuple[int, int]], *, questions: int, acceptances: int) -> dict[str, Any]:
    """The gas of the oracle's writes for the brand, as the receipts it recorded say (`gas_used` of
    its outbox rows): in all, per question posted, per accepted question (what a resolved ticket
    costs, the measure of docs/benchmarks.md), and per kind of write."""
    total = sum(gas for _, gas in by_kind.values())
    return {
        "total": total,
        "per_question": total // questions if questions else None,
        "per_accepted_question": total // acceptances if acceptances else None,
        "by_kind": {kind: {"writes": writes, "gas": gas} for kind, (writes, gas) in by_kind.items()},
    }


def tokens(amount: int) -> str:
    whole, rest = divmod(amount, TOKEN)
    return f"{whole:,}" + (f".{rest:018d}".rstrip("0") if rest else "")


def describe(summary: dict[str, Any]) -> list[str]:
    """The summary as lines for a person."""
    chain = summary["chain"]
    sent = summary["deliveries"]
    lines = [
        f"brand {summary['brand_id']} ({summary['brand']}), questions {summary['questions_planned']} planned "
        f"of the dump's {summary['questions_in_dump']}",
        f"  deliveries this run   {sent['total']:,} ({sent['accepted']:,} new, {sent['duplicate']:,} duplicates"
        f"{', ' + format(sent['ignored'], ',') + ' ignored' if sent['ignored'] else ''})",
        f"  questions posted      {chain['questions']:,}",
        f"  answers               {chain['answers']:,}: {chain['answers_batched']:,} anchored in "
        f"{chain['batches']:,} Merkle batches ({chain['answers_signed']:,} carrying their advocate's signature), "
        f"{chain['answers_relayed']:,} relayed alone",
        f"  ratings               {chain['ratings']:,} in {chain['rating_batches']:,} Merkle batches",
        f"  acceptances           {chain['acceptances']:,} ({chain['swarm_acceptances']:,} paid to a swarm "
        "by its committed shares)",
        f"  routing on chain      {chain['rounds_anchored']:,} rounds anchored in {chain['routing_batches']:,} batches",
        f"  gas used (oracle)     {chain['gas_used']:,}"
        + (
            f" ({summary['gas']['per_accepted_question']:,} per accepted question)"
            if summary["gas"]["per_accepted_question"]
            else ""
        ),
        f"  tokens paid           {tokens(chain['tokens_paid'])} {summary['token']}",
        f"  pool                  {tokens(chain['pool_available'])} {summary['token']} available, "
        f"{tokens(chain['pool_escrowed'])} escrowed",
    ]
    if chain["failed_events"] or chain["failed_writes"]:
        lines.append(
            f"  FAILED                {chain['failed_events']} events, {chain['failed_writes']} chain writes "
            "(see the oracle's database: webhook_events.error, outbox.error)"
        )
    offers, routing = summary["offers"], summary["routing"]
    late = offers["ticket_to_offer_delivered_ms"]
    share = routing["accepted_answer_offered_share"]
    lines += [
        f"  offers                {offers['made']:,} in {offers['rounds']:,} rounds "
        f"({offers['escalated']:,} escalated): "
        f"{offers['accepted']:,} accepted, {offers['answered']:,} answered, {offers['waiting']:,} waiting, "
        f"{offers['declined']:,} declined, {offers['expired']:,} expired",
        f"  offers delivered      {offers['delivered']:,} to the brand's system"
        + (f"; ticket to offer delivered p50 {late['p50']:,} ms, p99 {late['p99']:,} ms" if late["count"] else ""),
        "  accepted answers      "
        + (
            f"{share:.1%} by an advocate offered the question (of {routing['accepted_answers_judged']:,} "
            "written after it was routed)"
            if share is not None
            else "none written after its question was routed"
        ),
    ]
    epoch = summary["epoch"]
    if epoch["epoch"] is None:
        lines.append(f"  reputation            {epoch['note']}")
    else:
        how = "published now" if epoch["published_now"] else "already covering this history"
        lines.append(
            f"  top advocates per topic, reputation epoch {epoch['epoch']} ({how}; 1.00 = one fresh acceptance):"
        )
        for topic, best in epoch["top"].items():
            if not best:
                continue
            names = ", ".join(
                f"{'se-user-' + str(b['se_user']) if b['se_user'] is not None else b['advocate']} "
                f"{b['score'] / 1_000_000:.2f}"
                for b in best
            )
            lines.append(f"    {topic:24} {names}")
    at = summary.get("timings", {})
    steps = ", ".join(f"{name.removesuffix('_s').replace('_', ' ')} at {seconds:.1f}" for name, seconds in at.items())
    lines.append(f"  elapsed               {summary['elapsed_s']:.1f} s ({steps})")
    return lines

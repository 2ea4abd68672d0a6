"""The reputation epoch covering the demo brand's history: the latest one when it already does,
else a new one published through the oracle's outbox at the latest complete cut; waited for until
on chain and indexed, then its top advocates per topic read from its manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from eth_utils.address import to_checksum_address
from sqlalchemy import func, select

from peercare.core.enums import OutboxKind
from peercare.core.ledger_ids import reputation_topic, short_string
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import OutboxStatus, OutboxTx
from peercare.db.tables.reputation import ReputationEpoch
from peercare.demo.connection import Connection
from peercare.demo.errors import DemoError
from peercare.demo.plan import DEFAULT_TOPIC, Plan
from peercare.demo.progress import Progress, Watcher, wait_for
from peercare.reputation.publication import (
    PublicationError,
    chain_latest_epoch,
    holds_publisher_role,
    latest_complete_cut,
    next_epoch,
    publish_epoch,
    roots_contract,
)


@dataclass(frozen=True)
class EpochInfo:
    epoch: int | None
    cut: int | None
    published_now: bool
    manifest_cid: str | None
    note: str | None = None  # why there is no epoch, when there is none
    top: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def last_write_time(conn: Connection, brand_id: int) -> int | None:
    """Block time of the brand's latest confirmed write of its history (routing anchors are left
    out: the reputation does not read them, and the router anchors rounds decided on the epoch just
    published, which would make the next run publish an epoch for nothing)."""
    with conn.database.read() as session:
        block = session.scalar(
            select(func.max(OutboxTx.block_number)).where(
                OutboxTx.brand_id == brand_id,
                OutboxTx.status == OutboxStatus.CONFIRMED,
                OutboxTx.kind != OutboxKind.ANCHOR_ROUTING,
            )
        )
    if block is None:
        return None
    header = conn.rpc.call("eth_getBlockByNumber", [hex(block), False])
    return int(header["timestamp"], 16)


def publish_reputation(
    conn: Connection, plan: Plan, brand_id: int, *, bar_file: TextIO | None, timeout_s: float
) -> EpochInfo:
    """The epoch covering the brand's history: the latest one if it does, else a new one queued
    with the oracle's outbox (`publish_epoch`, latest complete cut), once on chain and indexed."""
    since = last_write_time(conn, brand_id)
    if since is None:
        return EpochInfo(None, None, False, None, "nothing of this brand is on chain yet")
    with conn.database.read() as session:
        latest = session.scalars(select(ReputationEpoch).order_by(ReputationEpoch.epoch.desc()).limit(1)).first()
    published_now = False
    if latest is not None and latest.cut >= since:
        epoch, cut, cid = latest.epoch, latest.cut, latest.manifest_cid
    else:
        roots = roots_contract(conn.deployment)
        if not holds_publisher_role(conn.rpc, roots, conn.oracle_address):
            return EpochInfo(
                None, None, False, None, f"the oracle {conn.oracle_address} may not publish reputation roots"
            )
        watcher = Watcher(conn, brand_id)

        def covered() -> Progress:
            cut = latest_complete_cut(conn.database, conn.rpc)
            return Progress(int(cut >= since), 1, cut >= since)

        wait_for(
            "indexing up to a cut   ", covered, bar_file=bar_file, timeout_s=timeout_s, stalled=watcher.mine_if_idle
        )
        with conn.database.read() as session:
            epoch = next_epoch(session, chain_latest=chain_latest_epoch(conn.rpc, roots))
        try:
            published = publish_epoch(
                conn.database,
                conn.deployment,
                conn.vault.stores[0],
                conn.rpc,
                epoch=epoch,
                cut=latest_complete_cut(conn.database, conn.rpc),
            )
        except PublicationError as exc:
            return EpochInfo(None, None, False, None, f"no epoch published: {exc}")
        epoch, cut, cid, published_now = published.epoch, published.cut, published.manifest_cid, True
    _wait_for_epoch(conn, epoch, bar_file=bar_file, timeout_s=timeout_s)
    manifest = json.loads(conn.vault.stores[0].get(cid))
    return EpochInfo(epoch, cut, published_now, cid, top=top_advocates(manifest, plan, brand_id))


def _wait_for_epoch(conn: Connection, epoch: int, *, bar_file: TextIO | None, timeout_s: float) -> None:
    watcher = Watcher(conn, 0)

    def measure() -> Progress:
        with conn.database.read() as session:
            row = session.scalar(
                select(OutboxTx)
                .join(ReputationEpoch, ReputationEpoch.outbox_id == OutboxTx.id)
                .where(ReputationEpoch.epoch == epoch)
            )
            indexed = session.scalar(select(func.count()).where(ix.ReputationRoot.epoch == epoch))
        if row is not None and row.status == OutboxStatus.FAILED:
            raise DemoError(f"publishing reputation epoch {epoch} failed on chain: {row.error}")
        confirmed = row is not None and row.status == OutboxStatus.CONFIRMED
        done = int(confirmed) + int(bool(indexed))
        return Progress(done, 2, bool(indexed))

    wait_for(
        f"publishing epoch {epoch:<6} ", measure, bar_file=bar_file, timeout_s=timeout_s, stalled=watcher.mine_if_idle
    )


def top_advocates(
    manifest: dict[str, Any], plan: Plan, brand_id: int, count: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """The `count` best scores in each of the brand's topics (namespaced by the brand: reputation
    is per brand and topic), from an epoch manifest."""
    topics = {"0x" + reputation_topic(brand_id, short_string(t)).hex(): t for t in (*plan.topics, DEFAULT_TOPIC)}
    by_topic: dict[str, list[tuple[int, str]]] = {t: [] for t in topics.values()}
    for entry in manifest["tree"]["values"]:
        advocate, topic_hex, score = entry["value"]
        topic = topics.get(str(topic_hex).lower())
        if topic is not None:
            by_topic[topic].append((int(score), to_checksum_address(advocate)))
    top: dict[str, list[dict[str, Any]]] = {}
    for topic, scores in sorted(by_topic.items()):
        best = sorted(scores, key=lambda item: (-item[0], item[1]))[:count]
        top[topic] = [
            {"advocate": address, "se_user": plan.advocates.get(address), "score": score} for score, address in best
        ]
    return top

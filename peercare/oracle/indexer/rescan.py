"""Checking an index against a full rescan of the same blocks (`rescan_differences`)."""

from __future__ import annotations

from typing import Any

from peercare.chain.deployment import Deployment
from peercare.chain.views import ChainReader
from peercare.db.database import Database
from peercare.db.tables.projections import IndexerCursor, projection_snapshot, snapshot_differences
from peercare.oracle.indexer.follower import CURSOR_ID, Indexer
from peercare.oracle.indexer.manifests import ContentSource


def rescan_differences(
    database: Database,
    scratch: Database,
    rpc: ChainReader,
    deployment: Deployment,
    content_store: ContentSource,
    *,
    start_block: int | None = None,
) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Index the chain from scratch into the empty (migrated) `scratch` database up to the block
    `database` has reached, and compare the two: per table whose rows differ, (rows only in
    `database`, rows only in the rescan). Empty when the incremental index equals a full rescan."""
    with database.transaction() as session:
        row = session.get(IndexerCursor, CURSOR_ID)
    first = deployment.deployed_at_block if start_block is None else start_block
    until = first - 1 if row is None else row.block_number
    rescan = Indexer(
        scratch,
        rpc,
        deployment,
        content_store,
        confirmations=0,
        start_block=first,
        until_block=until,
        manifest_retry_interval_s=0.0,
    )
    while rescan.step():
        pass
    with database.transaction() as session:
        ours = projection_snapshot(session)
    with scratch.transaction() as session:
        theirs = projection_snapshot(session)
    return snapshot_differences(ours, theirs)

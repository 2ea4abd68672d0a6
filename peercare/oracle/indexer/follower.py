"""Following the chain: the cursor, the blocks `confirmations` behind the head, and reorganisations.

The `Indexer` follows the ledger's events into the projections (`peercare.db.tables.projections`).
Each `step` indexes the blocks after its cursor up to `head - confirmations` (at most
`max_blocks_per_step` of them) in one database transaction: the event rows, the block hashes and
the cursor commit together, so a crash at any point leaves either the whole step or none of it, and
the next step starts after the last committed block (a row can never be inserted twice: the logs of
a block are only ever fetched once the cursor is below it, and the unique key on `(tx_hash,
log_index)` would refuse a second copy).

Before indexing forward, a step checks that the cursor's block is still canonical. If it is not, the
chain was reorganised (however deep, confirmations only make it rarer): the step walks back through
the stored block hashes to the newest one still canonical (the fork point), deletes every projection
row above it and replays from there, in the same transaction. A chain that moves while a step reads
it (the fetched headers do not link up to the cursor, or a log's block hash is not the header's) is
caught too: the step is abandoned and the next one sees the reorganisation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from peercare.chain.deployment import Deployment
from peercare.chain.rpc import RpcError
from peercare.chain.views import ChainReader
from peercare.db.database import Database
from peercare.db.tables.projections import PROJECTIONS, IndexedBlock, IndexerCursor
from peercare.oracle.indexer.chunks import chunks
from peercare.oracle.indexer.decoder import LogDecoder
from peercare.oracle.indexer.errors import IndexerError
from peercare.oracle.indexer.manifests import (
    PARSERS,
    ContentSource,
    Manifest,
    ManifestKey,
    event_manifest_key,
    read_manifest,
    retry_missing_manifests,
)
from peercare.oracle.indexer.projectors import PROJECTORS, Projection, Rows

# One logger for the whole indexer, named as before it was split into modules.
log = logging.getLogger("peercare.oracle.indexer")

#: Block hashes kept for finding fork points; a reorganisation deeper than this rescans from the start.
KEPT_BLOCKS = 512
#: Headers asked for in one JSON-RPC batch.
HEADERS_PER_BATCH = 500
CURSOR_ID = 1


class _ChainMoved(Exception):
    """The chain changed while a step was reading it: abandon the step, the next one rewinds."""


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class _Fetched:
    cursor: int  # the block the range follows
    logs: list[Any]
    last: int
    headers: dict[int, Header]
    manifests: dict[ManifestKey, Manifest]  # the batches' manifests, read and checked


class Indexer:
    """Indexes the deployment's ledger and reputation roots into `database`.

    `confirmations`: blocks left unindexed behind the head (a reorganisation shallower than this is
    never seen; a deeper one is rewound). `start_block`: where indexing starts (default: the
    deployment's first block). `until_block`: never index past it (for rescans that must stop where
    another index stopped). `manifest_retry_interval_s`: how often missing manifests are fetched again.
    `kept_blocks`: block hashes kept to find fork points (a deeper reorganisation rescans from the start).
    """

    def __init__(
        self,
        database: Database,
        rpc: ChainReader,
        deployment: Deployment,
        content_store: ContentSource,
        *,
        confirmations: int = 2,
        max_blocks_per_step: int = 2000,
        start_block: int | None = None,
        until_block: int | None = None,
        manifest_retry_interval_s: float = 5.0,
        kept_blocks: int = KEPT_BLOCKS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if confirmations < 0 or max_blocks_per_step < 1 or kept_blocks < 1:
            raise ValueError("confirmations must be at least 0, max_blocks_per_step and kept_blocks at least 1")
        self.database = database
        self.rpc = rpc
        self.content_store = content_store
        self.confirmations = confirmations
        self.max_blocks_per_step = max_blocks_per_step
        self.start_block = deployment.deployed_at_block if start_block is None else start_block
        self.until_block = until_block
        self.manifest_retry_interval_s = manifest_retry_interval_s
        self.kept_blocks = kept_blocks
        self._clock = clock
        self._next_manifest_retry = 0.0
        self._log_span = max_blocks_per_step
        self._decoder = LogDecoder(deployment)
        self.reorgs = 0  # reorganisations rewound since construction
        self.last_fork_point: int | None = None  # the block the latest rewind went back to
        # `Rpc` serves one thread at a time; `lag_blocks` may be called from another (a health route).
        self._rpc_lock = threading.Lock()

    # ------------------------------------------------------------ public

    def step(self) -> int:
        """Index the next blocks up to `head - confirmations` (rewinding first if the chain was
        reorganised); return how many blocks were indexed, 0 when caught up."""
        target = self._head() - self.confirmations
        if self.until_block is not None:
            target = min(target, self.until_block)
        try:
            prefetched = self._prefetch(target)  # node reads outside the write transaction
            with self.database.transaction() as session:
                return self._step(session, target, prefetched)
        except _ChainMoved as moved:
            log.info("the chain moved during the step (%s); retrying on the next step", moved)
            return 0

    def catch_up(self, target: int | None = None, on_step: Callable[[int], None] | None = None) -> int:
        """Index until the cursor reaches `target` (default: the head less the confirmations, as
        it is now), whatever the steps on the way return: a step a new block interrupted
        (`_ChainMoved`) indexes nothing and is simply taken again. A caller looping `while
        step()` would stop there, with the history half indexed. `on_step(cursor)` after each step
        (progress). Returns the blocks indexed."""
        start = self.cursor()
        goal = self._head() - self.confirmations if target is None else target
        while True:
            reachable = self._head() - self.confirmations  # a reorganisation may have shortened the chain
            if self.until_block is not None:
                reachable = min(reachable, self.until_block)
            if self.cursor() >= min(goal, reachable):
                return self.cursor() - start
            self.step()
            if on_step is not None:
                on_step(self.cursor())

    def cursor(self) -> int:
        """The last block indexed (`start_block - 1` before the first step)."""
        with self.database.read() as session:
            row = session.get(IndexerCursor, CURSOR_ID)
            return self.start_block - 1 if row is None else row.block_number

    def lag_blocks(self) -> int:
        """How far the projections are behind the chain's head, in blocks."""
        return self._head() - self.cursor()

    # ------------------------------------------------------------ one step

    def _prefetch(self, target: int) -> _Fetched | None:
        """The logs and headers of the next range, and the manifests of the batches anchored in it
        (fetched, decoded and checked against their roots), read without holding the database's
        write lock (on SQLite that lock stops webhook intake); `_step` uses them if its cursor agrees."""
        cursor = self.cursor()
        if cursor >= target:
            return None
        logs, last = self._get_logs(cursor + 1, min(target, cursor + self.max_blocks_per_step))
        manifests = {}
        for entry in logs:
            spec = self._decoder.spec(entry)
            if spec is not None and spec.name in PARSERS:
                key = event_manifest_key(spec.name, spec.decode(entry["topics"], entry["data"]))
                manifests[key] = read_manifest(self.content_store, *key)
        return _Fetched(cursor, logs, last, self._headers(range(cursor + 1, last + 1)), manifests)

    def _step(self, session: Session, target: int, prefetched: _Fetched | None = None) -> int:
        cursor_row = session.scalars(
            select(IndexerCursor).where(IndexerCursor.id == CURSOR_ID).with_for_update()
        ).first()
        if cursor_row is None:
            cursor_row = IndexerCursor(id=CURSOR_ID, block_number=self.start_block - 1)
            session.add(cursor_row)
        cursor = previous = cursor_row.block_number
        stored = session.get(IndexedBlock, cursor)
        if stored is not None:
            canonical = self._headers([cursor], complete=False).get(cursor)
            if canonical is None or canonical.hash != stored.hash:
                cursor = self._rewind(session, cursor)
                stored = session.get(IndexedBlock, cursor)
        advanced = 0
        if cursor < target:
            manifests: dict[ManifestKey, Manifest] = {}
            if prefetched is not None and prefetched.cursor == cursor:
                logs, last, headers = prefetched.logs, prefetched.last, prefetched.headers
                manifests = prefetched.manifests
            else:
                logs, last = self._get_logs(cursor + 1, min(target, cursor + self.max_blocks_per_step))
                headers = self._headers(range(cursor + 1, last + 1))
            self._check_linked(cursor, None if stored is None else stored.hash, last, headers, logs)
            rows = self._project(session, logs, headers, manifests)
            for model, model_rows in rows.items():
                if model_rows:
                    session.execute(insert(model), model_rows)
            keep_from = last - self.kept_blocks + 1
            session.execute(
                insert(IndexedBlock),
                [
                    {"number": n, "hash": headers[n].hash, "parent_hash": headers[n].parent_hash}
                    for n in range(max(cursor + 1, keep_from), last + 1)
                ],
            )
            session.execute(delete(IndexedBlock).where(IndexedBlock.number < keep_from))
            advanced = last - cursor
            cursor = last
        cursor_row.block_number = cursor
        self._retry_missing_manifests(session, min(previous, cursor))
        return advanced

    def _rewind(self, session: Session, cursor: int) -> int:
        """Delete everything above the newest stored block that is still canonical; return it."""
        stored = session.scalars(
            select(IndexedBlock).where(IndexedBlock.number <= cursor).order_by(IndexedBlock.number.desc())
        ).all()
        fork = self.start_block - 1
        for chunk in chunks(stored, 64):
            canonical = self._headers([block.number for block in chunk], complete=False)
            match = next(
                (block for block in chunk if (h := canonical.get(block.number)) is not None and h.hash == block.hash),
                None,
            )
            if match is not None:
                fork = match.number
                break
        else:
            log.warning("no stored block is canonical any more: indexing again from block %d", self.start_block)
        for model in PROJECTIONS:
            session.execute(delete(model).where(model.block_number > fork))
        session.execute(delete(IndexedBlock).where(IndexedBlock.number > fork))
        self.reorgs += 1
        self.last_fork_point = fork
        log.warning("chain reorganised: rewound from block %d to the fork point %d", cursor, fork)
        return fork

    @staticmethod
    def _check_linked(
        cursor: int, cursor_hash: str | None, last: int, headers: Mapping[int, Header], logs: Sequence[Any]
    ) -> None:
        parent = cursor_hash
        for number in range(cursor + 1, last + 1):
            header = headers[number]
            if parent is not None and header.parent_hash != parent:
                raise _ChainMoved(f"block {number} does not follow the block before it")
            parent = header.hash
        for entry in logs:
            number = int(entry["blockNumber"], 16)
            if not cursor < number <= last or entry["blockHash"].lower() != headers[number].hash:
                raise _ChainMoved(f"a log of block {number} is from another chain than its header")

    # ------------------------------------------------------------ chain reads

    def _head(self) -> int:
        with self._rpc_lock:
            return int(self.rpc.call("eth_blockNumber", []), 16)

    def _get_logs(self, first: int, last: int) -> tuple[list[Any], int]:
        """The projected events' logs from `first` on; the range is halved while the node refuses it
        (too many results, too wide), so `last` may come back lower than asked."""
        last = min(last, first + self._log_span - 1)
        while True:
            params = {
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "address": self._decoder.addresses,
                "topics": [self._decoder.topics],
            }
            try:
                with self._rpc_lock:
                    logs = self.rpc.call("eth_getLogs", [params])
            except RpcError as exc:
                if last == first:
                    raise
                self._log_span = max(1, (last - first + 1) // 2)
                log.info("eth_getLogs of blocks %d..%d refused (%s): halving the range", first, last, exc)
                last = first + self._log_span - 1
                continue
            self._log_span = min(self.max_blocks_per_step, self._log_span * 2)
            if not isinstance(logs, list):
                raise IndexerError(f"eth_getLogs answered {type(logs).__name__}, not a list")
            logs.sort(key=lambda entry: (int(entry["blockNumber"], 16), int(entry["logIndex"], 16)))
            return logs, last

    def _headers(self, numbers: Iterable[int], *, complete: bool = True) -> dict[int, Header]:
        """Headers of the canonical chain by number. Numbers past the head are absent from the result,
        or make it raise `_ChainMoved` if `complete` (the range to index was there a moment ago)."""
        wanted = list(numbers)
        headers: dict[int, Header] = {}
        for chunk in chunks(wanted, HEADERS_PER_BATCH):
            with self._rpc_lock:
                results = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for number, result in zip(chunk, results, strict=True):
                if isinstance(result, RpcError):
                    raise IndexerError(f"eth_getBlockByNumber({number}) failed: {result}")
                if result is None:
                    continue
                headers[number] = Header(
                    number=int(result["number"], 16),
                    hash=result["hash"].lower(),
                    parent_hash=result["parentHash"].lower(),
                    timestamp=int(result["timestamp"], 16),
                )
        if complete and len(headers) != len(wanted):
            raise _ChainMoved(f"{len(wanted) - len(headers)} blocks of {wanted[0]}..{wanted[-1]} are gone")
        return headers

    # ------------------------------------------------------------ events to rows

    def _project(
        self,
        session: Session,
        logs: Sequence[Any],
        headers: Mapping[int, Header],
        manifests: Mapping[ManifestKey, Manifest],
    ) -> Rows:
        projection = Projection(session, self.content_store, manifests)
        for entry in logs:
            spec = self._decoder.spec(entry)
            if spec is None:
                continue
            v = spec.decode(entry["topics"], entry["data"])
            number = int(entry["blockNumber"], 16)
            at = {
                "block_number": number,
                "block_hash": headers[number].hash,
                "block_time": headers[number].timestamp,
                "tx_hash": entry["transactionHash"].lower(),
                "log_index": int(entry["logIndex"], 16),
            }
            PROJECTORS[spec.name](projection, at, v)
        return projection.finish(self.start_block)

    def _retry_missing_manifests(self, session: Session, up_to_block: int) -> None:
        """Fetch again the manifests of batches anchored up to `up_to_block` (by earlier steps), at
        most every `manifest_retry_interval_s`."""
        now = self._clock()
        if now < self._next_manifest_retry:
            return
        self._next_manifest_retry = now + self.manifest_retry_interval_s
        retry_missing_manifests(session, self.content_store, up_to_block)

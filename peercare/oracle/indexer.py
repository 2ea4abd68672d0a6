"""The indexer: follows the ledger's events into the projections (`peercare.db.tables.projections`).

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

Answers anchored in a batch come from the batch's manifest, fetched from the content store by the
digest in `AnswerBatchAnchored`. A manifest not there yet leaves the batch "missing" and is fetched
again on later steps; its answers are inserted when it arrives, with the anchoring log's position,
so a rewind removes them with the batch.

A batch's leaves become answers only where the ledger would accept them (`_requireAnswer`): a leaf
counts when its question was posted, before the anchoring log, by the brand that anchored the
batch, and names an advocate. Any other leaf (another brand's question, a question never posted,
the zero address) is left out and reported with a warning: a brand cannot add answers to another
brand's questions by listing them in its own batch. The rule depends only on the chain's order, so
an incremental index and a rescan agree however late a manifest arrives.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from peercare.chain.deployment import Deployment
from peercare.chain.rpc import RpcError
from peercare.content.cid import cid_from_digest
from peercare.core.ledger_ids import answer_id
from peercare.core.merkle import hash_pair
from peercare.db.database import Database
from peercare.db.tables.projections import (
    PROJECTIONS,
    Acceptance,
    AnswerRow,
    BatchAnchored,
    BrandRegistration,
    Cursor,
    EarningsWithdrawal,
    IndexedBlock,
    ManifestStatus,
    PoolMovement,
    PoolMovementKind,
    QuestionExpiry,
    QuestionPosted,
    Rating,
    ReputationRoot,
    RewardCredit,
    projection_snapshot,
    snapshot_differences,
)
from peercare.oracle.manifest import BatchManifest, ManifestError

log = logging.getLogger("peercare.oracle.indexer")

#: Block hashes kept for finding fork points; a reorganisation deeper than this rescans from the start.
KEPT_BLOCKS = 512
#: Headers asked for in one JSON-RPC batch.
HEADERS_PER_BATCH = 500
#: Missing manifests tried again per step at most.
MANIFEST_RETRIES_PER_STEP = 100
_CURSOR_ID = 1
_RATER_KINDS = ("customer", "peer_advocate", "brand_expert")
#: The events projected, by contract.
_PROJECTED_EVENTS = {
    "PeerCareLedger": (
        "BrandRegistered",
        "PoolDeposited",
        "PoolWithdrawn",
        "QuestionPosted",
        "QuestionExpired",
        "AnswerRecorded",
        "AnswerBatchAnchored",
        "AnswerRated",
        "AnswerAccepted",
        "RewardCredited",
        "EarningsWithdrawn",
    ),
    "ReputationRoots": ("ReputationRootPublished", "RootCorrected"),
}


class ChainReader(Protocol):
    """What the indexer needs of `peercare.chain.rpc.Rpc`."""

    def call(self, method: str, params: list[Any] | None = None) -> Any: ...

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]: ...


class ContentSource(Protocol):
    """What the indexer needs of a content store (`peercare.content.store.Store`)."""

    def get(self, cid: str) -> bytes: ...


class IndexerError(RuntimeError):
    """The chain or the node answered something the indexer cannot make sense of."""


class _ChainMoved(Exception):
    """The chain changed while a step was reading it: abandon the step, the next one rewinds."""


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) from topics 1..3
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]

    def decode(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        if len(topics) != len(self.indexed) + 1:
            raise IndexerError(f"{self.name} log with {len(topics)} topics, expected {len(self.indexed) + 1}")
        values = {
            name: _topic_value(abi_type, topic)
            for (name, abi_type), topic in zip(self.indexed, topics[1:], strict=True)
        }
        raw = bytes.fromhex(data.removeprefix("0x"))
        for name, abi_type, value in zip(
            self.data_names, self.data_types, decode(list(self.data_types), raw), strict=True
        ):
            values[name] = _normal(abi_type, value)
        return values


def _topic_value(abi_type: str, topic: str) -> Any:
    topic = topic.lower()
    if abi_type == "address":
        return _checksum("0x" + topic[-40:])
    if abi_type.startswith(("uint", "int")):
        value = int(topic, 16)
        if abi_type.startswith("int") and value >= 2**255:
            value -= 2**256
        return value
    if abi_type == "bytes32" or abi_type == "bool":
        return topic if abi_type == "bytes32" else int(topic, 16) != 0
    raise IndexerError(f"indexed parameters of type {abi_type} are not supported")


def _normal(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return _checksum(value.lower())
    if isinstance(value, bytes) and abi_type != "bytes":
        return "0x" + value.hex()
    return value


def _event_specs(abi: Iterable[Mapping[str, Any]], names: Iterable[str]) -> dict[str, _EventSpec]:
    """topic0 -> spec for the named events of `abi`."""
    wanted = set(names)
    specs = {}
    for entry in abi:
        if entry.get("type") != "event" or entry["name"] not in wanted:
            continue
        inputs = entry["inputs"]
        signature = f"{entry['name']}({','.join(param['type'] for param in inputs)})"
        topic0 = "0x" + keccak(text=signature).hex()
        specs[topic0] = _EventSpec(
            name=entry["name"],
            indexed=tuple((param["name"], param["type"]) for param in inputs if param["indexed"]),
            data_names=tuple(param["name"] for param in inputs if not param["indexed"]),
            data_types=tuple(param["type"] for param in inputs if not param["indexed"]),
        )
        wanted.discard(entry["name"])
    if wanted:
        raise IndexerError(f"the ABI lacks the events {sorted(wanted)}: rebuild the contracts")
    return specs


_ManifestKey = tuple[str, str, int, int]  # (manifest digest, batch root, size, brand id) as anchored
_Manifest = tuple[ManifestStatus, list[dict[str, Any]]]  # its status, and one row per leaf when OK


@dataclass(frozen=True)
class _Fetched:
    cursor: int  # the block the range follows
    logs: list[Any]
    last: int
    headers: dict[int, Header]
    manifests: dict[_ManifestKey, _Manifest]  # the batches' manifests, read and checked


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
        self._events: dict[tuple[str, str], _EventSpec] = {}
        for contract, names in _PROJECTED_EVENTS.items():
            address = deployment.contracts[contract].address.lower()
            for topic0, spec in _event_specs(deployment.abi(contract), names).items():
                self._events[(address, topic0)] = spec
        self._addresses = sorted({address for address, _ in self._events})
        self._topics = sorted({topic0 for _, topic0 in self._events})
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

    def cursor(self) -> int:
        """The last block indexed (`start_block - 1` before the first step)."""
        with self.database.read() as session:
            row = session.get(Cursor, _CURSOR_ID)
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
            spec = self._spec(entry)
            if spec is not None and spec.name == "AnswerBatchAnchored":
                v = spec.decode(entry["topics"], entry["data"])
                key = (v["manifestDigest"], v["batchRoot"], v["size"], v["brandId"])
                manifests[key] = self._read_manifest(*key)
        return _Fetched(cursor, logs, last, self._headers(range(cursor + 1, last + 1)), manifests)

    def _step(self, session: Session, target: int, prefetched: _Fetched | None = None) -> int:
        cursor_row = session.scalars(select(Cursor).where(Cursor.id == _CURSOR_ID).with_for_update()).first()
        if cursor_row is None:
            cursor_row = Cursor(id=_CURSOR_ID, block_number=self.start_block - 1)
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
            manifests: dict[_ManifestKey, _Manifest] = {}
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
        for chunk in _chunks(stored, 64):
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
                "address": self._addresses,
                "topics": [self._topics],
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
        for chunk in _chunks(wanted, HEADERS_PER_BATCH):
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

    def _spec(self, entry: Any) -> _EventSpec | None:
        """The projected event this log is, or None (another contract's, or an event not projected)."""
        topics = entry["topics"]
        return self._events.get((entry["address"].lower(), topics[0].lower())) if topics else None

    def _project(
        self,
        session: Session,
        logs: Sequence[Any],
        headers: Mapping[int, Header],
        manifests: Mapping[_ManifestKey, _Manifest],
    ) -> dict[type[Any], list[dict[str, Any]]]:
        rows: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
        brand_of_question: dict[str, int] = {}
        payouts: list[dict[str, Any]] = []
        for entry in logs:
            spec = self._spec(entry)
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
            name = spec.name
            if name == "BrandRegistered":
                rows[BrandRegistration].append(
                    at | {"brand_id": v["brandId"], "admin": v["admin"], "token": v["token"]}
                )
            elif name == "PoolDeposited":
                rows[PoolMovement].append(
                    at | _movement(v["brandId"], PoolMovementKind.DEPOSIT, v["amount"], account=v["from"])
                )
            elif name == "PoolWithdrawn":
                rows[PoolMovement].append(
                    at | _movement(v["brandId"], PoolMovementKind.WITHDRAW, v["amount"], account=v["to"])
                )
            elif name == "QuestionPosted":
                brand_of_question[v["questionId"]] = v["brandId"]
                rows[QuestionPosted].append(
                    at
                    | {
                        "question_id": v["questionId"],
                        "brand_id": v["brandId"],
                        "topic": v["topic"],
                        "source": v["source"],
                        "ticket_id": v["ticketId"],
                        "bounty": v["bounty"],
                        "deadline": v["deadline"],
                        "content_digest": v["contentDigest"],
                    }
                )
                rows[PoolMovement].append(
                    at | _movement(v["brandId"], PoolMovementKind.ESCROW, v["bounty"], question=v["questionId"])
                )
            elif name == "QuestionExpired":
                rows[QuestionExpiry].append(
                    at | {"question_id": v["questionId"], "brand_id": v["brandId"], "refunded": v["refunded"]}
                )
                rows[PoolMovement].append(
                    at | _movement(v["brandId"], PoolMovementKind.REFUND, v["refunded"], question=v["questionId"])
                )
            elif name == "AnswerRecorded":
                recorded = answer_id(_b(v["questionId"]), v["advocate"], _b(v["contentDigest"]))
                rows[AnswerRow].append(
                    at
                    | {
                        "answer_id": "0x" + recorded.hex(),
                        "question_id": v["questionId"],
                        "advocate": v["advocate"],
                        "content_digest": v["contentDigest"],
                        "batch_root": None,
                        "leaf_index": 0,
                    }
                )
            elif name == "AnswerBatchAnchored":
                batch = at | {
                    "root": v["batchRoot"],
                    "brand_id": v["brandId"],
                    "size": v["size"],
                    "manifest_digest": v["manifestDigest"],
                }
                status, answers = self._batch_answers(batch, manifests)
                rows[BatchAnchored].append(batch | {"manifest_status": status})
                rows[AnswerRow].extend(self._admitted(session, batch, answers, brand_of_question))
            elif name == "AnswerRated":
                rows[Rating].append(
                    at
                    | {
                        "answer_id": v["answerId"],
                        "question_id": v["questionId"],
                        "advocate": v["advocate"],
                        "rating": v["rating"],
                        "rater_kind": _rater_kind(v["raterKind"]),
                        "rater_id": v["raterId"],
                    }
                )
            elif name == "AnswerAccepted":
                rows[Acceptance].append(
                    at
                    | {
                        "question_id": v["questionId"],
                        "answer_id": v["answerId"],
                        "advocate": v["advocate"],
                        "bounty": v["bounty"],
                    }
                )
                payouts.append(at | _movement(0, PoolMovementKind.PAYOUT, v["bounty"], question=v["questionId"]))
            elif name == "RewardCredited":
                rows[RewardCredit].append(
                    at
                    | {
                        "account": v["account"],
                        "token": v["token"],
                        "question_id": v["questionId"],
                        "amount": v["amount"],
                    }
                )
            elif name == "EarningsWithdrawn":
                rows[EarningsWithdrawal].append(
                    at | {"account": v["account"], "token": v["token"], "to": v["to"], "amount": v["amount"]}
                )
            elif name in ("ReputationRootPublished", "RootCorrected"):
                rows[ReputationRoot].append(
                    at | {"epoch": v["epoch"], "root": v["root"], "manifest_digest": v["manifestDigest"]}
                )
        if payouts:
            # AnswerAccepted does not name the brand: its question's posting does (earlier on chain).
            unknown = {row["question_id"] for row in payouts} - brand_of_question.keys()
            for chunk in _chunks(sorted(unknown), 500):
                found = session.execute(
                    select(QuestionPosted.question_id, QuestionPosted.brand_id).where(
                        QuestionPosted.question_id.in_(chunk)
                    )
                )
                brand_of_question.update((question, brand) for question, brand in found)
            for row in payouts:
                brand = brand_of_question.get(row["question_id"])
                if brand is None:
                    raise IndexerError(
                        f"question {row['question_id']} was accepted but its posting was never indexed: "
                        f"start_block {self.start_block} is after it"
                    )
                rows[PoolMovement].append(row | {"brand_id": brand})
        return rows

    def _admitted(
        self,
        session: Session,
        batch: Mapping[str, Any],
        answers: list[dict[str, Any]],
        posted_in_step: Mapping[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """The batch's answer rows the ledger would accept (`_requireAnswer`): those whose question
        was posted before the anchoring log by the anchoring brand, and that name an advocate. The
        others are left out and reported. `posted_in_step`: question -> brand of the postings
        projected earlier in the same step (not in the database yet)."""
        if not answers:
            return answers
        posted_in_step = posted_in_step or {}
        brands = {q: posted_in_step[q] for q in {row["question_id"] for row in answers} if q in posted_in_step}
        earlier = or_(
            QuestionPosted.block_number < batch["block_number"],
            and_(QuestionPosted.block_number == batch["block_number"], QuestionPosted.log_index < batch["log_index"]),
        )
        for chunk in _chunks(sorted({row["question_id"] for row in answers} - brands.keys()), 500):
            found = session.execute(
                select(QuestionPosted.question_id, QuestionPosted.brand_id).where(
                    QuestionPosted.question_id.in_(chunk), earlier
                )
            )
            brands.update((question, brand) for question, brand in found)
        admitted, refused = [], []
        for row in answers:
            brand = brands.get(row["question_id"])
            if brand == batch["brand_id"] and int(row["advocate"], 16) != 0:
                admitted.append(row)
                continue
            why = (
                "names no advocate"
                if int(row["advocate"], 16) == 0
                else "answers a question not posted before the batch"
                if brand is None
                else f"answers a question of brand {brand}"
            )
            refused.append(f"leaf {row['leaf_index']} {why} ({row['question_id']})")
        if refused:
            log.warning(
                "batch %s anchored by brand %d in tx %s (block %d): %d of %d leaves left out, the ledger "
                "would not accept them for the brand: %s",
                batch["root"],
                batch["brand_id"],
                batch["tx_hash"],
                batch["block_number"],
                len(refused),
                len(answers),
                "; ".join(refused[:10]) + ("; ..." if len(refused) > 10 else ""),
            )
        return admitted

    def _batch_answers(
        self, batch: Mapping[str, Any], manifests: Mapping[_ManifestKey, _Manifest] | None = None
    ) -> tuple[ManifestStatus, list[dict[str, Any]]]:
        """The status of the batch's manifest and, when it matches the anchored batch, its answer
        rows; the manifest as read by `_prefetch` if it is in `manifests`."""
        key = (batch["manifest_digest"], batch["root"], batch["size"], batch["brand_id"])
        found = (manifests or {}).get(key)
        status, leaves = found if found is not None else self._read_manifest(*key)
        at = {name: batch[name] for name in ("block_number", "block_hash", "block_time", "tx_hash", "log_index")}
        return status, [at | leaf for leaf in leaves]

    def _read_manifest(self, digest: str, root: str, size: int, brand_id: int) -> _Manifest:
        """Fetch a batch's manifest and check it against the anchored root, size and brand: its
        status and, when it matches, one row per leaf (without the anchoring event's fields)."""
        cid = cid_from_digest(_b(digest))
        try:
            data = self.content_store.get(cid)
        except Exception as exc:
            log.info("manifest %s of batch %s is not available yet: %s", cid, root, exc)
            return ManifestStatus.MISSING, []
        try:
            manifest = BatchManifest.from_bytes(data)
        except ManifestError as exc:
            log.warning("manifest %s of batch %s is invalid: %s", cid, root, exc)
            return ManifestStatus.INVALID, []
        ids = [answer_id(leaf.question_id, leaf.advocate, leaf.content_digest) for leaf in manifest.leaves]
        computed = "0x" + _standard_root([keccak(answer) for answer in ids]).hex()
        if computed != root or len(ids) != size or manifest.brand_id != brand_id:
            log.warning(
                "manifest %s does not match batch %s: root %s, %d leaves, brand %d (anchored: %d leaves, brand %d)",
                cid,
                root,
                computed,
                len(ids),
                manifest.brand_id,
                size,
                brand_id,
            )
            return ManifestStatus.MISMATCH, []
        leaves = [
            {
                "answer_id": "0x" + answer.hex(),
                "question_id": "0x" + leaf.question_id.hex(),
                "advocate": leaf.advocate,
                "content_digest": "0x" + leaf.content_digest.hex(),
                "batch_root": root,
                "leaf_index": index,
            }
            for index, (leaf, answer) in enumerate(zip(manifest.leaves, ids, strict=True))
        ]
        return ManifestStatus.OK, leaves

    def _retry_missing_manifests(self, session: Session, up_to_block: int) -> None:
        """Fetch again the manifests of batches anchored up to `up_to_block` (by earlier steps)."""
        now = self._clock()
        if now < self._next_manifest_retry:
            return
        self._next_manifest_retry = now + self.manifest_retry_interval_s
        missing = session.scalars(
            select(BatchAnchored)
            .where(BatchAnchored.manifest_status == ManifestStatus.MISSING, BatchAnchored.block_number <= up_to_block)
            .order_by(BatchAnchored.block_number, BatchAnchored.log_index)
            .limit(MANIFEST_RETRIES_PER_STEP)
        ).all()
        for batch in missing:
            values = {column: getattr(batch, column) for column in _BATCH_COLUMNS}
            status, answers = self._batch_answers(values)
            if status is ManifestStatus.MISSING:
                continue
            answers = self._admitted(session, values, answers)
            session.execute(
                update(BatchAnchored)
                .where(BatchAnchored.id == batch.id, BatchAnchored.manifest_status == ManifestStatus.MISSING)
                .values(manifest_status=status)
            )
            if answers:
                session.execute(insert(AnswerRow), answers)
            log.info("manifest of batch %s arrived: %s, %d answers", batch.root, status, len(answers))


_BATCH_COLUMNS = (
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "log_index",
    "root",
    "brand_id",
    "size",
    "manifest_digest",
)


def _movement(
    brand_id: int, kind: PoolMovementKind, amount: int, *, account: str | None = None, question: str | None = None
) -> dict[str, Any]:
    return {"brand_id": brand_id, "kind": kind.value, "amount": amount, "account": account, "question_id": question}


@functools.lru_cache(maxsize=65_536)
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def _standard_root(leaves: list[bytes]) -> bytes:
    """The root `peercare.core.merkle.StandardMerkleTree.of` builds over these leaf hashes (the leaf of an
    answer is keccak256 of its id): leaves sorted into the end of a flat array, pairs hashed sorted."""
    ordered = sorted(leaves)
    size = 2 * len(ordered) - 1
    tree: list[bytes] = [b""] * size
    for index, leaf in enumerate(ordered):
        tree[size - 1 - index] = leaf
    for index in range(size - 1 - len(ordered), -1, -1):
        tree[index] = hash_pair(tree[2 * index + 1], tree[2 * index + 2])
    return tree[0]


def _rater_kind(value: int) -> str:
    return _RATER_KINDS[value] if 0 <= value < len(_RATER_KINDS) else str(value)


def _b(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value.removeprefix("0x"))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- rescans


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
        row = session.get(Cursor, _CURSOR_ID)
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

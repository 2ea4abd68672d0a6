"""Reputation epochs on chain: publish one from the oracle's projections, recompute one from the
chain and the content store alone.

Publishing (the oracle). `publish_epoch` reads the history up to a cut from the indexer's
projections, builds the epoch (`epoch.build_epoch`), stores its manifest in the content store and
queues one `publishRoot(epoch, root, manifestDigest)` outbox row, which the oracle's signer sends
like any other write. The manifest lists everything recomputation needs that the chain does not
hold: the cut, the parameters and the brands counted, with their topics and the experts seeding
trust.

Recomputing (anyone). `recompute_epoch` trusts nothing the oracle keeps: it indexes the chain from
its deployment block into an empty scratch database, takes the epoch's root and manifest digest
from the `ReputationRootPublished` event, fetches the manifest by that digest (the store checks the
bytes against it), rebuilds the history with the manifest's cut and brands (`scope.Scope`: whose
events count, and the experts seeding trust), and recomputes every score with the manifest's
parameters. The epoch checks out when the root on chain, the manifest's
root and the recomputed root are one and the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session
from web3 import Web3
from web3.contract import Contract

from peercare.chain.deployment import Deployment
from peercare.chain.rpc import Rpc
from peercare.chain.views import ChainReader, read_view
from peercare.content.cid import cid_from_digest, digest_from_cid
from peercare.content.errors import ContentError
from peercare.core.enums import OutboxKind, RaterKind
from peercare.core.hex import hexed, unhex
from peercare.core.ledger_ids import REPUTATION_LEAF_ENCODING, reputation_topic
from peercare.core.merkle import MerkleError, StandardMerkleTree, verify
from peercare.db.database import Database
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import Brand, OutboxStatus, OutboxTx
from peercare.db.tables.reputation import ReputationEpoch
from peercare.oracle.indexer import ContentSource, Indexer
from peercare.oracle.outbox import enqueue
from peercare.reputation.epoch import (
    EpochError,
    build_epoch,
    experts_from_json,
    experts_json,
    params_from_json,
    verify_manifest,
)
from peercare.reputation.history import Acceptance, History, Payout, Rating, account_key
from peercare.reputation.scope import BrandScope, Scope, trusted
from peercare.reputation.scores import ScoreParams

PUBLISHER_ROLE = keccak(b"REPUTATION_ORACLE_ROLE")  # ReputationRoots.REPUTATION_ORACLE_ROLE
#: PostgreSQL advisory lock serialising publications (SQLite's BEGIN IMMEDIATE already does).
_PUBLISH_LOCK = int.from_bytes(keccak(b"peercare.reputation.publish")[:8], "big", signed=True)


class ContentSink(Protocol):
    """What publishing needs of a content store (`peercare.content.store.Store`)."""

    def put(self, data: bytes) -> str: ...


class PublicationError(RuntimeError):
    """An epoch that cannot be published (or recomputed) as asked; the message says why."""


# ---------------------------------------------------------------- history and seeds


def history_from_projections(session: Session, *, cut: int, scope: Scope) -> History:
    """What `scope`'s brands vouch for (`scope.trusted`) in the ledger's history up to `cut`."""
    return trusted(ledger_history(session, cut=cut), scope)


def ledger_history(session: Session, *, cut: int) -> History:
    """Every acceptance, rating and payout in blocks up to `cut` (block time, inclusive), of every
    brand, from the projection tables only: each with its question's brand and its topic namespaced
    by that brand (`ledger_ids.reputation_topic`), both from `QuestionPosted`. No experts: the seeds
    come with a scope."""
    return History.of(
        cut, acceptances=_acceptances(session, cut), ratings=_ratings(session, cut), payouts=_payouts(session, cut)
    )


def _acceptances(session: Session, cut: int) -> list[Acceptance]:
    query = (
        select(ix.Acceptance, ix.QuestionPosted.brand_id, ix.QuestionPosted.topic)
        .outerjoin(ix.QuestionPosted, ix.QuestionPosted.question_id == ix.Acceptance.question_id)
        .where(ix.Acceptance.block_time <= cut, _readable(ix.Acceptance.question_id))
    )
    return [
        Acceptance(
            unhex(row.question_id),
            _topic(row.question_id, brand, topic),
            account_key(row.advocate),
            row.block_time,
            row.bounty,
            brand,
        )
        for row, brand, topic in session.execute(query)
    ]


def _ratings(session: Session, cut: int) -> list[Rating]:
    query = (
        select(ix.AnswerRated, ix.QuestionPosted.brand_id, ix.QuestionPosted.topic)
        .outerjoin(ix.QuestionPosted, ix.QuestionPosted.question_id == ix.AnswerRated.question_id)
        .where(ix.AnswerRated.block_time <= cut, _readable(ix.AnswerRated.question_id))
    )
    return [
        Rating(
            unhex(row.answer_id),
            unhex(row.question_id),
            _topic(row.question_id, brand, topic),
            account_key(row.advocate),
            row.rating,
            RaterKind.from_label(row.rater_kind),
            unhex(row.rater_id),
            row.block_time,
            brand,
        )
        for row, brand, topic in session.execute(query)
    ]


def _payouts(session: Session, cut: int) -> list[Payout]:
    query = (
        select(ix.RewardCredit, ix.QuestionPosted.brand_id)
        .outerjoin(ix.QuestionPosted, ix.QuestionPosted.question_id == ix.RewardCredit.question_id)
        .where(ix.RewardCredit.block_time <= cut, _readable(ix.RewardCredit.question_id))
    )
    return [
        Payout(
            unhex(row.question_id),
            account_key(row.account),
            account_key(row.token),
            row.amount,
            row.block_time,
            brand or 0,
        )
        for row, brand in session.execute(query)
    ]


def _readable(question_id: Any) -> ColumnElement[bool]:
    """Leaves out the events of a batched question whose posting is not indexed (its batch's
    manifest unreadable: its topic unknown; the chain names it settled). Anyone may register a
    brand: one posting a batch without its manifest and accepting answers to it must not stop every
    epoch (`_topic`); its advocates earn nothing from it until the manifest is readable."""
    settled = select(ix.BatchedQuestionSettled.id).where(ix.BatchedQuestionSettled.question_id == question_id)
    return or_(ix.QuestionPosted.id.is_not(None), ~settled.exists())  # QuestionPosted: outer-joined


def _topic(question_id: str, brand: int | None, topic: str | None) -> bytes:
    # The ledger refuses an answer to a question it never posted, so a missing posting means an
    # index that started after it: better no epoch than one silently missing events.
    if topic is None or brand is None:
        raise PublicationError(f"question {question_id} has events but its QuestionPosted is not indexed")
    return reputation_topic(brand, unhex(topic))


def brand_scope(brand: Brand) -> BrandScope:
    """A brand as the oracle serves it: its default topic and topics, and its experts' wallets."""
    return BrandScope.of(brand.id, (brand.default_topic, *brand.topics), brand.experts.values())


def scope_of(session: Session) -> Scope:
    """The brands an epoch published here counts: every brand this oracle serves (configured with
    `peercare oracle brand`) that the ledger admitted (its `BrandRegistered` is indexed). The oracle
    relays these brands' tickets, so it vouches for their events and knows their experts."""
    registered = set(session.scalars(select(ix.BrandRegistration.brand_id)))
    return Scope.of(brand_scope(brand) for brand in session.scalars(select(Brand)) if brand.id in registered)


# ---------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PublishedEpoch:
    """An epoch queued for publication: the outbox row the signer will send."""

    epoch: int
    cut: int
    root: bytes
    manifest_cid: str
    outbox_id: int
    leaves: int
    brands: tuple[int, ...] = ()  # the brands the epoch counts (its manifest's `brands`)


def publish_epoch(
    database: Database,
    deployment: Deployment,
    content_store: ContentSink,
    rpc: ChainReader,
    *,
    epoch: int,
    cut: int,
    params: ScoreParams | None = None,
    scope: Scope | None = None,
    clock: Callable[[], float] = time.time,
) -> PublishedEpoch:
    """Build `epoch` from the projections up to `cut`, store its manifest in `content_store` and
    queue its `publishRoot` in the same transaction as its `ReputationEpoch` record. `scope` (the
    brands counted, with their topics and experts) defaults to the brands this oracle serves
    (`scope_of`); `rpc` reads the chain to check that
    the index covers the cut and that the epoch is the next one (ReputationRoots takes epochs
    1, 2, 3, ... without a gap)."""
    if not 0 < epoch < 2**64:
        raise PublicationError(f"epoch {epoch} is not a positive uint64")
    if not 0 <= cut < 2**64:
        raise PublicationError(f"cut {cut} is not a unix time (the history digest packs it in 8 bytes)")
    roots = roots_contract(deployment)
    with database.read() as session:
        _check_index_covers(session, rpc, cut)
        _check_after_latest(session, epoch, chain_latest=chain_latest_epoch(rpc, roots))
        counted = scope_of(session) if scope is None else scope
        history = history_from_projections(session, cut=cut, scope=counted)
    if not counted.brands:
        raise PublicationError("no brand to count: configure the brands this oracle serves (peercare oracle brand)")
    try:
        built = build_epoch(history, epoch, params, counted)
    except EpochError as err:
        raise PublicationError(f"epoch {epoch} (cut {cut}): {err}") from err
    # Stored before the transaction, like the processor's batch manifests: content is immutable and
    # idempotent, so a manifest left behind by a failed transaction harms nothing.
    cid = content_store.put(built.manifest_bytes())
    data = roots.encode_abi("publishRoot", args=[epoch, built.root, digest_from_cid(cid)])
    now_ms = int(clock() * 1000)
    with database.transaction() as session:
        _serialise_publications(session)
        _check_after_latest(session, epoch)  # again, under the lock: another publication may have won
        _forget_failed_publication(session, epoch)
        row = enqueue(session, OutboxKind.PUBLISH_REPUTATION, to=roots.address, data=data, brand_id=None, now_ms=now_ms)
        root_hex = "0x" + built.root.hex()
        session.add(
            ReputationEpoch(
                epoch=epoch, root=root_hex, manifest_cid=cid, cut=cut, outbox_id=row.id, created_at_ms=now_ms
            )
        )
        outbox_id = row.id
    brands = tuple(b.brand for b in counted.brands)
    return PublishedEpoch(epoch, cut, built.root, cid, outbox_id, len(built.tree.values), brands)


def roots_contract(deployment: Deployment) -> Contract:
    """The deployment's ReputationRoots, for encoding calls (no provider needed)."""
    return Web3().eth.contract(
        address=to_checksum_address(deployment.contracts["ReputationRoots"].address),
        abi=deployment.abi("ReputationRoots"),
    )


def chain_latest_epoch(rpc: ChainReader, roots: Contract) -> int:
    """`ReputationRoots.latestEpoch()` at the chain's latest block."""
    (latest,) = read_view(rpc, roots.address, roots.encode_abi("latestEpoch"), ["uint64"])
    return int(latest)


def holds_publisher_role(rpc: ChainReader, roots: Contract, account: str) -> bool:
    """Whether `account` may call `publishRoot` (holds `REPUTATION_ORACLE_ROLE`)."""
    data = roots.encode_abi("hasRole", args=[PUBLISHER_ROLE, to_checksum_address(account)])
    (held,) = read_view(rpc, roots.address, data, ["bool"])
    return bool(held)


def latest_complete_cut(database: Database, rpc: ChainReader) -> int:
    """The latest cut the projections are complete for: one second before the indexer's cursor
    block (a later block may share that block's timestamp on some chains)."""
    with database.read() as session:
        return _cursor_block_time(session, rpc) - 1


def _cursor_block_time(session: Session, rpc: ChainReader) -> int:
    cursor = session.get(ix.IndexerCursor, 1)
    if cursor is None:
        raise PublicationError("the indexer has not indexed any block yet")
    header = rpc.call("eth_getBlockByNumber", [hex(cursor.block_number), False])
    stored = session.get(ix.IndexedBlock, cursor.block_number)
    if header is None or stored is None or header["hash"].lower() != stored.hash:
        raise PublicationError(
            f"the indexer's cursor block {cursor.block_number} is no longer canonical: wait for it to rewind"
        )
    return int(header["timestamp"], 16)


def _check_index_covers(session: Session, rpc: ChainReader, cut: int) -> None:
    """Every block with a timestamp up to `cut` must be indexed, or the epoch would miss events a
    recomputation finds. Timestamps never decrease, so it is enough that the cursor's block is
    later than the cut."""
    reached = _cursor_block_time(session, rpc)
    if reached <= cut:
        raise PublicationError(
            f"the projections reach block time {reached}, not past the cut {cut}: wait for the indexer "
            f"or choose a cut before {reached}"
        )


def _check_after_latest(session: Session, epoch: int, *, chain_latest: int = 0) -> None:
    """Refuse an epoch that is not the next one: not after every one queued here, indexed from the
    chain, or (when given) published on chain now, or one that skips an epoch. The contract would
    revert it (epochs go 1, 2, 3, ... without a gap), and two manifests for one epoch must not exist.
    A queued epoch whose publication failed on chain does not count: its number is free again."""
    queued = _latest_queued(session)
    indexed = session.scalar(select(func.max(ix.ReputationRoot.epoch))) or 0
    if queued is not None and epoch <= queued.epoch:
        raise PublicationError(
            f"epoch {epoch} is not after epoch {queued.epoch}, already queued for publication "
            f"(outbox row {queued.outbox_id}): publish epoch {queued.epoch + 1}"
        )
    latest = max(indexed, chain_latest)
    if epoch <= latest:
        raise PublicationError(
            f"epoch {epoch} is not after epoch {latest}, already published on chain: publish epoch {latest + 1}"
        )
    expected = max(latest, 0 if queued is None else queued.epoch) + 1
    if epoch != expected:
        raise PublicationError(
            f"epoch {epoch} would skip epochs: the ledger takes them in order, publish epoch {expected}"
        )


def next_epoch(session: Session, *, chain_latest: int = 0) -> int:
    """The epoch to publish next: after every one queued here (a failed publication's number is
    free again), indexed from the chain, or published on chain now (`chain_latest`)."""
    queued = _latest_queued(session)
    indexed = session.scalar(select(func.max(ix.ReputationRoot.epoch))) or 0
    return max(indexed, chain_latest, 0 if queued is None else queued.epoch) + 1


def _latest_queued(session: Session) -> Any:
    """The highest epoch queued for publication whose outbox row has not failed, or None."""
    return session.execute(
        select(ReputationEpoch.epoch, ReputationEpoch.outbox_id)
        .join(OutboxTx, OutboxTx.id == ReputationEpoch.outbox_id)
        .where(OutboxTx.status != OutboxStatus.FAILED)
        .order_by(ReputationEpoch.epoch.desc())
        .limit(1)
    ).first()


def _forget_failed_publication(session: Session, epoch: int) -> None:
    """Drop the record of `epoch` if its publication failed on chain, so that it can be queued
    again (the failed outbox row stays, with its error)."""
    record = session.get(ReputationEpoch, epoch)
    if record is None:
        return
    row = session.get(OutboxTx, record.outbox_id)
    if row is not None and row.status == OutboxStatus.FAILED:
        session.delete(record)
        session.flush()


def _serialise_publications(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})


# ---------------------------------------------------------------- proofs


def score_proof(manifest: Mapping[str, Any] | bytes, advocate: str, topic: bytes) -> tuple[int, list[bytes]]:
    """(score, proof) of `advocate` in `topic` from a published manifest (checked first), as
    `verifyScore(epoch, advocate, topic, score, proof)` takes them."""
    data = json.loads(manifest) if isinstance(manifest, bytes) else manifest
    root = verify_manifest(dict(data))
    tree = StandardMerkleTree.load(data["tree"])
    wanted = account_key(advocate)
    for index, (account, leaf_topic, score) in enumerate(tree.values):
        if account.lower() == wanted and leaf_topic == topic:
            proof = tree.proof(index)
            if not verify(root, REPUTATION_LEAF_ENCODING, (account, leaf_topic, score), proof):
                raise EpochError("the proof does not verify against the manifest's root")
            return int(score), proof
    raise EpochError(f"{advocate} has no score in topic 0x{topic.hex()} at epoch {data['epoch']}")


# ---------------------------------------------------------------- recomputing


@dataclass(frozen=True)
class RecomputeResult:
    """What recomputing an epoch found. `ok` when the three roots are equal and nothing else was
    wrong; otherwise `mismatches` lists every problem, most fundamental first, and `message` is the first."""

    epoch: int
    root_on_chain: bytes | None = None
    manifest_root: bytes | None = None
    root_recomputed: bytes | None = None
    manifest_cid: str | None = None
    cut: int | None = None
    mismatches: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        roots = (self.root_on_chain, self.manifest_root, self.root_recomputed)
        return not self.mismatches and roots[0] is not None and len(set(roots)) == 1

    @property
    def message(self) -> str:
        return self.mismatches[0] if self.mismatches else "ok" if self.ok else "incomplete"

    def as_json(self) -> dict[str, Any]:
        def hexed(value: bytes | None) -> str | None:
            return None if value is None else "0x" + value.hex()

        return {
            "epoch": self.epoch,
            "ok": self.ok,
            "root_on_chain": hexed(self.root_on_chain),
            "manifest_root": hexed(self.manifest_root),
            "root_recomputed": hexed(self.root_recomputed),
            "manifest_cid": self.manifest_cid,
            "cut": self.cut,
            "message": self.message,
            "mismatches": list(self.mismatches),
        }


@dataclass
class _Findings:
    """Collected while recomputing, turned into a `RecomputeResult` at the end."""

    epoch: int
    root_on_chain: bytes | None = None
    manifest_root: bytes | None = None
    root_recomputed: bytes | None = None
    manifest_cid: str | None = None
    cut: int | None = None
    mismatches: list[str] = field(default_factory=list)

    def result(self) -> RecomputeResult:
        return RecomputeResult(
            self.epoch,
            self.root_on_chain,
            self.manifest_root,
            self.root_recomputed,
            self.manifest_cid,
            self.cut,
            tuple(self.mismatches),
        )


class _Stop(Exception):
    """Nothing further can be checked (no publication, no readable manifest)."""


def recompute_epoch(
    rpc_url: str,
    deployment: Deployment,
    content_store: ContentSource,
    *,
    epoch: int,
    scratch_database_url: str,
) -> RecomputeResult:
    """Recompute `epoch` from the chain at `rpc_url` and `content_store` alone, indexing into the
    empty database at `scratch_database_url` (see the module docstring)."""
    scratch = Database(scratch_database_url)
    rpc = Rpc(rpc_url)
    try:
        scratch.migrate()
        index_from_scratch(scratch, rpc, deployment, content_store)
        with scratch.read() as session:
            return recompute_from_index(session, content_store, epoch)
    finally:
        rpc.close()
        scratch.dispose()


def index_from_scratch(database: Database, rpc: ChainReader, deployment: Deployment, store: ContentSource) -> None:
    """Index the chain from the deployment block up to the current head into the empty `database`."""
    with database.read() as session:
        if session.get(ix.IndexerCursor, 1) is not None:
            raise PublicationError(
                "the scratch database already holds an index: recomputation starts from an empty one"
            )
    head = int(rpc.call("eth_blockNumber", []), 16)
    indexer = Indexer(
        database, rpc, deployment, store, confirmations=0, until_block=head, manifest_retry_interval_s=0.0
    )
    indexer.catch_up(head)


def recompute_from_index(session: Session, store: ContentSource, epoch: int) -> RecomputeResult:
    """Recompute `epoch` from an index built from scratch (`index_from_scratch`) and the store."""
    found = _Findings(epoch)
    try:
        published = _publication(session, epoch, found)
        manifest = _manifest(store, published, found)
        _recompute(session, manifest, published, found)
    except _Stop:
        pass
    return found.result()


def _publication(session: Session, epoch: int, found: _Findings) -> ix.ReputationRoot:
    published = ix.current_root(session, epoch)  # as corrected, if the admin corrected it
    if published is None:
        found.mismatches.append(f"epoch {epoch} was never published on chain (no ReputationRootPublished)")
        raise _Stop
    found.root_on_chain = unhex(published.root)
    found.manifest_cid = cid_from_digest(unhex(published.manifest_digest))
    return published


def _manifest(store: ContentSource, published: ix.ReputationRoot, found: _Findings) -> dict[str, Any]:
    """The manifest the chain points at, checked for soundness (tree, declared root, epoch)."""
    try:
        data = store.get(str(found.manifest_cid))  # the store checks the bytes hash to the digest
    except ContentError as err:
        found.mismatches.append(f"the manifest {found.manifest_cid} named on chain cannot be read: {err}")
        raise _Stop from err
    try:
        manifest = json.loads(data)
        found.manifest_root = verify_manifest(manifest)
    except (ValueError, KeyError, TypeError, MerkleError) as err:  # EpochError and JSON errors are ValueErrors
        found.mismatches.append(f"the manifest {found.manifest_cid} is not a sound epoch manifest: {err}")
        raise _Stop from err
    if manifest.get("epoch") != published.epoch:
        found.mismatches.append(
            f"the manifest is for epoch {manifest.get('epoch')}, published as epoch {published.epoch}"
        )
    if found.manifest_root != found.root_on_chain:
        found.mismatches.append(
            f"the manifest's root {hexed(found.manifest_root or b'')} is not the root published on chain "
            f"{hexed(found.root_on_chain or b'')}"
        )
    return dict(manifest)


def _recompute(session: Session, manifest: dict[str, Any], published: ix.ReputationRoot, found: _Findings) -> None:
    try:
        cut = manifest["cut"]
        scope = Scope.from_json(manifest.get("brands"))
        experts = experts_from_json(manifest.get("experts"))
        params = params_from_json(manifest["params"])
    except (EpochError, KeyError, TypeError, ValueError) as err:
        found.mismatches.append(f"the manifest cannot be recomputed: {err}")
        raise _Stop from err
    found.cut = cut
    if not isinstance(cut, int) or cut >= published.block_time:
        # Published in a block at `block_time`: a cut at or after it claims events the chain had not seen.
        found.mismatches.append(
            f"the manifest's cut {cut} is not before the block that published it (time {published.block_time})"
        )
        raise _Stop
    history = history_from_projections(session, cut=cut, scope=scope)
    if experts_json(history.experts) != experts_json(experts):
        found.mismatches.append("the manifest's experts are not the seeds its brands name")
    try:
        rebuilt = build_epoch(history, published.epoch, params, scope)
    except EpochError as err:
        found.mismatches.append(f"recomputing from the chain up to cut {cut}: {err}")
        raise _Stop from err
    found.root_recomputed = rebuilt.root
    declared = manifest.get("historyDigest")
    if declared != "0x" + rebuilt.history_digest.hex():
        found.mismatches.append(
            f"the history on chain up to cut {cut} with the manifest's {len(experts)} experts has digest "
            f"0x{rebuilt.history_digest.hex()}, the manifest declares {declared}: the oracle used other events, "
            f"another cut or other experts"
        )
    if rebuilt.root != found.manifest_root:
        found.mismatches.append(_score_difference(manifest, rebuilt.scores, rebuilt.root))


def _score_difference(manifest: Mapping[str, Any], recomputed: Mapping[tuple[str, bytes], int], root: bytes) -> str:
    """Name the first (advocate, topic) whose published score differs from the recomputed one."""
    tree = StandardMerkleTree.load(manifest["tree"])
    published = {(account_key(account), topic): int(score) for account, topic, score in tree.values}
    differing = sorted(key for key in published.keys() | recomputed.keys() if published.get(key) != recomputed.get(key))
    head = f"the recomputed root 0x{root.hex()} is not the manifest's 0x{tree.root.hex()}"
    if not differing:
        return head
    account, topic = differing[0]
    return (
        f"{head}: {len(differing)} of {len(published.keys() | recomputed.keys())} scores differ, first "
        f"{to_checksum_address(account)} in topic 0x{topic.hex()}: {published.get((account, topic), 0)} published, "
        f"{recomputed.get((account, topic), 0)} recomputed"
    )

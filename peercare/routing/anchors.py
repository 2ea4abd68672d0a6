"""Routing on chain: every round of routing is anchored in a Merkle batch, like answers.

The router commits each round's decision (`offers.commitment_of`) in the operator's database,
where the operator could rewrite both the row and its hash. `RoutingAnchorer` seals the rounds not
anchored yet into batches: a public manifest (`RoutingManifest`: each round's decision record, its
epoch and the brand's experts, as the router stored them) goes into the content store, and the
Merkle root of its leaves is anchored with `anchorRoutingBatch(brand, root, size, manifest digest)`
through the outbox. Each round has one leaf for itself and one per person it offered the question
to (`ledger_ids.ROUTING_LEAF_ENCODING`: question, round, person or the zero address, commitment),
so an advocate proves "I was offered question Q at round R" with one leaf and its Merkle path
(`offer_proof`), and an auditor rebuilds every decision from the chain and the content alone.
The manifest lists each round's leaves' content and the CID of its decision record, a document of
its own (a record holds every candidate read, with their features: some 8 KB, so a batch's records
together would not fit in one content block).

A batch is sealed when `batch_size` rounds wait or the oldest has waited `max_age_s`. The rounds
of a batch whose anchor failed for good are sealed again into a later batch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from web3 import Web3

from peercare.chain.deployment import Deployment
from peercare.content.cid import cid_from_digest, digest_from_cid
from peercare.content.document import canonical_json
from peercare.content.store import Store
from peercare.core.enums import OutboxKind
from peercare.core.hex import hexed
from peercare.core.ledger_ids import ROUTING_LEAF_ENCODING
from peercare.core.merkle import StandardMerkleTree, verify
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx
from peercare.db.tables.routing import RouteRound, RoutingBatch
from peercare.oracle.manifest import ManifestError, load_manifest, parsing
from peercare.oracle.outbox import enqueue
from peercare.routing.offers import decision_from_record
from peercare.routing.rounds import offered

log = logging.getLogger(__name__)

SCHEMA = "peercare.routing-batch/1"
ZERO_ADDRESS = "0x" + "00" * 20
#: Rounds per batch: at 4 leaves a round (a direct round offers 3), about 1,000 leaves.
DEFAULT_BATCH_ROUNDS = 256

RoutingLeaf = tuple[bytes, int, str, bytes]  # question id, round, person (or zero), commitment


def offered_by(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Whom a stored round offered its question to: its decision's choice, or no one when the
    question was closed (accepted, or past its deadline) by the time the round was written (the
    router keeps such a decision, marked `"open": false`, but makes no offer)."""
    if record.get("open") is False:
        return ()
    return tuple(offered(decision_from_record(record)))


@dataclass(frozen=True)
class AnchoredRound:
    """One round as anchored: what its leaves hold (question, round, the people it offered the
    question to, the decision's commitment), the reputation epoch it was decided on, and where its
    decision record is (a content-store document of its own, `record_cid`: the records of a whole
    batch would not fit in one block)."""

    question_id: bytes
    round: int
    epoch: int | None
    commitment: bytes
    offered: tuple[str, ...]
    record_cid: str

    @classmethod
    def stored(
        cls, store: Store, question_id: bytes, round_number: int, epoch: int | None, record: Mapping[str, Any]
    ) -> AnchoredRound:
        """The round of `record` (a `decision_record`, plus the experts the router could pick from),
        its record put in `store`."""
        return cls(
            question_id,
            round_number,
            epoch,
            bytes.fromhex(str(record["commitment"]).removeprefix("0x")),
            offered_by(record),
            store.put(canonical_json(dict(record))),
        )

    def record(self, store: Store) -> dict[str, Any]:
        """The decision record, as stored (`ContentError` when the store cannot serve it). Whether it
        is the one anchored is for the reader to check (`matches`)."""
        loaded: dict[str, Any] = json.loads(store.get(self.record_cid))
        return loaded

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether `record` is what the leaves say: its commitment, and whom it offered the question to."""
        try:
            decision = decision_from_record(record)
        except (KeyError, TypeError, ValueError):
            return False
        return decision.commitment == self.commitment and offered_by(record) == self.offered

    def leaves(self) -> list[RoutingLeaf]:
        people = [ZERO_ADDRESS, *self.offered]
        return [(self.question_id, self.round, person, self.commitment) for person in people]

    def to_json(self) -> dict[str, Any]:
        return {
            "question_id": "0x" + self.question_id.hex(),
            "round": self.round,
            "epoch": self.epoch,
            "commitment": "0x" + self.commitment.hex(),
            "offered": list(self.offered),
            "record": self.record_cid,
        }


@dataclass(frozen=True)
class RoutingManifest:
    brand_id: int
    rounds: tuple[AnchoredRound, ...]

    def leaves(self) -> list[RoutingLeaf]:
        return [leaf for r in self.rounds for leaf in r.leaves()]

    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.of(self.leaves(), ROUTING_LEAF_ENCODING)

    def to_bytes(self) -> bytes:
        return canonical_json(
            {"schema": SCHEMA, "brand_id": self.brand_id, "rounds": [r.to_json() for r in self.rounds]}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RoutingManifest:
        brand_id, raw = load_manifest(data, SCHEMA, "routing", "rounds", "round")
        with parsing("routing"):
            rounds = tuple(
                AnchoredRound(
                    bytes.fromhex(r["question_id"].removeprefix("0x")),
                    int(r["round"]),
                    None if r["epoch"] is None else int(r["epoch"]),
                    bytes.fromhex(r["commitment"].removeprefix("0x")),
                    tuple(to_checksum_address(a) for a in r["offered"]),
                    str(r["record"]),
                )
                for r in raw
            )
        if any(len(r.question_id) != 32 or len(r.commitment) != 32 for r in rounds):
            raise ManifestError("a routing manifest lists at least one round of a 32-byte question id and commitment")
        return cls(brand_id, rounds)


@dataclass(frozen=True)
class OfferProof:
    """That `advocate` was offered `question_id` at `round` (or, with the zero address, that the
    round was decided): the leaf, its Merkle path to `root`, and where the root was anchored."""

    brand_id: int
    question_id: str
    round: int
    advocate: str
    commitment: str
    root: str
    proof: list[str]
    manifest_cid: str
    decision: Mapping[str, Any]

    def verifies(self) -> bool:
        leaf = (bytes.fromhex(self.question_id[2:]), self.round, self.advocate, bytes.fromhex(self.commitment[2:]))
        return verify(
            bytes.fromhex(self.root[2:]), ROUTING_LEAF_ENCODING, leaf, [bytes.fromhex(p[2:]) for p in self.proof]
        )


def offer_proof(
    store: Store, batches: Iterable[tuple[int, str, str]], question_id: str, round_number: int, advocate: str
) -> OfferProof | None:
    """The proof that `advocate` was offered `question_id` at `round_number`, from anchored batches
    ((brand, root, manifest digest), as the chain's `RoutingBatchAnchored` logs say) and their
    manifests in `store`; None when no anchored batch has that leaf."""
    person = to_checksum_address(advocate)
    for brand_id, root, digest in batches:
        cid = cid_from_digest(bytes.fromhex(digest.removeprefix("0x")))
        manifest = RoutingManifest.from_bytes(store.get(cid))
        tree = manifest.tree()
        if hexed(tree.root) != root.lower():
            continue  # a manifest that does not build its anchored root proves nothing
        for anchored in manifest.rounds:
            if "0x" + anchored.question_id.hex() != question_id.lower() or anchored.round != round_number:
                continue
            leaf = (anchored.question_id, anchored.round, person, anchored.commitment)
            if person != ZERO_ADDRESS and person not in anchored.offered:
                return None
            record = anchored.record(store)
            if not anchored.matches(record):
                return None  # the stored record is not the decision anchored
            return OfferProof(
                brand_id=brand_id,
                question_id=question_id.lower(),
                round=round_number,
                advocate=person,
                commitment=hexed(anchored.commitment),
                root=hexed(tree.root),
                proof=[hexed(p) for p in tree.proof(tree.index_of(leaf))],
                manifest_cid=cid,
                decision=record,
            )
    return None


class RoutingAnchorer:
    """Seals the rounds not anchored yet into routing batches and queues their anchors."""

    def __init__(
        self,
        database: Database,
        public_store: Store,
        deployment: Deployment,
        *,
        batch_rounds: int = DEFAULT_BATCH_ROUNDS,
        max_age_s: float = 2.0,
        clock: Any = time.time,
    ) -> None:
        self.database = database
        self.public_store = public_store
        self.ledger = deployment.contract(Web3(), "PeerCareLedger")
        self.batch_rounds = batch_rounds
        self.max_age_ms = int(max_age_s * 1000)
        self.clock = clock

    def step(self) -> int:
        """Put back the rounds of failed anchors, then seal every brand's due batches. Returns the
        rounds put back plus the batches sealed."""
        now_ms = int(self.clock() * 1000)
        with self.database.transaction() as session:
            recovered = self._recover_failed(session)
            sealed = 0
            for brand_id, oldest, waiting in session.execute(
                select(RouteRound.brand_id, func.min(RouteRound.created_at_ms), func.count())
                .where(RouteRound.batch_id.is_(None))
                .group_by(RouteRound.brand_id)
            ).all():
                # A round stamped later than this clock (another process's clock, or a router run
                # on a test's clock) is due now: waiting for its age could wait for ever.
                if waiting >= self.batch_rounds or oldest <= now_ms - self.max_age_ms or oldest > now_ms:
                    sealed += self._seal(session, brand_id, now_ms)
        return recovered + sealed

    def _seal(self, session: Session, brand_id: int, now_ms: int) -> int:
        rows = session.scalars(
            select(RouteRound)
            .where(RouteRound.brand_id == brand_id, RouteRound.batch_id.is_(None))
            .order_by(RouteRound.created_at_ms, RouteRound.question_id, RouteRound.round)
            .limit(self.batch_rounds)
        ).all()
        if not rows:
            return 0
        manifest = RoutingManifest(brand_id, tuple(_anchored(self.public_store, row) for row in rows))
        tree = manifest.tree()
        cid = self.public_store.put(manifest.to_bytes())
        size = len(manifest.leaves())
        data = self.ledger.encode_abi("anchorRoutingBatch", args=[brand_id, tree.root, size, digest_from_cid(cid)])
        outbox = enqueue(
            session, OutboxKind.ANCHOR_ROUTING, to=self.ledger.address, data=data, brand_id=brand_id, now_ms=now_ms
        )
        root = hexed(tree.root)
        # The same rounds sealed again after their anchor failed make the same root: that batch's
        # row (roots are unique) takes the new anchor.
        batch = session.scalar(select(RoutingBatch).where(RoutingBatch.root == root))
        if batch is None:
            batch = RoutingBatch(
                brand_id=brand_id,
                root=root,
                size=size,
                rounds=len(rows),
                manifest_cid=cid,
                outbox_id=outbox.id,
                created_at_ms=now_ms,
            )
            session.add(batch)
        else:
            batch.outbox_id, batch.created_at_ms = outbox.id, now_ms
        session.flush()
        for row in rows:
            row.batch_id = batch.id
        log.info(
            "sealed routing batch %d of brand %d: %d rounds, %d leaves, root %s",
            batch.id,
            brand_id,
            len(rows),
            size,
            root,
        )
        return 1

    @staticmethod
    def _recover_failed(session: Session) -> int:
        failed = (
            select(RoutingBatch.id)
            .join(OutboxTx, OutboxTx.id == RoutingBatch.outbox_id)
            .where(OutboxTx.status == OutboxStatus.FAILED)
        )
        result = session.execute(
            update(RouteRound)
            .where(RouteRound.batch_id.in_(failed))
            .values(batch_id=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _anchored(store: Store, row: RouteRound) -> AnchoredRound:
    return AnchoredRound.stored(store, bytes.fromhex(row.question_id[2:]), row.round, row.epoch, row.decision)


def rounds_of(manifests: Sequence[RoutingManifest]) -> dict[tuple[bytes, int], AnchoredRound]:
    """Every anchored round by (question id, round), the first anchoring of each."""
    found: dict[tuple[bytes, int], AnchoredRound] = {}
    for manifest in manifests:
        for anchored in manifest.rounds:
            found.setdefault((anchored.question_id, anchored.round), anchored)
    return found

"""Reputation proofs served from memory, because anyone may ask for them, often and all at once.

A published epoch never changes, so the first read of an epoch fetches its manifest (by the CID of
the digest published on chain), checks it against the root published on chain, and turns it into
one ready JSON body per advocate: every topic's score with its Merkle proof, which
`ReputationRoots.verifyScore(epoch, advocate, topic, score, proof)` accepts. Every later read of
that epoch is a dictionary lookup in the event loop: no database, no thread, no response model.

The latest epoch number is looked up at most once per second. While one request refreshes it,
concurrent requests are served the previous number rather than waiting (a new epoch shows up
within a second or so). Only cold reads (an epoch not in memory yet, the very first latest-epoch
lookup) go to a worker thread, and loads are single-flight: a thousand clients asking for a new
epoch at once cause one manifest fetch.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from eth_utils.address import to_checksum_address
from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from peercare.api.context import ApiContext
from peercare.api.schemas.common import Address, Hex32
from peercare.content.cid import cid_from_digest
from peercare.content.errors import ContentError
from peercare.core.ledger_ids import short_string
from peercare.core.merkle import MerkleError, StandardMerkleTree
from peercare.db.tables import projections as ix
from peercare.reputation.epoch import verify_manifest
from peercare.reputation.scope import topic_names_in

log = logging.getLogger("peercare.api.reputation_reads")

#: How long a looked-up latest epoch number is served before it is looked up again.
LATEST_TTL_S = 1.0
#: Epochs kept in memory (least recently read dropped first): proofs take about a kilobyte a score.
KEPT_EPOCHS = 4

Score = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="A uint256, as a decimal string")]


class TopicScore(BaseModel):
    topic: Hex32 = Field(description="The topic as the bytes32 the tree holds")
    topic_label: str | None = Field(description="The topic's label in its brand (null: the manifest names none)")
    brand_id: int | None = Field(description="The brand whose topic it is (reputation is per brand and topic)")
    score: Score
    proof: list[Hex32] = Field(description="Sibling hashes from the leaf to the root")


class Reputation(BaseModel):
    """An advocate's scores in one epoch, each provable on chain with
    `verifyScore(epoch, advocate, topic, score, proof)` of the `reputation_roots` contract."""

    advocate: Address
    epoch: int
    root: Hex32
    manifest_cid: str = Field(description="The epoch's manifest (the full tree and its parameters)")
    reputation_roots: Address = Field(description="The ReputationRoots contract holding the root")
    scores: list[TopicScore] = Field(description="Every topic the advocate has a score in (empty: none)")


class EpochUnreadable(Exception):
    """A published epoch whose manifest cannot be read or does not match the root on chain."""


def topic_label(topic: bytes) -> str | None:
    """The inverse of `short_string`: the printable label a bytes32 topic encodes, if it encodes one."""
    try:
        label = topic.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError:
        return None
    return label if label and label.isprintable() and short_string(label) == topic else None


@dataclass(frozen=True)
class EpochView:
    """One published epoch, ready to serve: a JSON body per advocate (lower-case address)."""

    epoch: int
    root: str
    manifest_cid: str
    reputation_roots: str
    bodies: dict[str, bytes]

    def body(self, advocate: str) -> bytes:
        found = self.bodies.get(advocate.lower())
        return found if found is not None else _json(self._document(to_checksum_address(advocate), []))

    def _document(self, advocate: str, scores: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "advocate": advocate,
            "epoch": self.epoch,
            "root": self.root,
            "manifest_cid": self.manifest_cid,
            "reputation_roots": self.reputation_roots,
            "scores": scores,
        }

    @classmethod
    def of(cls, epoch: int, root: str, manifest_cid: str, reputation_roots: str, manifest: bytes) -> EpochView:
        """Check the manifest against the root published on chain, then lay out every advocate's body."""
        try:
            data = json.loads(manifest)
            manifest_root = verify_manifest(data)
            tree = StandardMerkleTree.load(data["tree"])
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            MerkleError,
        ) as err:  # EpochError and JSON errors are ValueErrors
            raise EpochUnreadable(f"the manifest {manifest_cid} of epoch {epoch} is not sound: {err}") from err
        if data.get("epoch") != epoch or "0x" + manifest_root.hex() != root:
            raise EpochUnreadable(
                f"the manifest {manifest_cid} is for epoch {data.get('epoch')} with root 0x{manifest_root.hex()}, "
                f"not epoch {epoch} with the root {root} published on chain"
            )
        scores: dict[str, list[dict[str, Any]]] = {}
        names = topic_names_in(data)
        for index, (account, topic, score) in enumerate(tree.values):
            brand, label = names.get(topic, (None, topic_label(topic)))
            scores.setdefault(account, []).append(
                {
                    "topic": "0x" + topic.hex(),
                    "topic_label": label,
                    "brand_id": brand,
                    "score": str(score),
                    "proof": ["0x" + node.hex() for node in tree.proof(index)],
                }
            )
        view = cls(epoch, root, manifest_cid, reputation_roots, {})
        for account, topics in scores.items():
            topics.sort(key=lambda entry: str(entry["topic"]))
            view.bodies[account.lower()] = _json(view._document(account, topics))
        return view


class ReputationCache:
    """The epochs read so far and the latest epoch number, for one API process."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self._latest: int | None = None
        self._latest_at = float("-inf")  # time.monotonic() of the last lookup
        self._latest_lock = threading.Lock()  # one lookup at a time
        self._epochs: OrderedDict[int, EpochView] = OrderedDict()
        self._checked: dict[int, float] = {}  # epoch -> time.monotonic() its root was last read
        self._loading = threading.Lock()  # one epoch load at a time

    async def latest(self) -> int | None:
        """The latest published epoch (None: none yet), at most `LATEST_TTL_S` old, or older while
        another request refreshes it or the database cannot be read."""
        if time.monotonic() - self._latest_at < LATEST_TTL_S:
            return self._latest
        if self._latest_at == float("-inf"):  # never looked up: everyone waits for the first
            return await anyio.to_thread.run_sync(self._first_latest)
        if not self._latest_lock.acquire(blocking=False):
            return self._latest  # another request is refreshing it
        try:
            return await anyio.to_thread.run_sync(self._query_latest)
        except SQLAlchemyError:
            log.exception("looking up the latest reputation epoch failed; serving epoch %s", self._latest)
            return self._latest
        finally:
            self._latest_lock.release()

    async def view(self, epoch: int) -> EpochView | None:
        """Epoch `epoch` ready to serve; None if it was never published. Raises `EpochUnreadable`."""
        found = self._epochs.get(epoch)
        if found is not None and self._fresh(epoch):
            self._epochs.move_to_end(epoch)
            return found
        return await anyio.to_thread.run_sync(self._load_view, epoch)

    def _fresh(self, epoch: int) -> bool:
        """Whether epoch `epoch`'s root was read from the index at most `LATEST_TTL_S` ago: the
        admin may correct a root (`RootCorrected`), and the served proofs must follow it."""
        return time.monotonic() - self._checked.get(epoch, float("-inf")) < LATEST_TTL_S

    def _first_latest(self) -> int | None:
        with self._latest_lock:
            return self._latest if self._latest_at != float("-inf") else self._query_latest()

    def _query_latest(self) -> int | None:
        with self.context.database.read() as session:
            self._latest = session.scalar(select(func.max(ix.ReputationRoot.epoch)))
        self._latest_at = time.monotonic()
        return self._latest

    def _load_view(self, epoch: int) -> EpochView | None:
        with self._loading:
            found = self._epochs.get(epoch)
            if found is not None and self._fresh(epoch):
                return found
            try:
                with self.context.database.read() as session:
                    row = ix.current_root(session, epoch)  # as corrected, if the admin corrected it
            except SQLAlchemyError:
                if found is None:
                    raise
                log.exception("reading epoch %d's root failed; serving the root read before", epoch)
                return found
            if row is None:
                return None
            self._checked[epoch] = time.monotonic()
            if found is not None and found.root == row.root:
                return found
            cid = cid_from_digest(bytes.fromhex(row.manifest_digest.removeprefix("0x")))
            try:
                manifest = self.context.public_store.get(cid)
            except ContentError as err:
                raise EpochUnreadable(f"the manifest {cid} of epoch {epoch} cannot be read: {err}") from err
            view = EpochView.of(epoch, row.root, cid, self.context.roots.address, manifest)
            self._epochs[epoch] = view
            while len(self._epochs) > KEPT_EPOCHS:
                dropped, _ = self._epochs.popitem(last=False)
                self._checked.pop(dropped, None)
            return view


async def reputation_cache(request: Request) -> ReputationCache:
    """The app's cache (made on first use). Async, so that resolving it never takes a thread."""
    cache: ReputationCache | None = getattr(request.app.state, "reputation_cache", None)
    if cache is None:
        cache = ReputationCache(request.app.state.context)
        request.app.state.reputation_cache = cache
    return cache


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()

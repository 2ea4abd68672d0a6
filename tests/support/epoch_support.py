"""Support for the epoch tests.

A public history on the dev ledger, made as its users make it: brand 1's oracle posts questions,
advocates answer directly (`submitAnswer`), the oracle relays ratings by customers, peer advocates
and the brand's expert, and accepts answers (one of them paying a swarm).

`make_history` runs once per test session on the session's chain; tests start from a snapshot of
the result. Everything up to `cut` counts for the epoch; one more accepted question comes after it
(so the cut must exclude it), and a last block beyond it lets the index pass the cut.

Then the oracle's side of the tests: indexing, sending the outbox with the real signer, and
publishing straight from the oracle's key (as a faulty or dishonest oracle could).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from peercare.chain.devnet import dev_account, transact
from peercare.chain.rpc import Rpc
from peercare.content.cid import digest_from_cid
from peercare.content.document import canonical_json
from peercare.content.embedded import EmbeddedStore
from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import short_string
from peercare.db.database import Database
from peercare.db.tables.oracle import OutboxStatus, OutboxTx
from peercare.oracle.indexer import Indexer
from peercare.oracle.signer import Signer
from peercare.reputation.history import rater_id_of
from tests.support.devchain import DevLedger

ZERO = b"\0" * 32
BOUNTY = 10**18
SOURCE = short_string("zendesk")
WALLETS, GENERAL = short_string("wallets"), short_string("general")


@dataclass(frozen=True)
class HistoryFacts:
    """What the session's history holds, for the tests' expectations."""

    cut: int  # block time of the last event that counts
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    expert: LocalAccount  # registered as the brand's expert (agent "agent-7") in the oracle
    accepted_before_cut: int
    ratings_before_cut: int


class Driver:
    def __init__(self, dev: DevLedger) -> None:
        self.dev = dev
        self.w3 = dev.w3
        self.ledger = dev.ledger
        self._tickets = 0

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        """Move the chain's clock and mine a block there."""
        self.dev.rpc("evm_increaseTime", seconds)
        self.dev.rpc("evm_mine")

    def post(self, topic: bytes) -> bytes:
        self._tickets += 1
        ticket = f"R-{self._tickets}"
        digest = hashlib.sha256(ticket.encode()).digest()
        call = self.ledger.functions.postQuestion(
            self.dev.brand_id, SOURCE, ticket, topic, BOUNTY, self.now() + 30 * 86_400, digest
        )
        transact(self.w3, self.dev.oracle, call)
        return bytes(self.ledger.functions.questionIdOf(self.dev.brand_id, SOURCE, ticket).call())

    def answer(self, advocate: LocalAccount, question: bytes, text: str) -> tuple[Any, ...]:
        digest = hashlib.sha256(text.encode()).digest()
        transact(self.w3, advocate, self.ledger.functions.submitAnswer(question, digest))
        return (question, advocate.address, digest, ZERO, [])

    def rate(self, ref: tuple[Any, ...], stars: int, kind: RaterKind, rater_id: bytes) -> None:
        transact(self.w3, self.dev.oracle, self.ledger.functions.rateAnswer(ref, stars, int(kind), rater_id))

    def accept(self, ref: tuple[Any, ...], shares: list[tuple[str, int]] | None = None) -> None:
        call = (
            self.ledger.functions.acceptAnswer(ref)
            if shares is None
            else self.ledger.functions.acceptAnswerWithSwarm(ref, shares)
        )
        transact(self.w3, self.dev.oracle, call)


def make_history(dev: DevLedger) -> HistoryFacts:
    chain = Driver(dev)
    alice, bob, carol, expert = (dev_account(i) for i in (3, 4, 5, 7))
    customer = hashlib.sha256(b"zendesk:customer-1").digest()

    q1 = chain.post(WALLETS)
    a1, b1 = chain.answer(alice, q1, "reset the wallet"), chain.answer(bob, q1, "reinstall")
    chain.rate(a1, 5, RaterKind.CUSTOMER, customer)
    chain.rate(a1, 5, RaterKind.BRAND_EXPERT, rater_id_of(expert.address))
    chain.accept(a1)
    chain.rate(b1, 4, RaterKind.PEER_ADVOCATE, rater_id_of(alice.address))  # a peer once the brand paid her
    q2 = chain.post(GENERAL)
    c2 = chain.answer(carol, q2, "see the docs")
    chain.rate(c2, 4, RaterKind.CUSTOMER, customer)
    chain.accept(c2, [(carol.address, 7_000), (bob.address, 3_000)])  # a swarm: payouts split the credit
    q3 = chain.post(WALLETS)
    chain.accept(chain.answer(bob, q3, "check the seed phrase"))
    cut = chain.now()

    chain.advance(100)
    q4 = chain.post(WALLETS)
    a4 = chain.answer(alice, q4, "after the cut")
    chain.rate(a4, 5, RaterKind.BRAND_EXPERT, rater_id_of(expert.address))
    chain.accept(a4)
    chain.advance(100)
    return HistoryFacts(cut, alice, bob, carol, expert, accepted_before_cut=3, ratings_before_cut=4)


# -------------------------------------------------------------------- oracle-side steps


def index_all(database: Database, rpc: Rpc, dev: DevLedger, store: EmbeddedStore) -> Indexer:
    """Index the chain up to its head into `database` (no confirmations: the test chain never reorgs)."""
    indexer = Indexer(database, rpc, dev.deployment, store, confirmations=0, manifest_retry_interval_s=0.0)
    indexer.catch_up()  # not `while step()`: a block mined mid-step (every second here) makes a step return 0
    return indexer


def send_outbox(database: Database, rpc: Rpc, dev: DevLedger) -> list[OutboxTx]:
    """Send every queued outbox row with the oracle's real signer until each is confirmed (or failed)."""
    signer = Signer(database, rpc, dev.oracle, dev.deployment.chain_id, confirmations=0)
    for _ in range(50):
        signer.step()
        with database.read() as session:
            rows = list(session.scalars(select(OutboxTx).order_by(OutboxTx.id)))
        if all(row.status in (OutboxStatus.CONFIRMED, OutboxStatus.FAILED) for row in rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"outbox rows not final: {[(row.id, row.status) for row in rows]}")


def publish_directly(dev: DevLedger, epoch: int, root: bytes, manifest_digest: bytes) -> None:
    """`publishRoot` sent straight from the oracle's key, bypassing `publish_epoch`: what a faulty
    or dishonest oracle could do."""
    transact(dev.w3, dev.oracle, dev.roots.functions.publishRoot(epoch, root, manifest_digest))


def store_manifest(store: EmbeddedStore, manifest: dict[str, Any]) -> bytes:
    """Store a (maybe doctored) manifest; return the digest the chain would carry."""
    return digest_from_cid(store.put(canonical_json(manifest)))

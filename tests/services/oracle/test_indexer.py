"""The indexer follows the ledger into the projections: equal to a full rescan, equal to the
contract's own views, `confirmations` behind the head, and undoing reorganisations of any depth.

The chain is driven with web3 and anvil's dev accounts; reorganisations are made with
`anvil_reorg(depth, [[signed tx, block offset], ...])`, which replaces the newest `depth` blocks by
as many new ones holding the given transactions (the orphaned transactions are dropped).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from peercare.chain.devnet import DEPLOYER, register_funded_brand
from peercare.chain.rpc import Rpc, RpcError
from peercare.content.embedded import EmbeddedStore
from peercare.core.enums import QuestionStatus
from peercare.core.ledger_ids import answer_id, question_id, short_string
from peercare.core.merkle import StandardMerkleTree, root_of_leaves
from peercare.db.database import Database, sqlite_url
from peercare.db.tables.projections import (
    Acceptance,
    AnswerRated,
    AnswerRow,
    BatchAnchored,
    BatchedQuestionSettled,
    IndexerCursor,
    PoolMovement,
    QuestionBatchPostedRow,
    QuestionBatchRelease,
    QuestionPosted,
    ReputationRoot,
    RewardCredit,
    earnings,
    pool_balance,
    projection_snapshot,
    question_status,
)
from peercare.oracle.indexer import Indexer, rescan_differences
from peercare.oracle.manifest import BatchManifest, Leaf, QuestionLeaf, QuestionManifest
from peercare.runtime import Worker
from tests.support.devchain import DevLedger, dev_account
from tests.support.question_batches import question_ref

ZERO = b"\0" * 32
DAY = 86_400
STATUS_NAMES = {1: QuestionStatus.OPEN, 2: QuestionStatus.ACCEPTED, 3: QuestionStatus.EXPIRED}


class Driver:
    """Transactions on the dev ledger as its users make them."""

    def __init__(self, dev: DevLedger, store: EmbeddedStore) -> None:
        self.dev = dev
        self.w3 = dev.w3
        self.ledger = dev.ledger
        self.token = dev.token
        self.store = store
        self.deployer = dev_account(0)
        self.oracle = dev.oracle
        self.admin = dev.brand_admin
        self.advocates = [dev_account(3), dev_account(4), dev_account(5)]
        self._tickets = 0

    # ---------------------------------------------------------------- plumbing

    def signed(self, sender: LocalAccount, call: Any, *, nonce: int | None = None) -> str:
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(sender.address, "pending")
        tx = call.build_transaction({"from": sender.address, "nonce": nonce, "gas": 1_000_000})
        return "0x" + sender.sign_transaction(tx).raw_transaction.hex()

    def send(self, sender: LocalAccount, call: Any) -> Any:
        tx_hash = self.w3.eth.send_raw_transaction(self.signed(sender, call))
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
        assert receipt["status"] == 1, receipt
        return receipt

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.dev.rpc("evm_mine")

    def reorg(self, depth: int, txs: list[tuple[str, int]]) -> None:
        """Replace the newest `depth` blocks; `txs` are (signed tx, offset of its new block)."""
        self.dev.rpc("anvil_reorg", depth, [[raw, offset] for raw, offset in txs])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # ---------------------------------------------------------------- the ledger's users

    def post_question(self, bounty: int = 1_000, *, deadline_in_s: int = 10 * DAY, topic: str = "billing") -> bytes:
        self._tickets += 1
        ticket = f"T-{self._tickets}"
        source = short_string("zendesk")
        self.send(
            self.oracle,
            self.ledger.functions.postQuestion(
                self.dev.brand_id,
                source,
                ticket,
                short_string(topic),
                bounty,
                self.now() + deadline_in_s,
                hashlib.sha256(ticket.encode()).digest(),
            ),
        )
        return bytes(self.ledger.functions.questionIdOf(self.dev.brand_id, source, ticket).call())

    def answer(self, advocate: LocalAccount, question: bytes, text: str) -> tuple[Any, ...]:
        digest = hashlib.sha256(text.encode()).digest()
        self.send(advocate, self.ledger.functions.submitAnswer(question, digest))
        return (question, advocate.address, digest, ZERO, [])

    def manifest(self, leaves: list[tuple[bytes, LocalAccount, str]]) -> BatchManifest:
        return BatchManifest(
            self.dev.brand_id,
            tuple(Leaf(q, a.address, hashlib.sha256(text.encode()).digest()) for q, a, text in leaves),
        )

    def anchor(self, manifest: BatchManifest, *, store: bool = True, root: bytes | None = None, size: int = 0) -> bytes:
        data = manifest.to_bytes()
        if store:
            self.store.put(data)
        anchored_root = manifest.tree().root if root is None else root
        self.send(
            self.oracle,
            self.ledger.functions.anchorAnswerBatch(
                self.dev.brand_id, anchored_root, size or len(manifest.leaves), hashlib.sha256(data).digest()
            ),
        )
        return anchored_root

    @staticmethod
    def batch_ref(manifest: BatchManifest, index: int) -> tuple[Any, ...]:
        tree: StandardMerkleTree = manifest.tree()
        leaf = manifest.leaves[index]
        return (leaf.question_id, leaf.advocate, leaf.content_digest, tree.root, tree.proof(index))

    def rate(self, ref: tuple[Any, ...], rating: int, rater: str) -> Any:
        return self.ledger.functions.rateAnswer(ref, rating, 0, hashlib.sha256(rater.encode()).digest())

    def accept(self, ref: tuple[Any, ...]) -> Any:
        return self.ledger.functions.acceptAnswer(ref)

    def deposit(self, amount: int) -> None:
        self.send(self.deployer, self.token.functions.mint(self.admin.address, amount))
        self.send(self.admin, self.token.functions.approve(self.ledger.address, amount))
        self.send(self.admin, self.ledger.functions.deposit(self.dev.brand_id, amount))

    def expire(self, question: bytes, after_s: int) -> None:
        self.dev.rpc("evm_increaseTime", after_s)
        self.mine()
        self.send(self.advocates[0], self.ledger.functions.expireQuestion(question))

    # ---------------------------------------------------------------- questions in batches

    def question_leaf(self, bounty: int, *, brand_id: int | None = None, ticket: str | None = None) -> QuestionLeaf:
        """A question of `brand_id` (default: the dev brand) for a new ticket (or `ticket`)."""
        if ticket is None:
            self._tickets += 1
            ticket = f"T-{self._tickets}"
        source = short_string("zendesk")
        brand = self.dev.brand_id if brand_id is None else brand_id
        return QuestionLeaf(
            question_id(brand, source, ticket),
            source,
            ticket,
            short_string("billing"),
            bounty,
            hashlib.sha256(ticket.encode()).digest(),
        )

    def question_manifest(self, bounties: list[int], *, brand_id: int | None = None) -> QuestionManifest:
        brand = self.dev.brand_id if brand_id is None else brand_id
        return QuestionManifest(brand, tuple(self.question_leaf(bounty, brand_id=brand) for bounty in bounties))

    def post_batch(
        self,
        manifest: QuestionManifest,
        *,
        store: bool = True,
        total: int | None = None,
        size: int = 0,
        deadline_in_s: int = 10 * DAY,
        sender: LocalAccount | None = None,
    ) -> bytes:
        """`postQuestionBatch` of the manifest's tree (its manifest put in the content store if `store`)."""
        data = manifest.to_bytes()
        if store:
            self.store.put(data)
        root = manifest.tree().root
        self.send(
            self.oracle if sender is None else sender,
            self.ledger.functions.postQuestionBatch(
                manifest.brand_id,
                root,
                size or len(manifest.leaves),
                manifest.total_bounty if total is None else total,
                self.now() + deadline_in_s,
                hashlib.sha256(data).digest(),
            ),
        )
        return root

    def open_question(self, manifest: QuestionManifest, index: int) -> None:
        leaf = manifest.leaves[index]
        self.send(
            self.advocates[0],
            self.ledger.functions.openBatchedQuestion(question_ref(manifest, index), leaf.source, leaf.ticket_id),
        )

    def release(self, manifest: QuestionManifest, after_s: int) -> None:
        self.dev.rpc("evm_increaseTime", after_s)
        self.mine()
        self.send(
            self.advocates[0], self.ledger.functions.releaseQuestionBatch(manifest.brand_id, manifest.tree().root)
        )


# -------------------------------------------------------------------- fixtures


# These tests count blocks (the cursor is exactly `confirmations` behind the head, reorgs of an exact
# depth): they run on the chain that mines only when sent a transaction, not every second.
pytestmark = pytest.mark.usefixtures("automine_only")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    content = EmbeddedStore(tmp_path / "content", fsync=False)
    yield content
    content.close()


@pytest.fixture
def rpc(dev_ledger: DevLedger) -> Iterator[Rpc]:
    client = Rpc(dev_ledger.url, max_attempts=2)
    yield client
    client.close()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Database]:
    """An empty database for rescans."""
    db = Database(sqlite_url(tmp_path / "rescan.sqlite3"))
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def chain(dev_ledger: DevLedger, store: EmbeddedStore) -> Driver:
    return Driver(dev_ledger, store)


def make_indexer(database: Database, rpc: Any, chain: Driver, **options: Any) -> Indexer:
    options.setdefault("manifest_retry_interval_s", 0.0)
    return Indexer(database, rpc, chain.dev.deployment, chain.store, **options)


def catch_up(indexer: Indexer) -> int:
    steps = 0
    while indexer.step():
        steps += 1
    return steps


def assert_equals_rescan(database: Database, scratch: Database, rpc: Any, chain: Driver) -> None:
    assert rescan_differences(database, scratch, rpc, chain.dev.deployment, chain.store) == {}


def assert_matches_contract(database: Database, chain: Driver, accounts: list[str]) -> None:
    available, escrowed = chain.ledger.functions.pool(chain.dev.brand_id).call()
    with database.transaction() as session:
        pool = pool_balance(session, chain.dev.brand_id)
        assert (pool.available, pool.escrowed_open) == (available, escrowed)
        for account in accounts:
            owed = chain.ledger.functions.earnings(account, chain.token.address).call()
            assert earnings(session, account, chain.token.address).claimable == owed


def rows(database: Database, model: Any) -> list[Any]:
    with database.transaction() as session:
        return list(session.scalars(select(model).order_by(model.block_number, model.log_index)))


# -------------------------------------------------------------------- tests


def test_incremental_index_equals_rescan_and_matches_contract_balances(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0, max_blocks_per_step=3, kept_blocks=4)
    alice, bob, carol = chain.advocates
    catch_up(indexer)

    chain.deposit(5_000)
    chain.send(chain.admin, chain.ledger.functions.withdrawFromPool(chain.dev.brand_id, 700, chain.admin.address))
    q1 = chain.post_question(1_000)
    q2 = chain.post_question(2_000, topic="roaming")
    q3 = chain.post_question(300, deadline_in_s=600)
    indexer.step()
    direct = chain.answer(alice, q1, "restart the router")
    manifest = chain.manifest([(q2, bob, "enable roaming"), (q2, carol, "buy a bundle"), (q1, carol, "call us")])
    root = chain.anchor(manifest)
    indexer.step()
    chain.send(chain.oracle, chain.rate(direct, 5, "customer-1"))
    chain.send(chain.oracle, chain.rate(chain.batch_ref(manifest, 1), 4, "customer-2"))
    chain.send(chain.oracle, chain.accept(direct))
    swarm = [(alice.address, 3_333), (bob.address, 3_333), (carol.address, 3_334)]  # 666 each, 2 left
    chain.send(chain.oracle, chain.ledger.functions.acceptAnswerWithSwarm(chain.batch_ref(manifest, 1), swarm))
    chain.send(alice, chain.ledger.functions.withdrawEarnings(chain.token.address, alice.address))
    chain.expire(q3, after_s=3_600)
    chain.send(chain.oracle, chain.dev.roots.functions.publishRoot(1, b"\x01" * 32, b"\x02" * 32))
    catch_up(indexer)

    assert indexer.cursor() == chain.w3.eth.block_number
    assert_equals_rescan(database, scratch, rpc, chain)
    assert_matches_contract(database, chain, [alice.address, bob.address, carol.address])
    with database.transaction() as session:
        pool = pool_balance(session, chain.dev.brand_id)
        assert pool.deposited == 10**30 + 5_000
        assert (pool.withdrawn, pool.paid, pool.refunded, pool.escrowed_open) == (700, 3_000, 300, 0)
        assert earnings(session, alice.address, chain.token.address).withdrawn == 1_000 + 666
        for question in (q1, q2, q3):
            status = chain.ledger.functions.question(question).call()[2]
            assert question_status(session, "0x" + question.hex()).status == STATUS_NAMES[status]
        state = question_status(session, "0x" + q2.hex())
        assert (state.answers, state.accepted_advocate) == (2, carol.address)
        assert question_status(session, "0x" + b"\x07".hex() * 32).status is QuestionStatus.NONE
    answers = rows(database, AnswerRow)
    assert [(a.batch_root, a.leaf_index) for a in answers] == [(None, 0)] + [("0x" + root.hex(), i) for i in range(3)]
    assert answers[2].answer_id == "0x" + answer_id(q2, carol.address, manifest.leaves[1].content_digest).hex()
    assert [r.rating for r in rows(database, AnswerRated)] == [5, 4]
    credits = [(c.account, c.amount) for c in rows(database, RewardCredit)]
    assert credits == [
        (alice.address, 1_000),
        (alice.address, 666),
        (bob.address, 666),
        (carol.address, 666),
        (carol.address, 2),  # the rounding remainder goes to the accepted answer's advocate
    ]
    assert [(r.epoch, r.root) for r in rows(database, ReputationRoot)] == [(1, "0x" + "01" * 32)]
    assert [b.manifest_status for b in rows(database, BatchAnchored)] == ["ok"]


def test_indexer_stays_confirmations_behind_the_head(database: Database, rpc: Rpc, chain: Driver) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=2)
    question = chain.post_question()
    assert catch_up(indexer) >= 1
    head = chain.w3.eth.block_number
    assert indexer.cursor() == head - 2
    assert indexer.lag_blocks() == 2
    assert rows(database, QuestionPosted) == []  # its block is the head: not confirmed yet

    chain.mine(2)
    assert indexer.step() == 2
    assert indexer.step() == 0
    assert [q.question_id for q in rows(database, QuestionPosted)] == ["0x" + question.hex()]
    assert indexer.lag_blocks() == 2


def test_reorg_within_confirmations_never_counts_the_orphaned_acceptance(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=2)
    advocate = chain.advocates[0]
    question = chain.post_question(1_000)
    ref = chain.answer(advocate, question, "try safe mode")
    chain.mine(2)
    catch_up(indexer)
    oracle_nonce = chain.w3.eth.get_transaction_count(chain.oracle.address)
    chain.send(chain.oracle, chain.accept(ref))
    chain.mine()
    catch_up(indexer)
    assert rows(database, Acceptance) == []  # the acceptance is 1 block deep, the indexer 2 behind

    # The acceptance's block and the next are replaced: the oracle's nonce now rates instead.
    chain.reorg(2, [(chain.signed(chain.oracle, chain.rate(ref, 2, "customer"), nonce=oracle_nonce), 0)])
    chain.mine(3)
    catch_up(indexer)

    assert indexer.reorgs == 0  # nothing indexed was orphaned
    assert rows(database, Acceptance) == [] and rows(database, RewardCredit) == []
    assert [r.rating for r in rows(database, AnswerRated)] == [2]
    with database.transaction() as session:
        assert question_status(session, "0x" + question.hex()).status is QuestionStatus.OPEN
        assert pool_balance(session, chain.dev.brand_id).paid == 0
    assert_matches_contract(database, chain, [advocate.address])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_reorg_deeper_than_confirmations_is_rewound_and_the_orphaned_payout_is_gone(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=1)
    advocate = chain.advocates[1]
    question = chain.post_question(1_000)
    ref = chain.answer(advocate, question, "reset the PIN")
    chain.mine(3)
    oracle_nonce = chain.w3.eth.get_transaction_count(chain.oracle.address)
    accepted_in = chain.send(chain.oracle, chain.accept(ref))["blockNumber"]
    chain.mine()
    catch_up(indexer)
    assert indexer.cursor() == accepted_in
    with database.transaction() as session:
        assert earnings(session, advocate.address, chain.token.address).claimable == 1_000
        assert pool_balance(session, chain.dev.brand_id).paid == 1_000

    # Three blocks replaced, the acceptance's among them: it was indexed (1 confirmation) and is orphaned.
    chain.reorg(3, [(chain.signed(chain.oracle, chain.rate(ref, 3, "customer"), nonce=oracle_nonce), 1)])
    chain.mine()
    catch_up(indexer)

    assert indexer.reorgs == 1
    assert indexer.last_fork_point is not None and indexer.last_fork_point < accepted_in
    assert rows(database, Acceptance) == [] and rows(database, RewardCredit) == []
    assert [m.kind for m in rows(database, PoolMovement)][-1] == "escrow"
    with database.transaction() as session:
        assert earnings(session, advocate.address, chain.token.address).claimable == 0
        assert pool_balance(session, chain.dev.brand_id).paid == 0
        assert question_status(session, "0x" + question.hex()).status is QuestionStatus.OPEN
    assert [r.rating for r in rows(database, AnswerRated)] == [3]
    assert_matches_contract(database, chain, [advocate.address])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_reorg_deeper_than_the_kept_block_hashes_reindexes_from_the_start(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0, kept_blocks=2)
    advocate = chain.advocates[2]
    question = chain.post_question(1_000)
    ref = chain.answer(advocate, question, "update the app")
    oracle_nonce = chain.w3.eth.get_transaction_count(chain.oracle.address)
    chain.send(chain.oracle, chain.accept(ref))
    chain.mine(2)
    catch_up(indexer)
    assert len(rows(database, Acceptance)) == 1

    chain.reorg(4, [(chain.signed(chain.oracle, chain.rate(ref, 1, "expert"), nonce=oracle_nonce), 0)])
    catch_up(indexer)

    assert indexer.reorgs == 1
    assert indexer.last_fork_point == chain.dev.deployment.deployed_at_block - 1
    assert rows(database, Acceptance) == []
    assert_matches_contract(database, chain, [advocate.address])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_chain_rolled_back_below_the_cursor_is_rewound(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    catch_up(indexer)
    snapshot = chain.dev.snapshot()
    chain.post_question(500)
    chain.mine(3)
    catch_up(indexer)
    assert len(rows(database, QuestionPosted)) == 1

    chain.dev.revert(snapshot)  # the chain is now shorter than the cursor
    kept = chain.post_question(600)
    catch_up(indexer)

    assert indexer.reorgs == 1
    assert [(q.question_id, q.bounty) for q in rows(database, QuestionPosted)] == [("0x" + kept.hex(), 600)]
    assert_matches_contract(database, chain, [])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_missing_manifest_is_fetched_again_until_its_answers_appear(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    now = [0.0]
    indexer = make_indexer(database, rpc, chain, confirmations=0, manifest_retry_interval_s=5.0, clock=lambda: now[0])
    question = chain.post_question()
    manifest = chain.manifest([(question, chain.advocates[0], "a"), (question, chain.advocates[1], "b")])
    chain.anchor(manifest, store=False)
    catch_up(indexer)
    assert [b.manifest_status for b in rows(database, BatchAnchored)] == ["missing"]
    assert rows(database, AnswerRow) == []

    chain.store.put(manifest.to_bytes())
    indexer.step()
    assert rows(database, AnswerRow) == []  # not fetched again before the retry interval
    now[0] += 5.0
    assert indexer.step() == 0
    assert [b.manifest_status for b in rows(database, BatchAnchored)] == ["ok"]
    assert [(a.advocate, a.leaf_index) for a in rows(database, AnswerRow)] == [
        (chain.advocates[0].address, 0),
        (chain.advocates[1].address, 1),
    ]
    with database.transaction() as session:
        assert question_status(session, "0x" + question.hex()).answers == 2
    assert_equals_rescan(database, scratch, rpc, chain)


def test_a_batchs_manifest_is_read_and_checked_outside_the_write_transaction(
    database: Database, rpc: Rpc, chain: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the write lock also stops webhook intake: fetching and hashing a manifest of
    thousands of leaves must not hold it."""
    writing = [False]
    transaction = database.transaction

    @contextmanager
    def tracked() -> Iterator[Any]:
        with transaction() as session:
            writing[0] = True
            try:
                yield session
            finally:
                writing[0] = False

    class Watched:
        def __init__(self) -> None:
            self.reads_while_writing: list[bool] = []

        def get(self, cid: str) -> bytes:
            self.reads_while_writing.append(writing[0])
            return chain.store.get(cid)

    monkeypatch.setattr(database, "transaction", tracked)
    watched = Watched()
    indexer = Indexer(database, rpc, chain.dev.deployment, watched, confirmations=0)
    question = chain.post_question()
    manifest = chain.manifest([(question, advocate, f"answer {i}") for i, advocate in enumerate(chain.advocates)])
    chain.anchor(manifest)
    catch_up(indexer)

    assert watched.reads_while_writing == [False]
    assert [a.leaf_index for a in rows(database, AnswerRow)] == list(range(len(chain.advocates)))


def test_manifest_that_does_not_match_its_batch_gives_no_answers(database: Database, rpc: Rpc, chain: Driver) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    question = chain.post_question()
    listed = chain.manifest([(question, chain.advocates[0], "listed")])
    chain.anchor(listed, root=b"\x09" * 32)  # another root than the manifest's tree
    chain.anchor(chain.manifest([(question, chain.advocates[1], "sized")]), size=2)  # one leaf, two declared
    garbage = b'{"schema": "something else"}'
    chain.store.put(garbage)
    chain.send(
        chain.oracle,
        chain.ledger.functions.anchorAnswerBatch(chain.dev.brand_id, b"\x0a" * 32, 1, hashlib.sha256(garbage).digest()),
    )
    catch_up(indexer)

    assert [b.manifest_status for b in rows(database, BatchAnchored)] == ["mismatch", "mismatch", "invalid"]
    assert rows(database, AnswerRow) == []


def test_a_foreign_brands_leaves_never_become_answers_to_your_questions(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: brand 2 anchors a batch whose leaves name brand 1's questions (one of them a copy of
    a real answer of brand 1, anchored before brand 1's own batch). They became answer rows on
    brand 1's questions: answer counts, exports, advocates' lists, and the auditor's answer route,
    which then found the foreign copy first and reported a real answer as not recorded. Only what
    the ledger would accept for brand 1 is projected; the rest is left out and reported."""
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    stranger = dev_account(8)
    brand2 = register_funded_brand(
        chain.w3, chain.dev.deployment, admin=stranger, oracle=stranger.address, funds=0, minter=dev_account(DEPLOYER)
    )
    victim = chain.post_question()
    source = short_string("zendesk")
    chain.send(
        stranger,
        chain.ledger.functions.postQuestion(brand2, source, "S-1", short_string("billing"), 0, chain.now() + DAY, ZERO),
    )
    own = bytes(chain.ledger.functions.questionIdOf(brand2, source, "S-1").call())
    real = chain.manifest([(victim, chain.advocates[0], "the real answer")])
    sybil, nobody = chain.advocates[2], "0x" + "00" * 20

    def leaf(question: bytes, advocate: str, text: str) -> Leaf:
        return Leaf(question, advocate, hashlib.sha256(text.encode()).digest())

    foreign = BatchManifest(
        brand2,
        (
            real.leaves[0],  # a copy of brand 1's real answer
            leaf(victim, sybil.address, "a sybil's answer to brand 1's question"),
            leaf(own, sybil.address, "an answer to brand 2's own question"),
            leaf(own, nobody, "a leaf naming nobody"),
            leaf(b"\x0b" * 32, sybil.address, "an answer to a question never posted"),
        ),
    )
    chain.store.put(foreign.to_bytes())
    chain.send(
        stranger,
        chain.ledger.functions.anchorAnswerBatch(
            brand2, foreign.tree().root, len(foreign.leaves), hashlib.sha256(foreign.to_bytes()).digest()
        ),
    )
    real_root = chain.anchor(real)  # brand 1's own batch, after the copy

    with caplog.at_level(logging.WARNING, logger="peercare.oracle.indexer"):
        catch_up(indexer)

    answers = rows(database, AnswerRow)
    assert [(a.question_id, a.advocate, a.batch_root) for a in answers] == [
        ("0x" + own.hex(), sybil.address, "0x" + foreign.tree().root.hex()),
        ("0x" + victim.hex(), chain.advocates[0].address, "0x" + real_root.hex()),
    ]
    with database.transaction() as session:
        assert question_status(session, "0x" + victim.hex()).answers == 1
    # Each left-out leaf is in the one warning about the batch, with why the ledger refuses it.
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"anchored by brand {brand2}" in warning and "4 of 5 leaves left out" in warning
    assert warning.count(f"answers a question of brand {chain.dev.brand_id}") == 2
    assert "names no advocate" in warning and "not posted before the batch" in warning
    # What was left out is what the ledger refuses: not recorded for brand 1, nor payable.
    copy = (*real.leaves[0].value(), foreign.tree().root, foreign.tree().proof(0))
    assert not chain.ledger.functions.isAnswerRecorded(copy).call()
    assert chain.ledger.functions.isAnswerRecorded(chain.batch_ref(real, 0)).call()
    assert_equals_rescan(database, scratch, rpc, chain)


def test_a_late_manifest_is_admitted_by_the_same_rule_as_a_rescan(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    """The rule depends on the chain's order only: a manifest that arrives after later blocks were
    indexed (a question of the brand posted after the anchor among them) gives the rescan's rows."""
    now = [0.0]
    indexer = make_indexer(database, rpc, chain, confirmations=0, manifest_retry_interval_s=5.0, clock=lambda: now[0])
    before = chain.post_question()
    unposted_ticket = chain._tickets + 1
    after = bytes(
        chain.ledger.functions.questionIdOf(chain.dev.brand_id, short_string("zendesk"), f"T-{unposted_ticket}").call()
    )
    manifest = chain.manifest([(before, chain.advocates[0], "in time"), (after, chain.advocates[1], "too early")])
    chain.anchor(manifest, store=False)
    assert chain.post_question() == after  # posted after the anchor
    catch_up(indexer)
    chain.store.put(manifest.to_bytes())
    now[0] += 5.0
    indexer.step()

    assert [(a.question_id, a.leaf_index) for a in rows(database, AnswerRow)] == [("0x" + before.hex(), 0)]
    assert_equals_rescan(database, scratch, rpc, chain)


def test_failed_step_commits_nothing_and_rows_are_never_duplicated(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    question = chain.post_question()
    chain.answer(chain.advocates[0], question, "hello")

    def crash(*_args: Any) -> None:
        raise RuntimeError("killed after the rows were written, before the commit")

    monkeypatch.setattr(indexer, "_retry_missing_manifests", crash)
    with pytest.raises(RuntimeError):
        indexer.step()
    with database.transaction() as session:
        assert session.get(IndexerCursor, 1) is None
        assert all(table_rows == [] for table_rows in projection_snapshot(session).values())

    monkeypatch.undo()
    catch_up(indexer)
    catch_up(indexer)
    assert_equals_rescan(database, scratch, rpc, chain)
    posted = rows(database, QuestionPosted)
    assert len(posted) == 1
    copy = {c.name: getattr(posted[0], c.name) for c in QuestionPosted.__table__.columns if c.name != "id"}
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.add(QuestionPosted(**copy))


class RefusingWideRanges:
    """A node that refuses eth_getLogs over more than `limit` blocks, like hosted RPC providers."""

    def __init__(self, rpc: Rpc, limit: int) -> None:
        self.rpc = rpc
        self.limit = limit
        self.refusals = 0

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        if method == "eth_getLogs" and params:
            span = int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) + 1
            if span > self.limit:
                self.refusals += 1
                raise RpcError(-32005, f"block range too large: {span} > {self.limit}")
        return self.rpc.call(method, params)

    def batch(self, calls: Any) -> list[Any]:
        return self.rpc.batch(calls)


def test_refused_log_ranges_are_halved(database: Database, rpc: Rpc, scratch: Database, chain: Driver) -> None:
    node = RefusingWideRanges(rpc, limit=3)
    indexer = make_indexer(database, node, chain, confirmations=0, max_blocks_per_step=50)
    for _ in range(3):
        chain.post_question()
    catch_up(indexer)

    assert node.refusals > 0
    assert indexer.cursor() == chain.w3.eth.block_number
    assert len(rows(database, QuestionPosted)) == 3
    assert_equals_rescan(database, scratch, rpc, chain)


def test_the_indexer_worker_follows_new_blocks_until_stopped(database: Database, rpc: Rpc, chain: Driver) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    stop = threading.Event()
    runner = Worker("indexer", indexer.step, idle_s=0.02)  # as the oracle runs it (peercare/runtime.py)
    runner.start(stop)
    worker = runner.thread
    assert worker is not None
    try:
        question = chain.post_question()
        deadline = time.monotonic() + 10
        while not rows(database, QuestionPosted) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [q.question_id for q in rows(database, QuestionPosted)] == ["0x" + question.hex()]
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert indexer.lag_blocks() == 0


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_batch_root_is_the_standard_merkle_tree_root(size: int) -> None:
    advocates = [dev_account(i).address for i in range(3)]
    manifest = BatchManifest(
        1,
        tuple(
            Leaf(hashlib.sha256(b"q%d" % (i % 4)).digest(), advocates[i % 3], hashlib.sha256(b"a%d" % i).digest())
            for i in range(size)
        ),
    )
    ids = [answer_id(leaf.question_id, leaf.advocate, leaf.content_digest) for leaf in manifest.leaves]
    encoded = [encode(["bytes32", "address", "bytes32"], list(leaf.value())) for leaf in manifest.leaves]
    assert ids == [keccak(e) for e in encoded]  # the word-by-word id is the ABI-encoded one
    assert root_of_leaves([keccak(i) for i in ids]) == manifest.tree().root


class ReorganisingOnce:
    """A node whose chain is reorganised once, between the step's logs and its headers (a new block
    arriving mid-step, or a reorganisation, as a live chain does): the step that sees it indexes nothing."""

    def __init__(self, rpc: Rpc, chain: Driver) -> None:
        self.rpc = rpc
        self.chain = chain
        self.armed = True

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        result = self.rpc.call(method, params)
        if method == "eth_getLogs" and self.armed:
            self.armed = False
            self.chain.reorg(2, [])  # the newest two blocks replaced by empty ones, after their logs were read
        return result

    def batch(self, calls: Any) -> list[Any]:
        return self.rpc.batch(calls)


def test_catching_up_takes_again_a_step_the_chain_moved_under(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    """`while step()` stopped at the step a moving chain interrupted, with nothing indexed; the audit,
    the recomputation and the tests' helpers did that. `catch_up` indexes to the head regardless."""
    for _ in range(3):
        chain.post_question()
    chain.mine()
    node = ReorganisingOnce(rpc, chain)  # the third question's block is reorganised away mid-step
    indexer = make_indexer(database, node, chain, confirmations=0)

    indexed = indexer.catch_up()  # its first step is interrupted: a `while step()` loop ends there

    assert not node.armed

    assert indexed == indexer.cursor() - (chain.dev.deployment.deployed_at_block - 1) > 0
    assert indexer.cursor() == chain.w3.eth.block_number
    assert len(rows(database, QuestionPosted)) == 2
    assert_equals_rescan(database, scratch, rpc, chain)


# -------------------------------------------------------------------- questions in batches


def test_question_batch_becomes_questions_that_are_answered_accepted_opened_expired_and_released(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0, max_blocks_per_step=2)
    alice, bob, carol = chain.advocates
    batch = chain.question_manifest([1_000, 2_000, 300, 500])
    root = "0x" + chain.post_batch(batch, deadline_in_s=DAY).hex()
    q = [leaf.question_id for leaf in batch.leaves]
    answers = chain.manifest([(q[0], alice, "restart it"), (q[1], bob, "roam"), (q[3], carol, "wait")])
    chain.anchor(answers)  # answers to batched questions, admitted: their brand posted them before
    chain.send(
        chain.oracle,
        chain.ledger.functions.acceptBatchedAnswer(question_ref(batch, 0), chain.batch_ref(answers, 0)),
    )
    chain.open_question(batch, 1)
    indexer.step()  # the opened question is accepted in a later step than its opening
    chain.send(chain.oracle, chain.accept(chain.batch_ref(answers, 1)))
    chain.open_question(batch, 3)
    chain.release(batch, after_s=2 * DAY)  # refunds the one question neither accepted nor opened
    chain.send(alice, chain.ledger.functions.expireQuestion(q[3]))  # an opened question expires on its own
    catch_up(indexer)

    posted = rows(database, QuestionPosted)
    deadline = chain.ledger.functions.questionBatch(chain.dev.brand_id, batch.tree().root).call()[1]
    assert [(p.question_id, p.batch_root, p.leaf_index, p.bounty, p.deadline) for p in posted] == [
        ("0x" + leaf.question_id.hex(), root, i, leaf.bounty, deadline) for i, leaf in enumerate(batch.leaves)
    ]
    assert posted[0].source == "0x" + short_string("zendesk").hex() and posted[0].ticket_id == batch.leaves[0].ticket_id
    assert [(b.root, b.manifest_status, b.total_bounty) for b in rows(database, QuestionBatchPostedRow)] == [
        (root, "ok", 3_800)
    ]
    assert [(s.leaf_index, s.how) for s in rows(database, BatchedQuestionSettled)] == [
        (0, "accepted"),
        (1, "opened"),
        (3, "opened"),
    ]
    assert [(r.batch_root, r.refunded) for r in rows(database, QuestionBatchRelease)] == [(root, 300)]
    assert len(rows(database, AnswerRow)) == 3
    with database.transaction() as session:
        states = [question_status(session, "0x" + question.hex()) for question in q]
        assert [s.status for s in states] == [
            QuestionStatus.ACCEPTED,
            QuestionStatus.ACCEPTED,
            QuestionStatus.EXPIRED,  # released with its batch
            QuestionStatus.EXPIRED,  # opened, then QuestionExpired
        ]
        assert [(s.batch_root, s.leaf_index, s.answers) for s in states][:2] == [(root, 0, 1), (root, 1, 1)]
        pool = pool_balance(session, chain.dev.brand_id)
        assert (pool.paid, pool.refunded, pool.escrowed_open) == (3_000, 800, 0)
    assert_matches_contract(database, chain, [alice.address, bob.address])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_a_batch_claiming_another_brands_question_ids_is_invalid_and_leaves_them_alone(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    """Attack: a stranger registers brand 2 and posts a batch whose manifest lists brand 1's posted
    question and the id of brand 1's next ticket. Indexed as brand 2's, brand 1's own posting of
    that ticket would have been left out (first posting wins) and its payouts attributed to brand
    2's pool. The manifest's ids must hash from brand 2's tickets: it is invalid, nothing of it is
    projected but its escrow, and brand 1's questions stay brand 1's."""
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    stranger = dev_account(8)
    brand2 = register_funded_brand(
        chain.w3, chain.dev.deployment, admin=stranger, oracle=stranger.address, funds=10_000, minter=dev_account(0)
    )
    victim = chain.post_question(1_000)
    future = chain.question_leaf(700, ticket=f"T-{chain._tickets + 1}")  # brand 1's next ticket
    claimed = QuestionLeaf(victim, short_string("zendesk"), "T-1", short_string("billing"), 1_000, ZERO)
    forged = QuestionManifest(brand2, (claimed, future, chain.question_leaf(5, brand_id=brand2, ticket="S-1")))
    chain.post_batch(forged, sender=stranger)
    assert chain.post_question(700) == future.question_id
    catch_up(indexer)

    assert [b.manifest_status for b in rows(database, QuestionBatchPostedRow)] == ["invalid"]
    assert [(p.question_id, p.brand_id, p.batch_root) for p in rows(database, QuestionPosted)] == [
        ("0x" + victim.hex(), chain.dev.brand_id, None),
        ("0x" + future.question_id.hex(), chain.dev.brand_id, None),
    ]
    with database.transaction() as session:
        assert question_status(session, "0x" + future.question_id.hex()).brand_id == chain.dev.brand_id
        assert pool_balance(session, brand2).escrowed_open == 1_705
    assert_matches_contract(database, chain, [])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_a_question_posted_again_in_a_later_batch_or_alone_is_left_out(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    """The ledger does not know which ids a batch lists: a later batch (or `postQuestion`) may list
    one again, and each copy could be paid. The index keeps the first posting only, logs the
    repeat, and still counts every escrow (the pool's balance is the ledger's)."""
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    first = chain.question_manifest([100, 200])
    first_root = "0x" + chain.post_batch(first).hex()
    again = QuestionManifest(chain.dev.brand_id, (chain.question_leaf(50), first.leaves[1]))
    again_root = "0x" + chain.post_batch(again).hex()
    leaf = first.leaves[0]
    chain.send(  # the first batch's question 0, posted alone (the ledger stores only opened ones)
        chain.oracle,
        chain.ledger.functions.postQuestion(
            chain.dev.brand_id, leaf.source, leaf.ticket_id, leaf.topic, 100, chain.now() + DAY, leaf.content_digest
        ),
    )
    with caplog.at_level(logging.WARNING, logger="peercare.oracle.indexer"):
        catch_up(indexer)

    assert [(p.question_id, p.batch_root, p.leaf_index) for p in rows(database, QuestionPosted)] == [
        ("0x" + first.leaves[0].question_id.hex(), first_root, 0),
        ("0x" + first.leaves[1].question_id.hex(), first_root, 1),
        ("0x" + again.leaves[0].question_id.hex(), again_root, 0),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1 of 2 questions left out" in w and "leaf 1" in w for w in warnings)
    assert any(f"question 0x{leaf.question_id.hex()} posted in tx" in w for w in warnings)
    assert_matches_contract(database, chain, [])
    assert_equals_rescan(database, scratch, rpc, chain)


def test_question_batch_whose_bounties_root_or_size_differ_from_the_posting_is_a_mismatch(
    database: Database, rpc: Rpc, chain: Driver
) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    chain.post_batch(chain.question_manifest([100, 200]), total=250)  # the leaves add up to 300
    chain.post_batch(chain.question_manifest([100]), size=2)
    garbage = b'{"schema": "peercare.question-batch/1", "brand_id": 1, "questions": []}'
    chain.store.put(garbage)
    chain.send(
        chain.oracle,
        chain.ledger.functions.postQuestionBatch(
            chain.dev.brand_id, b"\x0c" * 32, 1, 10, chain.now() + DAY, hashlib.sha256(garbage).digest()
        ),
    )
    catch_up(indexer)

    assert [b.manifest_status for b in rows(database, QuestionBatchPostedRow)] == ["mismatch", "mismatch", "invalid"]
    assert rows(database, QuestionPosted) == []
    assert_matches_contract(database, chain, [])


def test_a_missing_manifest_and_an_acceptance_keep_the_indexer_going_and_pay_the_right_pool(
    database: Database, rpc: Rpc, scratch: Database, chain: Driver
) -> None:
    """Attack: anyone can register a brand. A stranger posts a question batch without its manifest
    and accepts answers to its questions (batched, and opened then accepted directly). The payouts'
    question postings are unknown to the index, which used to stop the shared indexer for everyone
    (`IndexerError`). The brand the chain names in `BatchedQuestionAccepted` and
    `BatchedQuestionOpened` attributes each payout to its pool; the manifest, once it arrives, adds
    the questions and the answers that were left out for want of them, as a rescan has them."""
    now = [0.0]
    indexer = make_indexer(database, rpc, chain, confirmations=0, manifest_retry_interval_s=5.0, clock=lambda: now[0])
    stranger, advocate = dev_account(8), chain.advocates[0]
    brand2 = register_funded_brand(
        chain.w3, chain.dev.deployment, admin=stranger, oracle=stranger.address, funds=10_000, minter=dev_account(0)
    )
    batch = chain.question_manifest([1_000, 2_000], brand_id=brand2)
    chain.post_batch(batch, store=False, sender=stranger)
    answers = BatchManifest(
        brand2,
        tuple(
            Leaf(leaf.question_id, advocate.address, hashlib.sha256(b"answer %d" % i).digest())
            for i, leaf in enumerate(batch.leaves)
        ),
    )
    chain.store.put(answers.to_bytes())
    chain.send(
        stranger,
        chain.ledger.functions.anchorAnswerBatch(
            brand2, answers.tree().root, 2, hashlib.sha256(answers.to_bytes()).digest()
        ),
    )
    chain.send(
        stranger,
        chain.ledger.functions.acceptBatchedAnswer(question_ref(batch, 0), chain.batch_ref(answers, 0)),
    )
    leaf = batch.leaves[1]
    chain.send(
        stranger, chain.ledger.functions.openBatchedQuestion(question_ref(batch, 1), leaf.source, leaf.ticket_id)
    )
    catch_up(indexer)
    chain.send(stranger, chain.accept(chain.batch_ref(answers, 1)))  # in a later step than the opening
    catch_up(indexer)

    assert indexer.cursor() == chain.w3.eth.block_number
    assert [b.manifest_status for b in rows(database, QuestionBatchPostedRow)] == ["missing"]
    assert rows(database, QuestionPosted) == [] and rows(database, AnswerRow) == []
    payouts = [(m.brand_id, m.amount) for m in rows(database, PoolMovement) if m.kind == "payout"]
    assert payouts == [(brand2, 1_000), (brand2, 2_000)]
    assert_matches_contract(database, chain, [advocate.address])
    with database.transaction() as session:
        assert pool_balance(session, brand2).paid == 3_000

    chain.store.put(batch.to_bytes())
    now[0] += 5.0
    indexer.step()
    assert [b.manifest_status for b in rows(database, QuestionBatchPostedRow)] == ["ok"]
    assert [p.brand_id for p in rows(database, QuestionPosted)] == [brand2, brand2]
    assert [a.leaf_index for a in rows(database, AnswerRow)] == [0, 1]  # admitted once their questions were
    with database.transaction() as session:
        assert [question_status(session, "0x" + leaf.question_id.hex()).status for leaf in batch.leaves] == [
            QuestionStatus.ACCEPTED,
            QuestionStatus.ACCEPTED,
        ]
    assert_equals_rescan(database, scratch, rpc, chain)


def test_reorg_removes_a_question_batchs_rows(database: Database, rpc: Rpc, scratch: Database, chain: Driver) -> None:
    indexer = make_indexer(database, rpc, chain, confirmations=0)
    advocate = chain.advocates[1]
    chain.mine()
    catch_up(indexer)
    kept = rows(database, PoolMovement)
    batch = chain.question_manifest([400, 600])
    chain.post_batch(batch, deadline_in_s=600)
    answers = chain.manifest([(batch.leaves[0].question_id, advocate, "fixed")])
    chain.anchor(answers)
    chain.send(
        chain.oracle,
        chain.ledger.functions.acceptBatchedAnswer(question_ref(batch, 0), chain.batch_ref(answers, 0)),
    )
    chain.open_question(batch, 1)
    chain.release(batch, after_s=3_600)  # one block mined, one released
    catch_up(indexer)
    assert len(rows(database, QuestionPosted)) == 2 and len(rows(database, QuestionBatchRelease)) == 1

    chain.reorg(7, [])  # every block since the batch was posted, replaced by empty ones
    catch_up(indexer)

    assert indexer.reorgs == 1
    for table in (QuestionBatchPostedRow, QuestionPosted, BatchedQuestionSettled, QuestionBatchRelease, AnswerRow):
        assert rows(database, table) == []
    assert [m.id for m in rows(database, PoolMovement)] == [m.id for m in kept]
    assert_matches_contract(database, chain, [advocate.address])
    assert_equals_rescan(database, scratch, rpc, chain)

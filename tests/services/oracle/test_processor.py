"""The processor turns stored webhook events into questions, answers, batches and outbox writes,
in the order the chain must see them."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak
from sqlalchemy import select
from web3 import Web3

from peercare.api.intake import event_row
from peercare.chain.devnet import transact
from peercare.chain.revert_reasons import RevertReasons
from peercare.chain.rpc import Rpc
from peercare.content.cid import digest_from_cid
from peercare.content.vault import Status, Vault
from peercare.core.enums import OfferRole
from peercare.core.hex import hexed
from peercare.core.ledger_ids import ANSWER_LEAF_ENCODING, QUESTION_LEAF_ENCODING, question_id, short_string
from peercare.core.merkle import verify
from peercare.core.typed_data import answer_typed_data, sign_answer
from peercare.db.base import Base
from peercare.db.database import Database
from peercare.db.tables import projections as ix
from peercare.db.tables.oracle import (
    Answer,
    AnswerBatch,
    EventStatus,
    OutboxStatus,
    OutboxTx,
    Question,
    QuestionBatch,
    RatingBatch,
    SentRating,
    WebhookEvent,
)
from peercare.db.tables.routing import Offer, RouteRound
from peercare.oracle.brands import configure_brand
from peercare.oracle.erasure import ErasureRefused, erase_customer
from peercare.oracle.indexer import Indexer
from peercare.oracle.manifest import BatchManifest, QuestionManifest, RatingManifest
from peercare.oracle.processor import Processor, answer_conversation
from peercare.oracle.signer import Signer
from tests.support.devchain import DevLedger, dev_account

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ADVOCATE = dev_account(5)
ADVOCATE_2 = dev_account(6)
EXPERT_WALLET = dev_account(7).address
TOKEN = 10**18


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.open(tmp_path / "content")
    yield v
    v.close()


@pytest.fixture
def processor(database: Database, vault: Vault, dev_ledger_session: DevLedger, clock: Clock) -> Processor:
    with database.transaction() as session:
        configure_brand(
            session,
            1,
            "Acme",
            topics=["wallets", "staking"],
            default_bounty=5 * TOKEN,
            bounty_by_tag={"urgent": 50 * TOKEN},
            answer_window_s=86400,
            experts={"agent-9": EXPERT_WALLET},
        )
    # Most tests here are about answers, ratings and acceptances, so their questions are posted on
    # their own (one `postQuestion` each, in the outbox in event order); the oracle's default,
    # questions in batches, is `batched` below.
    return Processor(
        database,
        vault,
        vault.stores[0],
        dev_ledger_session.deployment,
        batch_size=4,
        batch_max_age_s=2.0,
        post_questions_in_batches=False,
        clock=clock,
    )


def settle(processor: Processor, clock: Clock) -> None:
    """Let the batches waiting for their age be sealed, and what waits for them go out."""
    clock.now += 3
    processor.step()


def answer_of(database: Database, comment_id: str) -> str:
    with database.read() as session:
        return session.scalars(select(Answer.answer_id).where(Answer.comment_id == comment_id)).one()


def store(database: Database, *events: dict[str, Any]) -> None:
    from peercare.oracle.events import event_from_json

    with database.transaction() as session:
        for event in events:
            session.add(WebhookEvent(**event_row(1, "generic", event_from_json(event))))


def ticket(n: int, tags: tuple[str, ...] = ("wallets",)) -> dict[str, Any]:
    return {
        "kind": "ticket_created",
        "event_key": f"t{n}",
        "ticket_id": str(n),
        "occurred_at": T0.isoformat(),
        "subject": f"Question {n}",
        "body": "My wallet does not sync.",
        "tags": list(tags),
        "requester_id": f"customer-{n}",
    }


def comment(n: int, c: int, author: str, wallet: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "comment_added",
        "event_key": f"t{n}c{c}",
        "ticket_id": str(n),
        "occurred_at": T0.isoformat(),
        "comment_id": f"c{c}",
        "author_id": author,
        "author_wallet": wallet,
        "body": f"Answer {c} to {n}",
        "public": True,
        **extra,
    }


def solved(n: int, comment_id: str | None = None) -> dict[str, Any]:
    return {
        "kind": "ticket_solved",
        "event_key": f"t{n}solved",
        "ticket_id": str(n),
        "occurred_at": T0.isoformat(),
        "solved_by_comment_id": comment_id,
    }


def rated(n: int, rating: int, rater: str = "customer") -> dict[str, Any]:
    return {
        "kind": "satisfaction_rated",
        "event_key": f"t{n}rated{rater}",
        "ticket_id": str(n),
        "occurred_at": T0.isoformat(),
        "rating": rating,
        "rater_id": rater,
    }


def outbox(database: Database) -> list[OutboxTx]:
    with database.transaction() as session:
        return list(session.scalars(select(OutboxTx).order_by(OutboxTx.id)))


def decode(dev: DevLedger, row: OutboxTx) -> tuple[str, dict[str, Any]]:
    function, args = dev.ledger.decode_function_input(row.data)
    return function.fn_name, args


def statuses(database: Database) -> dict[str, tuple[str, str | None]]:
    with database.transaction() as session:
        return {e.event_key: (e.status, e.error) for e in session.scalars(select(WebhookEvent))}


def test_a_ticket_becomes_a_question_with_its_bounty_topic_and_stored_conversation(
    processor: Processor, database: Database, vault: Vault, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    store(database, ticket(1, ("Urgent", "staking", "billing")))
    assert processor.step() == 1
    [row] = outbox(database)
    name, args = decode(dev_ledger_session, row)
    assert row.kind == "post_question" and name == "postQuestion"
    assert args["brandId"] == 1 and args["ticketId"] == "1"
    assert args["source"] == short_string("generic") and args["topic"] == short_string("staking")
    assert args["bounty"] == 50 * TOKEN  # the tag rule beats the default
    assert args["deadline"] == int(clock.now) + 86_400
    with database.transaction() as session:
        question = session.get(Question, "0x" + question_id(1, short_string("generic"), "1").hex())
        assert question is not None and question.outbox_id == row.id
    assert args["contentDigest"] == digest_from_cid(question.content_cid)
    conversation = vault.get(question.content_cid)
    assert conversation.messages[0].body == "Question 1\n\nMy wallet does not sync."
    assert conversation.messages[0].author == "customer-1" and conversation.topics == ("billing", "staking", "urgent")


def test_a_ticket_without_topic_tags_gets_the_default_topic_and_bounty(
    processor: Processor, database: Database, dev_ledger_session: DevLedger
) -> None:
    store(database, ticket(2, ("billing",)))
    processor.step()
    _, args = decode(dev_ledger_session, outbox(database)[0])
    assert args["topic"] == short_string("general") and args["bounty"] == 5 * TOKEN


def test_answers_are_collected_into_a_batch_sealed_by_size_with_a_public_manifest(
    processor: Processor, database: Database, vault: Vault, dev_ledger_session: DevLedger
) -> None:
    store(database, ticket(1), *[comment(1, c, f"adv-{c}", ADVOCATE.address) for c in range(5)])
    processor.step()
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question", "anchor_batch"]  # 4 sealed by size, 1 still waiting
    _, args = decode(dev_ledger_session, rows[1])
    with database.transaction() as session:
        batch = session.scalars(select(AnswerBatch)).one()
        in_batch = session.scalars(select(Answer).where(Answer.batch_id == batch.id)).all()
        waiting = session.scalars(select(Answer).where(Answer.batch_id.is_(None))).all()
    assert len(in_batch) == 4 and len(waiting) == 1
    manifest = BatchManifest.from_bytes(vault.stores[0].get(batch.manifest_cid))
    assert args["batchRoot"] == manifest.tree().root and args["size"] == 4
    assert args["manifestDigest"] == digest_from_cid(batch.manifest_cid)
    assert {"0x" + leaf.content_digest.hex() for leaf in manifest.leaves} == {a.content_digest for a in in_batch}


def test_a_partial_batch_is_sealed_once_its_oldest_answer_is_old_enough(
    processor: Processor, database: Database, clock: Clock
) -> None:
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address))
    processor.step()
    assert [r.kind for r in outbox(database)] == ["post_question"]
    clock.now += 2.5
    assert processor.step() == 1
    assert [r.kind for r in outbox(database)] == ["post_question", "anchor_batch"]


def test_comments_that_are_not_answers_change_nothing_on_chain(processor: Processor, database: Database) -> None:
    store(
        database,
        ticket(1),
        comment(1, 1, "customer-1", None),  # the requester
        comment(1, 2, "adv", ADVOCATE.address, public=False),  # an internal note
        comment(1, 3, "stranger", None),  # no wallet, not an expert
    )
    processor.step()
    assert [r.kind for r in outbox(database)] == ["post_question"]
    notes = statuses(database)
    assert notes["t1c1"] == (EventStatus.DONE, "the requester's own comment, not an answer")
    assert notes["t1c2"] == (EventStatus.DONE, "an internal note, not an answer")
    assert notes["t1c3"][1] == "author stranger has no wallet and is not one of the brand's experts"


@pytest.mark.parametrize("later_step", [False, True], ids=["same step", "later step"])
def test_a_comment_delivered_again_or_repeated_word_for_word_is_recorded_once(
    processor: Processor, database: Database, later_step: bool
) -> None:
    """A ticketing system may send a comment again under a new delivery key, and an advocate may
    post the same answer twice: one answer each, whether the repeat comes in the same step or
    after many answers to the ticket are on record."""
    first = [ticket(1), *[comment(1, c, f"adv-{c}", ADVOCATE.address) for c in range(6)]]
    again = {**comment(1, 3, "adv-3", ADVOCATE.address), "event_key": "t1c3-redelivered"}
    same_words = {**comment(1, 4, "adv-4", ADVOCATE.address), "event_key": "t1c9", "comment_id": "c9"}
    if later_step:
        store(database, *first)
        processor.step()
        store(database, again, same_words)
    else:
        store(database, *first, again, same_words)
    processor.step()
    with database.read() as session:
        answers = session.scalars(select(Answer.comment_id).order_by(Answer.comment_id)).all()
    assert answers == [f"c{c}" for c in range(6)]
    assert statuses(database)["t1c3-redelivered"] == ("done", "this comment was recorded before")
    assert statuses(database)["t1c9"] == ("done", "the same answer by the same author was recorded before")


def test_a_brand_expert_answers_with_the_wallet_the_brand_registered(processor: Processor, database: Database) -> None:
    store(database, ticket(1), comment(1, 1, "agent-9", None))
    processor.step()
    with database.transaction() as session:
        answer = session.scalars(select(Answer)).one()
    assert answer.advocate == EXPERT_WALLET and answer.author_kind == "expert"


def test_a_comment_before_its_ticket_waits_and_is_handled_after_it(
    processor: Processor, database: Database, clock: Clock
) -> None:
    store(database, comment(1, 1, "adv", ADVOCATE.address))
    processor.step()
    status, error = statuses(database)["t1c1"]
    assert status == EventStatus.PENDING and error == "ticket 1 has not been created yet"
    store(database, ticket(1))
    clock.now += 1
    processor.step()
    assert statuses(database)["t1c1"] == (EventStatus.DONE, None)


def test_solving_waits_for_the_answers_batch_then_accepts_with_a_valid_proof(
    processor: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    """A solve does not seal a batch of its own (that cost a batch per acceptance): it waits until
    its answer's batch is sealed (by size or age), and goes out in the same step, after it."""
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), comment(1, 2, "adv2", ADVOCATE_2.address))
    store(database, solved(1, "c1"))
    processor.step()
    assert [r.kind for r in outbox(database)] == ["post_question"]
    assert statuses(database)["t1solved"] == (
        EventStatus.PENDING,
        f"answer {answer_of(database, 'c1')} waits for its batch to be sealed",
    )
    settle(processor, clock)
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question", "anchor_batch", "accept"]
    _, anchor = decode(dev_ledger_session, rows[1])
    _, accept = decode(dev_ledger_session, rows[2])
    ref = accept["answer"]
    assert ref["advocate"] == ADVOCATE.address and ref["batchRoot"] == anchor["batchRoot"]
    leaf = (ref["questionId"], ref["advocate"], ref["contentDigest"])
    assert verify(ref["batchRoot"], ANSWER_LEAF_ENCODING, leaf, ref["proof"])


def test_a_second_solve_or_a_repeated_rating_queues_nothing(
    processor: Processor, database: Database, clock: Clock
) -> None:
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1), rated(1, 5))
    processor.step()
    clock.now += 3  # the rating's batch is due
    processor.step()
    before = [r.kind for r in outbox(database)]
    assert before == ["post_question", "anchor_batch", "accept", "anchor_ratings"]
    again = solved(1) | {"event_key": "t1solved-again"}
    store(database, again, rated(1, 1) | {"event_key": "t1rated-again"})
    processor.step()
    clock.now += 3
    processor.step()
    assert [r.kind for r in outbox(database)] == before
    notes = statuses(database)
    assert notes["t1solved-again"][1] == "the question was accepted before"
    assert notes["t1rated-again"][1] == "this rater rated this answer before; the ledger keeps the first rating"


def test_solving_by_an_unknown_comment_fails_with_the_reason(processor: Processor, database: Database) -> None:
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1, "c404"))
    processor.step()
    assert statuses(database)["t1solved"] == (EventStatus.FAILED, "comment c404 of ticket 1 is not a recorded answer")
    assert [r.kind for r in outbox(database)] == ["post_question"]


def _signed_comment(processor: Processor, dev: DevLedger, key: Any, signer_key: Any) -> dict[str, Any]:
    conversation = answer_conversation(1, "generic", "1", "wallets", "advocate", key.address, T0, "Answer 1 to 1")
    cid = processor.vault.put(conversation)  # what the advocate's app prepares before signing
    typed = answer_typed_data(
        chain_id=dev.deployment.chain_id,
        ledger=dev.ledger.address,
        question_id=question_id(1, short_string("generic"), "1"),
        content_digest=digest_from_cid(cid),
        nonce=0,
        deadline=2_000_000_000,
    )
    signature = "0x" + sign_answer(signer_key.key, typed).hex()
    return comment(1, 1, "adv", key.address, signature={"nonce": 0, "deadline": 2_000_000_000, "signature": signature})


def test_an_answer_signed_by_its_advocate_is_batched_with_its_signature_in_the_manifest(
    processor: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    """By default a signed answer costs a batch leaf, not a transaction: the manifest carries the
    advocate's signature, which the ledger's view (and the audit) verify on demand."""
    store(database, ticket(1), _signed_comment(processor, dev_ledger_session, ADVOCATE, ADVOCATE))
    processor.step()
    clock.now += 3
    processor.step()
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question", "anchor_batch"]
    with database.read() as session:
        batch = session.scalars(select(AnswerBatch)).one()
    (leaf,) = BatchManifest.from_bytes(processor.public_store.get(batch.manifest_cid)).leaves
    assert leaf.advocate == ADVOCATE.address and leaf.signature is not None
    signed = (leaf.question_id, leaf.content_digest, leaf.advocate, leaf.signature.nonce, leaf.signature.deadline)
    assert dev_ledger_session.ledger.functions.isAnswerSignatureValid(signed, leaf.signature.signature).call()
    assert statuses(database)["t1c1"] == (EventStatus.DONE, None)


def test_an_answer_signed_by_its_advocate_is_relayed_with_the_signature_when_the_oracle_relays(
    processor: Processor, database: Database, dev_ledger_session: DevLedger
) -> None:
    processor.relay_signed_answers = True  # `peercare oracle run --relay-signed-answers`
    store(database, ticket(1), _signed_comment(processor, dev_ledger_session, ADVOCATE, ADVOCATE))
    processor.step()
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question", "relay_answer"]
    name, args = decode(dev_ledger_session, rows[1])
    assert name == "submitAnswerWithSig" and args["answer"]["advocate"] == ADVOCATE.address


def test_an_answer_with_someone_elses_signature_is_batched_with_a_note(
    processor: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    store(database, ticket(1), _signed_comment(processor, dev_ledger_session, ADVOCATE, ADVOCATE_2))
    processor.step()
    clock.now += 3
    processor.step()
    assert [r.kind for r in outbox(database)] == ["post_question", "anchor_batch"]
    status, note = statuses(database)["t1c1"]
    assert status == EventStatus.DONE and note is not None and "does not verify as" in note
    with database.read() as session:
        batch = session.scalars(select(AnswerBatch)).one()
    (leaf,) = BatchManifest.from_bytes(processor.public_store.get(batch.manifest_cid)).leaves
    assert leaf.signature is None  # a signature that is not the author's is not published as theirs


def test_every_outbox_row_calls_the_ledger(
    processor: Processor, database: Database, dev_ledger_session: DevLedger
) -> None:
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1))
    processor.step()
    assert {Web3.to_checksum_address(r.to) for r in outbox(database)} == {dev_ledger_session.ledger.address}


# ------------------------------------------------------------------ anchors that fail on chain


@pytest.fixture
def chain_loop(
    processor: Processor, database: Database, dev_ledger: DevLedger
) -> Iterator[Callable[[Callable[[list[OutboxTx]], bool]], list[OutboxTx]]]:
    """`run_until(done)`: the signer and the indexer (no confirmations) step against the real chain
    until `done(outbox rows)`; returns the rows."""
    rpc = Rpc(dev_ledger.url, max_attempts=2)
    signer = Signer(
        database,
        rpc,
        dev_ledger.oracle,
        dev_ledger.deployment.chain_id,
        confirmations=0,
        replace_after_blocks=1_000_000,
        revert_reasons=RevertReasons.from_deployment(dev_ledger.deployment),
    )
    indexer = Indexer(
        database, rpc, dev_ledger.deployment, processor.public_store, confirmations=0, manifest_retry_interval_s=0.0
    )

    def run_until(done: Callable[[list[OutboxTx]], bool], timeout_s: float = 30.0) -> list[OutboxTx]:
        deadline = time.monotonic() + timeout_s
        while True:
            signer.step()
            while indexer.step():
                pass
            rows = outbox(database)
            if done(rows):
                return rows
            assert time.monotonic() < deadline, [(r.id, r.kind, r.status, r.error) for r in rows]
            time.sleep(0.05)

    yield run_until
    rpc.close()


def settled(rows: list[OutboxTx]) -> bool:
    return all(r.status in (OutboxStatus.MINED, OutboxStatus.CONFIRMED, OutboxStatus.FAILED) for r in rows)


def set_oracle(dev: DevLedger, enabled: bool) -> None:
    transact(dev.w3, dev.brand_admin, dev.ledger.functions.setBrandOracle(dev.brand_id, dev.oracle.address, enabled))


def test_answers_of_a_batch_whose_anchor_failed_on_chain_go_into_a_new_batch_and_are_paid(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any
) -> None:
    """Attack (and plain bad luck): a batch's anchor reverts on chain. The oracle marked it FAILED
    and its answers stayed tied to it; the acceptance and rating proving against it failed too, and
    the advocate was never paid. Now the answers go into a new batch, anchored again, and the
    acceptance and rating are queued again after it with proofs against the new batch. (Ratings by
    `rateAnswer`, which proves the answer; a rating batch names the answer without a proof.)"""
    processor.rate_in_batches = False
    store(database, ticket(1))
    processor.step()
    chain_loop(settled)
    set_oracle(dev_ledger, False)  # the anchor will revert NotBrandOracle, on chain
    store(database, comment(1, 1, "adv", ADVOCATE.address), comment(1, 2, "adv2", ADVOCATE_2.address))
    store(database, solved(1, "c1"), rated(1, 4))
    processor.step()
    failed = chain_loop(settled)
    assert [(r.kind, r.status) for r in failed[1:]] == [
        ("anchor_batch", OutboxStatus.FAILED),
        ("rate", OutboxStatus.FAILED),  # the direct rating sealed the batch; the solve waited for it
        ("accept", OutboxStatus.FAILED),
    ]
    assert (failed[1].error or "").startswith("NotBrandOracle")
    set_oracle(dev_ledger, True)
    store(database, comment(1, 3, "adv3", dev_account(8).address))  # a later answer joins the new batch

    processor.step()

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 7)
    assert [(r.kind, r.status, r.dedupe_key) for r in rows[4:]] == [
        ("anchor_batch", OutboxStatus.MINED, None),
        ("rate", OutboxStatus.MINED, f"retry-of:{failed[2].id}"),
        ("accept", OutboxStatus.MINED, f"retry-of:{failed[3].id}"),
    ]
    qid = question_id(1, short_string("generic"), "1")
    assert dev_ledger.ledger.functions.question(qid).call()[2] == 2  # accepted
    assert dev_ledger.ledger.functions.earnings(ADVOCATE.address, dev_ledger.token.address).call() == 5 * TOKEN
    with database.transaction() as session:
        answers = session.scalars(select(Answer)).all()
        batches = {b.id: b for b in session.scalars(select(AnswerBatch))}
        anchors = {r.id: r.status for r in session.scalars(select(OutboxTx))}
        rating = session.scalars(select(SentRating)).one()
    assert len(answers) == 3
    assert {anchors[batches[a.batch_id or 0].outbox_id] for a in answers} == {OutboxStatus.MINED}  # none left dead
    assert {batches[a.batch_id or 0].size for a in answers} == {3}
    assert rating.outbox_id == rows[5].id
    _, accept = decode(dev_ledger, rows[6])
    assert accept["answer"]["batchRoot"] == bytes.fromhex(batches[answers[0].batch_id or 0].root[2:])

    assert processor.step() == 0  # recovered once: nothing more to queue
    assert len(outbox(database)) == 7


def test_an_anchor_that_failed_because_the_batch_is_on_chain_anyway_is_not_anchored_again(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    """The brand's other signer anchored the very batch first: ours reverts `BatchAlreadyAnchored`,
    but the chain holds the brand's batch, so its answers stay and the acceptance goes through.
    Recovering it would anchor the same root again and fail again, for ever."""
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    processor.step()
    settle(processor, clock)
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question", "anchor_batch", "accept"]
    other = dev_account(8)
    transact(
        dev_ledger.w3,
        dev_ledger.brand_admin,
        dev_ledger.ledger.functions.setBrandOracle(dev_ledger.brand_id, other.address, True),
    )
    _, anchor = decode(dev_ledger, rows[1])
    transact(dev_ledger.w3, other, dev_ledger.ledger.functions.anchorAnswerBatch(*anchor.values()))

    rows = chain_loop(settled)
    assert [r.status for r in rows] == [OutboxStatus.MINED, OutboxStatus.FAILED, OutboxStatus.MINED]
    assert (rows[1].error or "").startswith("BatchAlreadyAnchored")
    assert processor.step() == 0
    assert len(outbox(database)) == 3


# ------------------------------------------------------------------ ratings in batches


def test_ratings_are_anchored_in_one_batch_and_indexed_as_rateanswer_would_record_them(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock, vault: Vault
) -> None:
    """Three ratings, one transaction: the batch's leaves become the same rating rows as three
    `rateAnswer` calls would (answer, question, advocate, rating, rater kind, keyed rater id), so
    reputation reads the same history; a direct rating still works beside them."""
    store(
        database,
        ticket(1),
        ticket(2),
        comment(1, 1, "adv", ADVOCATE.address),
        comment(2, 1, "adv2", ADVOCATE_2.address),
    )
    store(database, rated_by(5, 1, "customer-1"), rated_by(2, 2, "customer-2"), rated_by(4, 1, "customer-3"))
    processor.step()
    clock.now += 3
    processor.step()
    processor.rate_in_batches = False  # the direct path, for a caller who wants one transaction
    store(database, rated_by(1, 2, "customer-4"))
    processor.step()
    rows = chain_loop(lambda rows: settled(rows) and len(indexed_raters(database)) == 4)

    assert [r.kind for r in rows if r.kind in ("anchor_ratings", "rate")] == ["anchor_ratings", "rate"]
    assert {r.status for r in rows} <= {OutboxStatus.MINED, OutboxStatus.CONFIRMED}
    with database.read() as session:
        sent = {r.rater_id: r for r in session.scalars(select(SentRating))}
        answers = {a.answer_id: a for a in session.scalars(select(Answer))}
        batch = session.scalars(select(RatingBatch)).one()
        indexed = session.scalars(select(ix.AnswerRated).order_by(ix.AnswerRated.id)).all()
    assert [(row.batch_root, row.leaf_index) for row in indexed] == [
        (batch.root, 0),
        (batch.root, 1),
        (batch.root, 2),
        (None, 0),
    ]
    for row in indexed:
        rating = sent[row.rater_id]
        answer = answers[rating.answer_id]
        assert (row.answer_id, row.question_id, row.advocate, row.rating, row.rater_kind) == (
            answer.answer_id,
            answer.question_id,
            answer.advocate,
            rating.rating,
            "customer",
        )
    assert [row.rater_id for row in indexed] == [
        hexed(vault.keys.pseudonym(1, "generic", who))
        for who in ("customer-1", "customer-2", "customer-3", "customer-4")
    ]
    manifest = RatingManifest.from_bytes(processor.public_store.get(batch.manifest_cid))
    assert manifest.tree().root == bytes.fromhex(batch.root[2:]) and len(manifest.leaves) == 3


def test_ratings_of_a_batch_whose_anchor_failed_go_into_a_new_batch(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    """A rating batch's anchor reverts on chain (the oracle lost its role for a while): its ratings
    are anchored again, once the role is back, and counted once."""
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address))
    processor.step()
    settle(processor, clock)  # the answer's batch
    chain_loop(settled)
    set_oracle(dev_ledger, False)
    store(database, rated_by(4, 1, "customer-1"))
    processor.step()
    settle(processor, clock)  # the rating's batch
    failed = chain_loop(settled)
    assert [r.kind for r in failed] == ["post_question", "anchor_batch", "anchor_ratings"]
    assert failed[2].status == OutboxStatus.FAILED
    assert (failed[2].error or "").startswith("NotBrandOracle")
    set_oracle(dev_ledger, True)

    processor.step()

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 4)
    assert [r.kind for r in rows[3:]] == ["anchor_ratings"]
    assert rows[3].status in (OutboxStatus.MINED, OutboxStatus.CONFIRMED)
    assert len(indexed_raters(database)) == 1
    with database.read() as session:
        batch = session.scalars(select(RatingBatch)).one()  # the same root: the same row, anchored again
        assert batch.outbox_id == rows[3].id
    assert processor.step() == 0  # recovered once: nothing more to queue
    assert len(outbox(database)) == 4


def swarm_round(database: Database, ticket_number: int, shares: list[tuple[str, int]], round_number: int = 0) -> None:
    """Record that the router decided round `round_number` of the ticket's question as a swarm with
    these credit shares (as `peercare.routing.live` writes it)."""
    qid = hexed(question_id(1, short_string("generic"), str(ticket_number)))
    with database.transaction() as session:
        session.add(
            RouteRound(
                question_id=qid, round=round_number, brand_id=1, epoch=1, decision={"mode": "swarm"}, created_at_ms=0
            )
        )
        session.flush()
        for account, bps in shares:
            role = OfferRole.EXPERT if account == EXPERT_WALLET else OfferRole.SWARM
            session.add(
                Offer(
                    question_id=qid,
                    round=round_number,
                    advocate=account,
                    brand_id=1,
                    role=role,
                    share_bps=bps,
                    offered_at_ms=0,
                    window_ends_at_ms=0,
                )
            )


def earned(dev: DevLedger, account: str) -> int:
    return int(dev.ledger.functions.earnings(account, dev.token.address).call())


def test_an_answer_by_a_swarm_member_is_accepted_with_the_swarms_committed_shares(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    store(database, ticket(1))
    processor.step()
    shares = [(ADVOCATE.address, 4_500), (ADVOCATE_2.address, 3_500), (EXPERT_WALLET, 2_000)]
    swarm_round(database, 1, shares)
    store(database, comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    processor.step()
    settle(processor, clock)

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 3)

    function, args = decode(dev_ledger, rows[2])
    assert function == "acceptAnswerWithSwarm"
    assert [(s["account"], s["bps"]) for s in args["shares"]] == shares
    assert rows[2].status == OutboxStatus.MINED
    bounty = 5 * TOKEN
    assert [earned(dev_ledger, a) for a, _ in shares] == [bounty * 45 // 100, bounty * 35 // 100, bounty * 20 // 100]


def test_an_answer_from_outside_the_swarm_is_paid_to_its_author_alone(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    store(database, ticket(1))
    processor.step()
    swarm_round(database, 1, [(ADVOCATE_2.address, 8_000), (EXPERT_WALLET, 2_000)])
    store(database, comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    processor.step()
    settle(processor, clock)

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 3)

    assert decode(dev_ledger, rows[2])[0] == "acceptAnswer"
    assert rows[2].status == OutboxStatus.MINED
    assert (earned(dev_ledger, ADVOCATE.address), earned(dev_ledger, ADVOCATE_2.address)) == (5 * TOKEN, 0)
    assert earned(dev_ledger, EXPERT_WALLET) == 0


def test_a_member_of_two_swarm_rounds_is_paid_by_the_latest(
    processor: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    store(database, ticket(1))
    processor.step()
    swarm_round(database, 1, [(ADVOCATE.address, 5_000), (EXPERT_WALLET, 5_000)], round_number=0)
    swarm_round(database, 1, [(ADVOCATE.address, 7_000), (ADVOCATE_2.address, 3_000)], round_number=1)
    store(database, comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    processor.step()
    settle(processor, clock)

    function, args = decode(dev_ledger_session, outbox(database)[-1])
    assert function == "acceptAnswerWithSwarm"
    paid = [(s["account"], s["bps"]) for s in args["shares"]]
    assert paid == [(ADVOCATE.address, 7_000), (ADVOCATE_2.address, 3_000)]


# ---------------------------------------------------------------- nothing personal on chain

CUSTOMERS = ("customer-1", "ann@example.com")


def unkeyed_forms(identifier: str) -> list[bytes]:
    """What an oracle could write instead of a pseudonym that anyone guessing the id can confirm."""
    forms = [identifier.encode(), f"generic:{identifier}".encode()]
    return forms + [keccak(f) for f in forms] + [hashlib.sha256(f).digest() for f in forms]


def everything_public(dev: DevLedger, database: Database, processor: Processor) -> bytes:
    """Every byte the oracle made public: its transactions' calldata, the ledger's logs and the
    answer and rating batches' manifests."""
    with database.read() as session:
        calldata = [bytes.fromhex(row.data[2:]) for row in session.scalars(select(OutboxTx))]
        batches = [*session.scalars(select(AnswerBatch)), *session.scalars(select(RatingBatch))]
        manifests = [processor.public_store.get(b.manifest_cid) for b in batches]
    logs = dev.w3.eth.get_logs({"fromBlock": dev.deployment.deployed_at_block, "address": dev.ledger.address})
    logged = [bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]) for log in logs]
    return b"|".join(calldata + logged + manifests)


def rated_by(rating: int, ticket_number: int, rater: str) -> dict[str, Any]:
    return rated(ticket_number, rating, rater) | {"event_key": f"t{ticket_number}rated-{rater}"}


def indexed_raters(database: Database) -> list[bytes]:
    """The rater ids of the ratings the indexer admitted, in chain order."""
    with database.read() as session:
        rows = session.scalars(
            select(ix.AnswerRated).order_by(
                ix.AnswerRated.block_number, ix.AnswerRated.log_index, ix.AnswerRated.leaf_index
            )
        )
        return [bytes.fromhex(row.rater_id[2:]) for row in rows]


def test_no_chain_write_or_public_manifest_holds_a_customers_id_or_an_unkeyed_hash_of_it(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, vault: Vault, clock: Clock
) -> None:
    store(database, ticket(1), ticket(2) | {"requester_id": "ann@example.com"})
    store(database, comment(1, 1, "adv", ADVOCATE.address), comment(2, 1, "adv", ADVOCATE.address))
    store(database, rated_by(5, 1, "customer-1"), rated_by(4, 2, "ann@example.com"), rated_by(3, 1, "ann@example.com"))
    processor.step()
    clock.now += 3  # the ratings' batch is due
    processor.step()
    chain_loop(lambda rows: settled(rows) and len(indexed_raters(database)) == 3)

    public = everything_public(dev_ledger, database, processor)
    for customer in CUSTOMERS:
        assert [form.hex() for form in unkeyed_forms(customer) if form in public] == []
    raters = indexed_raters(database)
    ann = vault.keys.pseudonym(1, "generic", "ann@example.com")
    assert raters == [vault.keys.pseudonym(1, "generic", "customer-1"), ann, ann]  # stable per person
    assert vault.keys.pseudonym(2, "generic", "ann@example.com") != ann  # unlinkable across brands


def test_erasing_a_customer_leaves_nothing_in_the_operators_stores_that_links_them(
    processor: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, vault: Vault, clock: Clock
) -> None:
    store(database, ticket(1), ticket(2) | {"requester_id": "ann@example.com"})
    store(database, comment(2, 1, "adv", ADVOCATE.address), rated_by(4, 2, "ann@example.com"))
    processor.step()
    clock.now += 3
    processor.step()
    chain_loop(lambda rows: settled(rows) and len(indexed_raters(database)) == 1)
    (rater,) = indexed_raters(database)
    with database.read() as session:
        conversation = session.scalars(select(Question.content_cid).where(Question.ticket_id == "2")).one()

    done = erase_customer(
        database, vault, 1, "generic", "ann@example.com", erased_by="dpo@acme.example", reason="#4711"
    )

    assert done.pseudonym is not None and done.pseudonym.pseudonym == hexed(rater)
    assert (done.tickets, done.conversations, done.events) == (1, 1, 3)
    assert vault.status(conversation) == Status.ERASED
    keys = sqlite3.connect(vault.keys.path)
    assert keys.execute("SELECT count(*) FROM pseudonyms WHERE pseudonym = ?", (rater,)).fetchone() == (0,)
    assert "ann@example.com" not in "\n".join(keys.iterdump())
    keys.close()
    assert b"ann@example.com" not in vault.keys.path.read_bytes()  # secure_delete: not even in free pages
    assert "ann@example.com" not in database_dump(database)
    assert "customer-1" in database_dump(database)  # another customer is untouched

    store(database, rated_by(1, 2, "ann@example.com") | {"event_key": "after-erasure"})
    processor.step()
    clock.now += 3
    processor.step()
    assert statuses(database)["after-erasure"] == (
        EventStatus.DONE,
        "the ticket's customer was erased on request: nothing more is recorded of them",
    )
    assert sum(r.kind == "anchor_ratings" for r in outbox(database)) == 1
    with database.read() as session:
        assert len(session.scalars(select(SentRating)).all()) == 1
    again = erase_customer(
        database, vault, 1, "generic", "ann@example.com", erased_by="dpo@acme.example", reason="#4711"
    )
    assert (again.pseudonym, again.tickets) == (None, 0)


def test_an_erasure_without_who_or_why_or_of_an_unknown_brand_is_refused_and_changes_nothing(
    processor: Processor, database: Database, vault: Vault
) -> None:
    store(database, ticket(2) | {"requester_id": "ann@example.com"})
    processor.step()
    before = database_dump(database)
    for brand, by, reason, message in (
        (1, "", "#1", "who asked for it and why"),
        (1, "dpo", " ", "who asked for it and why"),
        (99, "dpo", "#1", "brand 99 is not served by this oracle"),
    ):
        with pytest.raises(ErasureRefused, match=message):
            erase_customer(database, vault, brand, "generic", "ann@example.com", erased_by=by, reason=reason)
    assert database_dump(database) == before


def database_dump(database: Database) -> str:
    """Every row of every table of the oracle's database, as text."""
    with database.read() as session:
        return "\n".join(
            repr(row) for table in Base.metadata.sorted_tables for row in session.execute(table.select()).all()
        )


# ------------------------------------------------------------------ questions in batches (the default)


@pytest.fixture
def batched(processor: Processor) -> Processor:
    """The processor as the oracle runs it by default: questions posted in batches."""
    processor.post_questions_in_batches = True
    return processor


def qid_of(ticket_number: int) -> bytes:
    return question_id(1, short_string("generic"), str(ticket_number))


def test_tickets_are_posted_in_one_batch_sealed_by_age_with_a_public_manifest(
    batched: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    store(database, ticket(1), ticket(2, ("urgent", "staking")))
    batched.step()
    assert outbox(database) == []  # collecting: the batch is not old enough yet
    clock.now += 3
    assert batched.step() == 1
    [row] = outbox(database)
    name, args = decode(dev_ledger_session, row)
    assert row.kind == "post_question_batch" and name == "postQuestionBatch"
    assert (args["brandId"], args["size"], args["totalBounty"]) == (1, 2, 5 * TOKEN + 50 * TOKEN)
    assert args["deadline"] == int(clock.now) + 86_400  # the answer window starts when the batch is sealed
    with database.read() as session:
        batch = session.scalars(select(QuestionBatch)).one()
        questions = session.scalars(select(Question).order_by(Question.leaf_index)).all()
    assert args["manifestDigest"] == digest_from_cid(batch.manifest_cid)
    manifest = QuestionManifest.from_bytes(batched.public_store.get(batch.manifest_cid))
    assert manifest.tree().root == args["batchRoot"] == bytes.fromhex(batch.root[2:])
    assert [leaf.question_id for leaf in manifest.leaves] == [qid_of(1), qid_of(2)]
    assert [(leaf.ticket_id, leaf.topic, leaf.bounty) for leaf in manifest.leaves] == [
        ("1", short_string("wallets"), 5 * TOKEN),
        ("2", short_string("staking"), 50 * TOKEN),
    ]
    assert [(q.batch_id, q.leaf_index, q.deadline, q.outbox_id) for q in questions] == [
        (batch.id, 0, args["deadline"], None),
        (batch.id, 1, args["deadline"], None),
    ]
    assert [leaf.content_digest for leaf in manifest.leaves] == [digest_from_cid(q.content_cid) for q in questions]


def test_a_full_question_batch_is_sealed_at_once_and_the_rest_waits(
    batched: Processor, database: Database, dev_ledger_session: DevLedger
) -> None:
    store(database, *[ticket(n) for n in range(1, 6)])
    batched.step()
    [row] = outbox(database)
    assert decode(dev_ledger_session, row)[1]["size"] == 4
    with database.read() as session:
        waiting = session.scalars(select(Question).where(Question.batch_id.is_(None))).all()
        batched_ids = session.scalars(select(Question.question_id).where(Question.batch_id.is_not(None))).all()
    # Oldest first; these five were made in the same millisecond, so by id.
    assert len(waiting) == 1 and all(waiting[0].question_id > other for other in batched_ids)


def test_an_answer_batch_is_queued_after_its_questions_batch(
    batched: Processor, database: Database, dev_ledger_session: DevLedger
) -> None:
    """The index counts an answer only to a question posted before it: sealing answers seals the
    brand's collecting questions first, whatever their age."""
    store(database, ticket(1), *[comment(1, c, f"adv-{c}", ADVOCATE.address) for c in range(4)])
    batched.step()
    assert [r.kind for r in outbox(database)] == ["post_question_batch", "anchor_batch"]


def test_a_solve_proves_both_its_question_and_its_answer(
    batched: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    batched.accept_in_batches = False  # one acceptance, one call
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    batched.step()
    settle(batched, clock)
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question_batch", "anchor_batch", "accept"]
    _, posted = decode(dev_ledger_session, rows[0])
    _, anchor = decode(dev_ledger_session, rows[1])
    name, accept = decode(dev_ledger_session, rows[2])
    assert name == "acceptBatchedAnswer"
    question, answer = accept["question"], accept["answer"]
    assert (question["brandId"], question["batchRoot"], question["index"]) == (1, posted["batchRoot"], 0)
    value = (question["questionId"], question["index"], question["topic"], question["bounty"])
    assert verify(posted["batchRoot"], QUESTION_LEAF_ENCODING, (*value, question["contentDigest"]), question["proof"])
    assert answer["batchRoot"] == anchor["batchRoot"] and answer["questionId"] == qid_of(1)
    leaf = (answer["questionId"], answer["advocate"], answer["contentDigest"])
    assert verify(answer["batchRoot"], ANSWER_LEAF_ENCODING, leaf, answer["proof"])


def test_batched_questions_are_accepted_together_paid_on_chain_and_indexed(
    batched: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    """Two solves, one `acceptBatchedAnswers`: each question proven in its batch and paid; the
    third question's bounty stays in the batch's escrow, and the index says which is which."""
    store(database, ticket(1), ticket(2), ticket(3))
    store(database, comment(1, 1, "adv", ADVOCATE.address), comment(2, 1, "adv2", ADVOCATE_2.address))
    store(database, solved(1, "c1"), solved(2, "c1"))
    batched.step()
    settle(batched, clock)  # the answers' batch, then the solves
    settle(batched, clock)  # the acceptances' call

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 3)

    assert [(r.kind, r.status) for r in rows] == [
        ("post_question_batch", OutboxStatus.MINED),
        ("anchor_batch", OutboxStatus.MINED),
        ("accept_batch", OutboxStatus.MINED),
    ]
    name, call = decode(dev_ledger, rows[2])
    assert name == "acceptBatchedAnswers"
    assert sorted(item["question"]["questionId"] for item in call["acceptances"]) == sorted([qid_of(1), qid_of(2)])
    assert (earned(dev_ledger, ADVOCATE.address), earned(dev_ledger, ADVOCATE_2.address)) == (5 * TOKEN, 5 * TOKEN)
    with database.read() as session:
        batch = session.scalars(select(QuestionBatch)).one()
        states = [ix.question_status(session, hexed(qid_of(n))) for n in (1, 2, 3)]
    escrowed, _, size, released = dev_ledger.ledger.functions.questionBatch(1, batch.root).call()
    assert (escrowed, size, released) == (5 * TOKEN, 3, False)  # the open question's bounty
    assert [(s.status, s.accepted_advocate) for s in states] == [
        ("accepted", ADVOCATE.address),
        ("accepted", ADVOCATE_2.address),
        ("open", None),
    ]
    assert states[2].deadline == batch.deadline


def test_an_acceptance_call_that_failed_is_split_into_single_acceptances(
    batched: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    """The call is all or nothing on chain: once it failed for good, each of its acceptances is
    queued on its own (once), so the ones the ledger takes are paid whatever happened to another."""
    store(database, ticket(1), ticket(2))
    store(database, comment(1, 1, "adv", ADVOCATE.address), comment(2, 1, "adv2", ADVOCATE_2.address))
    store(database, solved(1, "c1"), solved(2, "c1"))
    batched.step()
    settle(batched, clock)
    chain_loop(settled)
    set_oracle(dev_ledger, False)  # the call will revert NotBrandOracle, on chain
    settle(batched, clock)
    failed = chain_loop(lambda rows: settled(rows) and len(rows) == 3)
    assert (failed[2].kind, failed[2].status) == ("accept_batch", OutboxStatus.FAILED)
    assert (failed[2].error or "").startswith("NotBrandOracle")
    set_oracle(dev_ledger, True)

    batched.step()

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 5)
    assert [(r.kind, r.status) for r in rows[3:]] == [("accept", OutboxStatus.MINED)] * 2
    assert {r.dedupe_key for r in rows[3:]} == {f"retry-of:{failed[2].id}:{hexed(qid_of(n))}" for n in (1, 2)}
    assert (earned(dev_ledger, ADVOCATE.address), earned(dev_ledger, ADVOCATE_2.address)) == (5 * TOKEN, 5 * TOKEN)
    assert batched.step() == 0  # split once: nothing more to queue
    assert len(outbox(database)) == 5


def test_a_relayed_signed_answer_opens_its_batched_question_first(
    batched: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    """`submitAnswerWithSig` needs a stored question: the oracle opens the batched one, once, ahead
    of the relay, and then accepts it as a stored question."""
    batched.relay_signed_answers = True
    store(database, ticket(1), _signed_comment(batched, dev_ledger, ADVOCATE, ADVOCATE), solved(1, "c1"))
    batched.step()

    rows = chain_loop(lambda rows: settled(rows) and len(rows) == 4)

    assert [(r.kind, r.status) for r in rows] == [
        ("post_question_batch", OutboxStatus.MINED),
        ("open_question", OutboxStatus.MINED),
        ("relay_answer", OutboxStatus.MINED),
        ("accept", OutboxStatus.MINED),
    ]
    assert rows[1].dedupe_key == f"open:{hexed(qid_of(1))}"
    assert decode(dev_ledger, rows[3])[0] == "acceptAnswer"
    assert earned(dev_ledger, ADVOCATE.address) == 5 * TOKEN
    with database.read() as session:
        assert session.get(Question, hexed(qid_of(1))).opened_outbox_id == rows[1].id  # type: ignore[union-attr]


def test_a_direct_rating_opens_its_batched_question_once(
    batched: Processor, database: Database, dev_ledger: DevLedger, chain_loop: Any, clock: Clock
) -> None:
    batched.rate_in_batches = False
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), comment(1, 2, "adv2", ADVOCATE_2.address))
    store(database, rated_by(4, 1, "customer-1"), rated_by(5, 1, "customer-2"))
    batched.step()

    rows = chain_loop(lambda rows: settled(rows) and len(indexed_raters(database)) == 2)

    kinds = ["post_question_batch", "open_question", "anchor_batch", "rate", "rate"]  # opened by the first rating
    assert [r.kind for r in rows] == kinds
    assert {r.status for r in rows} == {OutboxStatus.MINED}


def test_an_expired_batch_with_unsettled_questions_is_released_once(
    batched: Processor, database: Database, dev_ledger_session: DevLedger, clock: Clock
) -> None:
    store(database, ticket(1), ticket(2), comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    batched.step()
    settle(batched, clock)
    with database.read() as session:
        batch = session.scalars(select(QuestionBatch)).one()
    clock.now = batch.deadline + 30
    batched.step()
    assert [r.kind for r in outbox(database)] == ["post_question_batch", "anchor_batch", "accept_batch"]  # not yet
    clock.now = batch.deadline + 61
    batched.step()
    batched.step()
    rows = outbox(database)
    assert [r.kind for r in rows] == ["post_question_batch", "anchor_batch", "accept_batch", "release_question_batch"]
    name, args = decode(dev_ledger_session, rows[3])
    assert name == "releaseQuestionBatch" and (args["brandId"], args["batchRoot"]) == (1, bytes.fromhex(batch.root[2:]))


def test_an_expired_batch_whose_questions_were_all_accepted_is_not_released(
    batched: Processor, database: Database, clock: Clock
) -> None:
    store(database, ticket(1), comment(1, 1, "adv", ADVOCATE.address), solved(1, "c1"))
    batched.step()
    settle(batched, clock)
    with database.read() as session:
        batch = session.scalars(select(QuestionBatch)).one()
    clock.now = batch.deadline + 3600
    batched.step()
    assert [r.kind for r in outbox(database)] == ["post_question_batch", "anchor_batch", "accept_batch"]

"""A question is accepted at most once, and the database enforces it: an acceptance sent on its own
has the outbox's unique `dedupe_key` "accept:<question id>", one collected into an
`acceptBatchedAnswers` call (the default for batched questions) has the `acceptances` table's
primary key, the question id; the processor writes either with insert-or-ignore. Two processors
that both pass the `accepted_answer_id` check (each in its own transaction, on two oracle
processes) still write one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from peercare.api.intake import event_row
from peercare.chain.devnet import dev_account
from peercare.content.vault import Vault
from peercare.core.ledger_ids import question_id, short_string
from peercare.db.database import Database, alembic_config
from peercare.db.tables.oracle import Answer, OutboxTx, PendingAcceptance, Question, WebhookEvent
from peercare.oracle.brands import configure_brand
from peercare.oracle.events import event_from_json
from peercare.oracle.processor import Processor
from tests.support.devchain import DevLedger

ADVOCATE = dev_account(5)
QUESTION_1 = "0x" + question_id(1, short_string("generic"), "1").hex()


@pytest.fixture
def processor(database: Database, tmp_path: Path, dev_ledger_session: DevLedger) -> Iterator[Processor]:
    with database.transaction() as session:
        configure_brand(session, 1, "Acme", default_bounty=10**18, answer_window_s=86400)
    vault = Vault.open(tmp_path / "content")
    # Batches sealed at the end of every step (no age to wait for): a solve goes out in its step.
    # One call per acceptance (the outbox key's guard); `collecting` below, the default.
    yield Processor(
        database,
        vault,
        vault.stores[0],
        dev_ledger_session.deployment,
        batch_size=4,
        batch_max_age_s=0.0,
        accept_in_batches=False,
    )
    vault.close()


@pytest.fixture
def collecting(processor: Processor) -> Processor:
    """The processor as the oracle runs it: acceptances collected into calls."""
    processor.accept_in_batches = True
    return processor


def deliver(database: Database, *events: dict[str, Any]) -> None:
    with database.transaction() as session:
        for event in events:
            session.add(WebhookEvent(**event_row(1, "generic", event_from_json(event))))


def answered_ticket() -> list[dict[str, Any]]:
    at = "2026-11-01T12:00:00+00:00"
    return [
        {
            "kind": "ticket_created",
            "event_key": "t1",
            "ticket_id": "1",
            "occurred_at": at,
            "subject": "Help",
            "body": "My wallet does not sync.",
            "tags": [],
            "requester_id": "customer-1",
        },
        {
            "kind": "comment_added",
            "event_key": "t1c1",
            "ticket_id": "1",
            "occurred_at": at,
            "comment_id": "c1",
            "author_id": "adv",
            "author_wallet": ADVOCATE.address,
            "body": "Resync.",
            "public": True,
        },
    ]


def solved(event_key: str) -> dict[str, Any]:
    at = "2026-11-01T12:00:00+00:00"
    return {"kind": "ticket_solved", "event_key": event_key, "ticket_id": "1", "occurred_at": at}


def accept_rows(database: Database) -> list[OutboxTx]:
    with database.read() as session:
        return list(session.scalars(select(OutboxTx).where(OutboxTx.kind == "accept")))


def an_acceptance(key: str) -> OutboxTx:
    return OutboxTx(
        kind="accept", brand_id=1, to="0x" + "11" * 20, data="0x", gas_limit=1, created_at_ms=0, dedupe_key=key
    )


def test_the_database_refuses_a_second_acceptance_of_one_question(database: Database) -> None:
    with database.transaction() as session:
        configure_brand(session, 1, "Acme", answer_window_s=60)
        session.add(an_acceptance(f"accept:{QUESTION_1}"))
        session.add(OutboxTx(kind="rate", brand_id=1, to="0x" + "11" * 20, data="0x", gas_limit=1, created_at_ms=0))
        session.add(OutboxTx(kind="rate", brand_id=1, to="0x" + "11" * 20, data="0x", gas_limit=1, created_at_ms=0))
    with pytest.raises(IntegrityError), database.transaction() as session:
        session.add(an_acceptance(f"accept:{QUESTION_1}"))


def test_a_solve_whose_acceptance_another_processor_queued_queues_no_second_one(
    processor: Processor, database: Database
) -> None:
    deliver(database, *answered_ticket())
    processor.step()
    # Another oracle process accepted the question in a transaction this processor's view of the
    # question does not show yet: its `accepted_answer_id` is still empty here.
    with database.transaction() as session:
        session.add(an_acceptance(f"accept:{QUESTION_1}"))
    deliver(database, solved("t1solved"))
    processor.step()
    assert len(accept_rows(database)) == 1
    with database.read() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.event_key == "t1solved")).one()
        question = session.get(Question, QUESTION_1)
    assert (event.status, event.error) == ("done", "the question's acceptance was queued before")
    assert question is not None and question.accepted_answer_id is None


def test_the_processor_keys_its_acceptance_by_question_and_a_second_solve_adds_nothing(
    processor: Processor, database: Database
) -> None:
    deliver(database, *answered_ticket(), solved("t1solved"))
    processor.step()
    deliver(database, solved("t1solved-again"))
    processor.step()
    assert [row.dedupe_key for row in accept_rows(database)] == [f"accept:{QUESTION_1}"]


def test_migrating_keys_the_acceptances_queued_before_the_guard_existed(
    processor: Processor, database: Database
) -> None:
    processor.post_questions_in_batches = False  # a database before 0007 holds no question batches
    deliver(database, *answered_ticket(), solved("t1solved"))
    processor.step()
    config = alembic_config(database.engine)
    command.downgrade(config, "0002")
    command.upgrade(config, "head")
    assert [row.dedupe_key for row in accept_rows(database)] == [f"accept:{QUESTION_1}"]


def test_a_solve_whose_acceptance_another_processor_collected_records_no_second_one(
    collecting: Processor, database: Database
) -> None:
    deliver(database, *answered_ticket())
    collecting.step()
    with database.read() as session:
        answer = session.scalars(select(Answer)).one()
    # Another oracle process recorded the question's acceptance, unseen here.
    with database.transaction() as session:
        session.add(PendingAcceptance(question_id=QUESTION_1, answer_id=answer.answer_id, brand_id=1, created_at_ms=0))
    deliver(database, solved("t1solved"))
    collecting.step()
    with database.read() as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.event_key == "t1solved")).one()
        question = session.get(Question, QUESTION_1)
        pending = session.scalars(select(PendingAcceptance)).all()
    assert (event.status, event.error) == ("done", "the question's acceptance was queued before")
    assert question is not None and question.accepted_answer_id is None
    assert len(pending) == 1


def test_collected_acceptances_are_keyed_by_question_and_a_second_solve_adds_nothing(
    collecting: Processor, database: Database
) -> None:
    deliver(database, *answered_ticket(), solved("t1solved"))
    collecting.step()
    deliver(database, solved("t1solved-again"))
    collecting.step()
    with database.read() as session:
        pending = session.scalars(select(PendingAcceptance)).all()
        calls = session.scalars(select(OutboxTx).where(OutboxTx.kind == "accept_batch")).all()
    assert [row.question_id for row in pending] == [QUESTION_1]
    assert len(calls) == 1 and pending[0].outbox_id == calls[0].id
    assert accept_rows(database) == []

"""The reputation history read from the index (`ledger_history`) leaves out the events of a batched
question whose batch's manifest is unreadable (its topic unknown), instead of refusing every epoch:
anyone may register a brand, post a batch without its manifest and accept answers to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peercare.db.database import Database, sqlite_url
from peercare.db.tables import projections as ix
from peercare.reputation.publication import PublicationError, ledger_history
from tests.support.databases import migrated

ADVOCATE = "0x" + "ab" * 20
TOKEN = "0x" + "cd" * 20
SETTLED, NEVER_POSTED = "0x" + "44" * 32, "0x" + "66" * 32


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with migrated(sqlite_url(tmp_path / "index.sqlite3")) as db:
        yield db


def accepted(question: str, tx: str) -> list[Any]:
    """An acceptance of `question` and its payout, in transaction `tx`."""
    at: dict[str, Any] = {"block_number": 5, "block_hash": "0x" + "11" * 32, "block_time": 100, "tx_hash": tx}
    return [
        ix.Acceptance(**at, log_index=1, question_id=question, answer_id="0x" + "33" * 32, advocate=ADVOCATE, bounty=9),
        ix.RewardCredit(**at, log_index=2, account=ADVOCATE, token=TOKEN, question_id=question, amount=9),
        ix.BatchedQuestionSettled(
            **at,
            log_index=0,
            question_id=question,
            brand_id=7,
            batch_root="0x" + "55" * 32,
            leaf_index=0,
            how="accepted",
        ),
    ]


def test_a_batched_question_with_an_unreadable_manifest_is_left_out_not_refused(database: Database) -> None:
    with database.transaction() as session:
        session.add_all(accepted(SETTLED, "0x" + "22" * 32))
    with database.read() as session:
        history = ledger_history(session, cut=200)
    assert not history.acceptances and not history.payouts


def test_a_question_never_posted_nor_settled_still_refuses_the_epoch(database: Database) -> None:
    with database.transaction() as session:  # an index that started after the posting
        session.add_all(accepted(NEVER_POSTED, "0x" + "77" * 32)[:2])
    with database.read() as session, pytest.raises(PublicationError, match="QuestionPosted is not indexed"):
        ledger_history(session, cut=200)

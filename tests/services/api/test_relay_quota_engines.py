"""The relayed-answer quota holds under concurrency on SQLite and PostgreSQL: submissions that race
for a wallet's last relayed answer store exactly one (`relay.check_relay_quota` with `lock`, as
`POST /advocates/{address}/answers` calls it in the transaction that stores the answer).

The API suite's world runs on SQLite, whose write transactions are serialised; here each test
runs on both engines (conftest's `database`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from peercare.api.limits import TooManyRequests
from peercare.api.relay import API_ANSWER_PREFIX, check_relay_quota
from peercare.config import Settings
from peercare.db.database import Database
from peercare.db.tables.oracle import Answer, OutboxTx, Question
from peercare.oracle.brands import configure_brand

WALLET = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
QUESTION = "0x" + "ab" * 32
CONTENDERS = 6


def _outbox(kind: str) -> OutboxTx:
    return OutboxTx(kind=kind, brand_id=1, to=WALLET, data="0x", gas_limit=1, created_at_ms=0)


def _open_a_question(database: Database) -> None:
    with database.transaction() as session:
        configure_brand(session, 1, "Acme")
        post = _outbox("post_question")
        session.add(post)
        session.flush()
        session.add(
            Question(
                question_id=QUESTION,
                brand_id=1,
                source="generic",
                ticket_id="T-1",
                topic="general",
                bounty=0,
                deadline=2**40,
                content_cid="b" + "a" * 58,
                requester_id="c",
                outbox_id=post.id,
            )
        )


def _relay(database: Database, settings: Settings, n: int, hold_s: float = 0.0) -> bool:
    """Store answer `n` of `WALLET` as the submit route does, quota first; whether it was stored."""
    now = int(time.time() * 1000)
    try:
        with database.transaction() as session:
            check_relay_quota(session, settings, WALLET, 1, now, lock=True)
            time.sleep(hold_s)  # the route reads the chain's nonce and builds the call meanwhile
            outbox = _outbox("relay_answer")
            session.add(outbox)
            session.flush()
            answer_id = "0x" + f"{n:064x}"
            session.add(
                Answer(
                    answer_id=answer_id,
                    question_id=QUESTION,
                    brand_id=1,
                    comment_id=f"{API_ANSWER_PREFIX}{answer_id}",
                    advocate=WALLET,
                    author_kind="advocate",
                    content_cid="b" + "a" * 58,
                    content_digest="0x" + "00" * 32,
                    created_at_ms=now,
                    outbox_id=outbox.id,
                )
            )
    except TooManyRequests:
        return False
    return True


def _answers(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Answer)) or 0


def test_concurrent_submissions_for_a_wallets_last_relayed_answer_store_exactly_one(database: Database) -> None:
    _open_a_question(database)
    settings = Settings(relay_quota_per_wallet_hour=2)
    assert _relay(database, settings, 0)
    start = threading.Barrier(CONTENDERS)

    def contend(n: int) -> bool:
        start.wait(timeout=30)
        return _relay(database, settings, n, hold_s=0.2)

    with ThreadPoolExecutor(CONTENDERS) as pool:
        outcomes = list(pool.map(contend, range(1, CONTENDERS + 1)))

    assert sorted(outcomes) == [False] * (CONTENDERS - 1) + [True]
    assert _answers(database) == 2


def test_the_quota_names_when_the_oldest_counted_answer_leaves_the_window(database: Database) -> None:
    _open_a_question(database)
    settings = Settings(relay_quota_per_wallet_hour=1)
    assert _relay(database, settings, 0)
    with database.read() as session:
        stored_at = session.scalar(select(Answer.created_at_ms))
    assert stored_at is not None
    with database.read() as session, pytest.raises(TooManyRequests) as refused:
        check_relay_quota(session, settings, WALLET, 1, stored_at + 1000)
    assert refused.value.extra["quota"] == "per_wallet_hour" and refused.value.extra["used"] == 1
    assert refused.value.retry_after == 3599  # an hour after the answer, a second after it was stored
    # An hour later the wallet may relay again.
    with database.read() as session:
        check_relay_quota(session, settings, WALLET, 1, stored_at + 3600 * 1000)

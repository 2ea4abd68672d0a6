"""One nonce signs in once, on SQLite and on PostgreSQL: concurrent sign-ins that present the same
nonce race to consume it (`routes.auth.consume_nonce`), and exactly one wins.

The API suite's world runs on SQLite, whose write transactions are serialised; the race that
matters is PostgreSQL's, where several transactions run at once. So the consumption is tested here
on both engines (conftest's `database`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from peercare.api.routes.auth import consume_nonce
from peercare.db.database import Database
from peercare.db.tables.api import SiweNonce

CONTENDERS = 8


def _hand_out(database: Database, nonce: str, expires_at_ms: int) -> None:
    with database.transaction() as session:
        session.add(SiweNonce(nonce=nonce, expires_at_ms=expires_at_ms))


def _left(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(SiweNonce)) or 0


def test_concurrent_sign_ins_with_one_nonce_consume_it_exactly_once(database: Database) -> None:
    now = int(time.time() * 1000)
    _hand_out(database, "concurrent0nonce", now + 600_000)
    start = threading.Barrier(CONTENDERS)

    def sign_in() -> bool:
        start.wait(timeout=30)
        with database.transaction() as session:
            won = consume_nonce(session, "concurrent0nonce", now)
            # Hold the transaction open a moment, as the route does while it creates the session:
            # every contender has read or tried to delete the nonce before the first commits.
            time.sleep(0.2)
        return won

    with ThreadPoolExecutor(CONTENDERS) as pool:
        outcomes = list(pool.map(lambda _: sign_in(), range(CONTENDERS)))

    assert sorted(outcomes) == [False] * (CONTENDERS - 1) + [True]
    assert _left(database) == 0


def test_an_expired_or_unknown_nonce_is_not_consumed_and_an_expired_one_stays(database: Database) -> None:
    now = int(time.time() * 1000)
    _hand_out(database, "expired00nonce", now - 1)
    with database.transaction() as session:
        assert consume_nonce(session, "expired00nonce", now) is False
        assert consume_nonce(session, "neverhandedout", now) is False
    assert _left(database) == 1  # swept by the next POST /auth/nonce, never accepted


def test_a_consumed_nonce_is_gone_for_the_next_sign_in(database: Database) -> None:
    now = int(time.time() * 1000)
    _hand_out(database, "sequential0nonce", now + 600_000)
    with database.transaction() as session:
        assert consume_nonce(session, "sequential0nonce", now) is True
    with database.transaction() as session:
        assert consume_nonce(session, "sequential0nonce", now) is False
    assert _left(database) == 0

"""Ratings anchored in batches give the same reputation, bit for bit, as the same ratings sent one
`rateAnswer` each: the index holds the same rating rows (only where they came from differs), so
the history, its digest, the scores and the epoch's root are equal."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from peercare.core.enums import RaterKind
from peercare.core.ledger_ids import short_string
from peercare.db.database import Database, sqlite_url
from peercare.db.tables import projections as ix
from peercare.reputation.epoch import build_epoch
from peercare.reputation.publication import history_from_projections
from peercare.reputation.scope import BrandScope, Scope

BRAND, CUT = 1, 2_000_000
TOPIC = "0x" + short_string("general").hex()


def h(label: str, n: int) -> str:
    return "0x" + f"{label}{n}".encode().hex().ljust(64, "0")


def address(n: int) -> str:
    return "0x" + f"{n:040x}"


def at(block: int, tx: str, log: int) -> dict[str, Any]:
    return {
        "block_number": block,
        "block_hash": h("b", block),
        "block_time": 1_000_000 + block,
        "tx_hash": tx,
        "log_index": log,
    }


def history_rows(rng: random.Random) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    """Questions, answers and acceptances (as rows), and ratings as (block, rating fields)."""
    rows: list[dict[str, Any]] = []
    for q in range(12):
        rows.append(
            {
                "table": ix.QuestionPosted,
                **at(1, h("tq", q), 0),
                "question_id": h("q", q),
                "brand_id": BRAND,
                "topic": TOPIC,
                "source": TOPIC,
                "ticket_id": str(q),
                "bounty": 10,
                "deadline": 9_999_999,
                "content_digest": h("c", q),
            }
        )
        for a in range(3):
            rows.append(
                {
                    "table": ix.AnswerRow,
                    **at(2, h("ta", q * 3 + a), 0),
                    "answer_id": h(f"a{q}-", a),
                    "question_id": h("q", q),
                    "advocate": address(a + 1),
                    "content_digest": h(f"d{q}-", a),
                    "batch_root": None,
                    "leaf_index": 0,
                }
            )
        if q % 2 == 0:
            rows.append(
                {
                    "table": ix.Acceptance,
                    **at(3, h("tc", q), 0),
                    "question_id": h("q", q),
                    "answer_id": h(f"a{q}-", 0),
                    "advocate": address(1),
                    "bounty": 10,
                }
            )
            rows.append(
                {
                    "table": ix.RewardCredit,
                    **at(3, h("tc", q), 1),
                    "account": address(1),
                    "token": address(99),
                    "question_id": h("q", q),
                    "amount": 10,
                }
            )
    ratings = []
    for n in range(60):
        q, a = rng.randrange(12), rng.randrange(3)
        ratings.append(
            (
                4 + n // 20,
                {
                    "answer_id": h(f"a{q}-", a),
                    "question_id": h("q", q),
                    "advocate": address(a + 1),
                    "rating": rng.randint(1, 5),
                    "rater_kind": RaterKind.CUSTOMER.label,
                    "rater_id": h("r", n),
                },
            )
        )
    return rows, ratings


def indexed(path: Path, rows: list[dict[str, Any]], ratings: list[dict[str, Any]]) -> Database:
    database = Database(sqlite_url(path))
    database.migrate()
    with database.transaction() as session:
        for row in rows:
            fields = dict(row)
            session.add(fields.pop("table")(**fields))
        for fields in ratings:
            session.add(ix.AnswerRated(**fields))
    return database


def test_batched_ratings_give_the_same_epoch_as_direct_ones_bit_for_bit(tmp_path: Path) -> None:
    rows, ratings = history_rows(random.Random(7))
    # One `rateAnswer` per rating: its own transaction and log.
    direct = [
        at(block, h("tr", n), 0) | fields | {"batch_root": None, "leaf_index": 0}
        for n, (block, fields) in enumerate(ratings)
    ]
    # The same ratings in one rating batch per block: one log, a leaf each.
    batched = []
    for n, (block, fields) in enumerate(ratings):
        leaf = sum(1 for b, _ in ratings[:n] if b == block)
        batched.append(at(block, h("tb", block), 0) | fields | {"batch_root": h("root", block), "leaf_index": leaf})
    scope = Scope.of([BrandScope.of(BRAND, ["general"], [])])
    epochs = []
    for name, rated in (("direct", direct), ("batched", batched)):
        database = indexed(tmp_path / f"{name}.sqlite3", rows, rated)
        with database.read() as session:
            history = history_from_projections(session, cut=CUT, scope=scope)
        epochs.append(build_epoch(history, 1, None, scope))
        database.engine.dispose()

    assert len(epochs[0].tree.values) > 0
    assert epochs[0].root == epochs[1].root
    assert epochs[0].manifest_bytes() == epochs[1].manifest_bytes()

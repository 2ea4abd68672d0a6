"""GET /brands/{id}/export: a brand's whole history from the projections, as JSON or one CSV table."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import func, select

from peercare.api.exports import CSV_COLUMNS, KINDS, history_csv
from peercare.db.tables import projections as ix
from peercare.oracle.posted_questions import question_as_ledger_holds_it
from tests.support.world import World


def export(world: World, brand_id: int, fmt: str = "json", token: str | None = None) -> Any:
    response = world.client.get(
        f"/api/v1/brands/{brand_id}/export",
        params={"format": fmt},
        headers=world.bearer(token or world.brand_keys[brand_id]),
    )
    assert response.status_code == 200, response.text
    return response


def projection_counts(world: World, brand_id: int) -> dict[str, int]:
    """Rows per kind for the brand, counted straight from the projection tables."""
    brand_questions = select(ix.QuestionPosted.question_id).where(ix.QuestionPosted.brand_id == brand_id)
    by_brand: dict[str, Any] = {
        "questions": ix.QuestionPosted,
        "batches": ix.BatchAnchored,
        "pool_movements": ix.PoolMovement,
        "question_expiries": ix.QuestionExpiry,
    }
    by_question: dict[str, Any] = {
        "answers": ix.AnswerRow,
        "ratings": ix.AnswerRated,
        "acceptances": ix.Acceptance,
        "reward_credits": ix.RewardCredit,
    }
    with world.oracle.database.read() as session:
        counts = {
            name: session.scalar(select(func.count()).select_from(table).where(table.brand_id == brand_id)) or 0
            for name, table in by_brand.items()
        }
        counts |= {
            name: session.scalar(select(func.count()).select_from(table).where(table.question_id.in_(brand_questions)))
            or 0
            for name, table in by_question.items()
        }
    return counts


def as_csv_rows(history: dict[str, Any]) -> list[dict[str, str]]:
    """The JSON export as the CSV export must read: one row per event, every column a string."""
    rows = []
    for kind in KINDS:
        for event in history[kind.plural]:
            row = dict.fromkeys(CSV_COLUMNS, "")
            row["kind"] = kind.name
            row |= {key: "" if value is None else str(value) for key, value in event.items()}
            rows.append(row)
    return rows


@pytest.mark.parametrize("which", ["brand 1", "brand 2"])
def test_the_json_export_holds_every_projected_event_of_the_brand(world: World, which: str) -> None:
    brand_id = world.dev.brand_id if which == "brand 1" else world.brand2_id
    world.drain()
    history = export(world, brand_id).json()
    counts = projection_counts(world, brand_id)
    assert {name: len(history[name]) for name in counts} == counts
    assert counts["questions"] >= 2 and counts["answers"] >= 4 and counts["reward_credits"] > 0
    with world.oracle.database.read() as session:
        cursor = session.get(ix.IndexerCursor, 1)
    assert cursor is not None and history["indexed_block"] == cursor.block_number
    assert history["brand_id"] == brand_id and history["chain_id"] == world.dev.deployment.chain_id
    assert history["contracts"] == {name: c.address for name, c in world.dev.deployment.contracts.items()}


def test_the_exported_questions_are_the_ones_the_ledger_holds_for_the_brand(world: World) -> None:
    brand_id = world.dev.brand_id
    history = export(world, brand_id).json()
    for question in history["questions"]:
        qid = bytes.fromhex(question["question_id"][2:])
        on_chain = question_as_ledger_holds_it(world.dev.ledger, world.public_store, qid)
        assert on_chain[0] == brand_id and on_chain[1] == question["deadline"]  # brandId, deadline
        assert str(on_chain[3]) == question["bounty"]
        receipt = world.dev.w3.eth.get_transaction_receipt(question["tx_hash"])
        assert receipt["blockNumber"] == question["block_number"]
    paid = sum(int(m["amount"]) for m in history["pool_movements"] if m["movement"] == "payout")
    accepted = sum(int(a["bounty"]) for a in history["acceptances"])
    assert paid == accepted > 0


def test_the_csv_export_has_the_same_rows_as_the_json_export(world: World) -> None:
    brand_id = world.dev.brand_id
    world.drain()
    history = export(world, brand_id).json()
    response = export(world, brand_id, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f"attachment; filename=brand-{brand_id}-history.csv"
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == CSV_COLUMNS
    rows = list(reader)
    assert rows == as_csv_rows(history)
    assert {row["kind"] for row in rows} >= {"question", "answer", "batch", "rating", "acceptance", "reward_credit"}


def test_the_csv_read_in_small_pages_is_the_csv_read_at_once(world: World) -> None:
    brand_id = world.dev.brand_id
    world.drain()
    whole = export(world, brand_id, "csv").text
    with world.oracle.database.read() as session:
        cursor = session.get(ix.IndexerCursor, 1)
    assert cursor is not None
    chunks = list(history_csv(world.oracle.database, brand_id, cursor.block_number, page=2))
    assert len(chunks) > 10
    assert "".join(chunks) == whole


def test_every_csv_column_is_documented_in_the_openapi_description(world: World) -> None:
    operation = world.client.get("/openapi.json").json()["paths"]["/api/v1/brands/{brand_id}/export"]["get"]
    for column in CSV_COLUMNS:
        assert f"`{column}`" in operation["description"], column
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}


def test_the_brand_scoped_auditor_exports_its_brand_only(world: World) -> None:
    brand2 = export(world, world.brand2_id, token=world.auditor_key_brand2).json()
    assert brand2["brand_id"] == world.brand2_id
    response = world.client.get(
        f"/api/v1/brands/{world.dev.brand_id}/export", headers=world.bearer(world.auditor_key_brand2)
    )
    assert response.status_code == 403, response.text


def test_an_all_brands_auditor_exports_any_brand(world: World) -> None:
    for brand_id in (world.dev.brand_id, world.brand2_id):
        assert export(world, brand_id, "csv", token=world.auditor_key).text.startswith("kind,")


def test_a_brand_cannot_export_another_brands_history(world: World) -> None:
    for fmt in ("json", "csv"):
        response = world.client.get(
            f"/api/v1/brands/{world.brand2_id}/export",
            params={"format": fmt},
            headers=world.bearer(world.brand_keys[world.dev.brand_id]),
        )
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_advocates_and_anonymous_callers_cannot_export(world: World) -> None:
    path = f"/api/v1/brands/{world.dev.brand_id}/export"
    advocate_token = next(iter(world.advocate_tokens.values()))
    assert world.client.get(path, headers=world.bearer(advocate_token)).status_code == 403
    assert world.client.get(path).status_code == 401


@pytest.mark.parametrize("brand_id", [999, 2**63 - 1])
def test_exporting_an_unregistered_brand_is_not_found(world: World, brand_id: int) -> None:
    response = world.client.get(f"/api/v1/brands/{brand_id}/export", headers=world.bearer(world.auditor_key))
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("brand_id", [2**63, 2**64 - 1])
def test_a_brand_id_beyond_what_the_databases_hold_is_refused_as_invalid(world: World, brand_id: int) -> None:
    response = world.client.get(f"/api/v1/brands/{brand_id}/export", headers=world.bearer(world.auditor_key))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(("brand", "params"), [("0", {}), ("x", {}), ("1", {"format": "xml"})])
def test_a_malformed_export_request_is_refused(world: World, brand: str, params: dict[str, str]) -> None:
    response = world.client.get(
        f"/api/v1/brands/{brand}/export", params=params, headers=world.bearer(world.auditor_key)
    )
    assert response.status_code == 422, response.text

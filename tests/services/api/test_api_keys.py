"""API keys: created by `peercare api key create`, shown once, stored hashed, revocable; a bad or
revoked key is refused with 401 saying why."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from peercare.cli import main
from peercare.db.tables.api import ApiKey
from tests.support.world import World


def _brand_pool(world: World, key: str, brand_id: int = 1) -> int:
    return world.client.get(f"/api/v1/brands/{brand_id}/pool", headers=world.bearer(key)).status_code


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PEERCARE_DATA_DIR", str(world.oracle.settings.data_dir))
    return CliRunner()


def test_a_key_created_on_the_command_line_works_and_only_its_digest_is_stored(world: World, cli: CliRunner) -> None:
    result = cli.invoke(main, ["api", "key", "create", "--brand", "1", "--label", "ops team"])
    assert result.exit_code == 0, result.output
    token = result.output.split(": ", 1)[1].split()[0]
    assert token.startswith("pc_")
    assert _brand_pool(world, token) == 200
    prefix, secret = token[3:].split("_", 1)
    with world.oracle.database.read() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in Path(world.oracle.settings.data_dir / "oracle.sqlite3").read_bytes().decode("latin-1")


def test_a_revoked_key_is_refused_at_once(world: World, cli: CliRunner) -> None:
    token = cli.invoke(main, ["api", "key", "create", "--brand", "1"]).output.split(": ", 1)[1].split()[0]
    assert _brand_pool(world, token) == 200
    result = cli.invoke(main, ["api", "key", "revoke", token[3:].split("_")[0]])
    assert result.exit_code == 0, result.output
    response = world.client.get("/api/v1/brands/1/pool", headers=world.bearer(token))
    assert response.status_code == 401
    assert "was revoked" in response.json()["detail"]
    listed = cli.invoke(main, ["api", "key", "list"]).output
    assert "revoked" in listed and token not in listed


def test_a_brand_key_needs_a_configured_brand(cli: CliRunner) -> None:
    assert "needs --brand" in cli.invoke(main, ["api", "key", "create"]).output
    assert "is not configured" in cli.invoke(main, ["api", "key", "create", "--brand", "999"]).output


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "missing credentials"),
        ("Bearer pc_000000000000_nope", "unknown API key"),
        ("Bearer pcs_nope", "unknown session token"),
        ("Bearer hello", "unrecognised credential"),
    ],
)
def test_missing_or_wrong_credentials_get_401_saying_why(world: World, header: str | None, detail: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = world.client.get("/api/v1/brands/1/pool", headers=headers)
    assert response.status_code == 401
    assert detail in response.json()["detail"]


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused(world: World) -> None:
    prefix = world.brand_keys[1][3:].split("_")[0]
    assert _brand_pool(world, f"pc_{prefix}_{'A' * 43}") == 401

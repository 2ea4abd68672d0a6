"""`peercare oracle brand` (and `configure_brand` beneath it, which the demo and the tests use): a
brand's configuration is validated before anything is stored, and reconfiguring keeps the row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from peercare.cli import main
from peercare.db.database import Database, sqlite_url
from peercare.db.tables.oracle import Brand
from peercare.oracle.brands import BrandConfigError, configure_brand
from tests.support.databases import migrated
from tests.support.devchain import DevLedger


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with migrated(sqlite_url(tmp_path / "oracle.sqlite3")) as db:
        yield db


def test_reconfiguring_a_brand_replaces_its_rules_and_keeps_when_it_was_first_configured(database: Database) -> None:
    with database.transaction() as session:
        first = configure_brand(session, 1, "Acme", topics=["Wallets", "staking"], bounty_by_tag={" Urgent": 5})
        created = first.created_at_ms
    with database.transaction() as session:
        configure_brand(session, 1, "Acme Inc", topics=["nodes"], default_bounty=3)
    with database.read() as session:
        brand = session.get(Brand, 1)
        assert brand is not None
        assert (brand.name, brand.topics, brand.default_bounty, brand.bounty_by_tag) == ("Acme Inc", ["nodes"], 3, {})
        assert brand.created_at_ms == created


def test_topics_and_tags_are_matched_lower_case(database: Database) -> None:
    with database.transaction() as session:
        brand = configure_brand(
            session, 1, "Acme", topics=["Wallets", "staking", "wallets"], bounty_by_tag={" Urgent": 5}
        )
        assert (brand.topics, brand.bounty_by_tag) == (["staking", "wallets"], {"urgent": "5"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"topics": ["x" * 32]}, "must be 1 to 31 bytes"),
        ({"default_topic": ""}, "must be 1 to 31 bytes"),
        ({"default_bounty": -1}, "cannot be negative"),
        ({"bounty_by_tag": {"urgent": -5}}, "cannot be negative"),
        ({"answer_window_s": 0}, "must be positive"),
    ],
)
def test_an_unservable_configuration_is_refused_and_stores_nothing(
    database: Database, settings: dict[str, object], message: str
) -> None:
    with database.transaction() as session:
        configure_brand(session, 1, "Acme", topics=["wallets"])
    with pytest.raises(BrandConfigError, match=message), database.transaction() as session:
        configure_brand(session, 1, "Renamed", **settings)  # type: ignore[arg-type]
    with database.read() as session:
        brand = session.get(Brand, 1)
        assert brand is not None and (brand.name, brand.topics) == ("Acme", ["wallets"])


def test_the_cli_names_the_bad_value_and_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PEERCARE_DATA_DIR": str(tmp_path)}
    result = runner.invoke(
        main, ["oracle", "brand", "1", "--name", "Acme", "--topic", "t" * 40, "--decimals", "18"], env=env
    )
    assert result.exit_code == 2
    assert "must be 1 to 31 bytes" in result.output
    ok = runner.invoke(
        main, ["oracle", "brand", "1", "--name", "Acme", "--tag-bounty", "urgent=2.5", "--decimals", "18"], env=env
    )
    assert ok.exit_code == 0, ok.output
    database = Database(sqlite_url(tmp_path / "oracle.sqlite3"))
    with database.read() as session:
        brand = session.get(Brand, 1)
        assert brand is not None and brand.bounty_by_tag == {"urgent": str(25 * 10**17)}


def test_bounties_are_in_whole_tokens_of_the_brands_token(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"PEERCARE_DATA_DIR": str(tmp_path)}
    usdc = ["oracle", "brand", "1", "--name", "Acme", "--bounty", "12.345678", "--decimals", "6"]
    assert runner.invoke(main, usdc, env=env).exit_code == 0
    too_fine = runner.invoke(main, [*usdc[:5], "--bounty", "0.0000001", "--decimals", "6"], env=env)
    assert too_fine.exit_code == 2 and "at most 6 decimals" in too_fine.output
    database = Database(sqlite_url(tmp_path / "oracle.sqlite3"))
    with database.read() as session:
        brand = session.get(Brand, 1)
        assert brand is not None and brand.default_bounty == 12_345_678


def test_without_decimals_or_a_chain_to_read_them_from_the_cli_says_what_to_pass(tmp_path: Path) -> None:
    env = {"PEERCARE_DATA_DIR": str(tmp_path), "PEERCARE_RPC_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(main, ["oracle", "brand", "1", "--name", "Acme", "--bounty", "1"], env=env)
    assert result.exit_code == 2
    assert "could not read brand 1's token from the chain" in result.output and "pass --decimals" in result.output
    assert not (tmp_path / "oracle.sqlite3").exists()  # refused before anything was stored


def test_the_cli_reads_the_brands_token_decimals_from_the_chain(tmp_path: Path, dev_ledger_session: DevLedger) -> None:
    env = {
        "PEERCARE_DATA_DIR": str(tmp_path),
        "PEERCARE_RPC_URL": dev_ledger_session.url,
        "PEERCARE_DEPLOYMENT_FILE": str(dev_ledger_session.deployment_file),
    }
    brand_id = str(dev_ledger_session.brand_id)
    ok = CliRunner().invoke(main, ["oracle", "brand", brand_id, "--name", "Acme", "--bounty", "2.5"], env=env)
    assert ok.exit_code == 0, ok.output
    with Database(sqlite_url(tmp_path / "oracle.sqlite3")).read() as session:
        brand = session.get(Brand, dev_ledger_session.brand_id)
        assert brand is not None and brand.default_bounty == 25 * 10**17  # the demo token has 18 decimals
    unknown = CliRunner().invoke(main, ["oracle", "brand", "999", "--name", "Nobody"], env=env)
    assert unknown.exit_code == 2 and "brand 999 is not registered on the ledger" in unknown.output

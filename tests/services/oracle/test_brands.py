"""`peercare oracle brand` (and `configure_brand` beneath it, which the demo and the tests use): a
brand's configuration is validated before anything is stored, and reconfiguring keeps the row."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from peercare.cli import main
from peercare.db.database import Database, sqlite_url
from peercare.db.tables.oracle import Brand
from peercare.oracle.brands import BrandConfigError, configure_brand


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(sqlite_url(tmp_path / "oracle.sqlite3"))
    db.migrate()
    return db


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
    result = runner.invoke(main, ["oracle", "brand", "1", "--name", "Acme", "--topic", "t" * 40], env=env)
    assert result.exit_code == 2
    assert "must be 1 to 31 bytes" in result.output
    ok = runner.invoke(main, ["oracle", "brand", "1", "--name", "Acme", "--tag-bounty", "urgent=2.5"], env=env)
    assert ok.exit_code == 0, ok.output
    database = Database(sqlite_url(tmp_path / "oracle.sqlite3"))
    with database.read() as session:
        brand = session.get(Brand, 1)
        assert brand is not None and brand.bounty_by_tag == {"urgent": str(25 * 10**17)}

"""The schema comes from the migrations, and the migrations match the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import peercare.db.tables  # noqa: F401  (every table, as the migrations see them)
from peercare.db.base import Base
from peercare.db.database import Database
from peercare.db.tables.oracle import Brand


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(database: Database) -> None:
    with database.transaction() as session:
        session.add(
            Brand(id=7, name="x", default_topic="t", default_bounty=10**27, answer_window_s=60, created_at_ms=1)
        )
    database.migrate()
    with database.transaction() as session:
        brand = session.get(Brand, 7)
        assert brand is not None and brand.default_bounty == 10**27

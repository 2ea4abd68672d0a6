"""Alembic environment: migrations run on the engine `Database.migrate` hands over."""

from alembic import context

import peercare.db.tables  # noqa: F401  (registers every table on Base.metadata)
from peercare.db.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    # On SQLite a migration that changes a column rebuilds its table (`batch_alter_table`: copy,
    # drop, rename), and dropping a table that other rows reference fails while foreign keys are
    # enforced. SQLite's own procedure for such changes: enforcement off outside the transaction,
    # the keys checked before commit, enforcement back on.
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.driver_connection  # outside SQLAlchemy's transaction, which begins at once
    if sqlite:
        driver.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
    connection.commit()
    if sqlite:
        driver.execute("PRAGMA foreign_keys=ON")

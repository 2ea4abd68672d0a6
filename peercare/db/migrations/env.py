"""Alembic environment: migrations run on the engine `Database.migrate` hands over."""

from alembic import context

import peercare.db.tables.api  # registers every table on Base.metadata
import peercare.db.tables.oracle
import peercare.db.tables.projections
import peercare.db.tables.reputation  # noqa: F401
from peercare.db.database import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

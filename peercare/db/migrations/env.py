"""Alembic environment: migrations run on the engine `Database.migrate` hands over."""

from alembic import context

import peercare.db.tables  # noqa: F401  (registers every table on Base.metadata)
from peercare.db.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

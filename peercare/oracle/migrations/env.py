"""Alembic environment: migrations run on the engine `Database.migrate` hands over."""

from alembic import context

import peercare.api.models  # registers every table on Base.metadata
import peercare.oracle.models
import peercare.oracle.projections
import peercare.reputation.models  # noqa: F401
from peercare.oracle.db import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

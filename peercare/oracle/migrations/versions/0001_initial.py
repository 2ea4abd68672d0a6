"""Initial schema (provisional: replaced by the generated DDL before landing).

Revision ID: 0001
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from peercare.oracle.db import Base

    Base.metadata.create_all(op.get_bind())


def downgrade() -> None:
    pass

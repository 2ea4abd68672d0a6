"""Outbox rows that must happen at most once carry a unique key: "accept:<question id>".

The key is unique (NULL for the kinds that need none), so a second acceptance of one question is
refused by the database, not only by the processor's check of `questions.accepted_answer_id`
(which two processors, each in its own transaction, could both pass). Existing acceptances are
keyed from their calldata: `acceptAnswer((bytes32 questionId, ...))` holds the question id right
after the selector and the tuple's offset, hex digits 75..138 of the 0x-prefixed text. Should a
database already hold two acceptances of one question, the first (lowest id) gets the key.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=80), nullable=True))
    op.execute(
        "UPDATE outbox SET dedupe_key = 'accept:0x' || substr(data, 75, 64) "
        "WHERE id IN (SELECT min(id) FROM outbox WHERE kind = 'accept' GROUP BY substr(data, 75, 64))"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_dedupe_key", ["dedupe_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_outbox_dedupe_key", table_name="outbox")
    # Not batch mode: on SQLite that copies the table, and dropping the old copy trips the foreign
    # keys of the rows that point at outbox. SQLite 3.35 and later drop a column in place.
    op.execute("ALTER TABLE outbox DROP COLUMN dedupe_key")

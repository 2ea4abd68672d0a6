"""Acceptances in batches: an acceptance of a batched question waits in `acceptances` (one per
question) for its brand's next `acceptBatchedAnswers`.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HASH = sa.String(length=66)


def upgrade() -> None:
    op.create_table(
        "acceptances",
        sa.Column("question_id", HASH, nullable=False),
        sa.Column("answer_id", HASH, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.Column("outbox_id", BIG, nullable=True),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.answer_id"], name=op.f("fk_acceptances_answer_id_answers")),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_acceptances_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_acceptances_outbox_id_outbox")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.question_id"], name=op.f("fk_acceptances_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_acceptances")),
    )
    op.create_index("ix_acceptances_pending", "acceptances", ["brand_id", "outbox_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_acceptances_pending", table_name="acceptances")
    op.drop_table("acceptances")

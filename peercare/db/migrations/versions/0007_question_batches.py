"""Questions in batches: the oracle posts a Merkle batch of a brand's questions with one
`postQuestionBatch` (`question_batches`; a question's `batch_id` and `leaf_index` say where,
`outbox_id` stays for `postQuestion`, `opened_outbox_id` for `openBatchedQuestion`), and the
indexer projects `QuestionBatchPosted` (`ix_question_batches`, its admitted leaves into
`ix_questions` with `batch_root` and `leaf_index`), `BatchedQuestionOpened` and
`BatchedQuestionAccepted` (`ix_batched_questions_settled`) and `QuestionBatchReleased`
(`ix_question_batch_releases`).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AMOUNT = sa.String(length=78)  # `peercare.db.base.Amount`: decimal text
HASH = sa.String(length=66)


def _event_columns() -> list[sa.Column[int] | sa.Column[str]]:
    return [
        sa.Column("id", BIG, nullable=False),
        sa.Column("block_number", BIG, nullable=False),
        sa.Column("block_hash", HASH, nullable=False),
        sa.Column("block_time", BIG, nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("log_index", BIG, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "question_batches",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("root", HASH, nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("total_bounty", AMOUNT, nullable=False),
        sa.Column("deadline", BIG, nullable=False),
        sa.Column("manifest_cid", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", BIG, nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.Column("release_outbox_id", BIG, nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_question_batches_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_question_batches_outbox_id_outbox")),
        sa.ForeignKeyConstraint(
            ["release_outbox_id"], ["outbox.id"], name=op.f("fk_question_batches_release_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_batches")),
        sa.UniqueConstraint("root", name=op.f("uq_question_batches_root")),
    )
    with op.batch_alter_table("questions") as batch_op:
        batch_op.alter_column("outbox_id", existing_type=BIG, nullable=True)
        batch_op.add_column(sa.Column("created_at_ms", BIG, server_default="0", nullable=False))
        batch_op.add_column(sa.Column("batch_id", BIG, nullable=True))
        batch_op.add_column(sa.Column("leaf_index", BIG, nullable=True))
        batch_op.add_column(sa.Column("opened_outbox_id", BIG, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_questions_batch_id_question_batches"), "question_batches", ["batch_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_questions_opened_outbox_id_outbox"), "outbox", ["opened_outbox_id"], ["id"]
        )
        batch_op.create_index("ix_questions_pending_batch", ["brand_id", "batch_id"], unique=False)

    with op.batch_alter_table("ix_questions") as batch_op:
        batch_op.add_column(sa.Column("batch_root", HASH, nullable=True))
        batch_op.add_column(sa.Column("leaf_index", BIG, server_default="0", nullable=False))
        batch_op.drop_constraint("uq_ix_questions_tx_hash_log_index", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_ix_questions_tx_hash_log_index_leaf_index"), ["tx_hash", "log_index", "leaf_index"]
        )

    op.create_table(
        "ix_question_batches",
        *_event_columns(),
        sa.Column("root", HASH, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("total_bounty", AMOUNT, nullable=False),
        sa.Column("deadline", BIG, nullable=False),
        sa.Column("manifest_digest", HASH, nullable=False),
        sa.Column("manifest_status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_question_batches")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_question_batches_tx_hash_log_index")),
    )
    op.create_index(op.f("ix_ix_question_batches_block_number"), "ix_question_batches", ["block_number"])
    op.create_index("ix_ix_question_batches_brand_id", "ix_question_batches", ["brand_id"])
    op.create_index("ix_ix_question_batches_manifest_status", "ix_question_batches", ["manifest_status"])
    op.create_index(op.f("ix_ix_question_batches_root"), "ix_question_batches", ["root"])

    op.create_table(
        "ix_batched_questions_settled",
        *_event_columns(),
        sa.Column("question_id", HASH, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("batch_root", HASH, nullable=False),
        sa.Column("leaf_index", BIG, nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_batched_questions_settled")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_batched_questions_settled_tx_hash_log_index")),
    )
    op.create_index(
        op.f("ix_ix_batched_questions_settled_block_number"), "ix_batched_questions_settled", ["block_number"]
    )
    op.create_index(
        op.f("ix_ix_batched_questions_settled_question_id"), "ix_batched_questions_settled", ["question_id"]
    )
    op.create_index("ix_ix_batched_questions_settled_root", "ix_batched_questions_settled", ["batch_root"])

    op.create_table(
        "ix_question_batch_releases",
        *_event_columns(),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("batch_root", HASH, nullable=False),
        sa.Column("refunded", AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_question_batch_releases")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_question_batch_releases_tx_hash_log_index")),
    )
    op.create_index(op.f("ix_ix_question_batch_releases_block_number"), "ix_question_batch_releases", ["block_number"])
    op.create_index(op.f("ix_ix_question_batch_releases_batch_root"), "ix_question_batch_releases", ["batch_root"])


def downgrade() -> None:
    batched = op.get_bind().execute(sa.text("SELECT count(*) FROM questions WHERE outbox_id IS NULL")).scalar()
    if batched:
        raise RuntimeError(
            f"cannot downgrade below 0007: {batched} questions were posted in batches (or wait for one), "
            "which the schema before it cannot hold"
        )
    op.drop_table("ix_question_batch_releases")
    op.drop_table("ix_batched_questions_settled")
    op.drop_table("ix_question_batches")
    with op.batch_alter_table("ix_questions") as batch_op:
        batch_op.drop_constraint("uq_ix_questions_tx_hash_log_index_leaf_index", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_ix_questions_tx_hash_log_index"), ["tx_hash", "log_index"])
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("batch_root")
    with op.batch_alter_table("questions") as batch_op:
        batch_op.drop_index("ix_questions_pending_batch")
        batch_op.drop_constraint("fk_questions_opened_outbox_id_outbox", type_="foreignkey")
        batch_op.drop_constraint("fk_questions_batch_id_question_batches", type_="foreignkey")
        batch_op.drop_column("opened_outbox_id")
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("batch_id")
        batch_op.drop_column("created_at_ms")
        batch_op.alter_column("outbox_id", existing_type=BIG, nullable=False)
    op.drop_table("question_batches")

"""Ratings and signed answers in batches: the oracle anchors a Merkle batch of ratings
(`rating_batches`; a rating's `batch_id` says which, `outbox_id` stays for `rateAnswer`), the
indexer projects `RatingBatchAnchored` and admits its leaves into `ix_ratings` (`batch_root`,
`leaf_index`), and an answer keeps the advocate's signature its batch manifest carries.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rating_batches",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("manifest_cid", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", BIG, nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_rating_batches_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_rating_batches_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_batches")),
        sa.UniqueConstraint("root", name=op.f("uq_rating_batches_root")),
    )
    with op.batch_alter_table("ratings") as batch_op:
        batch_op.alter_column("outbox_id", existing_type=BIG, nullable=True)
        batch_op.add_column(sa.Column("batch_id", BIG, nullable=True))
        batch_op.add_column(sa.Column("brand_id", BIG, nullable=True))
        batch_op.add_column(sa.Column("created_at_ms", BIG, server_default="0", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_ratings_batch_id_rating_batches"), "rating_batches", ["batch_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_ratings_brand_id_brands"), "brands", ["brand_id"], ["id"])
        batch_op.create_index("ix_ratings_pending_batch", ["batch_id", "outbox_id"], unique=False)
    with op.batch_alter_table("answers") as batch_op:
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))

    op.create_table(
        "ix_rating_batches",
        sa.Column("id", BIG, nullable=False),
        sa.Column("block_number", BIG, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", BIG, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", BIG, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("manifest_digest", sa.String(length=66), nullable=False),
        sa.Column("manifest_status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_rating_batches")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_rating_batches_tx_hash_log_index")),
    )
    op.create_index(op.f("ix_ix_rating_batches_block_number"), "ix_rating_batches", ["block_number"], unique=False)
    op.create_index("ix_ix_rating_batches_brand_id", "ix_rating_batches", ["brand_id"], unique=False)
    op.create_index("ix_ix_rating_batches_manifest_status", "ix_rating_batches", ["manifest_status"], unique=False)
    op.create_index(op.f("ix_ix_rating_batches_root"), "ix_rating_batches", ["root"], unique=False)
    with op.batch_alter_table("ix_ratings") as batch_op:
        batch_op.add_column(sa.Column("batch_root", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("leaf_index", BIG, server_default="0", nullable=False))
        batch_op.drop_constraint("uq_ix_ratings_tx_hash_log_index", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_ix_ratings_tx_hash_log_index_leaf_index"), ["tx_hash", "log_index", "leaf_index"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ix_ratings") as batch_op:
        batch_op.drop_constraint("uq_ix_ratings_tx_hash_log_index_leaf_index", type_="unique")
        batch_op.create_unique_constraint("uq_ix_ratings_tx_hash_log_index", ["tx_hash", "log_index"])
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("batch_root")
    op.drop_table("ix_rating_batches")
    with op.batch_alter_table("answers") as batch_op:
        batch_op.drop_column("signature")
    with op.batch_alter_table("ratings") as batch_op:
        batch_op.drop_index("ix_ratings_pending_batch")
        batch_op.drop_constraint("fk_ratings_brand_id_brands", type_="foreignkey")
        batch_op.drop_constraint("fk_ratings_batch_id_rating_batches", type_="foreignkey")
        batch_op.drop_column("created_at_ms")
        batch_op.drop_column("brand_id")
        batch_op.drop_column("batch_id")
        batch_op.alter_column("outbox_id", existing_type=BIG, nullable=False)
    op.drop_table("rating_batches")

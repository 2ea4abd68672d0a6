"""Routing on chain: each round of routing is anchored in a Merkle batch (`routing_batches`; a
round's `batch_id` says which), like answers. Rounds decided before are anchored by the next
batches, oldest first.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "routing_batches",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("rounds", BIG, nullable=False),
        sa.Column("manifest_cid", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", BIG, nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_routing_batches_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_routing_batches_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_batches")),
        sa.UniqueConstraint("root", name=op.f("uq_routing_batches_root")),
    )
    op.create_table(
        "ix_routing_batches",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_routing_batches")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_routing_batches_tx_hash_log_index")),
    )
    op.create_index(op.f("ix_ix_routing_batches_block_number"), "ix_routing_batches", ["block_number"], unique=False)
    op.create_index("ix_ix_routing_batches_brand_id", "ix_routing_batches", ["brand_id"], unique=False)
    op.create_index(op.f("ix_ix_routing_batches_root"), "ix_routing_batches", ["root"], unique=False)
    # In place (not batch mode): other tables' foreign keys point at route_rounds.
    op.add_column("route_rounds", sa.Column("batch_id", BIG, nullable=True))
    op.create_index(op.f("ix_route_rounds_batch_id"), "route_rounds", ["batch_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_route_rounds_batch_id"), table_name="route_rounds")
    with op.batch_alter_table("route_rounds") as batch_op:
        batch_op.drop_column("batch_id")
    op.drop_table("routing_batches")
    op.drop_table("ix_routing_batches")

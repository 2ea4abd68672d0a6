"""Initial schema: the oracle's state, the indexer's projections, published reputation epochs.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

import peercare.db.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("default_topic", sa.String(length=31), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("default_bounty", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("bounty_by_tag", sa.JSON(), nullable=False),
        sa.Column("answer_window_s", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("experts", sa.JSON(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
    )
    op.create_table(
        "ix_acceptances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("answer_id", sa.String(length=66), nullable=False),
        sa.Column("advocate", sa.String(length=42), nullable=False),
        sa.Column("bounty", peercare.db.base.Amount(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_acceptances")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_acceptances_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_acceptances", schema=None) as batch_op:
        batch_op.create_index("ix_ix_acceptances_advocate", ["advocate"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_acceptances_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_acceptances_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_acceptances_question_id"), ["question_id"], unique=False)

    op.create_table(
        "ix_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("answer_id", sa.String(length=66), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("advocate", sa.String(length=42), nullable=False),
        sa.Column("content_digest", sa.String(length=66), nullable=False),
        sa.Column("batch_root", sa.String(length=66), nullable=True),
        sa.Column("leaf_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_answers")),
        sa.UniqueConstraint(
            "tx_hash", "log_index", "leaf_index", name=op.f("uq_ix_answers_tx_hash_log_index_leaf_index")
        ),
    )
    with op.batch_alter_table("ix_answers", schema=None) as batch_op:
        batch_op.create_index("ix_ix_answers_advocate", ["advocate"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_answers_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_answers_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_answers_question_id"), ["question_id"], unique=False)

    op.create_table(
        "ix_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manifest_digest", sa.String(length=66), nullable=False),
        sa.Column("manifest_status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_batches")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_batches_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_batches_block_number"), ["block_number"], unique=False)
        batch_op.create_index("ix_ix_batches_brand_id", ["brand_id"], unique=False)
        batch_op.create_index("ix_ix_batches_manifest_status", ["manifest_status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_batches_root"), ["root"], unique=False)

    op.create_table(
        "ix_blocks",
        sa.Column("number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_ix_blocks")),
    )
    op.create_table(
        "ix_brands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("admin", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_brands")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_brands_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_brands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_brands_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_brands_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "ix_cursor",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_cursor")),
    )
    op.create_table(
        "ix_earnings_withdrawals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("to", sa.String(length=42), nullable=False),
        sa.Column("amount", peercare.db.base.Amount(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_earnings_withdrawals")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_earnings_withdrawals_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_earnings_withdrawals", schema=None) as batch_op:
        batch_op.create_index("ix_ix_earnings_withdrawals_account_token", ["account", "token"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_earnings_withdrawals_block_number"), ["block_number"], unique=False)

    op.create_table(
        "ix_pool_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.Column("question_id", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_pool_movements")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_pool_movements_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_pool_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_pool_movements_block_number"), ["block_number"], unique=False)
        batch_op.create_index("ix_ix_pool_movements_brand_id", ["brand_id"], unique=False)

    op.create_table(
        "ix_question_expiries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refunded", peercare.db.base.Amount(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_question_expiries")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_question_expiries_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_question_expiries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_question_expiries_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_question_expiries_question_id"), ["question_id"], unique=False)

    op.create_table(
        "ix_questions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topic", sa.String(length=66), nullable=False),
        sa.Column("source", sa.String(length=66), nullable=False),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("bounty", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("deadline", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_digest", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_questions")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_questions_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_questions_block_number"), ["block_number"], unique=False)
        batch_op.create_index("ix_ix_questions_brand_id", ["brand_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_questions_question_id"), ["question_id"], unique=False)

    op.create_table(
        "ix_ratings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("answer_id", sa.String(length=66), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("advocate", sa.String(length=42), nullable=False),
        sa.Column("rating", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rater_kind", sa.String(length=16), nullable=False),
        sa.Column("rater_id", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_ratings")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_ratings_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ix_ratings_advocate", ["advocate"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_ratings_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_ratings_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_ratings_question_id"), ["question_id"], unique=False)

    op.create_table(
        "ix_reputation_roots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("epoch", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("manifest_digest", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_reputation_roots")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_reputation_roots_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_reputation_roots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ix_reputation_roots_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_reputation_roots_epoch"), ["epoch"], unique=False)

    op.create_table(
        "ix_reward_credits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("amount", peercare.db.base.Amount(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ix_reward_credits")),
        sa.UniqueConstraint("tx_hash", "log_index", name=op.f("uq_ix_reward_credits_tx_hash_log_index")),
    )
    with op.batch_alter_table("ix_reward_credits", schema=None) as batch_op:
        batch_op.create_index("ix_ix_reward_credits_account_token", ["account", "token"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_reward_credits_block_number"), ["block_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ix_reward_credits_question_id"), ["question_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("gas_used", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sent_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_id", ["status", "id"], unique=False)

    op.create_table(
        "signer_state",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("chain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("next_nonce", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_signer_state")),
    )
    op.create_table(
        "answer_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manifest_cid", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_answer_batches_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_answer_batches_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_batches")),
        sa.UniqueConstraint("root", name=op.f("uq_answer_batches_root")),
    )
    op.create_table(
        "questions",
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=31), nullable=False),
        sa.Column("bounty", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("deadline", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_cid", sa.String(length=100), nullable=False),
        sa.Column("requester_id", sa.String(length=100), nullable=False),
        sa.Column("accepted_answer_id", sa.String(length=66), nullable=True),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_questions_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_questions_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_questions")),
        sa.UniqueConstraint("brand_id", "source", "ticket_id", name=op.f("uq_questions_brand_id_source_ticket_id")),
    )
    op.create_table(
        "reputation_epochs",
        sa.Column("epoch", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("manifest_cid", sa.String(length=100), nullable=False),
        sa.Column("cut", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_reputation_epochs_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("epoch", name=op.f("pk_reputation_epochs")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_reputation_epochs_outbox_id")),
    )
    op.create_table(
        "tx_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("nonce", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("max_fee_per_gas", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("max_priority_fee_per_gas", peercare.db.base.Amount(length=78), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_tx_attempts_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tx_attempts")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_tx_attempts_tx_hash")),
    )
    with op.batch_alter_table("tx_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tx_attempts_outbox_id"), ["outbox_id"], unique=False)

    op.create_table(
        "webhook_credentials",
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("basic_username", sa.String(length=200), nullable=True),
        sa.Column("basic_password_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_webhook_credentials_brand_id_brands")),
        sa.PrimaryKeyConstraint("brand_id", "source", name=op.f("pk_webhook_credentials")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=100), nullable=False),
        sa.Column("occurred_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("not_before_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_webhook_events_brand_id_brands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint(
            "brand_id", "source", "event_key", name=op.f("uq_webhook_events_brand_id_source_event_key")
        ),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_events_status_id", ["status", "id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("answer_id", sa.String(length=66), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("comment_id", sa.String(length=100), nullable=False),
        sa.Column("advocate", sa.String(length=42), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("content_cid", sa.String(length=100), nullable=False),
        sa.Column("content_digest", sa.String(length=66), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["answer_batches.id"], name=op.f("fk_answers_batch_id_answer_batches")),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_answers_brand_id_brands")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_answers_outbox_id_outbox")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.question_id"], name=op.f("fk_answers_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("answer_id", name=op.f("pk_answers")),
        sa.UniqueConstraint("question_id", "comment_id", name=op.f("uq_answers_question_id_comment_id")),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index("ix_answers_pending_batch", ["brand_id", "batch_id"], unique=False)

    op.create_table(
        "ratings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("answer_id", sa.String(length=66), nullable=False),
        sa.Column("rater_kind", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rater_id", sa.String(length=66), nullable=False),
        sa.Column("rating", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.answer_id"], name=op.f("fk_ratings_answer_id_answers")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_ratings_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint(
            "answer_id", "rater_kind", "rater_id", name=op.f("uq_ratings_answer_id_rater_kind_rater_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("ratings")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("ix_answers_pending_batch")

    op.drop_table("answers")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_status_id")

    op.drop_table("webhook_events")
    op.drop_table("webhook_credentials")
    with op.batch_alter_table("tx_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tx_attempts_outbox_id"))

    op.drop_table("tx_attempts")
    op.drop_table("reputation_epochs")
    op.drop_table("questions")
    op.drop_table("answer_batches")
    op.drop_table("signer_state")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_id")

    op.drop_table("outbox")
    with op.batch_alter_table("ix_reward_credits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_reward_credits_question_id"))
        batch_op.drop_index(batch_op.f("ix_ix_reward_credits_block_number"))
        batch_op.drop_index("ix_ix_reward_credits_account_token")

    op.drop_table("ix_reward_credits")
    with op.batch_alter_table("ix_reputation_roots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_reputation_roots_epoch"))
        batch_op.drop_index(batch_op.f("ix_ix_reputation_roots_block_number"))

    op.drop_table("ix_reputation_roots")
    with op.batch_alter_table("ix_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_ratings_question_id"))
        batch_op.drop_index(batch_op.f("ix_ix_ratings_block_number"))
        batch_op.drop_index(batch_op.f("ix_ix_ratings_answer_id"))
        batch_op.drop_index("ix_ix_ratings_advocate")

    op.drop_table("ix_ratings")
    with op.batch_alter_table("ix_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_questions_question_id"))
        batch_op.drop_index("ix_ix_questions_brand_id")
        batch_op.drop_index(batch_op.f("ix_ix_questions_block_number"))

    op.drop_table("ix_questions")
    with op.batch_alter_table("ix_question_expiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_question_expiries_question_id"))
        batch_op.drop_index(batch_op.f("ix_ix_question_expiries_block_number"))

    op.drop_table("ix_question_expiries")
    with op.batch_alter_table("ix_pool_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_ix_pool_movements_brand_id")
        batch_op.drop_index(batch_op.f("ix_ix_pool_movements_block_number"))

    op.drop_table("ix_pool_movements")
    with op.batch_alter_table("ix_earnings_withdrawals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_earnings_withdrawals_block_number"))
        batch_op.drop_index("ix_ix_earnings_withdrawals_account_token")

    op.drop_table("ix_earnings_withdrawals")
    op.drop_table("ix_cursor")
    with op.batch_alter_table("ix_brands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_brands_brand_id"))
        batch_op.drop_index(batch_op.f("ix_ix_brands_block_number"))

    op.drop_table("ix_brands")
    op.drop_table("ix_blocks")
    with op.batch_alter_table("ix_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_batches_root"))
        batch_op.drop_index("ix_ix_batches_manifest_status")
        batch_op.drop_index("ix_ix_batches_brand_id")
        batch_op.drop_index(batch_op.f("ix_ix_batches_block_number"))

    op.drop_table("ix_batches")
    with op.batch_alter_table("ix_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_answers_question_id"))
        batch_op.drop_index(batch_op.f("ix_ix_answers_block_number"))
        batch_op.drop_index(batch_op.f("ix_ix_answers_answer_id"))
        batch_op.drop_index("ix_ix_answers_advocate")

    op.drop_table("ix_answers")
    with op.batch_alter_table("ix_acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ix_acceptances_question_id"))
        batch_op.drop_index(batch_op.f("ix_ix_acceptances_block_number"))
        batch_op.drop_index(batch_op.f("ix_ix_acceptances_answer_id"))
        batch_op.drop_index("ix_ix_acceptances_advocate")

    op.drop_table("ix_acceptances")
    op.drop_table("brands")

"""API keys, Sign-In with Ethereum nonces and sessions, question routes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advocate_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_advocate_sessions")),
    )
    with op.batch_alter_table("advocate_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advocate_sessions_address"), ["address"], unique=False)

    op.create_table(
        "siwe_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_siwe_nonces")),
    )
    with op.batch_alter_table("siwe_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_siwe_nonces_expires_at_ms"), ["expires_at_ms"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revoked_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_api_keys_brand_id_brands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "question_routes",
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("epoch", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_question_routes_brand_id_brands")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.question_id"], name=op.f("fk_question_routes_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_question_routes")),
    )
    with op.batch_alter_table("question_routes", schema=None) as batch_op:
        batch_op.create_index("ix_question_routes_brand_id", ["brand_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("question_routes", schema=None) as batch_op:
        batch_op.drop_index("ix_question_routes_brand_id")

    op.drop_table("question_routes")
    op.drop_table("api_keys")
    with op.batch_alter_table("siwe_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_siwe_nonces_expires_at_ms"))

    op.drop_table("siwe_nonces")
    with op.batch_alter_table("advocate_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocate_sessions_address"))

    op.drop_table("advocate_sessions")

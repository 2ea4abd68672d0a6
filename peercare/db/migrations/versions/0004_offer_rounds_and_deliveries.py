"""Offers that move: a question is routed in rounds (`route_rounds`, which replaces
`question_routes`: each stored route becomes round 0), each round's offers are rows of their own
(`offers`: role, exclusive window, state), and each brand says how long an offer waits and from
which round a question no one took is swarmed. What routing did is told to the brands' ticketing
systems through a durable queue (`deliveries`) over each brand's outbound channels
(`delivery_channels`). Routes stored before have no offer rows: they were
never shown to anyone, and their questions keep their one round.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_window_s", BIG, server_default="1800", nullable=False))
        batch_op.add_column(sa.Column("max_offer_rounds", BIG, server_default="2", nullable=False))
    # Not batch mode, and no CHECK constraint (which would make batch mode copy the table): on
    # SQLite, dropping the old copy trips the foreign keys of the rows pointing at questions.
    op.add_column(
        "questions", sa.Column("urgent", sa.Boolean(create_constraint=False), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "route_rounds",
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("round", BIG, autoincrement=False, nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("epoch", BIG, nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_route_rounds_brand_id_brands")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.question_id"], name=op.f("fk_route_rounds_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("question_id", "round", name=op.f("pk_route_rounds")),
    )
    op.create_index("ix_route_rounds_brand_id", "route_rounds", ["brand_id"], unique=False)
    op.execute(
        "INSERT INTO route_rounds (question_id, round, brand_id, epoch, decision, created_at_ms) "
        "SELECT question_id, 0, brand_id, epoch, decision, created_at_ms FROM question_routes"
    )
    op.drop_index("ix_question_routes_brand_id", table_name="question_routes")
    op.drop_table("question_routes")
    op.create_table(
        "offers",
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("round", BIG, autoincrement=False, nullable=False),
        sa.Column("advocate", sa.String(length=42), nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("share_bps", BIG, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at_ms", BIG, nullable=False),
        sa.Column("window_ends_at_ms", BIG, nullable=False),
        sa.Column("decided_at_ms", BIG, nullable=True),
        sa.Column("accepted_at_ms", BIG, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_offers_brand_id_brands")),
        sa.ForeignKeyConstraint(
            ["question_id", "round"],
            ["route_rounds.question_id", "route_rounds.round"],
            name=op.f("fk_offers_question_id_route_rounds"),
        ),
        sa.PrimaryKeyConstraint("question_id", "round", "advocate", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_advocate_state", "offers", ["advocate", "state"], unique=False)
    op.create_index("ix_offers_state_window", "offers", ["state", "window_ends_at_ms"], unique=False)
    op.create_table(
        "delivery_channels",
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_delivery_channels_brand_id_brands")),
        sa.PrimaryKeyConstraint("brand_id", "source", name=op.f("pk_delivery_channels")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.String(length=100), nullable=False),
        sa.Column("question_id", sa.String(length=66), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", BIG, nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at_ms", BIG, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.Column("delivered_at_ms", BIG, nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_deliveries_brand_id_brands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
    )
    op.create_index("ix_deliveries_status_next", "deliveries", ["status", "next_attempt_at_ms"], unique=False)
    op.create_index("ix_deliveries_brand_id_id", "deliveries", ["brand_id", "id"], unique=False)
    op.create_index("ix_deliveries_question_id", "deliveries", ["question_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_question_id", table_name="deliveries")
    op.drop_index("ix_deliveries_brand_id_id", table_name="deliveries")
    op.drop_index("ix_deliveries_status_next", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("delivery_channels")
    op.drop_index("ix_offers_state_window", table_name="offers")
    op.drop_index("ix_offers_advocate_state", table_name="offers")
    op.drop_table("offers")
    op.create_table(
        "question_routes",
        sa.Column("question_id", sa.String(length=66), nullable=False),
        sa.Column("brand_id", BIG, nullable=False),
        sa.Column("epoch", BIG, nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at_ms", BIG, nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_question_routes_brand_id_brands")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.question_id"], name=op.f("fk_question_routes_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_question_routes")),
    )
    op.create_index("ix_question_routes_brand_id", "question_routes", ["brand_id"], unique=False)
    op.execute(
        "INSERT INTO question_routes (question_id, brand_id, epoch, decision, created_at_ms) "
        "SELECT question_id, brand_id, epoch, decision, created_at_ms FROM route_rounds WHERE round = 0"
    )
    op.drop_index("ix_route_rounds_brand_id", table_name="route_rounds")
    op.drop_table("route_rounds")
    # Not batch mode: on SQLite that copies the table, and dropping the old copy trips the foreign
    # keys of the rows that point at brands (as in 0003). SQLite 3.35 and later drop a column in place.
    op.execute("ALTER TABLE brands DROP COLUMN max_offer_rounds")
    op.execute("ALTER TABLE brands DROP COLUMN offer_window_s")
    op.execute("ALTER TABLE questions DROP COLUMN urgent")

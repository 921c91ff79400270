"""Fast when full (issue 14): a stored tsvector with its GIN index on PostgreSQL, case-blind
indexes for profile and sign-in look-ups, a profile's feedback, a seller's listings and browse
pages in index order.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PG_WORDS = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, ''))"
# app/listings/search.py POSTGRES_DDL says the same (test_migrations compares them).
POSTGRES_UP = (
    "ALTER TABLE listings ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({PG_WORDS}) STORED",
    "CREATE INDEX IF NOT EXISTS ix_listings_fulltext ON listings USING gin (search_vector)",
)
POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS ix_listings_fulltext",
    "ALTER TABLE listings DROP COLUMN IF EXISTS search_vector",
    f"CREATE INDEX IF NOT EXISTS ix_listings_fulltext ON listings USING gin ({PG_WORDS})",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_listings_fulltext")  # 0002's, on the expression
        for statement in POSTGRES_UP:
            op.execute(statement)
    with op.batch_alter_table("users") as batch_op:
        batch_op.create_index("ix_users_handle_lower", [sa.text("lower(handle)")])
        batch_op.create_index("ix_users_email_lower", [sa.text("lower(email)")])
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.create_index(
            "ix_feedback_received_newest", ["subject_user_id", "created_at", "id"]
        )
    with op.batch_alter_table("listings") as batch_op:
        batch_op.create_index(
            "ix_listings_seller_status_created", ["seller_id", "status", "created_at"]
        )
        batch_op.drop_index("ix_listings_status_created")
        batch_op.create_index(
            "ix_listings_on_offer_newest", ["status", "created_at", "id", "for_sale", "quantity"]
        )


def downgrade():
    with op.batch_alter_table("listings") as batch_op:
        batch_op.drop_index("ix_listings_on_offer_newest")
        batch_op.create_index("ix_listings_status_created", ["status", "created_at"])
        batch_op.drop_index("ix_listings_seller_status_created")
    with op.batch_alter_table("feedback") as batch_op:
        batch_op.drop_index("ix_feedback_received_newest")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index("ix_users_email_lower")
        batch_op.drop_index("ix_users_handle_lower")
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)

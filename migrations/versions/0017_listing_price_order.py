"""Browse by price in index order (issue 14): a page of listings sorted by price, low to high
or high to low (things for sale first), read from an index instead of sorting every listing
(300,000 listings: 0.3 to 0.5 s on PostgreSQL for every such page).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# app/listings/models.py declares the same (test_migrations compares them).
NEWEST_LAST = (sa.text("created_at DESC"), sa.text("id DESC"))


def upgrade():
    with op.batch_alter_table("listings") as batch_op:
        batch_op.create_index(
            "ix_listings_price_low_first",
            ["status", sa.text("for_sale DESC"), "price_cents", *NEWEST_LAST],
        )
        batch_op.create_index(
            "ix_listings_price_high_first",
            ["status", sa.text("for_sale DESC"), sa.text("price_cents DESC"), *NEWEST_LAST],
        )


def downgrade():
    with op.batch_alter_table("listings") as batch_op:
        batch_op.drop_index("ix_listings_price_high_first")
        batch_op.drop_index("ix_listings_price_low_first")

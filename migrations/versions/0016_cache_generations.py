"""The page cache's generations (app/page_cache.py): a counter per group of pages that every
write changing what they show moves, in its own transaction.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "cache_generations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_generations")),
    )
    # Start from the clock, not 0: a database restored from a dump never meets old keys.
    start = int(time.time())
    op.bulk_insert(table, [{"name": "catalogue", "value": start}, {"name": "people", "value": start}])


def downgrade():
    op.drop_table("cache_generations")

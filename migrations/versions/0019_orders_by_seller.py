"""A member's sales and purchases in index order (issue 14): `/orders?tab=sales` and the
purchases tab read their page of 20 from `(seller_id | buyer_id, updated_at, id)` backwards
instead of sorting every order of the member (a seller with 13,751 sales sorted them all on
each request). The two indexes replace the single-column ones on seller_id and buyer_id, whose
every use they serve as well (their first column).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# app/orders/models.py declares the same (test_migrations compares them).


def upgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index("ix_orders_seller_latest", ["seller_id", "updated_at", "id"])
        batch_op.create_index("ix_orders_buyer_latest", ["buyer_id", "updated_at", "id"])
        batch_op.drop_index("ix_orders_seller_id")
        batch_op.drop_index("ix_orders_buyer_id")


def downgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index("ix_orders_buyer_id", ["buyer_id"])
        batch_op.create_index("ix_orders_seller_id", ["seller_id"])
        batch_op.drop_index("ix_orders_buyer_latest")
        batch_op.drop_index("ix_orders_seller_latest")

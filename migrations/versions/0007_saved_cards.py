"""Saved cards: the payment method a user saved for off-session charges (a SetupIntent that
succeeded), on their payment profile, and the profile found by its customer id.

Payments are already keyed by subject (subject_type, subject_id) since 0001, so money for any
kind needs no other schema change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment_profiles") as batch:
        batch.add_column(sa.Column("payment_method_ref", sa.String(length=120), nullable=True))
        batch.create_index(
            batch.f("ix_payment_profiles_customer_ref"), ["customer_ref"], unique=False
        )


def downgrade():
    with op.batch_alter_table("payment_profiles") as batch:
        batch.drop_index(batch.f("ix_payment_profiles_customer_ref"))
        batch.drop_column("payment_method_ref")

"""Lending: a listing's loan offer and blocked-out days, loans with their history, damage
claims with photos; a listing says whether it is for sale.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "loan_blockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_loan_blockouts_dates_in_order")),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_loan_blockouts_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_blockouts")),
    )
    with op.batch_alter_table("loan_blockouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loan_blockouts_listing_dates", ["listing_id", "starts_on", "ends_on"], unique=False
        )

    op.create_table(
        "loan_offers",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("fee_per_day_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_per_week_cents", sa.BigInteger(), nullable=True),
        sa.Column("deposit_cents", sa.BigInteger(), nullable=False),
        sa.Column("min_days", sa.Integer(), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=False),
        sa.Column("pickup_area", sa.String(length=120), nullable=False),
        sa.Column("pickup_notes", sa.Text(), nullable=False),
        sa.Column("late_fee_per_day_cents", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_cap_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("deposit_cents >= 0", name=op.f("ck_loan_offers_deposit_not_negative")),
        sa.CheckConstraint(
            "fee_per_day_cents >= 0", name=op.f("ck_loan_offers_fee_per_day_not_negative")
        ),
        sa.CheckConstraint(
            "fee_per_week_cents IS NULL OR fee_per_week_cents >= 0",
            name=op.f("ck_loan_offers_fee_per_week_not_negative"),
        ),
        sa.CheckConstraint(
            "late_fee_cap_cents >= 0", name=op.f("ck_loan_offers_late_fee_cap_not_negative")
        ),
        sa.CheckConstraint(
            "late_fee_per_day_cents >= 0", name=op.f("ck_loan_offers_late_fee_not_negative")
        ),
        sa.CheckConstraint(
            "min_days >= 1 AND max_days >= min_days", name=op.f("ck_loan_offers_days_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_loan_offers_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_loan_offers")),
    )
    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("deposit_cents", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_per_day_cents", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_cap_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pickup_area", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("request_message", sa.Text(), nullable=False),
        sa.Column("decline_note", sa.Text(), nullable=True),
        sa.Column("cancel_note", sa.Text(), nullable=True),
        sa.Column("return_note", sa.Text(), nullable=True),
        sa.Column("deposit_method", sa.String(length=12), nullable=False),
        sa.Column("handover_code", sa.String(length=8), nullable=False),
        sa.Column("lender_handover_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("borrower_handover_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_days", sa.Integer(), nullable=False),
        sa.Column("late_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("days >= 1", name=op.f("ck_loans_days_positive")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_loans_dates_in_order")),
        sa.CheckConstraint(
            "fee_cents >= 0 AND deposit_cents >= 0", name=op.f("ck_loans_money_not_negative")
        ),
        sa.CheckConstraint(
            "late_days >= 0 AND late_fee_cents >= 0", name=op.f("ck_loans_lateness_not_negative")
        ),
        sa.CheckConstraint("lender_id <> borrower_id", name=op.f("ck_loans_not_to_oneself")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["users.id"], name=op.f("fk_loans_borrower_id_users")
        ),
        sa.ForeignKeyConstraint(["lender_id"], ["users.id"], name=op.f("fk_loans_lender_id_users")),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_loans_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_lender_id"), ["lender_id"], unique=False)
        batch_op.create_index(
            "ix_loans_listing_state_dates",
            ["listing_id", "state", "starts_on", "ends_on"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_loans_state"), ["state"], unique=False)
        batch_op.create_index("ix_loans_state_expires", ["state", "expires_at"], unique=False)

    op.create_table(
        "damage_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(length=12), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_cents", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents >= 1", name=op.f("ck_damage_claims_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_damage_claims_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_damage_claims")),
        sa.UniqueConstraint("loan_id", name=op.f("uq_damage_claims_loan_id")),
    )
    op.create_table(
        "loan_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_loan_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_events_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_events")),
    )
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_events_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "damage_claim_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image_path", sa.String(length=255), nullable=False),
        sa.Column("thumb_path", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["damage_claims.id"],
            name=op.f("fk_damage_claim_photos_claim_id_damage_claims"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_damage_claim_photos")),
    )
    with op.batch_alter_table("damage_claim_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_damage_claim_photos_claim_id"), ["claim_id"], unique=False
        )

    # A plain ADD COLUMN with a constant default: SQLite then alters the table in place (a
    # batch copy of listings would drop its search triggers and trip the orders' foreign keys).
    op.add_column(
        "listings", sa.Column("for_sale", sa.Boolean(), server_default="1", nullable=False)
    )


def downgrade():
    op.drop_column("listings", "for_sale")  # SQLite 3.35+ drops a plain column in place

    with op.batch_alter_table("damage_claim_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_damage_claim_photos_claim_id"))

    op.drop_table("damage_claim_photos")
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_events_loan_id"))

    op.drop_table("loan_events")
    op.drop_table("damage_claims")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_state_expires")
        batch_op.drop_index(batch_op.f("ix_loans_state"))
        batch_op.drop_index("ix_loans_listing_state_dates")
        batch_op.drop_index(batch_op.f("ix_loans_lender_id"))
        batch_op.drop_index(batch_op.f("ix_loans_borrower_id"))

    op.drop_table("loans")
    op.drop_table("loan_offers")
    with op.batch_alter_table("loan_blockouts", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_blockouts_listing_dates")

    op.drop_table("loan_blockouts")

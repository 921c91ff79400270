"""Buying clubs: clubs and their members, group deals with price tiers, pledges, and the
history of deals and pledges.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clubs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=120), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("join_policy", sa.String(length=10), nullable=False),
        sa.Column("invite_token", sa.String(length=43), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "join_policy IN ('open', 'approval', 'invite')", name=op.f("ck_clubs_join_policy_known")
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'private')", name=op.f("ck_clubs_visibility_known")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_clubs_organizer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clubs")),
        sa.UniqueConstraint("invite_token", name=op.f("uq_clubs_invite_token")),
    )
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clubs_organizer_id"), ["organizer_id"], unique=False)

    op.create_table(
        "club_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('organizer', 'co_organizer', 'member')",
            name=op.f("ck_club_members_role_known"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'pending', 'declined', 'left', 'removed')",
            name=op.f("ck_club_members_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["club_id"], ["clubs.id"], name=op.f("fk_club_members_club_id_clubs")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_club_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_club_members")),
        sa.UniqueConstraint("club_id", "user_id", name="one_place_per_club"),
    )
    with op.batch_alter_table("club_members", schema=None) as batch_op:
        batch_op.create_index("ix_club_members_club_status", ["club_id", "status"], unique=False)
        batch_op.create_index("ix_club_members_user_status", ["user_id", "status"], unique=False)

    op.create_table(
        "group_deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club_id", sa.Integer(), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("cap_quantity", sa.Integer(), nullable=True),
        sa.Column("member_limit", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilment", sa.String(length=10), nullable=False),
        sa.Column("pickup_point", sa.String(length=200), nullable=False),
        sa.Column("pickup_times", sa.String(length=200), nullable=False),
        sa.Column("shipping_cents", sa.BigInteger(), nullable=False),
        sa.Column("organizer_fee_bps", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("pledged_quantity", sa.Integer(), nullable=False),
        sa.Column("pledge_count", sa.Integer(), nullable=False),
        sa.Column("final_unit_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("supplier_note", sa.Text(), nullable=True),
        sa.Column("cancel_note", sa.Text(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fulfilment IN ('pickup', 'shipping')", name=op.f("ck_group_deals_fulfilment_known")
        ),
        sa.CheckConstraint(
            "cap_quantity IS NULL OR cap_quantity >= min_quantity",
            name=op.f("ck_group_deals_cap_above_min"),
        ),
        sa.CheckConstraint(
            "cap_quantity IS NULL OR pledged_quantity <= cap_quantity",
            name=op.f("ck_group_deals_cap_kept"),
        ),
        sa.CheckConstraint(
            "member_limit IS NULL OR member_limit >= 1", name=op.f("ck_group_deals_limit_positive")
        ),
        sa.CheckConstraint("min_quantity >= 1", name=op.f("ck_group_deals_min_positive")),
        sa.CheckConstraint(
            "organizer_fee_bps >= 0 AND organizer_fee_bps <= 2000",
            name=op.f("ck_group_deals_fee_in_range"),
        ),
        sa.CheckConstraint(
            "organizer_id <> supplier_id", name=op.f("ck_group_deals_supplier_not_organizer")
        ),
        sa.CheckConstraint(
            "pledged_quantity >= 0", name=op.f("ck_group_deals_pledged_not_negative")
        ),
        sa.CheckConstraint(
            "shipping_cents >= 0", name=op.f("ck_group_deals_shipping_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["club_id"], ["clubs.id"], name=op.f("fk_group_deals_club_id_clubs")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_group_deals_organizer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["users.id"], name=op.f("fk_group_deals_supplier_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_deals")),
    )
    with op.batch_alter_table("group_deals", schema=None) as batch_op:
        batch_op.create_index("ix_group_deals_club_state", ["club_id", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_group_deals_organizer_id"), ["organizer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_group_deals_state"), ["state"], unique=False)
        batch_op.create_index("ix_group_deals_state_deadline", ["state", "deadline"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_group_deals_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "deal_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("min_quantity >= 1", name=op.f("ck_deal_tiers_quantity_positive")),
        sa.CheckConstraint("unit_price_cents >= 1", name=op.f("ck_deal_tiers_price_positive")),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["group_deals.id"],
            name=op.f("fk_deal_tiers_deal_id_group_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_tiers")),
        sa.UniqueConstraint("deal_id", "min_quantity", name="one_price_per_quantity"),
    )
    op.create_table(
        "pledges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=10), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("goods_cents", sa.BigInteger(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("shipping_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("charge_attempts", sa.Integer(), nullable=False),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_note", sa.Text(), nullable=True),
        sa.Column("withdraw_note", sa.Text(), nullable=True),
        sa.Column("problem_note", sa.Text(), nullable=True),
        sa.Column("pledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "payment_method IN ('card', 'in_person')", name=op.f("ck_pledges_method_known")
        ),
        sa.CheckConstraint(
            "goods_cents >= 0 AND fee_cents >= 0 AND shipping_cents >= 0 AND amount_cents >= 0",
            name=op.f("ck_pledges_money_not_negative"),
        ),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_pledges_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["group_deals.id"], name=op.f("fk_pledges_deal_id_group_deals")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_pledges_member_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledges")),
        sa.UniqueConstraint("deal_id", "member_id", name="one_pledge_per_member"),
    )
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.create_index("ix_pledges_deal_state", ["deal_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledges_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pledges_state"), ["state"], unique=False)
        batch_op.create_index("ix_pledges_state_grace", ["state", "grace_until"], unique=False)

    op.create_table(
        "deal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_deal_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["group_deals.id"], name=op.f("fk_deal_events_deal_id_group_deals")
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["pledges.id"], name=op.f("fk_deal_events_pledge_id_pledges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_events")),
    )
    with op.batch_alter_table("deal_events", schema=None) as batch_op:
        batch_op.create_index("ix_deal_events_deal_id", ["deal_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("deal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_events_deal_id")

    op.drop_table("deal_events")
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_index("ix_pledges_state_grace")
        batch_op.drop_index(batch_op.f("ix_pledges_state"))
        batch_op.drop_index(batch_op.f("ix_pledges_member_id"))
        batch_op.drop_index("ix_pledges_deal_state")

    op.drop_table("pledges")
    op.drop_table("deal_tiers")
    with op.batch_alter_table("group_deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_deals_supplier_id"))
        batch_op.drop_index("ix_group_deals_state_deadline")
        batch_op.drop_index(batch_op.f("ix_group_deals_state"))
        batch_op.drop_index(batch_op.f("ix_group_deals_organizer_id"))
        batch_op.drop_index("ix_group_deals_club_state")

    op.drop_table("group_deals")
    with op.batch_alter_table("club_members", schema=None) as batch_op:
        batch_op.drop_index("ix_club_members_user_status")
        batch_op.drop_index("ix_club_members_club_status")

    op.drop_table("club_members")
    with op.batch_alter_table("clubs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clubs_organizer_id"))

    op.drop_table("clubs")

"""Disputes about any kind of transaction (keyed by kind and id) with their evidence photos;
a moderator's decision on one is a moderation action ("decide") citing the dispute; orders get
their disputed and resolved states (their timestamps).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_ACTIONS = (
    "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss', "
    "'uphold', 'overturn')"
)
NEW_ACTIONS = (
    "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss', "
    "'uphold', 'overturn', 'decide')"
)


def upgrade():
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("opener_role", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stake_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("awarded_cents", sa.BigInteger(), nullable=True),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "(status = 'decided') = (awarded_cents IS NOT NULL)",
            name=op.f("ck_disputes_award_when_decided"),
        ),
        sa.CheckConstraint(
            "awarded_cents IS NULL OR (awarded_cents >= 0 AND refunded_cents >= 0 "
            "AND awarded_cents + refunded_cents = stake_cents)",
            name=op.f("ck_disputes_decision_divides_stake"),
        ),
        sa.CheckConstraint(
            "source IN ('member', 'chargeback')", name=op.f("ck_disputes_source_known")
        ),
        sa.CheckConstraint("stake_cents >= 0", name=op.f("ck_disputes_stake_not_negative")),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'decided')", name=op.f("ck_disputes_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_disputes_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["users.id"], name=op.f("fk_disputes_opened_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"], ["users.id"], name=op.f("fk_disputes_respondent_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_disputes_provider_ref")),
        sa.UniqueConstraint(
            "subject_kind", "subject_id", name=op.f("uq_disputes_subject_kind")
        ),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_opened_by_id"), ["opened_by_id"])
        batch_op.create_index(batch_op.f("ix_disputes_respondent_id"), ["respondent_id"])

    op.create_table(
        "dispute_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image_path", sa.String(length=255), nullable=False),
        sa.Column("thumb_path", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "side IN ('opener', 'respondent')", name=op.f("ck_dispute_photos_side_known")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_photos_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_photos")),
    )
    with op.batch_alter_table("dispute_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_photos_dispute_id"), ["dispute_id"])

    op.create_table(
        "refund_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("proposer_id", sa.Integer(), nullable=False),
        sa.Column("proposer_role", sa.String(length=20), nullable=False),
        sa.Column("refund_cents", sa.BigInteger(), nullable=False),
        sa.Column("stake_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "refund_cents >= 0 AND refund_cents <= stake_cents",
            name=op.f("ck_refund_offers_within_stake"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'replaced')",
            name=op.f("ck_refund_offers_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["users.id"], name=op.f("fk_refund_offers_answered_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposer_id"], ["users.id"], name=op.f("fk_refund_offers_proposer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_offers")),
    )
    with op.batch_alter_table("refund_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_offers_proposer_id"), ["proposer_id"])

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispute_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("detail", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_moderation_actions_dispute_id"), ["dispute_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_moderation_actions_dispute_id_disputes"),
            "disputes",
            ["dispute_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_moderation_actions_action_known"), type_="check")
        batch_op.create_check_constraint("action_known", NEW_ACTIONS)
        batch_op.create_check_constraint(
            "dispute_for_decide", "(action = 'decide') = (dispute_id IS NOT NULL)"
        )
        batch_op.create_check_constraint(
            "case_or_dispute", "case_id IS NOT NULL OR dispute_id IS NOT NULL"
        )


def downgrade():
    op.execute("DELETE FROM moderation_actions WHERE action = 'decide'")
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_moderation_actions_case_or_dispute"), type_="check")
        batch_op.drop_constraint(op.f("ck_moderation_actions_dispute_for_decide"), type_="check")
        batch_op.drop_constraint(op.f("ck_moderation_actions_action_known"), type_="check")
        batch_op.create_check_constraint("action_known", OLD_ACTIONS)
        batch_op.drop_constraint(
            batch_op.f("fk_moderation_actions_dispute_id_disputes"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_moderation_actions_dispute_id"))
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("detail")
        batch_op.drop_column("dispute_id")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("disputed_at")
    with op.batch_alter_table("refund_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_offers_proposer_id"))
    op.drop_table("refund_offers")
    with op.batch_alter_table("dispute_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_photos_dispute_id"))
    op.drop_table("dispute_photos")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_respondent_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_opened_by_id"))
    op.drop_table("disputes")

"""Appeals: a sanctioned member's one appeal per moderation action, decided by another
moderator as a new action (uphold or overturn) in the log; feedback withheld by a moderator
(no longer counted in reputation).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_ACTIONS = "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss')"
NEW_ACTIONS = (
    "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss', "
    "'uphold', 'overturn')"
)


def upgrade():
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appealed_action_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_moderation_actions_appealed_action_id_moderation_actions"),
            "moderation_actions",
            ["appealed_action_id"],
            ["id"],
        )
        batch_op.drop_constraint(batch_op.f("ck_moderation_actions_action_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_moderation_actions_action_known"), NEW_ACTIONS)
        batch_op.create_check_constraint(
            batch_op.f("ck_moderation_actions_appeal_decision_cites_action"),
            "(action IN ('uphold', 'overturn')) = (appealed_action_id IS NOT NULL)",
        )
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("appellant_id", sa.Integer(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'upheld', 'overturned')", name=op.f("ck_appeals_status_known")
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decision_id IS NULL)",
            name=op.f("ck_appeals_decided_with_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["moderation_actions.id"],
            name=op.f("fk_appeals_action_id_moderation_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["appellant_id"], ["users.id"], name=op.f("fk_appeals_appellant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["moderation_actions.id"],
            name=op.f("fk_appeals_decision_id_moderation_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("action_id", name=op.f("uq_appeals_action_id")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_appeals_decision_id")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_appellant_id"), ["appellant_id"], unique=False)
        batch_op.create_index("ix_appeals_status_created", ["status", "created_at"], unique=False)
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_withheld", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("is_withheld")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_status_created")
        batch_op.drop_index(batch_op.f("ix_appeals_appellant_id"))
    op.drop_table("appeals")
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_moderation_actions_appeal_decision_cites_action"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_moderation_actions_action_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_moderation_actions_action_known"), OLD_ACTIONS)
        batch_op.drop_constraint(
            batch_op.f("fk_moderation_actions_appealed_action_id_moderation_actions"),
            type_="foreignkey",
        )
        batch_op.drop_column("appealed_action_id")

"""Community rules and moderation: rule versions (the eight rules seeded as version 1), cases
with their reports, the append-only moderation log (a trigger on PostgreSQL), and the end date
of a member's suspension.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# The rules as first published (app/moderation/rules.py DEFAULT_RULES says the same).
RULES = [
    ("Be honest", "Describe things as they are: condition, faults, photos of the real item. "
     "No fake listings, no bait prices."),
    ("Deliver what you promise", "Ship or hand over what was sold, on time and as described."),
    ("Pay what you pledge", "An order or a pledge to a group deal is a promise to pay for it."),
    ("Return what you borrow", "Give borrowed things back on time and in the state you got "
     "them."),
    ("Feedback is about the transaction", "Rate the trade, not the person. No threats of bad "
     "feedback, no feedback for favours."),
    ("One person, one account", "No second accounts to rate yourself, dodge a sanction or start "
     "over."),
    ("No prohibited items", "Nothing illegal, stolen, dangerous or counterfeit."),
    ("No harassment", "Be civil in messages, listings, clubs and replies."),
]  # fmt: skip

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION moderation_actions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_actions is append-only';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER moderation_actions_append_only
BEFORE UPDATE OR DELETE ON moderation_actions
FOR EACH ROW EXECUTE FUNCTION moderation_actions_append_only()
"""


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "moderation_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("content_state", sa.String(length=10), nullable=False),
        sa.Column("is_auto_hidden", sa.Boolean(), nullable=False),
        sa.Column("needs_rereview", sa.Boolean(), nullable=False),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "content_state IN ('visible', 'hidden', 'removed')",
            name=op.f("ck_moderation_cases_content_state_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'closed')", name=op.f("ck_moderation_cases_status_known")
        ),
        sa.CheckConstraint(
            "target_kind IN ('listing', 'member', 'feedback', 'message', 'club', 'deal')",
            name=op.f("ck_moderation_cases_target_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"], ["users.id"], name=op.f("fk_moderation_cases_claimed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"], ["users.id"], name=op.f("fk_moderation_cases_target_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_cases")),
        sa.UniqueConstraint(
            "target_kind", "target_id", name=op.f("uq_moderation_cases_target_kind")
        ),
    )
    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_moderation_cases_status_opened", ["status", "opened_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_moderation_cases_target_user_id"), ["target_user_id"], unique=False
        )

    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_rule_sets_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint("version", name=op.f("uq_rule_sets_version")),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_rules_number_positive")),
        sa.ForeignKeyConstraint(
            ["rule_set_id"], ["rule_sets.id"], name=op.f("fk_rules_rule_set_id_rule_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("rule_set_id", "number", name=op.f("uq_rules_rule_set_id")),
    )
    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=False),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(action = 'suspend') = (suspended_until IS NOT NULL)",
            name=op.f("ck_moderation_actions_until_for_suspend"),
        ),
        sa.CheckConstraint(
            "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss')",
            name=op.f("ck_moderation_actions_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["moderation_cases.id"],
            name=op.f("fk_moderation_actions_case_id_moderation_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["moderator_id"], ["users.id"], name=op.f("fk_moderation_actions_moderator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_moderation_actions_rule_id_rules")
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"],
            ["users.id"],
            name=op.f("fk_moderation_actions_target_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_actions")),
    )
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_moderation_actions_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index("ix_moderation_actions_created", ["created_at"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("weight_milli", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'dismissed')",
            name=op.f("ck_reports_outcome_known"),
        ),
        sa.CheckConstraint("weight_milli >= 0", name=op.f("ck_reports_weight_not_negative")),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["moderation_actions.id"],
            name=op.f("fk_reports_action_id_moderation_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["moderation_cases.id"], name=op.f("fk_reports_case_id_moderation_cases")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_reports_reporter_id_users")
        ),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_reports_rule_id_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_reports_reporter_created", ["reporter_id", "created_at"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))

    rule_sets = sa.table(
        "rule_sets",
        sa.column("id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("note", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rules = sa.table(
        "rules",
        sa.column("rule_set_id", sa.Integer),
        sa.column("number", sa.Integer),
        sa.column("title", sa.String),
        sa.column("body", sa.Text),
    )
    op.bulk_insert(
        rule_sets,
        [{"id": 1, "version": 1, "note": "The first rules.", "created_at": datetime.now(UTC)}],
    )
    op.bulk_insert(
        rules,
        [
            {"rule_set_id": 1, "number": number, "title": title, "body": body}
            for number, (title, body) in enumerate(RULES, start=1)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS moderation_actions_append_only ON moderation_actions")
        op.execute("DROP FUNCTION IF EXISTS moderation_actions_append_only()")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_reporter_created")
        batch_op.drop_index(batch_op.f("ix_reports_case_id"))

    op.drop_table("reports")
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_actions_created")
        batch_op.drop_index(batch_op.f("ix_moderation_actions_case_id"))

    op.drop_table("moderation_actions")
    op.drop_table("rules")
    op.drop_table("rule_sets")
    with op.batch_alter_table("moderation_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_cases_target_user_id"))
        batch_op.drop_index("ix_moderation_cases_status_opened")

    op.drop_table("moderation_cases")
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): batch mode would copy and drop the
    # users table, which SQLite's foreign keys refuse while other rows point at it.
    op.execute("ALTER TABLE users DROP COLUMN suspended_until")

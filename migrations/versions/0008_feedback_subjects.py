"""Feedback on any kind of transaction: keyed by (subject_kind, subject_id, author, person rated).

Every existing feedback is about an order: it becomes ("order", order_id); the person rated moves
from subject_id to subject_user_id; the order's title and currency are copied next to the amount
already there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _order_column(expression: str) -> str:
    return f"(SELECT {expression} FROM orders o WHERE o.id = feedback.order_id)"


# Plain SQL that both SQLite and PostgreSQL run the same way.
MOVE_UP = (
    "UPDATE feedback SET subject_kind = 'order', subject_user_id = subject_id, "
    f"title = {_order_column('o.title')}, currency = {_order_column('o.currency')}"
)
MOVE_DOWN = "UPDATE feedback SET order_id = subject_id, subject_id = subject_user_id"


def upgrade():
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_kind", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("subject_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("title", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))

    op.execute(MOVE_UP)

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_subject_revealed")
        batch_op.drop_index(batch_op.f("ix_feedback_order_id"))
        batch_op.drop_constraint("uq_feedback_order_author", type_="unique")
        batch_op.drop_constraint(batch_op.f("ck_feedback_not_self"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_feedback_subject_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_feedback_order_id_orders"), type_="foreignkey")
        batch_op.drop_column("subject_id")

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column(
            "order_id", new_column_name="subject_id", existing_type=sa.Integer(), nullable=False
        )
        for name, type_ in (
            ("subject_kind", sa.String(length=30)),
            ("subject_user_id", sa.Integer()),
            ("title", sa.String(length=120)),
            ("currency", sa.String(length=3)),
        ):
            batch_op.alter_column(name, existing_type=type_, nullable=False)

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_feedback_subject_user_id_users"), "users", ["subject_user_id"], ["id"]
        )
        batch_op.create_unique_constraint(
            "uq_feedback_subject_author_rated",
            ["subject_kind", "subject_id", "author_id", "subject_user_id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_feedback_not_self"), "author_id <> subject_user_id"
        )
        batch_op.create_index(
            "ix_feedback_rated_revealed", ["subject_user_id", "revealed_at"], unique=False
        )


def downgrade():
    others = op.get_bind().scalar(
        sa.text("SELECT COUNT(*) FROM feedback WHERE subject_kind <> 'order'")
    )
    if others:
        raise RuntimeError(
            f"{others} feedback are about something other than an order; the old feedback "
            "table cannot hold them. Export or delete them before downgrading."
        )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_rated_revealed")
        batch_op.drop_constraint(batch_op.f("ck_feedback_not_self"), type_="check")
        batch_op.drop_constraint("uq_feedback_subject_author_rated", type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_feedback_subject_user_id_users"), type_="foreignkey"
        )
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))

    op.execute(MOVE_DOWN)

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("currency")
        batch_op.drop_column("title")
        batch_op.drop_column("subject_kind")
        batch_op.drop_column("subject_user_id")

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_feedback_order_id_orders"), "orders", ["order_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_feedback_subject_id_users"), "users", ["subject_id"], ["id"]
        )
        batch_op.create_unique_constraint("uq_feedback_order_author", ["order_id", "author_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_feedback_not_self"), "author_id <> subject_id"
        )
        batch_op.create_index(batch_op.f("ix_feedback_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_feedback_subject_revealed", ["subject_id", "revealed_at"], unique=False
        )

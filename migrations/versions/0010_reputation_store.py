"""Reputation scores keyed by (user_id, role); snapshots found by day.

A full reputation pass builds a new scores table and swaps it in. The table's surrogate `id`
goes (its sequence lost every score's number at every pass and would run out of int4), the
unique (user_id, role) becomes the primary key, and the foreign key to users goes (a swap
would have to lock `users` to drop and re-add it; the scores are a cache of feedback, whose
keys are checked). Snapshots get an index on day: a pass rewrites one day's points.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reputation_scores", schema=None) as batch_op:
        batch_op.drop_constraint("fk_reputation_scores_user_id_users", type_="foreignkey")
        batch_op.drop_constraint("uq_reputation_scores_user_role", type_="unique")
        batch_op.drop_constraint("pk_reputation_scores", type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_reputation_scores", ["user_id", "role"])

    with op.batch_alter_table("reputation_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_reputation_snapshots_day", ["day"], unique=False)


SCORE_COLUMNS = (
    "user_id, role, trust, confidence, feedback_score, percent_positive, positive, neutral, "
    "negative, counts, flags, explanation, computed_at"
)


def downgrade():
    with op.batch_alter_table("reputation_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_reputation_snapshots_day")

    # Back to the 0008 shape, keeping the scores: the old table steps aside (its key's name
    # freed), the new one is filled from it in key order (ids 1..n).
    op.rename_table("reputation_scores", "reputation_scores_0009")
    with op.batch_alter_table("reputation_scores_0009", schema=None) as batch_op:
        batch_op.drop_constraint("pk_reputation_scores", type_="primary")
    op.create_table(
        "reputation_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("trust", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("feedback_score", sa.Integer(), nullable=False),
        sa.Column("percent_positive", sa.Double(), nullable=True),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_reputation_scores_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reputation_scores"),
        sa.UniqueConstraint("user_id", "role", name="uq_reputation_scores_user_role"),
    )
    op.execute(
        f"INSERT INTO reputation_scores ({SCORE_COLUMNS}) SELECT {SCORE_COLUMNS} "
        "FROM reputation_scores_0009 ORDER BY user_id, role"
    )
    op.drop_table("reputation_scores_0009")

"""Each community rule says whether feedback may be hidden under it, and for what
(`feedback_grounds`, empty when it may not): an admin sets it when publishing a version, instead
of the app guessing from the rule's words.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The rules published before this revision named their feedback grounds only in words: rule 5
# ("Feedback is about the transaction") and rule 8 ("No harassment") of the first version.
GROUNDS_BY_WORD = (
    ("feedback", "off-topic, extortion, personal data"),
    ("harass", "abuse, harassment"),
)


def upgrade():
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feedback_grounds", sa.String(length=120), nullable=False, server_default="")
        )
    rules = sa.table(
        "rules",
        sa.column("id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("body", sa.Text),
        sa.column("feedback_grounds", sa.String),
    )
    connection = op.get_bind()
    for rule_id, title, body in connection.execute(sa.select(rules.c.id, rules.c.title, rules.c.body)):
        words = f"{title} {body}".lower()
        grounds = "; ".join(g for word, g in GROUNDS_BY_WORD if word in words)
        if grounds:
            connection.execute(
                rules.update().where(rules.c.id == rule_id).values(feedback_grounds=grounds)
            )


def downgrade():
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_column("feedback_grounds")

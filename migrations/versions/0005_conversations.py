"""Conversations on any subject: order messages move into one conversation per order.

Each order with messages becomes a conversation about ("order", id) with its buyer and seller as
participants. Read state moves from each message's read_at to one marker per participant: the
last message before the first one still unread (or the latest message when all are read), so
every unread count stays what it was.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "subject_kind", "subject_id", name=op.f("uq_conversations_subject_kind")
        ),
    )
    op.create_table(
        "conversation_participants",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=True),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_participants_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_conversation_participants_user_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "user_id", name=op.f("pk_conversation_participants")
        ),
    )
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_participants_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))

    for statement in MOVE_UP:
        op.execute(statement)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_recipient_unread")
        batch_op.drop_index(batch_op.f("ix_messages_order_id"))
        batch_op.drop_constraint(batch_op.f("fk_messages_order_id_orders"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_messages_recipient_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("order_id")
        batch_op.drop_column("recipient_id")
        batch_op.drop_column("read_at")
        batch_op.alter_column("conversation_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_conversation_id_conversations"),
            "conversations",
            ["conversation_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_messages_conversation_id_id", ["conversation_id", "id"], unique=False
        )


# Plain SQL that both SQLite and PostgreSQL run the same way.
MOVE_UP = (
    # One conversation per order that has messages, titled by the order's snapshot title.
    "INSERT INTO conversations (subject_kind, subject_id, title, created_at, last_message_at) "
    "SELECT 'order', o.id, o.title, MIN(m.created_at), MAX(m.created_at) "
    "FROM messages m JOIN orders o ON o.id = m.order_id GROUP BY o.id, o.title "
    "ORDER BY MIN(m.id)",
    "UPDATE messages SET conversation_id = (SELECT c.id FROM conversations c "
    "WHERE c.subject_kind = 'order' AND c.subject_id = messages.order_id)",
    # Buyer and seller; each one's marker sits just before the first message still unread to
    # them, or on the latest message when they have read everything.
    *(
        "INSERT INTO conversation_participants "
        "(conversation_id, user_id, joined_at, last_read_message_id, last_read_at) "
        f"SELECT c.id, o.{party}, c.created_at, "
        "COALESCE((SELECT MIN(m.id) - 1 FROM messages m WHERE m.conversation_id = c.id "
        f"AND m.recipient_id = o.{party} AND m.read_at IS NULL), "
        "(SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id)), "
        "(SELECT MAX(m.read_at) FROM messages m WHERE m.conversation_id = c.id "
        f"AND m.recipient_id = o.{party}) "
        "FROM conversations c JOIN orders o ON o.id = c.subject_id "
        "WHERE c.subject_kind = 'order'"
        for party in ("buyer_id", "seller_id")
    ),
)

# Back again: only order conversations have a place in the old table.
MOVE_DOWN = (
    "UPDATE messages SET "
    "order_id = (SELECT c.subject_id FROM conversations c WHERE c.id = messages.conversation_id), "
    "recipient_id = (SELECT p.user_id FROM conversation_participants p "
    "WHERE p.conversation_id = messages.conversation_id AND p.user_id <> messages.sender_id "
    "ORDER BY p.user_id LIMIT 1), "
    "read_at = (SELECT p.last_read_at FROM conversation_participants p "
    "WHERE p.conversation_id = messages.conversation_id AND p.user_id <> messages.sender_id "
    "AND p.last_read_message_id >= messages.id ORDER BY p.user_id LIMIT 1)",
)


def downgrade():
    others = op.get_bind().scalar(
        sa.text("SELECT COUNT(*) FROM conversations WHERE subject_kind <> 'order'")
    )
    if others:
        raise RuntimeError(
            f"{others} conversations are about something other than an order; the old "
            "messages table cannot hold them. Export or delete them before downgrading."
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recipient_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))

    for statement in MOVE_DOWN:
        op.execute(statement)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_conversation_id_id")
        batch_op.drop_constraint(
            batch_op.f("fk_messages_conversation_id_conversations"), type_="foreignkey"
        )
        batch_op.drop_column("conversation_id")
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("recipient_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_order_id_orders"), "orders", ["order_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_recipient_id_users"), "users", ["recipient_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_messages_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_messages_recipient_unread", ["recipient_id", "read_at"], unique=False
        )

    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_participants_user_id"))
    op.drop_table("conversation_participants")
    op.drop_table("conversations")

"""Messages between the parties of an order."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.messaging.models import Message


def unread_count(user_id: int) -> int:
    """How many messages addressed to this user are still unread."""
    return (
        db.session.scalar(
            select(func.count(Message.id)).where(
                Message.recipient_id == user_id, Message.read_at.is_(None)
            )
        )
        or 0
    )

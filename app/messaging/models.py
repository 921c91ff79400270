"""Messages between the two parties of an order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_recipient_unread", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])

"""Conversations on any subject (an order, a loan, a club, a deal) and their messages.

A conversation is keyed by its subject (kind, id), never by a foreign key to a kind's table:
messaging reaches a kind only through app/messaging/subjects.py. Read state is one marker per
participant (the last message they have read), so a thread of many people needs no row per
message and reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


class Conversation(db.Model):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(30))  # "order", later "loan", "club", ...
    subject_id: Mapped[int]
    # A snapshot of what it is about, as the subject described itself when the talk began.
    title: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime | None]

    participants: Mapped[list[ConversationParticipant]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        order_by="ConversationParticipant.joined_at, ConversationParticipant.user_id",
    )


class ConversationParticipant(db.Model):
    """One person in a conversation and how far they have read it."""

    __tablename__ = "conversation_participants"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every message with an id up to this one is read (None: nothing read yet). A marker, not a
    # foreign key: it only ever moves forward and says nothing about any one message row.
    last_read_message_id: Mapped[int | None]
    last_read_at: Mapped[datetime | None]  # when the marker last moved

    conversation: Mapped[Conversation] = relationship(back_populates="participants")
    user: Mapped[User] = relationship()


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    conversation: Mapped[Conversation] = relationship()

    # When the message counts as read, as seen by whoever asked (not stored: derived from the
    # participants' markers by app.messaging.services for the messages it returns).
    read_at = None

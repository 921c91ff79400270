"""A notification for one person about one event, and how each person wants to hear of each
kind of thing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db

CHANNELS = ("app", "email", "digest")


class Notification(db.Model):
    """Something one person should know or act on, with a link to the thing that needs them."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One notification per person per event, however often the event is delivered.
        UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("domain_events.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    event_name: Mapped[str] = mapped_column(String(60))
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300))  # a path on this site
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]  # sent on its own or in a digest

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(db.Model):
    """How a person hears of one kind of notification (no row: in the app only)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint("channel IN ('app', 'email', 'digest')", name="channel_known"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="app")


class NotificationDigest(db.Model):
    """A daily digest email that was sent: at most one per person a day."""

    __tablename__ = "notification_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int]

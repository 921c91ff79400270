"""People: one account acts in every role."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.listings.models import Listing


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("length(handle) >= 3", name="handle_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(80))
    bio: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(80))
    avatar_path: Mapped[str | None] = mapped_column(String(255))
    is_moderator: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_suspended: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    listings: Mapped[list[Listing]] = relationship(back_populates="seller")

    # The key of the sign-in this object was loaded through (not a column): Flask-Login stores
    # it in the session and the remember cookie instead of the bare user id.
    session_key = None  # str | None; a plain attribute, so no annotation (it would be mapped)

    def get_id(self) -> str:
        """Flask-Login's id for this sign-in: the random key of a LoginSession row."""
        if not self.session_key:
            raise RuntimeError("Open a session with accounts.services.open_session() first.")
        return self.session_key

    @property
    def name(self) -> str:
        """What to call this person on a page."""
        return self.display_name or self.handle

    @property
    def is_active(self) -> bool:  # Flask-Login: suspended accounts cannot sign in
        return not self.is_suspended

    def __repr__(self) -> str:
        return f"<User {self.id} @{self.handle}>"


class LoginSession(db.Model):
    """One signed-in browser. Its random key, not the user id, is what the session and the
    remember-me cookie carry, so deleting the row signs that browser out, both cookies included.
    Only a SHA-256 of the key is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()

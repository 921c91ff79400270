"""People: one account acts in every role."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
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
    # A sanction in force: until `suspended_until`, or for good (a ban) when that is None.
    # Suspended members still sign in and read; app/moderation/suspension.py refuses their writes.
    is_suspended: Mapped[bool] = mapped_column(default=False)
    suspended_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # When the person followed the link we mailed to `email` (None: not yet; no mail but that
    # link goes to the address until then). Accounts older than confirmation count as confirmed.
    email_confirmed_at: Mapped[datetime | None]

    listings: Mapped[list[Listing]] = relationship(back_populates="seller")

    # The key of the sign-in this object was loaded through (not a column): Flask-Login stores
    # it in the session and the remember cookie instead of the bare user id.
    session_key = None  # str | None; a plain attribute, so no annotation (it would be mapped)

    def get_id(self) -> str:
        """Flask-Login's id for this sign-in: the random key of a LoginSession row."""
        if not self.session_key:
            raise RuntimeError("Open a session with accounts.services.open_session() first.")
        return self.session_key

    # Flask-Login's UserMixin compares users by get_id(), which is a sign-in's key here: two
    # objects are the same member when they are the same row, signed in or not.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    def __hash__(self) -> int:
        return hash((User, self.id)) if self.id is not None else id(self)

    @property
    def name(self) -> str:
        """What to call this person on a page."""
        return self.display_name or self.handle

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_restricted(self) -> bool:
        """Suspended now (a suspension that has run out no longer counts) or banned."""
        if not self.is_suspended:
            return False
        return self.suspended_until is None or self.suspended_until > utcnow()

    @property
    def is_banned(self) -> bool:
        return self.is_suspended and self.suspended_until is None

    def __repr__(self) -> str:
        return f"<User {self.id} @{self.handle}>"


# Profiles and sign-in look people up case-blind: lower(handle), lower(email) (issue 14).
Index("ix_users_handle_lower", func.lower(User.handle))
Index("ix_users_email_lower", func.lower(User.email))


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


TOKEN_PURPOSES = ("reset_password", "confirm_email", "change_email")


class AccountToken(db.Model):
    """A link we mailed: to reset the password, to confirm the address, or to move the account
    to a new address (`new_email`). Only a SHA-256 of the random token is stored; a token works
    once (`used_at`) and until `expires_at`. Issuing a new one of a purpose voids the older ones."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('reset_password', 'confirm_email', 'change_email')", name="purpose_known"
        ),
        CheckConstraint(
            "(purpose = 'change_email') = (new_email IS NOT NULL)", name="new_email_for_change"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

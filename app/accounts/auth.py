"""Flask-Login wiring: how a session cookie becomes the current user."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from app.accounts.models import User
from app.extensions import db, login_manager


def init_app(app: Flask) -> None:
    """Configure the login manager for this app."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    app.config.setdefault(
        "REMEMBER_COOKIE_DURATION", timedelta(days=app.config["REMEMBER_COOKIE_DURATION_DAYS"])
    )


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user, or None when the id is stale or the account is suspended."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None

"""Flask-Login wiring: how a session or remember-me cookie becomes the current user.

Both cookies carry the key of a LoginSession row (User.get_id()), never the user id: a key is
new at every sign-in and dies with its row, so signing out, "sign out everywhere", a password
change or reset revoke the cookies, copies included."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from app.accounts import services
from app.accounts.models import User
from app.extensions import login_manager


def init_app(app: Flask) -> None:
    """Configure the login manager for this app."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    app.config.setdefault(
        "REMEMBER_COOKIE_DURATION", timedelta(days=app.config["REMEMBER_COOKIE_DURATION_DAYS"])
    )


@login_manager.user_loader
def load_user(session_key: str) -> User | None:
    """The signed-in user, or None when the session ended or expired or the account is
    suspended."""
    return services.user_for_session(session_key)

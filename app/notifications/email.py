"""Notification emails: plain text, with absolute links (SITE_URL), through Flask-Mailman."""

from __future__ import annotations

from flask import current_app
from flask_mailman import EmailMessage

SUBJECT_MAX = 90


def _subject(text: str) -> str:
    site = current_app.config["SITE_NAME"]
    subject = f"{site}: {text}"
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _site_url() -> str:
    return current_app.config["SITE_URL"].rstrip("/")


def render_template(name: str, **context) -> str:
    """Render an email template: no request, so none of the pages' context processors."""
    return current_app.jinja_env.get_template(name).render(**context)


def send_notification(user, notification) -> None:
    """Email one notification to its person (raises when the mail server refuses)."""
    body = render_template(
        "notifications/email/notification.txt",
        user=user,
        notification=notification,
        site_url=_site_url(),
    )
    EmailMessage(_subject(notification.text), body, to=[user.email]).send()


def send_digest(user, notifications: list) -> None:
    """Email the daily digest of these notifications to their person."""
    count = len(notifications)
    body = render_template(
        "notifications/email/digest.txt",
        user=user,
        notifications=notifications,
        site_url=_site_url(),
    )
    what = "notification" if count == 1 else "notifications"
    EmailMessage(_subject(f"{count} unread {what}"), body, to=[user.email]).send()

"""Notification emails, sent through app/mail.py (which skips unconfirmed addresses)."""

from __future__ import annotations

from app.mail import render_template, send_to_member


def send_notification(user, notification) -> bool:
    """Email one notification to its person; False when their address is not confirmed yet
    (raises when the mail server refuses)."""
    body = render_template(
        "notifications/email/notification.txt", user=user, notification=notification
    )
    return send_to_member(user, notification.text, body)


def send_digest(user, notifications: list) -> bool:
    """Email the daily digest of these notifications to their person; False when their
    address is not confirmed yet."""
    count = len(notifications)
    body = render_template("notifications/email/digest.txt", user=user, notifications=notifications)
    what = "notification" if count == 1 else "notifications"
    return send_to_member(user, f"{count} unread {what}", body)

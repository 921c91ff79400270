"""Sending email: plain text, absolute links (SITE_URL), through Flask-Mailman's backend.

The one place mail leaves the application. Accounts (confirmation, reset, address change) and
notifications both send through here; this module imports neither of them.

An address that is not confirmed yet gets no mail but the one that confirms it: send_to_member()
skips it, and only send_email() (used for the confirmation link itself and for mail to an
address that is not an account's yet) writes to an address unconditionally.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from flask import after_this_request, current_app, has_request_context
from flask_mailman import EmailMessage

from app.errors import DomainError

logger = logging.getLogger(__name__)


class MailNotSent(DomainError):
    code, status, default_message = (
        "mail_not_sent",
        503,
        "We could not send the email just now. Please try again in a few minutes.",
    )


SUBJECT_MAX = 90


def subject(text: str) -> str:
    """A subject line: the site's name first, cut to a length mail clients show."""
    site = current_app.config["SITE_NAME"]
    line = f"{site}: {text}"
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def site_url() -> str:
    """SITE_URL without its trailing slash."""
    return current_app.config["SITE_URL"].rstrip("/")


def absolute_url(path: str) -> str:
    """A path on this site as an absolute URL (SITE_URL), for emails."""
    return site_url() + "/" + path.lstrip("/")


def render_template(name: str, **context) -> str:
    """Render an email template: no request, so none of the pages' context processors."""
    return current_app.jinja_env.get_template(name).render(site_url=site_url(), **context)


def send_email(to: str, subject_text: str, body: str) -> None:
    """Send one message to one address. Raises MailNotSent when the mail server cannot be
    reached or refuses it."""
    try:
        EmailMessage(subject(subject_text), body, to=[to]).send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("email not sent: %s", type(error).__name__)
        raise MailNotSent() from error


def after_response(work: Callable[[], None]) -> None:
    """Run `work` (in a fresh app context) once the response has been delivered; at once
    outside a request. For a request whose answer must not reveal whether mail was sent
    (password reset): the answer then takes the same time either way. Failures are logged:
    the response is gone, the person can ask again."""
    if not has_request_context():
        work()
        return
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                logger.exception("work after the response failed")

    @after_this_request
    def _defer(response):
        response.call_on_close(run)
        return response


def send_to_member(user, subject_text: str, body: str) -> bool:
    """Send a message to a member's confirmed address; False (nothing sent) when the address
    is not confirmed yet, which only gets its confirmation link (through send_email). Raises
    MailNotSent."""
    if not user.is_email_confirmed:
        logger.info("email skipped, address not confirmed user_id=%s", user.id)
        return False
    send_email(user.email, subject_text, body)
    return True

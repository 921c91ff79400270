"""Email over real SMTP (aiosmtpd on a free loopback port), and how the backend is chosen."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import current_app

from app.messaging.services import send_message
from app.notifications import services
from app.transactions import events

ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8"))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server; the app sends through it for the test."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    mailman = current_app.extensions["mailman"]
    saved = mailman.backend, mailman.server, mailman.port, mailman.use_tls
    mailman.backend, mailman.server, mailman.port = "smtp", "127.0.0.1", controller.port
    mailman.use_tls = False
    try:
        yield inbox
    finally:
        mailman.backend, mailman.server, mailman.port, mailman.use_tls = saved
        controller.stop()


def test_a_message_notification_reaches_a_real_smtp_server(order, buyer, seller, smtp_server):
    services.set_preferences(seller.id, {"message": "email"})
    send_message("order", order.id, buyer.id, "Can I pick it up on Saturday?")
    events.deliver_committed()
    assert len(smtp_server.received) == 1
    sender, recipients, content = smtp_server.received[0]
    assert recipients == [seller.email]
    assert "noreply@localhost" in sender
    assert "Can I pick it up on Saturday?" in content
    assert re.search(r"http://mutual\.test/messages/\d+", content)


@pytest.mark.parametrize(
    ("environment", "backend"),
    [
        ({}, "console"),
        ({"MAIL_SERVER": "mail.example.org"}, "smtp"),
        ({"MAIL_SERVER": "mail.example.org", "MAIL_BACKEND": "file"}, "file"),
    ],
)
def test_the_mail_backend_is_console_until_a_mail_server_is_configured(environment, backend):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIL_")} | environment
    chosen = subprocess.run(
        [sys.executable, "-c", "import config; print(config.Config.MAIL_BACKEND)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert chosen == backend

"""The message form on an order page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField

from app.messaging.services import MAX_BODY_LENGTH


class MessageForm(FlaskForm):
    """Parses the body only: send_message judges it (empty, too long), as for the API."""

    body = TextAreaField("Message", render_kw={"maxlength": MAX_BODY_LENGTH, "rows": 3})

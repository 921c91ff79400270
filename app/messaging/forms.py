"""The message form on an order page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from app.messaging.services import MAX_BODY_LENGTH


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Message",
        validators=[
            InputRequired("Write a message first."),
            Length(max=MAX_BODY_LENGTH, message=f"At most {MAX_BODY_LENGTH} characters."),
        ],
        render_kw={"maxlength": MAX_BODY_LENGTH, "rows": 3},
    )

"""The token settings forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

SCOPE_CHOICES = [
    SelectChoice("read", "Read only: see your account, listings, orders, messages and feedback"),
    SelectChoice(
        "write", "Read and write: also sell, buy, move orders, send messages and leave feedback"
    ),
]


class NewTokenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the token a name, like “my script”."),
            Length(max=80, message="Keep it under 80 characters."),
        ],
    )
    scope = RadioField("What may it do?", choices=SCOPE_CHOICES, default="read")

    def scopes(self) -> list[str]:
        return ["read", "write"] if self.scope.data == "write" else ["read"]


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token."""

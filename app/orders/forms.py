"""Forms for buying and for the order action buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.orders.services import MAX_NOTE_LENGTH

NOTE_LABELS = {
    "ship": (
        "Note for the buyer (optional)",
        "A tracking number, or how and where you handed it over.",
    ),
    "cancel": ("Reason (optional)", "The other side sees this in the order history."),
}


class PlaceOrderForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Choose how many you want."),
            NumberRange(min=1, max=1_000_000, message="Choose a quantity of at least 1."),
        ],
    )


class OrderActionForm(FlaskForm):
    """One action button; created with prefix=<action> so several can share a page."""

    note = TextAreaField(
        "Note (optional)",
        validators=[
            Optional(),
            Length(max=MAX_NOTE_LENGTH, message=f"At most {MAX_NOTE_LENGTH} characters."),
        ],
    )

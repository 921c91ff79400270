"""Forms for buying and for the order action buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from app.orders.services import MAX_NOTE_LENGTH

NOTE_LABELS = {
    "ship": (
        "Note for the buyer (optional)",
        "A tracking number, or how and where you handed it over.",
    ),
    "cancel": ("Reason (optional)", "The other side sees this in the order history."),
}


class PlaceOrderForm(FlaskForm):
    """Parses the quantity only: place_order judges it, as it does for the API."""

    quantity = IntegerField(
        "Quantity",
        id="buy-quantity",
        default=1,
        validators=[InputRequired("Choose how many you want.")],
        invalid_value_message="Enter a whole number, like 2.",
        render_kw={"min": 1},
    )


class OrderActionForm(FlaskForm):
    """One action button; created with prefix=<action> so several can share a page. The note's
    length is transition's rule (the API gets the same answer); maxlength only helps."""

    note = TextAreaField("Note (optional)", render_kw={"maxlength": MAX_NOTE_LENGTH})


class MarkPaidForm(OrderActionForm):
    """Mark as paid moves money in the ledger and cannot be undone: the seller ticks that the
    money is in their hands (the page fills in the amount and the buyer). Works without
    JavaScript; the API call is its own confirmation."""

    confirm = BooleanField(
        "I have received the payment",
        validators=[DataRequired("Tick the box to confirm you have received the payment.")],
    )

"""Payment forms: they only parse input; the rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from app.payments.services import REASON_MAX


class RefundForm(FlaskForm):
    amount = StringField(
        "Amount to refund", id="refund-amount", validators=[DataRequired("Enter an amount.")]
    )
    # The length is refund_order's rule (the API gets the same answer); maxlength only helps.
    reason = TextAreaField(
        "Reason (the buyer sees it)", id="refund-reason", render_kw={"maxlength": REASON_MAX}
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (buttons that POST)."""

"""An order's money over HTTP: the card page, the return from it and the seller's refund form.
Thin: load the form, call one service of app/orders/money.py, answer."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.form_drafts import keep_failed_form
from app.money import format_money, parse_money
from app.orders import money
from app.orders.services import get_order_for

bp = Blueprint("order_payments", __name__)


class RefundForm(FlaskForm):
    amount = StringField(
        "Amount to refund", id="refund-amount", validators=[DataRequired("Enter an amount.")]
    )
    # The length is refund_order's rule (the API gets the same answer); maxlength only helps.
    reason = TextAreaField(
        "Reason (the buyer sees it)", id="refund-reason", render_kw={"maxlength": money.REASON_MAX}
    )


def _to_order(order_id: int):
    return redirect(url_for("orders.detail", order_id=order_id), 303)


@bp.get("/orders/<int:order_id>/pay")
@login_required
def pay(order_id: int):
    start = money.start_order_payment(order_id, current_user.id)
    order = get_order_for(order_id, current_user.id)
    return render_template(
        "payments/pay.html",
        order=order,
        start=start,
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        return_url=url_for("order_payments.pay_return", order_id=order_id, _external=True),
    )


@bp.get("/orders/<int:order_id>/pay/return")
@login_required
def pay_return(order_id: int):
    payment = money.sync_order_payment(order_id, current_user.id)
    if payment is None:
        flash("We have no payment for this order yet.", "warning")
    elif payment.status == "succeeded":
        flash("Payment received. The money is held until you confirm delivery.", "success")
    elif payment.status == "failed":
        flash(payment.failure_message or "The payment did not go through.", "error")
    elif payment.status in ("processing", "requires_action"):
        flash("Your payment is being processed. This page updates once it is confirmed.", "info")
    return _to_order(order_id)


@bp.post("/orders/<int:order_id>/refund")
@login_required
def refund(order_id: int):
    from app.orders.pages import refund_form_key

    order = get_order_for(order_id, current_user.id)
    form = RefundForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            flash("Your session expired. Please try again.", "error")
        else:
            keep_failed_form(refund_form_key(order_id), form)
        return _to_order(order_id)
    try:
        amount = parse_money(form.amount.data, order.currency)
    except ValueError as error:
        message = str(error).replace("a price", "an amount").replace("price", "amount")
        keep_failed_form(refund_form_key(order_id), form, {"amount": [message]})
        return _to_order(order_id)
    try:
        op = money.refund_order(order_id, current_user.id, amount, form.reason.data or "")
    except ValidationFailed as error:
        db.session.rollback()
        keep_failed_form(
            refund_form_key(order_id), form, error.fields or {"amount": [error.message]}
        )
        return _to_order(order_id)
    except Conflict as error:  # the order moved on (completed, refunded): explain, show it
        db.session.rollback()
        flash(error.message, "error")
        return _to_order(order_id)
    if op.status == "succeeded":
        flash(_refund_done(op), "success")
    else:
        flash(
            "The refund is recorded and will be sent as soon as the payment service answers.",
            "warning",
        )
    return _to_order(order_id)


def _refund_done(op) -> str:
    """What a refund did, true for the provider that made it."""
    amount = format_money(op.amount_cents, op.currency)
    if op.payment is not None and op.payment.provider == "manual":
        return f"Recorded: you gave {amount} back to the buyer in person."
    return f"Refund of {amount} sent to the buyer's card."

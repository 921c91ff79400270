"""Payments over HTTP: the card page, refunds, the statement, payouts and the Stripe webhook."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import csrf, db
from app.form_drafts import keep_failed_form
from app.money import format_money, parse_money
from app.pagination import page_number
from app.payments import operations, services, webhooks
from app.payments.forms import EmptyForm, RefundForm
from app.payments.providers import get_provider

logger = logging.getLogger(__name__)

bp = Blueprint("payments", __name__)


@bp.after_app_request
def _run_committed_operations(response):
    """Provider calls decided by this request run once its unit of work has committed."""
    try:
        operations.run_ready()
    except Exception:
        db.session.rollback()
        logger.exception("running payment operations after the request failed")
    return response


@bp.app_context_processor
def _payment_helpers() -> dict:
    """For the order page's payment panel (payments/_order_panel.html)."""
    return {"order_money": services.order_money, "settles_in_person": services.settles_in_person}


def _to_order(order_id: int):
    return redirect(url_for("orders.detail", order_id=order_id), 303)


@bp.get("/orders/<int:order_id>/pay")
@login_required
def pay(order_id: int):
    start = services.start_order_payment(order_id, current_user.id)
    from app.orders.services import get_order_for

    order = get_order_for(order_id, current_user.id)
    return render_template(
        "payments/pay.html",
        order=order,
        start=start,
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        return_url=url_for("payments.pay_return", order_id=order_id, _external=True),
    )


@bp.get("/orders/<int:order_id>/pay/return")
@login_required
def pay_return(order_id: int):
    payment = services.sync_order_payment(order_id, current_user.id)
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
    from app.orders.services import get_order_for

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
        op = services.refund_order(order_id, current_user.id, amount, form.reason.data or "")
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


@bp.get("/me/statement")
@login_required
def statement():
    data = services.statement_for(current_user.id, page=page_number(request.args.get("page")))
    return render_template("payments/statement.html", statement=data)


@bp.get("/me/payouts")
@login_required
def payouts():
    status = services.payout_status(current_user.id)
    return render_template("payments/payouts.html", status=status, form=EmptyForm())


@bp.post("/me/payouts/onboard")
@login_required
def payouts_onboard():
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        link = services.start_payout_onboarding(
            current_user.id,
            refresh_url=url_for("payments.payouts", _external=True),
            return_url=url_for("payments.payouts_return", _external=True),
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("payments.payouts"), 303)
    return redirect(link, 303)


@bp.get("/me/payouts/return")
@login_required
def payouts_return():
    try:
        status = services.refresh_payout_account(current_user.id)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("payments.payouts"), 303)
    if status.payouts_enabled:
        flash("Your payout account is ready.", "success")
    else:
        flash("Thanks. Your payout account is not active yet; Stripe may need more details.")
    return redirect(url_for("payments.payouts"), 303)


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    provider = get_provider()
    if provider.name != "stripe":
        abort(404)
    payload = request.get_data()
    try:
        event = provider.parse_webhook(payload, request.headers.get("Stripe-Signature"))
    except Exception:
        logger.warning("webhook with a bad signature or body refused")
        return jsonify({"error": {"code": "bad_signature", "message": "Invalid signature."}}), 400
    try:
        outcome = webhooks.handle_event(event)
    except ValueError:
        db.session.rollback()
        return jsonify({"error": {"code": "bad_event", "message": "Not an event."}}), 400
    except DomainError as error:
        # e.g. the provider did not answer while we fetched the object: ask Stripe to retry.
        db.session.rollback()
        logger.warning("webhook %s not processed: %s", event.get("id"), error.message)
        return jsonify({"received": False, "retry": True}), 503
    return jsonify({"received": True, "outcome": outcome})

"""Payments over HTTP: the statement, payouts, the saved card and the Stripe webhook (an
order's card page and refund form are the order's: app/orders/money_views.py)."""

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

from app.errors import DomainError
from app.extensions import csrf, db
from app.inputs import safe_next
from app.pagination import page_number
from app.payments import money, operations, services, webhooks
from app.payments.forms import EmptyForm
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
    """Whether payment is settled in person, for every page that words it, and whether the
    signed-in member has a card saved (borrowing by card needs one)."""

    def has_saved_card() -> bool:
        return current_user.is_authenticated and money.saved_card_of(current_user.id) is not None

    return {"settles_in_person": services.settles_in_person, "has_saved_card": has_saved_card}


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


@bp.get("/me/card")
@login_required
def card():
    """The card saved for charges made while you are away (a loan's deposit, a pledge)."""
    provider = get_provider()
    saved = money.saved_card_of(current_user.id)
    setup = None
    if provider.holds_funds and (saved is None or request.args.get("replace")):
        try:
            setup = money.start_card_setup(current_user.id, email=current_user.email)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    next_url = safe_next(request.args.get("next"))
    return render_template(
        "payments/card.html",
        in_person=not provider.holds_funds,
        saved=saved,
        setup=setup,
        publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        return_url=url_for("payments.card_return", next=next_url, _external=True),
        next_url=next_url,
        form=EmptyForm(),
    )


@bp.get("/me/card/return")
@login_required
def card_return():
    next_url = safe_next(request.args.get("next"))
    try:
        setup = money.finish_card_setup(current_user.id, request.args.get("setup_intent", ""))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("payments.card"), 303)
    if setup.status == "succeeded":
        flash("Your card is saved.", "success")
        return redirect(next_url or url_for("payments.card"), 303)
    flash("Your card was not saved. Please try again or use another card.", "error")
    return redirect(url_for("payments.card", next=next_url), 303)


@bp.post("/me/card/remove")
@login_required
def card_remove():
    if not EmptyForm().validate_on_submit():
        flash("Your session expired. Please try again.", "error")
    elif money.forget_saved_card(current_user.id):
        flash("Your card is removed. Nothing will be charged to it any more.", "info")
    return redirect(url_for("payments.card"), 303)


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

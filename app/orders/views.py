"""Orders over HTTP: buy, list, show, act. Thin: load the form, call one service, answer."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import Conflict, NotFound, ValidationFailed
from app.form_drafts import EXPIRED, form_refused, keep_failed_form, refilled_form
from app.listings.services import get_listing
from app.messaging.forms import MessageForm
from app.messaging.services import send_message, unread_by_subject
from app.orders import states
from app.orders.conversation import KIND
from app.orders.forms import PlaceOrderForm
from app.orders.pages import action_form, action_form_key, message_form_key, render_order_page
from app.orders.services import (
    CannotBuyOwnListing,
    order_counts,
    orders_for,
    place_order,
    transition,
)
from app.pagination import page_number
from app.payments.services import settles_in_person

bp = Blueprint("orders", __name__)

TABS = {"purchases": "buyer", "sales": "seller"}


@bp.post("/listings/<int:listing_id>/buy")
@login_required
def place(listing_id: int):
    form = PlaceOrderForm()
    back = redirect(url_for("listings.detail", listing_id=listing_id), code=303)
    if form_refused(form, _buy_key(listing_id)):
        return back
    try:
        order = place_order(current_user.id, listing_id, form.quantity.data)
    except CannotBuyOwnListing as error:
        flash(error.message, "error")
        return back
    except (Conflict, ValidationFailed) as error:
        if not get_listing(listing_id).is_buyable:  # sold out meanwhile: the form is gone
            flash(error.message, "error")
        else:  # the quantity: say so under the field
            errors = error.fields or {"quantity": [error.message]}
            keep_failed_form(_buy_key(listing_id), form, errors)
        return back
    if order.is_free:
        flash(
            "Order placed. It's free: no payment needed. Agree on the hand-over below.", "success"
        )
    elif settles_in_person():
        flash("Order placed. Arrange payment with the seller in the messages below.", "success")
    else:
        flash("Order placed. Pay by card below to confirm it.", "success")
    return redirect(url_for("orders.detail", order_id=order.id), code=303)


def _buy_key(listing_id: int) -> str:
    return f"buy:{listing_id}"


@bp.app_template_global()
def buy_form(listing) -> PlaceOrderForm:
    """The listing page's buy form, refilled after a failed purchase."""
    return refilled_form(_buy_key(listing.id), lambda data: PlaceOrderForm(formdata=data))


@bp.get("/orders")
@login_required
def index():
    tab = request.args.get("tab", "purchases")
    if tab not in TABS:
        tab = "purchases"
    state = request.args.get("state") or None
    if state not in states.STATES:
        state = None
    counts = order_counts(current_user.id)
    page = orders_for(
        current_user.id,
        TABS[tab],
        state=state,
        page=page_number(request.args.get("page")),
        total=None if state else counts[TABS[tab]],  # the tab's count is the page's total
    )
    return render_template(
        "orders/index.html",
        tab=tab,
        state=state,
        page=page,
        counts=counts,
        unread=unread_by_subject(current_user.id, KIND, [o.id for o in page.items]),
        state_labels=states.STATE_LABELS,
    )


@bp.get("/orders/<int:order_id>")
@login_required
def detail(order_id: int):
    return render_order_page(order_id)


@bp.post("/orders/<int:order_id>/messages")
@login_required
def send(order_id: int):
    form = MessageForm()
    back = redirect(url_for("orders.detail", order_id=order_id, _anchor="messages"), 303)
    if form_refused(form, message_form_key(order_id)):
        return back
    try:
        send_message(KIND, order_id, current_user.id, form.body.data)
    except ValidationFailed as error:
        keep_failed_form(
            message_form_key(order_id), form, error.fields or {"body": [error.message]}
        )
    return back


@bp.post("/orders/<int:order_id>/<action>")
@login_required
def act(order_id: int, action: str):
    if action not in states.ACTION_LABELS:
        raise NotFound("That is not something you can do with an order.")
    form = action_form(action, formdata=request.form)
    back = redirect(url_for("orders.detail", order_id=order_id), code=303)
    if not form.validate():
        if "csrf_token" in form.errors:
            flash(EXPIRED, "error")
        else:  # the mark-paid confirmation box: say so under it
            keep_failed_form(action_form_key(action, order_id), form)
        return back
    try:
        transition(order_id, action, current_user.id, note=form.note.data)
    except ValidationFailed as error:  # the note: show it again under the field
        errors = error.fields or {"note": [error.message]}
        keep_failed_form(action_form_key(action, order_id), form, errors)
        return back
    except Conflict as error:  # the order moved on: explain, show it
        flash(error.message, "error")
        return back
    flash(_DONE.get(action, "Done."), "success")
    return back


_DONE = {
    "mark_paid": "Marked as paid. Ship the item when you're ready.",
    "ship": "Marked as shipped. The buyer can confirm delivery when it arrives.",
    "confirm_delivery": "Thanks! The order is complete. You can leave feedback now.",
    "cancel": "The order was cancelled.",
}

"""Messages over HTTP: send on an order page, and the inbox."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.form_drafts import keep_failed_form
from app.messaging.forms import MessageForm
from app.messaging.services import inbox as inbox_of
from app.messaging.services import send_message
from app.orders.pages import message_form_key

bp = Blueprint("messaging", __name__)


@bp.post("/orders/<int:order_id>/messages")
@login_required
def send(order_id: int):
    form = MessageForm()
    back = redirect(url_for("orders.detail", order_id=order_id, _anchor="messages"), 303)
    if not form.validate():
        if "csrf_token" in form.errors:
            flash("Your session expired. Please try again.", "error")
        else:
            keep_failed_form(message_form_key(order_id), form)
        return back
    try:
        send_message(order_id, current_user.id, form.body.data)
    except ValidationFailed as error:
        keep_failed_form(
            message_form_key(order_id), form, error.fields or {"body": [error.message]}
        )
    return back


@bp.get("/messages")
@login_required
def inbox():
    return render_template("messaging/inbox.html", conversations=inbox_of(current_user.id))

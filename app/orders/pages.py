"""Renders the order page; shared by the order views and the message view, which both show it
again with their form's errors."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from app.messaging.forms import MessageForm
from app.messaging.services import thread
from app.money import format_money
from app.orders import states
from app.orders.conversation import KIND
from app.orders.forms import NOTE_LABELS, MarkPaidForm, OrderActionForm
from app.orders.services import auto_complete_at, available_actions, get_order_for
from app.payments.services import settles_in_person


def action_form(action: str, formdata=None) -> OrderActionForm:
    """The form behind one action button; its fields are prefixed with the action name."""
    form_class = MarkPaidForm if action == "mark_paid" else OrderActionForm
    form = form_class(formdata=formdata, prefix=action)
    label, _ = NOTE_LABELS.get(action, ("Note (optional)", ""))
    form.note.label.text = label
    return form


def render_order_page(
    order_id: int,
    *,
    message_form: MessageForm | None = None,
    failed_action: tuple[str, OrderActionForm] | None = None,
    status: int = 200,
):
    """The order detail page for the signed-in party (NotFound for anyone else)."""
    order = get_order_for(order_id, current_user.id)
    role = order.role_of(current_user.id)
    buttons = []
    for action in available_actions(order, current_user.id):
        if failed_action and failed_action[0] == action:
            form = failed_action[1]
        else:
            form = action_form(action, formdata=None)
        if action == "mark_paid":
            form.confirm.label.text = _received_label(order)
        buttons.append(
            {
                "action": action,
                "label": states.ACTION_LABELS[action],
                "form": form,
                "has_note": action in states.ACTIONS_WITH_NOTE,
                "hint": NOTE_LABELS.get(action, ("", ""))[1],
                "is_danger": action == "cancel",
            }
        )
    feedback = None
    if order.state == states.COMPLETED:
        from app.reviews.services import feedback_view

        feedback = feedback_view(order.id, current_user.id, kind=KIND)
    messages = thread(KIND, order.id, current_user.id)
    page = render_template(
        "orders/detail.html",
        order=order,
        role=role,
        other=order.seller if role == "buyer" else order.buyer,
        next_step=states.next_step(
            order.state,
            role,
            settles_in_person=settles_in_person(),
            site_name=current_app.config["SITE_NAME"],
            is_free=order.is_free,
        ),
        auto_complete_at=auto_complete_at(order),
        buttons=buttons,
        event_labels=states.EVENT_LABELS,
        messages=messages,
        message_form=message_form or MessageForm(formdata=None),
        feedback=feedback,
    )
    return page, status


def _received_label(order) -> str:
    """What the seller confirms by ticking the box before Mark as paid."""
    if order.is_free:
        return "This item is free: I confirm there is nothing to collect."
    amount = format_money(order.total_cents, order.currency)
    return f"I have received {amount} from @{order.buyer.handle}."

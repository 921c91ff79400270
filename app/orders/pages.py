"""Renders the order page with every form on it: action notes, messages, refund. A failed post
to any of them comes back here (303) and finds what was typed and its errors."""

from __future__ import annotations

from functools import partial

from flask import current_app, render_template
from flask_login import current_user

from app.disputes.refunds import can_offer
from app.disputes.services import dispute_about
from app.form_drafts import refilled_form
from app.messaging.forms import MessageForm
from app.messaging.services import thread
from app.money import format_money
from app.orders import states
from app.orders.conversation import KIND
from app.orders.forms import NOTE_LABELS, MarkPaidForm, OrderActionForm
from app.orders.kind import ORDER_KIND
from app.orders.money import refund_window_ends
from app.orders.money_views import RefundForm
from app.orders.services import auto_complete_at, available_actions, get_order_for
from app.payments.services import settles_in_person

DISPUTE_STATES = frozenset({states.DISPUTED, states.RESOLVED})


def action_form(action: str, formdata=None) -> OrderActionForm:
    """The form behind one action button; its fields are prefixed with the action name."""
    form_class = MarkPaidForm if action == "mark_paid" else OrderActionForm
    form = form_class(formdata=formdata, prefix=action)
    label, _ = NOTE_LABELS.get(action, ("Note (optional)", ""))
    form.note.label.text = label
    return form


def action_form_key(action: str, order_id: int) -> str:
    """Where a failed action's note waits for the order page (app.form_drafts)."""
    return f"{action}:{order_id}"


def message_form_key(order_id: int) -> str:
    return f"message:{order_id}"


def refund_form_key(order_id: int) -> str:
    return f"refund:{order_id}"


def render_order_page(order_id: int):
    """The order detail page for the signed-in party (NotFound for anyone else), its forms
    refilled with what a failed post kept."""
    order = get_order_for(order_id, current_user.id, for_page=True)
    role = order.role_of(current_user.id)
    buttons = []
    for action in available_actions(order, current_user.id):
        if action == "dispute":  # its own page: a reason and photos (app/disputes)
            continue
        form = refilled_form(action_form_key(action, order.id), partial(action_form, action))
        if action == "mark_paid":
            form.confirm.label.text = _received_label(order)
        buttons.append(
            {
                "action": action,
                "label": states.MACHINE.action_labels[action],
                "form": form,
                "has_note": action in states.MACHINE.actions_with_note,
                "hint": NOTE_LABELS.get(action, ("", ""))[1],
                "is_danger": action in states.MACHINE.danger_actions,
                "confirm_label": states.MACHINE.confirm_labels.get(action, ""),
            }
        )
    feedback = None
    if ORDER_KIND.feedback_opens(order):
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
        machine=states.MACHINE,
        messages=messages,
        message_form=refilled_form(
            message_form_key(order.id), lambda data: MessageForm(formdata=data)
        ),
        refund_form=refilled_form(
            refund_form_key(order.id), lambda data: RefundForm(formdata=data)
        ),
        feedback=feedback,
        can_dispute="dispute" in available_actions(order, current_user.id),
        can_offer_refund=can_offer(KIND, order, current_user.id),
        refund_until=refund_window_ends(order),
        dispute=dispute_about(KIND, order.id) if order.state in DISPUTE_STATES else None,
    )
    return page


def _received_label(order) -> str:
    """What the seller confirms by ticking the box before Mark as paid."""
    if order.is_free:
        return "This item is free: I confirm there is nothing to collect."
    amount = format_money(order.total_cents, order.currency)
    return f"I have received {amount} from @{order.buyer.handle}."

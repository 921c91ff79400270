"""Feedback over HTTP: leave feedback on an order and reply to it (the profile lists it)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.form_drafts import keep_failed_form, refilled_form
from app.reviews import services
from app.reviews.badges import BADGE_RULES, NEW_MEMBER_RULE
from app.reviews.forms import FeedbackForm, ReplyForm
from app.reviews.models import Feedback

bp = Blueprint("reviews", __name__)

DETAIL_FIELDS = ("described", "communication", "speed")
DETAIL_CHOICE_ERROR = "Choose a rating from 1 to 5, or skip it."


def _back_to_order(order_id: int):
    return redirect(url_for("orders.detail", order_id=order_id) + "#feedback", 303)


def _first_error(errors: dict) -> str:
    for messages in errors.values():
        if messages:
            return messages[0] if isinstance(messages, list | tuple) else str(messages)
    return "Please check the form."


def _feedback_key(order_id: int) -> str:
    return f"feedback:{order_id}"


def _reply_key(feedback_id: int) -> str:
    return f"reply:{feedback_id}"


@bp.post("/orders/<int:order_id>/feedback")
@login_required
def leave(order_id: int):
    form = FeedbackForm()
    if not form.validate_on_submit():
        # Only a detail that is not a number gets here: the rules themselves are the service's.
        errors = {name: [DETAIL_CHOICE_ERROR] for name in form.errors if name in DETAIL_FIELDS}
        keep_failed_form(_feedback_key(order_id), form, errors or form.errors)
        flash(_first_error(errors or form.errors), "error")
        return _back_to_order(order_id)
    try:
        feedback = services.leave_feedback(
            order_id,
            current_user.id,
            form.rating.data or "",
            form.comment.data or "",
            described=form.described.data,
            communication=form.communication.data,
            speed=form.speed.data,
        )
    except ValidationFailed as error:
        keep_failed_form(_feedback_key(order_id), form, error.fields)
        flash(error.message, "error")
        return _back_to_order(order_id)
    except Conflict as error:
        flash(error.message, "error")
        return _back_to_order(order_id)
    other = feedback.subject.handle
    if feedback.is_revealed:
        flash(f"Thank you. Your feedback is posted, and you can now read @{other}'s.", "success")
    else:
        closes_at = services.feedback_window_closes_at(feedback.order)
        flash(
            f"Thank you. Your feedback stays hidden until @{other} rates too "
            f"or the window closes on {closes_at:%b %-d, %Y}.",
            "success",
        )
    return _back_to_order(order_id)


@bp.post("/feedback/<int:feedback_id>/reply")
@login_required
def reply(feedback_id: int):
    form = ReplyForm()  # CSRF is checked app-wide; the rules are the service's.
    # NotFound and Forbidden answer 404/403: a stranger gets no redirect into someone's order.
    try:
        feedback = services.reply_to_feedback(feedback_id, current_user.id, form.text.data or "")
    except ValidationFailed as error:  # the text: show it again under the reply box
        feedback = db.session.get(Feedback, feedback_id)
        keep_failed_form(
            _reply_key(feedback_id), form, {"text": error.fields.get("reply") or [error.message]}
        )
        return _back_to_order(feedback.order_id)
    except Conflict as error:
        feedback = db.session.get(Feedback, feedback_id)
        flash(error.message, "error")
        return _back_to_order(feedback.order_id)
    flash("Your reply is posted.", "success")
    return _back_to_order(feedback.order_id)


@bp.app_template_global()
def reply_form(feedback: Feedback) -> ReplyForm:
    """The reply box under `feedback`, refilled after a failed reply."""
    form = refilled_form(_reply_key(feedback.id), lambda data: ReplyForm(formdata=data))
    form.text.label.text = f"Reply to @{feedback.author.handle}"
    return form


@bp.app_template_global()
def feedback_form(order) -> FeedbackForm:
    """The feedback form for `order`, refilled with the draft and errors of a failed attempt."""
    return refilled_form(_feedback_key(order.id), lambda data: FeedbackForm(formdata=data))


@bp.app_template_global()
def feedback_details(feedback: Feedback) -> list[tuple[str, int]]:
    """(label, 1-5) of the detailed ratings given in this feedback."""
    values = {
        "described": feedback.detail_described,
        "communication": feedback.detail_communication,
        "speed": feedback.detail_speed,
    }
    return [
        (label, values[name])
        for name, label in services.DETAILS_BY_SUBJECT_ROLE.get(feedback.subject_role, ())
        if values[name] is not None
    ]


@bp.app_template_global()
def reputation_badge_rules() -> list[tuple[str, str]]:
    """(badge name, rule in words) of every badge: the about page states what the code applies."""
    return [(rule.name, rule.rule_text) for rule in BADGE_RULES] + [("New member", NEW_MEMBER_RULE)]


@bp.app_template_global()
def reputation_rules() -> dict:
    """The numbers the about page quotes, from the engine's and the badges' own settings."""
    from app.reviews.badges import HIGH_EVIDENCE, MEDIUM_EVIDENCE
    from app.reviews.reputation import ENGINE_CONFIG

    return {
        "recent_share": round(ENGINE_CONFIG.recent_share * 100),
        "half_life_days": f"{ENGINE_CONFIG.half_life_days:g}",
        "medium": f"{MEDIUM_EVIDENCE:g}",
        "high": f"{HIGH_EVIDENCE:g}",
    }

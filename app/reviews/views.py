"""Feedback over HTTP: leave feedback on an order and reply to it (the profile lists it)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.reviews import services
from app.reviews.badges import BADGE_RULES, NEW_MEMBER_RULE
from app.reviews.forms import FeedbackForm, ReplyForm
from app.reviews.models import Feedback

bp = Blueprint("reviews", __name__)

DRAFT_KEY = "feedback_draft"
DETAIL_FIELDS = ("described", "communication", "speed")
DETAIL_CHOICE_ERROR = "Choose a rating from 1 to 5, or skip it."


def _back_to_order(order_id: int):
    return redirect(url_for("orders.detail", order_id=order_id) + "#feedback", 303)


def _first_error(errors: dict) -> str:
    for messages in errors.values():
        if messages:
            return messages[0] if isinstance(messages, list | tuple) else str(messages)
    return "Please check the form."


def _keep_draft(order_id: int, errors: dict) -> None:
    """Keep what was typed across the redirect, so a form error never loses the comment."""
    session[DRAFT_KEY] = {
        "order_id": order_id,
        "data": {
            "rating": request.form.get("rating", "")[:10],
            "described": request.form.get("described", "")[:2],
            "communication": request.form.get("communication", "")[:2],
            "speed": request.form.get("speed", "")[:2],
            "comment": request.form.get("comment", "")[: services.COMMENT_MAX],
        },
        "errors": {name: [str(m) for m in messages][:1] for name, messages in errors.items()},
    }


@bp.post("/orders/<int:order_id>/feedback")
@login_required
def leave(order_id: int):
    form = FeedbackForm()
    if not form.validate_on_submit():
        # Only a detail that is not a number gets here: the rules themselves are the service's.
        errors = {name: [DETAIL_CHOICE_ERROR] for name in form.errors if name in DETAIL_FIELDS}
        _keep_draft(order_id, errors or form.errors)
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
        _keep_draft(order_id, error.fields)
        flash(error.message, "error")
        return _back_to_order(order_id)
    except Conflict as error:
        flash(error.message, "error")
        return _back_to_order(order_id)
    session.pop(DRAFT_KEY, None)
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
    except (ValidationFailed, Conflict) as error:
        feedback = db.session.get(Feedback, feedback_id)
        flash(error.message, "error")
        return _back_to_order(feedback.order_id)
    flash("Your reply is posted.", "success")
    return _back_to_order(feedback.order_id)


@bp.app_template_global()
def feedback_form(order) -> FeedbackForm:
    """The feedback form for `order`, refilled with the draft and errors of a failed attempt."""
    draft = session.get(DRAFT_KEY)
    if draft and draft.get("order_id") == order.id:
        session.pop(DRAFT_KEY, None)
        data = dict(draft.get("data") or {})
        for name in ("described", "communication", "speed"):
            data[name] = data.get(name) or ""
        form = FeedbackForm(formdata=None, data=data)
        for name, messages in (draft.get("errors") or {}).items():
            if name in form:
                form[name].errors = list(messages)
    else:
        form = FeedbackForm(formdata=None)
    return form


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

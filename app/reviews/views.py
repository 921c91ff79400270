"""Feedback over HTTP: leave feedback on a transaction and reply to it (the profile lists it).

Orders keep their address, /orders/<id>/feedback; another kind's page posts to
/feedback/<kind>/<id>, naming the person rated in `about` when the author rates several.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.form_drafts import keep_failed_form, refilled_form
from app.reviews import services
from app.reviews.badges import BADGE_RULES, NEW_MEMBER_RULE
from app.reviews.forms import FeedbackForm, ReplyForm
from app.reviews.kinds import details_for, role_label
from app.reviews.models import Feedback

bp = Blueprint("reviews", __name__)

DETAIL_FIELDS = ("described", "communication", "speed")
DETAIL_CHOICE_ERROR = "Choose a rating from 1 to 5, or skip it."


def _back_to(kind: str, subject_id: int):
    """To the transaction's page, at its feedback."""
    path = services.transaction_path(kind, subject_id)
    return redirect(request.script_root + path + "#feedback", 303)


def _first_error(errors: dict) -> str:
    for messages in errors.values():
        if messages:
            return messages[0] if isinstance(messages, list | tuple) else str(messages)
    return "Please check the form."


def _feedback_key(kind: str, subject_id: int, about: object = None) -> str:
    """Where a failed feedback waits for its page (app.form_drafts): one per person rated."""
    return f"feedback:{kind}:{subject_id}:{'' if about in (None, '') else about}"


def _reply_key(feedback_id: int) -> str:
    return f"reply:{feedback_id}"


@bp.post("/orders/<int:order_id>/feedback")
@login_required
def leave(order_id: int):
    return _leave("order", order_id)


@bp.post("/feedback/<kind>/<int:subject_id>")
@login_required
def leave_on(kind: str, subject_id: int):
    services.transaction_path(kind, subject_id)  # 404 for an unknown kind or transaction
    return _leave(kind, subject_id)


def _leave(kind: str, subject_id: int):
    form = FeedbackForm()
    if not form.validate_on_submit():
        # Only a detail that is not a number gets here: the rules themselves are the service's.
        errors = {name: [DETAIL_CHOICE_ERROR] for name in form.errors if name in DETAIL_FIELDS}
        keep_failed_form(
            _feedback_key(kind, subject_id, form.about.data), form, errors or form.errors
        )
        flash(_first_error(errors or form.errors), "error")
        return _back_to(kind, subject_id)
    try:
        feedback = services.leave_feedback(
            subject_id,
            current_user.id,
            form.rating.data or "",
            form.comment.data or "",
            described=form.described.data,
            communication=form.communication.data,
            speed=form.speed.data,
            kind=kind,
            about=form.about.data,
        )
    except ValidationFailed as error:
        keep_failed_form(_feedback_key(kind, subject_id, form.about.data), form, error.fields)
        flash(error.message, "error")
        return _back_to(kind, subject_id)
    except Conflict as error:
        flash(error.message, "error")
        return _back_to(kind, subject_id)
    other = feedback.subject.handle
    if feedback.is_revealed:
        flash(f"Thank you. Your feedback is posted, and you can now read @{other}'s.", "success")
    else:
        closes_at = services.window_of(kind, subject_id)
        flash(
            f"Thank you. Your feedback stays hidden until @{other} rates too "
            f"or the window closes on {closes_at:%b %-d, %Y}.",
            "success",
        )
    return _back_to(kind, subject_id)


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
        return _back_to(feedback.subject_kind, feedback.subject_id)
    except Conflict as error:
        feedback = db.session.get(Feedback, feedback_id)
        flash(error.message, "error")
        return _back_to(feedback.subject_kind, feedback.subject_id)
    flash("Your reply is posted.", "success")
    return _back_to(feedback.subject_kind, feedback.subject_id)


@bp.app_template_global()
def reply_form(feedback: Feedback) -> ReplyForm:
    """The reply box under `feedback`, refilled after a failed reply."""
    form = refilled_form(_reply_key(feedback.id), lambda data: ReplyForm(formdata=data))
    form.text.label.text = f"Reply to @{feedback.author.handle}"
    return form


@bp.app_template_global()
def feedback_form(view: services.FeedbackView, about: int | None = None) -> FeedbackForm:
    """The feedback form of a transaction (about one person), refilled with the draft and errors
    of a failed attempt."""
    key = _feedback_key(view.kind, view.subject_id, about)
    return refilled_form(key, lambda data: FeedbackForm(formdata=data))


@bp.app_template_global()
def feedback_details(feedback: Feedback) -> list[tuple[str, int]]:
    """(label, 1-5) of the detailed ratings given in this feedback."""
    values = {
        "described": feedback.detail_described,
        "communication": feedback.detail_communication,
        "speed": feedback.detail_speed,
    }
    details = details_for(feedback.subject_kind, feedback.author_role, feedback.subject_role)
    return [(label, values[name]) for name, label in details if values[name] is not None]


@bp.app_template_global()
def feedback_role_label(role: str) -> str:
    """How a page names a role, as the kind that has it says ("seller")."""
    return role_label(role)


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

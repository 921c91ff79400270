"""Notification pages: the list, reading, and the preferences in settings; and the bell."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.notifications import services
from app.notifications.forms import ButtonForm, preferences_form

bp = Blueprint("notifications", __name__)

PER_PAGE = 20


@bp.get("/notifications")
@login_required
def index():
    unread_only = request.args.get("show") == "unread"
    page = services.notifications_for(
        current_user.id,
        unread_only=unread_only,
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
    )
    return render_template(
        "notifications/index.html", page=page, unread_only=unread_only, form=ButtonForm()
    )


@bp.get("/notifications/<int:notification_id>/open")
@login_required
def open_(notification_id: int):
    """Follow a notification to the thing that needs you; it counts as read."""
    notification = services.mark_read(notification_id, current_user.id)
    link = notification.link
    is_local = link.startswith("/") and not link.startswith("//")
    return redirect(link if is_local else url_for("notifications.index"), code=303)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    if ButtonForm().validate_on_submit():
        services.mark_read(notification_id, current_user.id)
    return redirect(_back(), code=303)


@bp.post("/notifications/read_all")
@login_required
def read_all():
    if ButtonForm().validate_on_submit():
        count = services.mark_all_read(current_user.id)
        flash(f"Marked {count} notification{'s' if count != 1 else ''} as read.", "success")
    return redirect(_back(), code=303)


def _back() -> str:
    """Back to the list page the button was on (only ever a local list URL)."""
    page = request.args.get("page", type=int)
    show = request.args.get("show")
    args = {"page": page} if page and page > 1 else {}
    if show == "unread":
        args["show"] = "unread"
    return url_for("notifications.index", **args)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    current = services.preferences_for(current_user.id)
    form = preferences_form(current, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate():
            choices = {kind: getattr(form, kind).data for kind in services.KINDS}
            try:
                services.set_preferences(current_user.id, choices)
            except ValidationFailed as error:
                for name, messages in error.fields.items():
                    getattr(form, name).errors = list(messages)
                status = 422
            else:
                flash("Your notification settings are saved.", "success")
                return redirect(url_for("notifications.preferences"), code=303)
        else:
            status = 422
    return render_template(
        "notifications/preferences.html", form=form, kinds=services.KINDS
    ), status

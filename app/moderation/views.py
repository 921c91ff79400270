"""Pages: the rules and their versions, reporting, your reports, the moderator queue and the
public moderation log."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import DomainError, ValidationFailed
from app.form_drafts import keep_failed_form, refilled_form
from app.moderation import rules as rulebook
from app.moderation import services
from app.moderation.forms import ActForm, ClaimForm, QueueFilterForm, ReportForm, RulesForm
from app.moderation.models import TARGET_KINDS
from app.moderation.targets import KIND_LABELS, find_target

bp = Blueprint("moderation", __name__)


def _rule_choices() -> list[tuple[int, str]]:
    return [(r.number, f"{r.number}. {r.title}") for r in rulebook.current_rules().rules]


@bp.get("/rules/versions")
def rule_versions():
    return render_template("moderation/versions.html", versions=rulebook.rule_versions())


@bp.route("/rules/edit", methods=["GET", "POST"])
@login_required
def edit_rules():
    if not current_user.is_admin:
        abort(403)
    form = RulesForm()
    if request.method == "GET":
        form.text.data = "\n".join(f"{r.title}: {r.body}" for r in rulebook.current_rules().rules)
    if form.validate_on_submit():
        parsed = [line.partition(":")[::2] for line in form.text.data.splitlines() if line.strip()]
        try:
            published = rulebook.publish_rules(current_user.id, parsed, form.note.data or "")
        except ValidationFailed as error:
            form.text.errors = [m for messages in error.fields.values() for m in messages]
        else:
            flash(f"Version {published.version} of the rules is published.", "success")
            return redirect(url_for("main.rules"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("moderation/edit_rules.html", form=form), status


def _report_key(kind: str, target_id: int) -> str:
    return f"report:{kind}:{target_id}"


@bp.get("/report/<kind>/<int:target_id>")
@login_required
def report_form(kind: str, target_id: int):
    if kind not in TARGET_KINDS:
        abort(404)
    target = find_target(kind, target_id)

    def make(formdata):
        form = ReportForm(formdata=formdata)
        form.rule.choices = _rule_choices()
        return form

    form = refilled_form(_report_key(kind, target_id), make)
    form.kind.data, form.target_id.data = kind, str(target_id)
    return render_template(
        "moderation/report.html",
        form=form,
        target=target,
        kind_label=KIND_LABELS[kind],
        rules=rulebook.current_rules(),
        per_day=services.REPORTS_PER_DAY,
    )


@bp.post("/report/<kind>/<int:target_id>")
@login_required
def report(kind: str, target_id: int):
    if kind not in TARGET_KINDS:
        abort(404)
    form = ReportForm()
    form.rule.choices = _rule_choices()
    back = url_for("moderation.report_form", kind=kind, target_id=target_id)
    if not form.validate_on_submit():
        keep_failed_form(_report_key(kind, target_id), form)
        return redirect(back, 303)
    try:
        services.create_report(
            current_user.id, kind, target_id, form.rule.data or 0, form.details.data or ""
        )
    except ValidationFailed as error:
        keep_failed_form(_report_key(kind, target_id), form, error.fields)
        flash(error.message, "error")
        return redirect(back, 303)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back, 303)
    flash("Thank you. A moderator will look at it; you will hear the outcome.", "success")
    return redirect(url_for("moderation.my_reports"), 303)


@bp.get("/reports/mine")
@login_required
def my_reports():
    page = services.reports_of(current_user.id, request.args.get("page", 1, type=int))
    return render_template(
        "moderation/my_reports.html",
        page=page,
        kind_labels=KIND_LABELS,
        per_day=services.REPORTS_PER_DAY,
        open_max=services.OPEN_REPORTS_MAX,
    )


@bp.get("/moderation")
@login_required
def queue():
    if not current_user.is_moderator:
        abort(403)
    filters = QueueFilterForm(request.args)
    filters.validate()
    chosen = services.QueueFilter(
        rule_number=filters.rule.data if not filters.rule.errors else None,
        kind=filters.kind.data or None,
        older_than_hours=int(filters.age.data) if filters.age.data else None,
        status=filters.status.data or "waiting",
    )
    page = services.queue(current_user.id, chosen, max(request.args.get("page", 1, type=int), 1))
    return render_template(
        "moderation/queue.html",
        page=page,
        filters=filters,
        kind_labels=KIND_LABELS,
        can_act=lambda case: services.can_act(case, current_user.id),
    )


@bp.get("/moderation/cases/<int:case_id>")
@login_required
def case(case_id: int):
    if not current_user.is_moderator:
        abort(403)
    found = services.get_case(case_id, current_user.id)

    def make(formdata):
        form = ActForm(formdata=formdata)
        form.rule.choices = _rule_choices()
        return form

    form = refilled_form(f"act:{case_id}", make)
    try:
        target = find_target(found.target_kind, found.target_id)
    except DomainError:
        target = None
    return render_template(
        "moderation/case.html",
        case=found,
        target=target,
        form=form,
        claim_form=ClaimForm(),
        kind_labels=KIND_LABELS,
        can_act=services.can_act(found, current_user.id),
        actions=services.actions_of(found.id),
    )


@bp.post("/moderation/cases/<int:case_id>/claim")
@login_required
def claim(case_id: int):
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            services.claim_case(case_id, current_user.id)
        except DomainError as error:
            if error.status == 404:
                raise
            flash(error.message, "error")
        else:
            flash("The case is yours.", "success")
    return redirect(url_for("moderation.case", case_id=case_id), 303)


@bp.post("/moderation/cases/<int:case_id>/act")
@login_required
def act(case_id: int):
    form = ActForm()
    form.rule.choices = _rule_choices()
    back = url_for("moderation.case", case_id=case_id)
    if not form.validate_on_submit():
        keep_failed_form(f"act:{case_id}", form)
        return redirect(back, 303)
    until = form.suspended_until.data
    try:
        services.act(
            case_id,
            current_user.id,
            form.action.data,
            form.rule.data or 0,
            form.reason.data or "",
            suspended_until=datetime.combine(until, time(0), UTC) if until else None,
        )
    except ValidationFailed as error:
        keep_failed_form(f"act:{case_id}", form, error.fields)
        flash(error.message, "error")
        return redirect(back, 303)
    except DomainError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
        return redirect(back, 303)
    flash("Done: the action is in the moderation log.", "success")
    return redirect(url_for("moderation.queue"), 303)


@bp.get("/moderation/log")
def log():
    page = services.public_log(max(request.args.get("page", 1, type=int), 1))
    return render_template(
        "moderation/log.html",
        page=page,
        subject=services.log_subject,
        labels=services.ACTION_LABELS,
    )

"""Pages: the rules and their versions, reporting, your reports, the moderator queue and the
public moderation log."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import DomainError, ValidationFailed
from app.form_drafts import REFUSED, carry_out, form_refused, keep_failed_form, refilled_form
from app.moderation import appeals, services
from app.moderation import rules as rulebook
from app.moderation.forms import (
    ActForm,
    AppealFilterForm,
    AppealForm,
    ClaimForm,
    DecideAppealForm,
    QueueFilterForm,
    ReportForm,
    RulesForm,
)
from app.moderation.models import TARGET_KINDS
from app.moderation.targets import KIND_LABELS, find_target

bp = Blueprint("moderation", __name__)


def _rule_choices() -> list[tuple[int, str]]:
    return [(r.number, f"{r.number}. {r.title}") for r in rulebook.current_rules().rules]


def _act_rule_choices(kind: str) -> list[tuple[int, str]]:
    """Feedback is acted on only under a feedback rule (abuse, off-topic, extortion,
    personal data); anything else under any rule."""
    if kind != "feedback":
        return _rule_choices()
    return [
        (r.number, f"{r.number}. {r.title} ({r.feedback_grounds})")
        for r in rulebook.feedback_rules()
    ]


@bp.get("/rules/versions")
def rule_versions():
    return render_template("moderation/versions.html", versions=rulebook.rule_versions())


# Empty rows the editor offers below the rules in force, for new rules.
NEW_RULE_ROWS = 2


@bp.route("/rules/edit", methods=["GET", "POST"])
@login_required
def edit_rules():
    if not current_user.is_admin:
        abort(403)
    if request.method == "GET":
        rules = rulebook.current_rules().rules
        rows = [
            {"title": r.title, "body": r.body, "feedback_grounds": r.feedback_grounds}
            for r in rules
        ]
        rows += [{}] * min(NEW_RULE_ROWS, rulebook.MAX_RULES - len(rules))
        form = RulesForm(data={"rules": rows})
    else:
        form = RulesForm()
    if form.validate_on_submit():
        rows = [(r.title.data, r.body.data, r.feedback_grounds.data) for r in form.rules]
        try:
            published = rulebook.publish_rules(current_user.id, rows, form.note.data or "")
        except ValidationFailed as error:
            _show_rule_errors(form, error.fields)
        else:
            flash(f"Version {published.version} of the rules is published.", "success")
            return redirect(url_for("main.rules"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("moderation/edit_rules.html", form=form), status


def _show_rule_errors(form: RulesForm, fields: dict[str, list[str]]) -> None:
    """Put the service's errors ("rules.3.title", "rules", "note") on the editor's fields."""
    for name, messages in fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "rules" and parts[1].isdigit():
            index = int(parts[1]) - 1
            if 0 <= index < len(form.rules.entries) and parts[2] in form.rules[index].form:
                form.rules[index].form[parts[2]].errors = list(messages)
                continue
        if name == "note":
            form.note.errors = list(messages)
        else:
            form.form_errors.extend(messages)


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
        pending_appeals=appeals.pending_count(),
    )


@bp.get("/moderation/cases/<int:case_id>")
@login_required
def case(case_id: int):
    if not current_user.is_moderator:
        abort(403)
    found = services.get_case(case_id, current_user.id)

    def make(formdata):
        form = ActForm(formdata=formdata)
        form.rule.choices = _act_rule_choices(found.target_kind)
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
        feedback_rules=rulebook.feedback_rules() if found.target_kind == "feedback" else None,
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
    done = carry_out(
        f"act:{case_id}",
        form,
        lambda: services.act(
            case_id,
            current_user.id,
            form.action.data,
            form.rule.data or 0,
            form.reason.data or "",
            suspended_until=datetime.combine(until, time(0), UTC) if until else None,
        ),
        say_why=True,
    )
    if done is REFUSED:
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


@bp.get("/moderation/log/<int:action_id>")
def log_entry(action_id: int):
    try:
        action = services.log_entry(action_id)
    except DomainError:
        abort(404)
    return render_template(
        "moderation/log_entry.html",
        a=action,
        subject=services.log_subject,
        labels=services.ACTION_LABELS,
    )


# -- appeals -------------------------------------------------------------------------------


def _appeal_key(action_id: int) -> str:
    return f"appeal:{action_id}"


@bp.get("/me/moderation")
@login_required
def my_sanctions():
    sanctions = appeals.sanctions_of(current_user.id)
    forms = {
        s.action.id: refilled_form(
            _appeal_key(s.action.id),
            lambda formdata, action_id=s.action.id: AppealForm(
                formdata=formdata, prefix=f"appeal-{action_id}"
            ),
        )
        for s in sanctions
        if s.can_appeal
    }
    return render_template(
        "moderation/my_sanctions.html",
        sanctions=sanctions,
        forms=forms,
        labels=services.ACTION_LABELS,
        subject=services.log_subject,
        notice=lambda a: services.hidden_notice(a.target_kind, a.target_id),
    )


@bp.post("/me/moderation/<int:action_id>/appeal")
@login_required
def appeal(action_id: int):
    form = AppealForm(prefix=f"appeal-{action_id}")
    back = url_for("moderation.my_sanctions") + f"#action-{action_id}"
    if form_refused(form, _appeal_key(action_id)):
        return redirect(back, 303)
    done = carry_out(
        _appeal_key(action_id),
        form,
        lambda: appeals.create_appeal(current_user.id, action_id, form.statement.data or ""),
        say_why=True,
    )
    if done is REFUSED:
        return redirect(back, 303)
    flash("Your appeal is sent. Another moderator will decide; you will be told.", "success")
    return redirect(back, 303)


@bp.get("/moderation/appeals")
@login_required
def appeal_queue():
    if not current_user.is_moderator:
        abort(403)
    filters = AppealFilterForm(request.args)
    filters.validate()
    chosen = appeals.AppealFilter(
        status=filters.status.data or "pending", action=filters.action.data or None
    )
    page = appeals.appeals_queue(
        current_user.id, chosen, max(request.args.get("page", 1, type=int), 1)
    )
    return render_template(
        "moderation/appeals.html",
        page=page,
        filters=filters,
        labels=services.ACTION_LABELS,
        subject=services.log_subject,
        refusal=lambda a: appeals.refusal(a, current_user.id),
        pending_appeals=appeals.pending_count(),
    )


@bp.get("/moderation/appeals/<int:appeal_id>")
@login_required
def appeal_detail(appeal_id: int):
    if not current_user.is_moderator:
        abort(403)
    found = appeals.get_appeal(appeal_id, current_user.id)

    def make(formdata):
        form = DecideAppealForm(formdata=formdata)
        form.rule.choices = _rule_choices()
        if formdata is None and found.action.rule is not None:
            form.rule.data = found.action.rule.number
        return form

    form = refilled_form(f"decide:{appeal_id}", make)
    return render_template(
        "moderation/appeal.html",
        appeal=found,
        form=form,
        refusal=appeals.refusal(found, current_user.id),
        labels=services.ACTION_LABELS,
        subject=services.log_subject,
        notice=services.hidden_notice(found.action.target_kind, found.action.target_id),
    )


@bp.post("/moderation/appeals/<int:appeal_id>/decide")
@login_required
def decide_appeal(appeal_id: int):
    form = DecideAppealForm()
    form.rule.choices = _rule_choices()
    back = url_for("moderation.appeal_detail", appeal_id=appeal_id)
    key = f"decide:{appeal_id}"
    if form_refused(form, key):
        return redirect(back, 303)
    done = carry_out(
        key,
        form,
        lambda: appeals.decide_appeal(
            appeal_id,
            current_user.id,
            form.decision.data,
            form.rule.data or 0,
            form.reason.data or "",
        ),
        say_why=True,
    )
    if done is REFUSED:
        return redirect(back, 303)
    flash("Decided: the decision is in the moderation log.", "success")
    return redirect(url_for("moderation.appeal_queue"), 303)

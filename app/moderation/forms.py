"""Forms of reporting, the moderator's decision and the rules' editor."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.moderation.appeals import STATEMENT_MAX
from app.moderation.models import ACTIONS, APPEALABLE, TARGET_KINDS
from app.moderation.rules import BODY_MAX, GROUNDS_MAX, MAX_RULES, NOTE_MAX, TITLE_MAX
from app.moderation.services import DETAILS_MAX, REASON_MAX


class ReportForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    target_id = HiddenField(validators=[DataRequired()])
    rule = SelectField("Which rule does it break?", coerce=int, validate_choice=False)
    details = TextAreaField(
        "What happened",
        validators=[DataRequired(), Length(max=DETAILS_MAX)],
        description="Only moderators read this. Say what you saw and where.",
    )


class ClaimForm(FlaskForm):
    pass


class ActForm(FlaskForm):
    action = SelectField(
        "Action", choices=[(a, a.capitalize()) for a in ACTIONS], validators=[DataRequired()]
    )
    rule = SelectField("Rule", coerce=int, validate_choice=False)
    reason = TextAreaField(
        "Reason (public, in the moderation log)",
        validators=[DataRequired(), Length(max=REASON_MAX)],
    )
    suspended_until = DateField("Suspended until (for a suspension)", validators=[Optional()])


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    rule = IntegerField("Rule", validators=[Optional()])
    kind = SelectField(
        "Kind",
        choices=[("", "Any kind")] + [(k, k.capitalize()) for k in TARGET_KINDS],
        validators=[Optional()],
    )
    age = SelectField(
        "Waiting",
        choices=[
            ("", "Any age"),
            ("24", "Over a day"),
            ("72", "Over 3 days"),
            ("168", "Over a week"),
        ],
        validators=[Optional()],
    )
    status = SelectField(
        "Status",
        choices=[("waiting", "Waiting"), ("open", "Unclaimed"), ("claimed", "Claimed"),
                 ("closed", "Decided")],
        default="waiting",
    )  # fmt: skip


class RuleRowForm(Form):
    """One numbered rule in the editor (a row left empty is dropped)."""

    title = StringField("Title", validators=[Length(max=TITLE_MAX)])
    body = TextAreaField("What it means", validators=[Length(max=BODY_MAX)])
    feedback_grounds = StringField(
        "Feedback may be hidden for", validators=[Length(max=GROUNDS_MAX)]
    )


class RulesForm(FlaskForm):
    rules = FieldList(FormField(RuleRowForm), min_entries=1, max_entries=MAX_RULES)
    note = StringField("What changed", validators=[Length(max=NOTE_MAX)])


class AppealForm(FlaskForm):
    statement = TextAreaField(
        "Why was this action wrong?",
        validators=[DataRequired(), Length(max=STATEMENT_MAX)],
        description="Only moderators read this. You can appeal each action once; a moderator "
        "other than the one who acted decides.",
    )


class DecideAppealForm(FlaskForm):
    decision = SelectField(
        "Decision",
        choices=[("uphold", "Uphold: the action stands"),
                 ("overturn", "Overturn: undo the action")],
        validators=[DataRequired()],
    )  # fmt: skip
    rule = SelectField("Rule", coerce=int, validate_choice=False)
    reason = TextAreaField(
        "Reason (public, in the moderation log)",
        validators=[DataRequired(), Length(max=REASON_MAX)],
    )


class AppealFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[("pending", "Waiting"), ("upheld", "Upheld"), ("overturned", "Overturned"),
                 ("all", "All")],
        default="pending",
    )  # fmt: skip
    action = SelectField(
        "Action appealed",
        choices=[("", "Any action")] + [(a, a.capitalize()) for a in APPEALABLE],
        validators=[Optional()],
    )

"""Forms: opening a dispute, answering it, and the moderator's decision."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.disputes.services import DECISION_REASON_MAX, REASON_MAX

ACCEPT_IMAGES = "image/jpeg,image/png,image/webp,image/gif"


class OpenDisputeForm(FlaskForm):
    reason = TextAreaField(
        "What went wrong",
        validators=[DataRequired("Say what went wrong."), Length(max=REASON_MAX)],
        render_kw={"maxlength": REASON_MAX, "rows": 5},
    )
    photos = MultipleFileField("Photos (evidence)", render_kw={"accept": ACCEPT_IMAGES})


class AnswerDisputeForm(FlaskForm):
    answer = TextAreaField(
        "Your side of it",
        validators=[DataRequired("Give your side of it."), Length(max=REASON_MAX)],
        render_kw={"maxlength": REASON_MAX, "rows": 5},
    )
    photos = MultipleFileField("Photos (evidence)", render_kw={"accept": ACCEPT_IMAGES})


class DecideDisputeForm(FlaskForm):
    awarded = StringField(
        "Amount to the payee",
        validators=[DataRequired("Enter an amount (0 for nothing).")],
        render_kw={"inputmode": "decimal"},
    )
    rule = SelectField("Rule", coerce=int, validate_choice=False)
    reason = TextAreaField(
        "Reason (public, in the moderation log)",
        validators=[DataRequired("Give the reason."), Length(max=DECISION_REASON_MAX)],
        render_kw={"rows": 3},
    )


class ProposeRefundForm(FlaskForm):
    amount = StringField(
        "Amount to give back",
        validators=[DataRequired("Enter an amount (0 for nothing).")],
        render_kw={"inputmode": "decimal"},
    )
    note = TextAreaField("Why (optional)", validators=[Length(max=500)], render_kw={"rows": 2})


class RespondRefundForm(FlaskForm):
    pass

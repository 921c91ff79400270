"""Feedback forms. They only parse input; the rules (ranges, lengths) live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.reviews.services import COMMENT_MAX, REPLY_MAX

RATING_CHOICES = [
    SelectChoice("positive", "Positive"),
    SelectChoice("neutral", "Neutral"),
    SelectChoice("negative", "Negative"),
]
DETAIL_CHOICES = [
    SelectChoice("", "Skip"),
    SelectChoice("5", "5 · excellent"),
    SelectChoice("4", "4 · good"),
    SelectChoice("3", "3 · okay"),
    SelectChoice("2", "2 · poor"),
    SelectChoice("1", "1 · very poor"),
]


def optional_int(value: object) -> int | None:
    """'' or None -> None, '4' -> 4; anything else is not a valid choice."""
    if value is None or value == "":
        return None
    return int(value)


class FeedbackForm(FlaskForm):
    rating = RadioField("Overall", choices=RATING_CHOICES, validate_choice=False)
    described = SelectField(
        "Item as described", choices=DETAIL_CHOICES, coerce=optional_int, validate_choice=False
    )
    communication = SelectField(
        "Communication", choices=DETAIL_CHOICES, coerce=optional_int, validate_choice=False
    )
    speed = SelectField("Speed", choices=DETAIL_CHOICES, coerce=optional_int, validate_choice=False)
    comment = TextAreaField("Comment", render_kw={"maxlength": COMMENT_MAX, "rows": 4})
    # The person rated, where the author rates more than one party of a transaction.
    about = IntegerField("About", validators=[Optional()])


class ReplyForm(FlaskForm):
    text = TextAreaField(
        "Your reply", id="reply-text", render_kw={"maxlength": REPLY_MAX, "rows": 3}
    )

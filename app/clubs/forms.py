"""Forms of the club pages. They parse input only: app/clubs/services.py judges it (lengths,
choices, who may do what), as it does for the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.clubs.models import JOIN_POLICIES, VISIBILITIES
from app.clubs.services import (
    AREA_MAX,
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    NOTE_MAX,
    POLICY_LABELS,
    VISIBILITY_LABELS,
)


class ClubForm(FlaskForm):
    """Start a club, or edit one."""

    name = StringField("Name", id="club-name", render_kw={"maxlength": NAME_MAX})
    description = TextAreaField(
        "What the club buys together",
        id="club-description",
        render_kw={"maxlength": DESCRIPTION_MAX, "rows": 5},
    )
    area = StringField(
        "Where members meet and pick up (optional)",
        id="club-area",
        render_kw={"maxlength": AREA_MAX},
    )
    visibility = RadioField(
        "Who can see it",
        choices=[SelectChoice(value, VISIBILITY_LABELS[value]) for value in VISIBILITIES],
        default="public",
        validate_choice=False,  # the service says what is wrong, as for the API
    )
    join_policy = RadioField(
        "How people join",
        choices=[SelectChoice(value, POLICY_LABELS[value]) for value in JOIN_POLICIES],
        default="open",
        validate_choice=False,
    )


class JoinForm(FlaskForm):
    """Join, or ask to join with a message to the organizers."""

    message = TextAreaField(
        "Message to the organizers (optional)",
        id="join-message",
        render_kw={"maxlength": MESSAGE_MAX, "rows": 2},
    )


class MemberActionForm(FlaskForm):
    """An organizer's action on a person's place; the note goes with a decline or removal."""

    note = TextAreaField("Reason (optional)", render_kw={"maxlength": NOTE_MAX, "rows": 2})

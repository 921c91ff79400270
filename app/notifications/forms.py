"""Forms for the notification pages: the CSRF-protected buttons and the preferences."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from app.notifications.models import CHANNELS
from app.notifications.services import CHANNEL_LABELS, KINDS


class ButtonForm(FlaskForm):
    """A POST button (mark as read, mark all as read): only the CSRF token."""


def preferences_form(current: dict[str, str], formdata=None) -> FlaskForm:
    """A form with one radio group per kind of notification, set to the current choices."""

    class PreferencesForm(FlaskForm):
        pass

    choices = [SelectChoice(channel, CHANNEL_LABELS[channel]) for channel in CHANNELS]
    for kind, label in KINDS.items():
        setattr(PreferencesForm, kind, RadioField(label, choices=choices, default=current[kind]))
    return PreferencesForm(formdata=formdata) if formdata is not None else PreferencesForm()

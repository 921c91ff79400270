"""Forms for accounts. They collect input; the rules live in app/accounts/services.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import EqualTo, InputRequired

from app.accounts.services import (
    BIO_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    HANDLE_MAX_LENGTH,
    HANDLE_MIN_LENGTH,
    LOCATION_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
)

_required = InputRequired(message="This field is required.")


class SignupForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[_required],
        render_kw={"autocomplete": "email", "maxlength": EMAIL_MAX_LENGTH},
    )
    handle = StringField(
        "Handle",
        validators=[_required],
        render_kw={
            "autocomplete": "username",
            "autocapitalize": "none",
            "spellcheck": "false",
            "minlength": HANDLE_MIN_LENGTH,
            "maxlength": HANDLE_MAX_LENGTH,
        },
    )
    password = PasswordField(
        "Password",
        validators=[_required],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN_LENGTH},
    )
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[_required],
        render_kw={"autocomplete": "email", "maxlength": EMAIL_MAX_LENGTH},
    )
    password = PasswordField(
        "Password", validators=[_required], render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Display name", render_kw={"maxlength": DISPLAY_NAME_MAX_LENGTH, "autocomplete": "name"}
    )
    location = StringField(
        "Location", render_kw={"maxlength": LOCATION_MAX_LENGTH, "placeholder": "e.g. Leeds, UK"}
    )
    bio = TextAreaField("About you", render_kw={"maxlength": BIO_MAX_LENGTH, "rows": 5})


class AvatarForm(FlaskForm):
    avatar = FileField(
        "New picture",
        validators=[FileRequired(message="Choose an image to upload.")],
        render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif"},
    )


class RemoveAvatarForm(FlaskForm):
    pass


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (reset, and the base of the change form)."""

    new_password = PasswordField(
        "New password",
        validators=[_required],
        render_kw={"autocomplete": "new-password", "minlength": PASSWORD_MIN_LENGTH},
    )
    confirm_password = PasswordField(
        "Repeat new password",
        validators=[_required, EqualTo("new_password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Current password", validators=[_required], render_kw={"autocomplete": "current-password"}
    )


class SignOutEverywhereForm(FlaskForm):
    """Only the CSRF token."""


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[_required],
        render_kw={"autocomplete": "email", "maxlength": EMAIL_MAX_LENGTH},
    )


class ResetPasswordForm(NewPasswordForm):
    """The new password a reset link lets you set."""


class EmailChangeForm(FlaskForm):
    new_email = EmailField(
        "New email address",
        validators=[_required],
        render_kw={"autocomplete": "email", "maxlength": EMAIL_MAX_LENGTH},
    )
    current_password = PasswordField(
        "Current password", validators=[_required], render_kw={"autocomplete": "current-password"}
    )


class ConfirmEmailForm(FlaskForm):
    """Only the CSRF token: confirming is a button, so a mail scanner opening the link does
    not use it up."""


class ResendConfirmationForm(FlaskForm):
    """Only the CSRF token."""

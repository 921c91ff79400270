"""Accounts over HTTP: sign up, sign in and out, settings, avatars (profiles: app/profiles)."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from app.accounts import services
from app.accounts.forms import (
    AvatarForm,
    ConfirmEmailForm,
    EmailChangeForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RemoveAvatarForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    SignOutEverywhereForm,
    SignupForm,
)
from app.accounts.throttle import Throttled, TooManyEmails, signup_limit
from app.accounts.tokens import InvalidLink
from app.errors import ValidationFailed
from app.inputs import safe_next
from app.mail import MailNotSent

bp = Blueprint("accounts", __name__)

LOGIN_FAILED = "That email and password do not match an account. Please try again."


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _sign_in(user_id: int, *, remember: bool) -> None:
    """Open a new session for this browser and put its key in the cookies."""
    login_user(services.open_session(user_id), remember=remember)


def _has_remember_cookie() -> bool:
    name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return bool(request.cookies.get(name))


def _apply_errors(form: FlaskForm, error: ValidationFailed) -> None:
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    if not error.fields:
        form.form_errors.append(error.message)


@bp.route("/signup", methods=["GET", "POST"])
@signup_limit()
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    status = 200
    if form.validate_on_submit():
        try:
            user = services.register(form.email.data, form.handle.data, form.password.data)
        except ValidationFailed as error:
            _apply_errors(form, error)
        else:
            _sign_in(user.id, remember=False)
            flash(
                f"Welcome to {current_app.config['SITE_NAME']}, @{user.handle}! "
                f"We sent a link to {user.email}: open it to confirm your address.",
                "success",
            )
            return redirect(safe_next(form.next.data) or url_for("accounts.settings"), 303)
    if request.method == "POST":
        status = 422
    return render_template("accounts/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():  # throttled by the password policy in services.check_password_attempt()
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data, address=_client_address())
        if user is not None:
            _sign_in(user.id, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(safe_next(form.next.data) or url_for("main.index"), 303)
        error = LOGIN_FAILED
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    services.end_session(session.get("_user_id"))
    logout_user()
    flash("You are signed out. See you soon.", "info")
    return redirect(url_for("main.index"), 303)


def _render_settings(status: int = 200, **forms: FlaskForm):
    user = current_user._get_current_object()
    forms.setdefault("profile_form", ProfileForm(formdata=None, obj=user))
    forms.setdefault("avatar_form", AvatarForm(formdata=None))
    forms.setdefault("remove_avatar_form", RemoveAvatarForm(formdata=None))
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("email_form", EmailChangeForm(formdata=None))
    forms.setdefault("sign_out_form", SignOutEverywhereForm(formdata=None))
    return render_template("accounts/settings.html", user=user, **forms), status


@bp.get("/settings")
@login_required
def settings():
    return _render_settings()


@bp.post("/settings/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            services.update_profile(
                current_user.id,
                display_name=form.display_name.data,
                location=form.location.data,
                bio=form.bio.data,
            )
        except ValidationFailed as error:
            _apply_errors(form, error)
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("accounts.settings"), 303)
    return _render_settings(422, profile_form=form)


@bp.post("/settings/avatar")
@login_required
def upload_avatar():
    form = AvatarForm()
    if form.validate_on_submit():
        try:
            services.set_avatar(current_user.id, form.avatar.data)
        except ValidationFailed as error:
            _apply_errors(form, error)
        else:
            flash("Your new picture is up.", "success")
            return redirect(url_for("accounts.settings") + "#settings-avatar", 303)
    return _render_settings(422, avatar_form=form)


@bp.post("/settings/avatar/remove")
@login_required
def remove_avatar():
    form = RemoveAvatarForm()
    if form.validate_on_submit():
        services.remove_avatar(current_user.id)
        flash("Your picture is removed.", "success")
    return redirect(url_for("accounts.settings") + "#settings-avatar", 303)


@bp.post("/settings/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user.id,
                form.current_password.data,
                form.new_password.data,
                address=_client_address(),
            )
        except ValidationFailed as error:
            _apply_errors(form, error)
        else:
            # Every other browser is signed out; this one carries on with a new session.
            _sign_in(current_user.id, remember=_has_remember_cookie())
            flash("Your password is changed. Every other device is signed out.", "success")
            return redirect(url_for("accounts.settings") + "#settings-password", 303)
    return _render_settings(422, password_form=form)


@bp.post("/settings/email")
@login_required
def change_email():
    form = EmailChangeForm()
    status = 422
    if form.validate_on_submit():
        try:
            new_email = services.request_email_change(
                current_user.id,
                form.current_password.data,
                form.new_email.data,
                address=_client_address(),
            )
        except ValidationFailed as error:
            _apply_errors(form, error)
        except Throttled as error:
            form.form_errors.append(error.message)
            form.retry_after, status = error.retry_after, 429
        except MailNotSent as error:
            form.form_errors.append(error.message)
            status = 503
        else:
            flash(
                f"We sent a link to {new_email}. Your address changes when you open it.",
                "success",
            )
            return redirect(url_for("accounts.settings") + "#settings-email", 303)
    page, status = _render_settings(status, email_form=form)
    return current_app.make_response((page, status, _retry_after(form)))


@bp.post("/settings/email/confirmation")
@login_required
def resend_confirmation():
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        try:
            sent = services.resend_confirmation(current_user.id, address=_client_address())
        except (TooManyEmails, MailNotSent) as error:
            flash(error.message, "error")
        else:
            if sent:
                flash(f"We sent a new link to {current_user.email}.", "success")
            else:
                flash("Your email address is confirmed already.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("accounts.settings"), 303)


@bp.post("/settings/sessions/end")
@login_required
def sign_out_everywhere():
    form = SignOutEverywhereForm()
    if form.validate_on_submit():
        services.end_all_sessions(current_user.id)
        logout_user()
        flash("You are signed out on every device, this one included.", "info")
        return redirect(url_for("accounts.login"), 303)
    return redirect(url_for("accounts.settings") + "#settings-sessions", 303)


@bp.get("/avatars/<int:user_id>")
def avatar(user_id: int):
    response = send_file(
        services.avatar_file(user_id), mimetype="image/jpeg", max_age=0, conditional=True
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- mailed links ----------------------------------------------------------------------------

SENT_MESSAGE = (
    "If an account exists for that address, we sent a link to it. It works for {minutes} "
    "minutes. No email? Check your spam folder, or make sure you typed the address you signed "
    "up with."
)


def _retry_after(form: FlaskForm) -> dict[str, str]:
    """The Retry-After header of a form refused by a rate limit (none otherwise)."""
    seconds = getattr(form, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds else {}


def _no_referrer(response):
    """Pages whose URL holds a token: never pass it on to another site in a Referer."""
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _invalid_link(what: str):
    page = render_template("accounts/invalid_link.html", what=what)
    return _no_referrer(current_app.make_response((page, 400)))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    status, sent = 200, False
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data, address=_client_address())
        except ValidationFailed as error:
            _apply_errors(form, error)
            status = 422
        except TooManyEmails as error:
            form.form_errors.append(error.message)
            form.retry_after, status = error.retry_after, 429
        else:
            sent = True
    elif request.method == "POST":
        status = 422
    message = SENT_MESSAGE.format(minutes=current_app.config["PASSWORD_RESET_MINUTES"])
    page = render_template("accounts/forgot_password.html", form=form, sent=sent, message=message)
    return current_app.make_response((page, status, _retry_after(form)))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    status = 200
    try:
        if form.validate_on_submit():
            try:
                user = services.reset_password(token, form.new_password.data)
            except ValidationFailed as error:
                _apply_errors(form, error)
            else:
                services.end_session(session.get("_user_id"))
                logout_user()  # whoever was signed in on this browser
                _sign_in(user.id, remember=False)
                flash(
                    "Your new password is set. You are signed out on every other device.", "success"
                )
                return redirect(url_for("main.index"), 303)
        else:
            services.check_reset_link(token)
    except InvalidLink:
        return _invalid_link("reset")
    if request.method == "POST":
        status = 422
    page = render_template("accounts/reset_password.html", form=form, token=token)
    return _no_referrer(current_app.make_response((page, status)))


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    form = ConfirmEmailForm()
    try:
        if form.validate_on_submit():
            try:
                user = services.confirm_email(token)
            except ValidationFailed as error:
                flash(" ".join(error.fields.get("email", [error.message])), "error")
                return redirect(url_for("accounts.settings"), 303)
            flash(f"Thank you: {user.email} is confirmed.", "success")
            signed_in = current_user.is_authenticated and current_user.id == user.id
            return redirect(url_for("accounts.settings" if signed_in else "accounts.login"), 303)
        email = services.check_email_link(token)
    except InvalidLink:
        return _invalid_link("confirm")
    page = render_template("accounts/confirm_email.html", form=form, token=token, email=email)
    return _no_referrer(current_app.make_response(page))

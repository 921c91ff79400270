"""Accounts over HTTP: sign up, sign in and out, settings, public profiles, avatars."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from app.accounts import services
from app.accounts.forms import (
    AvatarForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RemoveAvatarForm,
    SignupForm,
)
from app.errors import ValidationFailed
from app.extensions import limiter
from app.inputs import url_with_args

bp = Blueprint("accounts", __name__)

FEEDBACK_ROLES = ("seller", "buyer")
LOGIN_FAILED = "That email and password do not match an account. Please try again."


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


def _login_email_key() -> str:
    """Throttle per account too, so one email cannot be tried from many addresses."""
    return "login-email:" + services.normalize_email(request.form.get("email"))[:254]


def _login_failed(response) -> bool:
    return response.status_code not in (302, 303)


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


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
@limiter.limit(_signup_limit, methods=["POST"])
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
            login_user(user)
            flash(f"Welcome to {current_app.config['SITE_NAME']}, @{user.handle}!", "success")
            return redirect(safe_next(form.next.data) or url_for("accounts.settings"), 303)
    if request.method == "POST":
        status = 422
    return render_template("accounts/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, key_func=_login_email_key, methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountSuspended as suspended:
            error = suspended.message
        else:
            if user is not None:
                login_user(user, remember=bool(form.remember.data))
                flash(f"Welcome back, {user.name}.", "success")
                return redirect(safe_next(form.next.data) or url_for("main.index"), 303)
            error = LOGIN_FAILED
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out. See you soon.", "info")
    return redirect(url_for("main.index"), 303)


def _render_settings(status: int = 200, **forms: FlaskForm):
    user = current_user._get_current_object()
    forms.setdefault("profile_form", ProfileForm(formdata=None, obj=user))
    forms.setdefault("avatar_form", AvatarForm(formdata=None))
    forms.setdefault("remove_avatar_form", RemoveAvatarForm(formdata=None))
    forms.setdefault("password_form", PasswordForm(formdata=None))
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
                current_user.id, form.current_password.data, form.new_password.data
            )
        except ValidationFailed as error:
            _apply_errors(form, error)
        else:
            flash("Your password is changed.", "success")
            return redirect(url_for("accounts.settings") + "#settings-password", 303)
    return _render_settings(422, password_form=form)


@bp.get("/u/<handle>")
def profile(handle: str):
    from app.listings.services import active_listings_of
    from app.reviews.reputation import profile_reputation
    from app.reviews.services import received_feedback

    user = services.get_user_by_handle(handle)
    if handle != user.handle:
        return redirect(url_with_args("accounts.profile", handle=user.handle), 301)
    role = request.args.get("feedback", "seller")
    if role not in FEEDBACK_ROLES:
        role = "seller"
    reputation = profile_reputation(user)
    return render_template(
        "accounts/profile.html",
        user=user,
        listings=active_listings_of(user.id, limit=12),
        summary=reputation.summary,
        reputation=reputation,
        feedback=received_feedback(user.id, role=role, limit=20),
        feedback_role=role,
        is_me=current_user.is_authenticated and current_user.id == user.id,
    )


@bp.get("/avatars/<int:user_id>")
def avatar(user_id: int):
    response = send_file(
        services.avatar_file(user_id), mimetype="image/jpeg", max_age=0, conditional=True
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

"""Accounts: the rules for joining, signing in, passwords, profiles and avatars."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app import jobs, media, visibility
from app.accounts import passwords, throttle, tokens
from app.accounts.models import LoginSession, User
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.mail import (
    MailNotSent,
    absolute_url,
    after_response,
    render_template,
    send_email,
    send_to_member,
)

logger = logging.getLogger(__name__)

HANDLE_MIN_LENGTH = 3
HANDLE_MAX_LENGTH = 30
HANDLE_PATTERN = re.compile(r"[a-z0-9_]{3,30}")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024  # Argon2 takes anything; this only stops silly payloads
EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 80
LOCATION_MAX_LENGTH = 80
BIO_MAX_LENGTH = 2000
AVATAR_SIZES = (media.Size("avatar", 256, 256, crop=True),)
AVATAR_DIR = "avatars"
PROFILE_FIELDS = ("display_name", "bio", "location")
RESET, CONFIRM, CHANGE = "reset_password", "confirm_email", "change_email"
# Where the mailed links lead (app/accounts/views.py serves these paths).
RESET_PASSWORD_PATH = "/reset-password/{token}"
CONFIRM_EMAIL_PATH = "/confirm-email/{token}"

# Words that would let somebody pose as the site or its staff, or clash with our URLs.
RESERVED_HANDLES = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "help",
        "login",
        "logout",
        "me",
        "moderator",
        "mod",
        "mods",
        "mutual",
        "null",
        "root",
        "security",
        "settings",
        "signup",
        "staff",
        "support",
        "system",
        "webmaster",
    }
)


def normalize_email(raw: str | None) -> str:
    """The email address in its stored form (trimmed, lower case), unchecked."""
    return (raw or "").strip().lower()


def normalize_handle(raw: str | None) -> str:
    """The handle in its stored form (trimmed, without a leading @, lower case), unchecked."""
    return (raw or "").strip().removeprefix("@").lower()


def _check_email(raw: str | None) -> str:
    email = normalize_email(raw)
    if not email:
        raise ValidationFailed(fields={"email": ["Enter your email address."]})
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(
            fields={"email": ["Enter a valid email address, like name@example.com."]}
        ) from None
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationFailed(fields={"email": ["That email address is too long."]})
    return email


def _check_handle(raw: str | None) -> str:
    handle = normalize_handle(raw)
    if not HANDLE_PATTERN.fullmatch(handle):
        raise ValidationFailed(
            fields={
                "handle": [
                    f"Use {HANDLE_MIN_LENGTH} to {HANDLE_MAX_LENGTH} characters: "
                    "lower-case letters, digits and _."
                ]
            }
        )
    if handle in RESERVED_HANDLES:
        raise ValidationFailed(fields={"handle": ["That handle is reserved. Please pick another."]})
    return handle


def _check_password(password: str | None, *, email: str, handle: str, field: str) -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(fields={field: [f"Use at least {PASSWORD_MIN_LENGTH} characters."]})
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed(fields={field: ["That password is too long."]})
    if password.strip().lower() in {email.lower(), handle.lower()}:
        raise ValidationFailed(
            fields={field: ["Your password must not be your email address or handle."]}
        )
    return password


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None


def _handle_taken(handle: str) -> bool:
    return db.session.scalar(select(User.id).where(func.lower(User.handle) == handle)) is not None


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    return user


def get_user_by_handle(handle: str) -> User:
    """The account with this handle (any case). Raises NotFound."""
    handle = normalize_handle(handle)
    user = db.session.scalar(select(User).where(func.lower(User.handle) == handle))
    if user is None:
        raise NotFound("There is no member with that handle.")
    return user


def register(
    email: str,
    handle: str,
    password: str,
    *,
    email_confirmed: bool = False,
    password_hash: str | None = None,
) -> User:
    """Open a new account and mail it a link to confirm its address. Raises ValidationFailed
    with per-field messages. `email_confirmed` is for accounts the operator vouches for (demo
    data): no link is mailed, the address counts as confirmed. `password_hash`: a hash of
    `password` made already (the demo hashes its one shared password once, not per member)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for field, check, raw in (("email", _check_email, email), ("handle", _check_handle, handle)):
        try:
            clean[field] = check(raw)
        except ValidationFailed as error:
            errors.update(error.fields)
    try:
        _check_password(
            password,
            email=clean.get("email", normalize_email(email)),
            handle=clean.get("handle", normalize_handle(handle)),
            field="password",
        )
    except ValidationFailed as error:
        errors.update(error.fields)
    if "email" in clean and _email_taken(clean["email"]):
        errors["email"] = ["An account with this email address already exists. Try signing in."]
    if "handle" in clean and _handle_taken(clean["handle"]):
        errors["handle"] = ["That handle is taken. Please pick another."]
    if errors:
        raise ValidationFailed(fields=errors)

    user = User(
        email=clean["email"],
        handle=clean["handle"],
        password_hash=password_hash or passwords.hash_password(password),
        email_confirmed_at=utcnow() if email_confirmed else None,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # Somebody took the email or handle between our check and our insert.
        db.session.rollback()
        raise ValidationFailed(
            fields={
                "email" if _email_taken(clean["email"]) else "handle": [
                    "That was taken a moment ago. Please try another."
                ]
            }
        ) from None
    logger.info("account created user_id=%s", user.id)
    if user.is_email_confirmed:
        return user
    try:
        _mail_confirmation_link(user)  # bounded by the sign-up budget, not the mail budget
    except MailNotSent:
        # The account exists; the banner's "send the link again" retries the mail.
        logger.warning("confirmation mail not sent at sign-up user_id=%s", user.id)
    return user


def check_password_attempt(
    user: User | None, email: str, password: str | None, *, address: str
) -> bool:
    """Whether `password` is the password of `user` (None: no such account), under the one
    throttling policy for password checks (see app/accounts/throttle.py).

    `email` is the normalised address the attempt named (budgets are per account), `address`
    the client's. Raises TooManyAttempts before checking when a budget is used up. Every check
    of a password a person types goes through here: web sign-in, API token creation and the
    current password when changing it."""
    throttle.before_check(email, address)
    password = (password or "")[:PASSWORD_MAX_LENGTH]
    if user is None:
        passwords.dummy_verify(password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password)
    throttle.after_check(email, address, succeeded=ok)
    if not ok and user is not None:
        logger.info("failed password check user_id=%s", user.id)
    return ok


def authenticate(email: str, password: str, *, address: str) -> User | None:
    """The account for these credentials, or None. Records the sign-in; upgrades old hashes.

    Unknown email and wrong password take the same time and give the same answer. A suspended
    member signs in too (to read, finish transactions and appeal; app/accounts/suspension.py
    refuses their new writes); too many attempts raise TooManyAttempts (429) before the
    password is checked."""
    email = normalize_email(email)[: EMAIL_MAX_LENGTH + 1]
    user = None
    if email and len(email) <= EMAIL_MAX_LENGTH:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if not check_password_attempt(user, email, password, address=address):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def change_password(user_id: int, current: str, new: str, *, address: str) -> None:
    """Replace the password after checking the current one, and end every signed-in session
    of the account (a browser that should stay signed in opens a new one: open_session()).
    API tokens are separate credentials and keep working. Raises ValidationFailed, or
    TooManyAttempts when the current password has been guessed at too often."""
    user = _get_user(user_id)
    if not check_password_attempt(user, normalize_email(user.email), current, address=address):
        raise ValidationFailed(fields={"current_password": ["That is not your current password."]})
    _check_password(new, email=user.email, handle=user.handle, field="new_password")
    if passwords.verify_password(user.password_hash, new):
        raise ValidationFailed(
            fields={"new_password": ["Choose a password different from your current one."]}
        )
    user.password_hash = passwords.hash_password(new)
    _delete_sessions(user.id)
    tokens.void(user.id, RESET, CHANGE)  # a thief's pending address change dies with it
    db.session.commit()
    logger.info("password changed user_id=%s", user.id)


# -- signed-in sessions ----------------------------------------------------------------------


def _hash_session_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _session_lifetime() -> timedelta:
    return timedelta(days=current_app.config["REMEMBER_COOKIE_DURATION_DAYS"])


def _delete_sessions(user_id: int) -> int:
    result = db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return result.rowcount or 0


def open_session(user_id: int) -> User:
    """Start a signed-in session for a browser: a new random key, different at every sign-in.

    Returns the user with `session_key` set, ready for flask_login.login_user(). Sessions last
    REMEMBER_COOKIE_DURATION_DAYS; the due job delete_expired_sessions() clears them away."""
    user = _get_user(user_id)
    now = utcnow()
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user_id=user.id,
            key_hash=_hash_session_key(key),
            created_at=now,
            expires_at=now + _session_lifetime(),
        )
    )
    db.session.commit()
    user.session_key = key
    return user


def user_for_session(key: str | None) -> User | None:
    """The active account signed in with this session key, or None (unknown, ended, expired,
    suspended). One query, which also asks whether moderators hid anything at all (when
    nothing is, the request reads no moderation states: app/visibility.py)."""
    if not key or len(key) > 100:
        return None
    row = db.session.execute(
        select(LoginSession.expires_at, User, visibility.anything_hidden().label("hidden"))
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.key_hash == _hash_session_key(key))
    ).first()
    if row is None or row.expires_at <= utcnow() or not row.User.is_active:
        return None
    visibility.answered(row.hidden)
    user = row.User
    user.session_key = key
    return user


def end_session(key: str | None) -> None:
    """Sign one browser out: its session and remember-me cookies stop working."""
    if not key:
        return
    db.session.execute(delete(LoginSession).where(LoginSession.key_hash == _hash_session_key(key)))
    db.session.commit()


def delete_expired_sessions(now: datetime) -> int:
    """Due job: forget sessions past their expiry (they already sign nobody in)."""
    result = db.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    db.session.commit()
    return result.rowcount or 0


def end_all_sessions(user_id: int) -> int:
    """Sign the account out everywhere (every browser's session and remember-me cookie).
    For password changes, resets and "sign out everywhere". API tokens are not touched.
    Returns how many sessions ended."""
    ended = _delete_sessions(_get_user(user_id).id)
    db.session.commit()
    logger.info("signed out everywhere user_id=%s sessions=%s", user_id, ended)
    return ended


def update_profile(user_id: int, **fields: str | None) -> User:
    """Change display name, bio and location (blank clears). Raises ValidationFailed."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"update_profile() got unknown fields: {sorted(unknown)}")
    user = _get_user(user_id)
    limits = {
        "display_name": DISPLAY_NAME_MAX_LENGTH,
        "location": LOCATION_MAX_LENGTH,
        "bio": BIO_MAX_LENGTH,
    }
    errors: dict[str, list[str]] = {}
    clean: dict[str, str | None] = {}
    for name, value in fields.items():
        value = (value or "").strip()
        if name != "bio":
            value = " ".join(value.split())  # one line, single spaces
        if len(value) > limits[name]:
            errors[name] = [f"Keep it under {limits[name]} characters."]
        clean[name] = value or None
    if errors:
        raise ValidationFailed(fields=errors)
    for name, value in clean.items():
        setattr(user, name, value)
    db.session.commit()
    return user


def _upload_path(relative: str) -> str:
    return os.path.join(current_app.config["UPLOAD_DIR"], relative)


def _remove_file(relative: str | None) -> None:
    media.delete_files(current_app.config["UPLOAD_DIR"], [relative])


def set_avatar(user_id: int, file_storage) -> User:
    """Store an uploaded image as the user's square avatar. Raises ValidationFailed."""
    user = _get_user(user_id)
    if file_storage is None:
        raise ValidationFailed(fields={"avatar": ["Choose an image to upload."]})
    try:
        renditions = media.process(
            file_storage, AVATAR_SIZES, max_bytes=current_app.config["MAX_PHOTO_BYTES"]
        )
    except media.ImageRejected as rejected:
        raise ValidationFailed(str(rejected), fields={"avatar": [str(rejected)]}) from None
    relative = media.store(current_app.config["UPLOAD_DIR"], AVATAR_DIR, renditions)["avatar"]
    old, user.avatar_path = user.avatar_path, relative
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        _remove_file(relative)
        raise
    _remove_file(old)
    return user


def remove_avatar(user_id: int) -> User:
    """Go back to the initial-letter avatar."""
    user = _get_user(user_id)
    old, user.avatar_path = user.avatar_path, None
    db.session.commit()
    _remove_file(old)
    return user


def avatar_file(user_id: int) -> str:
    """The absolute path of the user's avatar image. Raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None or not user.avatar_path:
        raise NotFound("No avatar.")
    path = _upload_path(user.avatar_path)
    if not os.path.isfile(path):
        raise NotFound("No avatar.")
    return path


# -- mailed links: confirming an address, resetting a password, changing the address ---------


def _confirm_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["EMAIL_CONFIRM_HOURS"])


def _mail_confirmation_link(user: User) -> None:
    token = tokens.issue(user.id, CONFIRM, _confirm_lifetime())
    db.session.commit()
    body = render_template(
        "accounts/email/confirm_email.txt",
        user=user,
        link=absolute_url(CONFIRM_EMAIL_PATH.format(token=token)),
        hours=current_app.config["EMAIL_CONFIRM_HOURS"],
    )
    send_email(user.email, "Confirm your email address", body)


def resend_confirmation(user_id: int, *, address: str) -> bool:
    """Mail a new confirmation link to the account's address (older links stop working).
    False when the address is confirmed already (nothing sent). Raises TooManyEmails or
    MailNotSent."""
    user = _get_user(user_id)
    if user.is_email_confirmed:
        return False
    throttle.before_account_mail(normalize_email(user.email), address)
    _mail_confirmation_link(user)
    return True


def request_password_reset(email: str, *, address: str) -> None:
    """Mail a password reset link to this address if an active account has it.

    Answers the same whether or not there is one: the caller shows one message, the budgets
    (TooManyEmails) count unknown addresses like known ones, and the link is made and mailed
    after the response has been delivered, so the answer takes the same time either way. A
    malformed address raises ValidationFailed, which says nothing about accounts. The link goes
    to an unconfirmed address too (following it proves the address is theirs, so it confirms
    it): otherwise somebody who forgot their password before confirming could never get in."""
    clean = _check_email(email)
    throttle.before_account_mail(clean, address)
    user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == clean))
    if user_id is not None:
        after_response(lambda: jobs.later("accounts.mail_reset_link", user_id))


def mail_reset_link(user_id: int) -> None:
    """Make a reset link and mail it (deferred: on a Celery worker when there is one)."""
    user = _get_user(user_id)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    token = tokens.issue(user.id, RESET, timedelta(minutes=minutes))
    db.session.commit()
    body = render_template(
        "accounts/email/reset_password.txt",
        user=user,
        link=absolute_url(RESET_PASSWORD_PATH.format(token=token)),
        minutes=minutes,
    )
    send_email(user.email, "Reset your password", body)
    logger.info("password reset link sent user_id=%s", user.id)


def check_reset_link(token: str | None) -> None:
    """Raises InvalidLink unless this reset link still works (does not use it)."""
    tokens.peek(token, RESET)


def reset_password(token: str | None, new_password: str | None) -> User:
    """Set a new password through a mailed reset link: the link works once, every signed-in
    session of the account ends (the caller opens a fresh one) and the address counts as
    confirmed. Raises InvalidLink, or ValidationFailed (the link stays usable) for a weak
    password. API tokens are separate credentials and keep working."""
    user = _get_user(tokens.peek(token, RESET).user_id)
    _check_password(new_password, email=user.email, handle=user.handle, field="new_password")
    tokens.use(token, RESET)
    user.password_hash = passwords.hash_password(new_password)
    if not user.is_email_confirmed:
        user.email_confirmed_at = utcnow()
    tokens.void(user.id, RESET, CHANGE)
    _delete_sessions(user.id)
    db.session.commit()
    logger.info("password reset user_id=%s", user.id)
    return user


def request_email_change(
    user_id: int, current_password: str, new_email: str, *, address: str
) -> str:
    """Start moving the account to `new_email`: checks the current password (the password
    policy), mails a link to the new address and a notice to the old one. The address changes
    only when the link is followed (confirm_email()). Returns the new address as it will be
    stored. Raises ValidationFailed, TooManyAttempts, TooManyEmails or MailNotSent (the notice
    to the old address is best effort)."""
    user = _get_user(user_id)
    if not check_password_attempt(
        user, normalize_email(user.email), current_password, address=address
    ):
        raise ValidationFailed(fields={"current_password": ["That is not your current password."]})
    try:
        clean = _check_email(new_email)
    except ValidationFailed as error:
        raise ValidationFailed(fields={"new_email": error.fields["email"]}) from None
    if clean == normalize_email(user.email):
        raise ValidationFailed(fields={"new_email": ["That is your address already."]})
    if _email_taken(clean):
        # The same answer sign-up gives (see README: the sign-up trade-off); behind a password.
        raise ValidationFailed(
            fields={"new_email": ["An account with this email address already exists."]}
        )
    throttle.before_account_mail(clean, address)
    token = tokens.issue(user.id, CHANGE, _confirm_lifetime(), new_email=clean)
    db.session.commit()
    context = {"user": user, "new_email": clean, "hours": current_app.config["EMAIL_CONFIRM_HOURS"]}
    link = absolute_url(CONFIRM_EMAIL_PATH.format(token=token))
    send_email(
        clean,
        "Confirm your new email address",
        render_template("accounts/email/change_email.txt", link=link, **context),
    )
    with contextlib.suppress(MailNotSent):  # the link matters; the notice is a courtesy
        send_to_member(
            user,
            "Your email address is changing",
            render_template("accounts/email/change_email_notice.txt", **context),
        )
    logger.info("email change requested user_id=%s", user.id)
    return clean


def check_email_link(token: str | None) -> str:
    """The address a confirmation link would confirm; raises InvalidLink (does not use it)."""
    row = tokens.peek(token, CONFIRM, CHANGE)
    return row.new_email or _get_user(row.user_id).email


def confirm_email(token: str | None) -> User:
    """Follow a mailed confirmation link: confirms the account's address, or moves the account
    to the new address the link was sent to. Works once. Raises InvalidLink, or
    ValidationFailed when another account took the new address meanwhile."""
    row = tokens.use(token, CONFIRM, CHANGE)
    user = _get_user(row.user_id)
    if row.purpose == CHANGE:
        if _email_taken(row.new_email):
            db.session.rollback()
            raise ValidationFailed(
                fields={"email": ["Another account took that address meanwhile."]}
            )
        user.email = row.new_email
        # Links sent to the old address must not act on the account any more.
        tokens.void(user.id, RESET, CONFIRM, CHANGE)
        user.email_confirmed_at = utcnow()
    elif not user.is_email_confirmed:
        user.email_confirmed_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(
            fields={"email": ["Another account took that address meanwhile."]}
        ) from None
    logger.info("email confirmed user_id=%s purpose=%s", user.id, row.purpose)
    return user

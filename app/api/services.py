"""Personal access tokens: issue, list, revoke and check. Only a SHA-256 of a token is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import User
from app.api.models import SCOPES, ApiToken
from app.db import utcnow
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "mut_"
NAME_MAX_LENGTH = 80
MAX_ACTIVE_TOKENS = 50
# Writing last_used_at on every call would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidCredentials(DomainError):
    code, status, default_message = (
        "invalid_credentials",
        401,
        "That email address and password do not match an account.",
    )


def hash_token(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _clean_scopes(scopes: Iterable[str] | None) -> str:
    chosen = set(scopes if scopes is not None else SCOPES)
    unknown = chosen - set(SCOPES)
    if unknown or not chosen:
        raise ValidationFailed(
            fields={"scopes": ["Choose read, or read and write."]},
        )
    if "write" in chosen:  # a program that may change things may also read them
        chosen.add("read")
    return " ".join(scope for scope in SCOPES if scope in chosen)


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(fields={"name": ["Give the token a name, like “my script”."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(fields={"name": [f"Keep it under {NAME_MAX_LENGTH} characters."]})
    return name


def create_token(
    user_id: int, name: str | None, scopes: Iterable[str] | None = None
) -> tuple[ApiToken, str]:
    """Issue a new token; returns the row and the token itself, which is never shown again."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    clean_name, clean_scopes = _clean_name(name), _clean_scopes(scopes)
    active = db.session.scalar(
        select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
        )
    )
    if active >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(
            f"You have {MAX_ACTIVE_TOKENS} active tokens. Revoke one you no longer use first.",
            fields={"name": ["Too many active tokens."]},
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user_id,
        name=clean_name,
        token_hash=hash_token(raw),
        display_prefix=raw[: len(TOKEN_PREFIX) + 6],
        scopes=clean_scopes,
    )
    db.session.add(token)
    db.session.commit()
    logger.info("api token created user_id=%s token_id=%s", user_id, token.id)
    return token, raw


def create_token_with_password(
    email: str,
    password: str,
    name: str | None = None,
    scopes: Iterable[str] | None = None,
    *,
    address: str,
) -> tuple[ApiToken, str]:
    """Sign in with email and password and issue a token. Raises InvalidCredentials, and
    TooManyAttempts from accounts.authenticate() (a suspended member may read with a token)."""
    user = accounts.authenticate(email, password, address=address)
    if user is None:
        raise InvalidCredentials()
    return create_token(user.id, name or "API token", scopes)


def tokens_of(user_id: int) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(token_id: int, user_id: int) -> ApiToken:
    """Stop a token from working (idempotent). NotFound for somebody else's token."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        logger.info("api token revoked user_id=%s token_id=%s", user_id, token.id)
    return token


def authenticate_token(raw: str | None) -> ApiToken | None:
    """The live token for this secret (its user active), or None. Records when it was used."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token

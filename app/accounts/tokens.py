"""The tokens in the links we mail: reset a password, confirm an address, move to a new one.

Why rows and not signed tokens (itsdangerous): a signed token is single-use only if it is bound
to something that changes when it is used (the password hash, a counter), and that binding
differs per purpose: an email confirmation changes no password, and binding to the address
breaks as soon as a second link is sent. A row gives every purpose the same three properties
with one guarded UPDATE: it works once (`used_at`, set by a row-counted UPDATE, so two clicks
racing each other cannot both win), until `expires_at`, and a newer link of the same purpose
voids the older ones. It also lets us void every outstanding reset link when the password
changes. Only a SHA-256 of the token is stored, so the table is useless to whoever reads it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import AccountToken
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db

TOKEN_MAX_LENGTH = 100


class InvalidLink(DomainError):
    code, status, default_message = (
        "invalid_token",
        400,
        "This link does not work any more: it was used already, it expired, or a newer one "
        "was sent. Please ask for a new one.",
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def void(user_id: int, *purposes: str) -> None:
    """Make every unused link of these purposes of this account stop working."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def issue(user_id: int, purpose: str, lifetime: timedelta, *, new_email: str | None = None) -> str:
    """A new token for a link (older unused ones of the purpose stop working). Adds the row,
    never commits: the caller commits before mailing the link."""
    void(user_id, purpose)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=_hash(token),
            new_email=new_email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return token


def _usable(token: str | None, purposes: tuple[str, ...]):
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return (
        AccountToken.token_hash == _hash(token),
        AccountToken.purpose.in_(purposes),
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > utcnow(),
    )


def peek(token: str | None, *purposes: str) -> AccountToken:
    """The token's row if the link still works, without using it. Raises InvalidLink."""
    conditions = _usable(token, purposes)
    row = db.session.scalar(select(AccountToken).where(*conditions)) if conditions else None
    if row is None:
        raise InvalidLink()
    return row


def use(token: str | None, *purposes: str) -> AccountToken:
    """Use the link up: only one caller ever gets its row (a guarded, row-counted UPDATE).
    Raises InvalidLink when it was used, expired, voided or never existed. Never commits."""
    conditions = _usable(token, purposes)
    if conditions is None:
        raise InvalidLink()
    result = db.session.execute(
        update(AccountToken)
        .where(*conditions)
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidLink()
    row = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == _hash(token)))
    db.session.refresh(row)
    return row

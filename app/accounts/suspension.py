"""The one check every write that buys, sells, lends, borrows, pledges, organises, messages,
reports or rates goes through: a suspended or banned member may sign in, read, export and see
their transactions through, but starts nothing new."""

from __future__ import annotations

from datetime import datetime

from app.accounts.models import User
from app.errors import DomainError
from app.extensions import db


class AccountSuspended(DomainError):
    code, status, default_message = (
        "account_suspended",
        403,
        "Your account is suspended: you can read and finish your transactions, not start new "
        "ones. See the community rules.",
    )

    def __init__(self, until: datetime | None = None, message: str | None = None):
        if message is None:
            if until is None:
                message = (
                    "Your account is banned: you can read and finish your transactions, "
                    "but not buy, sell, lend, borrow, pledge, organise, message, report or rate."
                )
            else:
                message = (
                    f"Your account is suspended until {until:%Y-%m-%d %H:%M} UTC: until then "
                    "you can read and finish your transactions, but not buy, sell, lend, "
                    "borrow, pledge, organise, message, report or rate."
                )
        super().__init__(message)
        self.suspended_until = until
        # In the API's error body next to code and message (app/errors.py `extra`).
        self.extra = {"suspended_until": until.isoformat() if until else None}


def ensure_not_suspended(user_id: int) -> None:
    """Raise AccountSuspended (with the until-date; none for a ban) when the member's sanction
    is in force."""
    user = db.session.get(User, user_id)
    if user is not None and user.is_restricted:
        raise AccountSuspended(user.suspended_until)

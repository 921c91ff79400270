"""How often a password may be tried: one policy for every place that checks one.

Three budgets, kept in the rate limiter's storage (memory, or Redis with several processes):

- **per address** (`LOGIN_RATE_LIMIT`, default 10 per minute and 50 per hour): every password
  check from one client address, whatever the account. It bounds what one machine can try
  and what it can make us spend on Argon2.
- **per address and account** (`LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT`, default 5 per minute and 20
  per hour): failed checks for one account from one address. The longer windows are the
  backoff: after a few failures the wait is a minute, after more an hour.
- **per account** (`LOGIN_ACCOUNT_RATE_LIMIT`, default 20 per hour and 100 per day): failed
  checks for one account from every address together.

An account over its own budget is under attack from many addresses. It is NOT locked: that would
let anybody lock the owner out by failing on purpose. Instead, while it is over budget, only an
address with a clean record for it (no failure for this account within the longest window of
the per-address-and-account budget) may try, and its first failure closes it for this account
too. So a correct password from a new address still signs in (the owner on their phone, at
work), while a spread-out attacker gets one guess per address instead of a full budget, and
each of those addresses is still bounded by its own per-address budget. A success clears the
address-and-account record, so an owner who mistyped once is not held back afterwards.

Unknown email addresses are counted exactly like known ones, so the limits reveal nothing about
which accounts exist. The account key is a hash of the normalised email address, so the
storage holds no addresses.
"""

from __future__ import annotations

import hashlib
import logging
import time

from flask import current_app
from limits import RateLimitItem, parse_many

from app.errors import DomainError
from app.extensions import limiter

logger = logging.getLogger(__name__)

ADDRESS, PAIR, ACCOUNT = "pw-address", "pw-address-account", "pw-account"


class Throttled(DomainError):
    """A budget is used up: 429, saying how long to wait (and Retry-After)."""

    code, status = "rate_limited", 429
    message_template = "Too many attempts. Please try again in {wait}."

    def __init__(self, retry_after: int):
        self.retry_after = max(1, retry_after)
        minutes = -(-self.retry_after // 60)
        wait = "a minute" if minutes <= 1 else f"{minutes} minutes"
        super().__init__(self.message_template.format(wait=wait))


class TooManyAttempts(Throttled):
    default_message = "Too many password attempts. Please wait a while and try again."
    message_template = (
        "Too many password attempts. Please try again in {wait}, "
        "or from another network if you know the password."
    )


def account_key(email: str) -> str:
    """The storage key of an account: a hash of its normalised email address."""
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED")) and limiter.enabled


def _items(setting: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[setting])


def _seconds_until_reset(item: RateLimitItem, *identifiers: str) -> int:
    stats = limiter.limiter.get_window_stats(item, *identifiers)
    return int(stats.reset_time - time.time()) + 1


def _over(items: list[RateLimitItem], *identifiers: str) -> list[int]:
    """Seconds to wait for every item of `items` that is used up (empty: within budget)."""
    return [
        _seconds_until_reset(item, *identifiers)
        for item in items
        if not limiter.limiter.test(item, *identifiers)
    ]


def _has_failed_before(account: str, address: str) -> int:
    """Seconds until this address's failures for this account are forgotten (0: none)."""
    longest = max(_items("LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT"), key=lambda item: item.get_expiry())
    stats = limiter.limiter.get_window_stats(longest, PAIR, account, address)
    if stats.remaining >= longest.amount:
        return 0
    return _seconds_until_reset(longest, PAIR, account, address)


def before_check(email: str, address: str) -> None:
    """Call before checking a password for `email` from `address`. Raises TooManyAttempts."""
    if not _enabled():
        return
    account = account_key(email)
    waits = _over(_items("LOGIN_RATE_LIMIT"), ADDRESS, address)
    waits += _over(_items("LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT"), PAIR, account, address)
    if not waits:
        account_waits = _over(_items("LOGIN_ACCOUNT_RATE_LIMIT"), ACCOUNT, account)
        if account_waits:
            failed_here = _has_failed_before(account, address)
            if failed_here:
                waits.append(min(failed_here, max(account_waits)))
    if waits:
        logger.warning("password attempts throttled account=%s address=%s", account, address)
        raise TooManyAttempts(max(waits))
    for item in _items("LOGIN_RATE_LIMIT"):
        limiter.limiter.hit(item, ADDRESS, address)


def after_check(email: str, address: str, *, succeeded: bool) -> None:
    """Record the outcome of a password check that before_check() let through."""
    if not _enabled():
        return
    account = account_key(email)
    if succeeded:
        for item in _items("LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT"):
            limiter.limiter.clear(item, PAIR, account, address)
        return
    for item in _items("LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT"):
        limiter.limiter.hit(item, PAIR, account, address)
    for item in _items("LOGIN_ACCOUNT_RATE_LIMIT"):
        limiter.limiter.hit(item, ACCOUNT, account)


def signup_limit():
    """One budget of sign-ups per client address (SIGNUP_RATE_LIMIT), shared by the web form
    and POST /api/v1/users, so neither doubles the other's allowance."""
    return limiter.shared_limit(
        lambda: current_app.config["SIGNUP_RATE_LIMIT"],
        scope="signup",
        methods=["POST"],
        error_message="Too many sign-ups from here. Please wait a while and try again.",
    )


MAIL_ADDRESS, MAIL_RECIPIENT = "mail-address", "mail-recipient"


class TooManyEmails(Throttled):
    default_message = "Too many emails asked for. Please wait a while and try again."
    message_template = "Too many emails asked for. Please try again in {wait}."


def before_account_mail(email: str, address: str) -> None:
    """Count a mail somebody asks us to send to `email` (a reset or confirmation link) from the
    client `address`; raises TooManyEmails when either budget is used up
    (ACCOUNT_MAIL_RATE_LIMIT per client address, ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT per
    recipient). Addresses without an account are counted exactly like the others, so a 429
    says nothing about which accounts exist; it also keeps us from flooding anybody's inbox."""
    if not _enabled():
        return
    recipient = account_key(email)
    waits = _over(_items("ACCOUNT_MAIL_RATE_LIMIT"), MAIL_ADDRESS, address)
    waits += _over(_items("ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT"), MAIL_RECIPIENT, recipient)
    if waits:
        logger.warning("account mail throttled recipient=%s address=%s", recipient, address)
        raise TooManyEmails(max(waits))
    for item in _items("ACCOUNT_MAIL_RATE_LIMIT"):
        limiter.limiter.hit(item, MAIL_ADDRESS, address)
    for item in _items("ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT"):
        limiter.limiter.hit(item, MAIL_RECIPIENT, recipient)


GUESS = "guess"


class TooManyGuesses(Throttled):
    default_message = "Too many wrong codes. Please wait a while and try again."
    message_template = "Too many wrong codes. Please try again in {wait}."


def before_guess(setting: str, secret_id: str) -> None:
    """Call before checking a typed code against the short secret `secret_id` (a loan's
    handover code): raises TooManyGuesses once the wrong guesses at it used up the budget in
    `setting`, whoever made them, so a six-digit code cannot be walked through."""
    if not _enabled():
        return
    waits = _over(_items(setting), GUESS, setting, secret_id)
    if waits:
        logger.warning("code guesses throttled setting=%s id=%s", setting, secret_id)
        raise TooManyGuesses(max(waits))


def after_wrong_guess(setting: str, secret_id: str) -> None:
    """Count a wrong guess at `secret_id` against the budget in `setting`."""
    if not _enabled():
        return
    for item in _items(setting):
        limiter.limiter.hit(item, GUESS, setting, secret_id)

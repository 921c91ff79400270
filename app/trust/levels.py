"""Trust levels: what a member has earned from their account's age, their completed
transactions and their reputation, and the privileges each level opens (in the manner of
Discourse's trust levels, with a marketplace's gates).

    standing(user_id) -> Standing           # level, the figures, each level's requirements
    require_level(user_id, level, privilege, field=None)
    check_listing_price(user_id, price_cents, field="price")
    check_deposit(user_id, deposit_cents, field="deposit")
    check_daily_listings(user_id, count_since)     # the owner of the rows counts them
    check_daily_messages(user_id, count_since, field="body")

Levels are computed on demand from what exists (no column): one query for the counts of
completed transactions (each kind says what counts: its registry entry's completed_count), one
for the stored overall reputation (app/reviews). This package reads no kind's tables.
Admins and moderators are exempt from every gate. The services that own each rule call these
checks (listings, loan offers, clubs, deals, messaging); a refusal is a ValidationFailed with a
stable code (`trust_level_required` or `daily_limit_reached`) and the field it is about, so
forms show it next to the field and the API answers it as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.money import format_money
from app.transactions.registry import kinds

# (since) -> (how many, when the oldest of them was made) of what a daily limit counts.
CountSince = Callable[[datetime], tuple[int, datetime | None]]

NEW, BASIC, MEMBER, REGULAR = 0, 1, 2, 3
LEVEL_NAMES = {NEW: "New", BASIC: "Basic", MEMBER: "Member", REGULAR: "Regular"}

# What each level asks (each level also asks everything the ones below it ask). The positive
# ratings and percent of level 2 are the club rule (CLUB_MIN_POSITIVE, CLUB_MIN_PERCENT).
BASIC_MIN_DAYS, BASIC_MIN_COMPLETED = 2, 1
MEMBER_MIN_DAYS = 14
REGULAR_MIN_DAYS, REGULAR_MIN_COMPLETED = 90, 10
REGULAR_MIN_POSITIVE, REGULAR_MIN_PERCENT = 10, 95

# The gates. A level not in a table has no ceiling or limit.
PRICE_CEILING_CENTS = {NEW: 25_000, BASIC: 100_000}
DEPOSIT_CEILING_CENTS = {NEW: 10_000, BASIC: 50_000}
DAILY_LISTINGS = {NEW: 5, BASIC: 20}
DAILY_MESSAGES = {NEW: 30, BASIC: 150}
START_CLUB_LEVEL = MEMBER
ORGANIZE_DEAL_LEVEL = MEMBER
DAY = timedelta(hours=24)


class TrustLevelRequired(ValidationFailed):
    """A privilege the member's trust level does not open yet."""

    code, status = "trust_level_required", 403
    default_message = "Your trust level does not allow that yet."

    def __init__(self, message: str | None = None, *, level: int, field: str | None = None):
        super().__init__(message, fields={field: [message]} if field and message else None)
        self.level_required = level


class DailyLimitReached(ValidationFailed):
    """A new account's daily allowance is used up."""

    code, status = "daily_limit_reached", 429
    default_message = "You reached today's limit."

    def __init__(self, message: str | None = None, *, retry_after: int, field: str | None = None):
        super().__init__(message, fields={field: [message]} if field and message else None)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Requirement:
    """One condition of a level, with where the member stands."""

    key: str  # account_age_days, completed_transactions, positive_ratings, percent_positive
    label: str
    need: float
    have: float | None

    @property
    def is_met(self) -> bool:
        return self.have is not None and self.have >= self.need

    @property
    def text(self) -> str:
        """The condition and the member's number, in a sentence."""
        have = "none yet" if self.have is None else f"{self.have:g}"
        return f"{self.label}: {self.need:g} needed, you have {have}"


@dataclass(frozen=True)
class Standing:
    """A member's trust level, the figures it comes from and what each level asks."""

    user_id: int
    level: int
    is_staff: bool
    age_days: int
    completed: int
    positive: int
    percent_positive: float | None
    levels: dict[int, list[Requirement]]  # level -> its own requirements (1..3)

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def next_level(self) -> int | None:
        return self.level + 1 if self.level < REGULAR else None

    @property
    def next_requirements(self) -> list[Requirement]:
        """Everything the next level asks (its own conditions and the lower levels')."""
        if self.next_level is None:
            return []
        return all_requirements(self.levels, self.next_level)

    @property
    def missing(self) -> list[Requirement]:
        return [r for r in self.next_requirements if not r.is_met]

    @property
    def reasons(self) -> list[str]:
        """Why the member is at this level, in sentences."""
        figures = (
            f"Account {self.age_days} day{'s' * (self.age_days != 1)} old, "
            f"{self.completed} completed transaction{'s' * (self.completed != 1)}, "
            f"{self.positive} positive rating{'s' * (self.positive != 1)} received, "
            + (
                "no ratings in the last 12 months."
                if self.percent_positive is None
                else f"{self.percent_positive:g}% positive over 12 months."
            )
        )
        reasons = [figures]
        if self.level > NEW:
            met = "; ".join(r.text for r in all_requirements(self.levels, self.level))
            reasons.append(f"Level {self.level} ({self.name}) asks: {met}.")
        if self.missing:
            reasons.append(
                f"Not yet level {self.next_level} ({LEVEL_NAMES[self.next_level]}): "
                + "; ".join(r.text for r in self.missing)
                + "."
            )
        if self.is_staff:
            reasons.append("Staff (moderator or admin): no gate applies.")
        return reasons


def all_requirements(levels: dict[int, list[Requirement]], level: int) -> list[Requirement]:
    """Level `level`'s requirements with those of the levels below it, the strictest kept."""
    merged: dict[str, Requirement] = {}
    for number in range(1, level + 1):
        for requirement in levels[number]:
            merged[requirement.key] = requirement
    return list(merged.values())


def _requirements(
    age_days: int, completed: int, positive: int, percent: float | None
) -> dict[int, list[Requirement]]:
    config = current_app.config
    age, done, rated, share = (
        ("account_age_days", "Days since you joined", age_days),
        ("completed_transactions", "Completed orders, loans and pledges", completed),
        ("positive_ratings", "Positive ratings received", positive),
        ("percent_positive", "Percent positive over 12 months", percent),
    )

    def req(what: tuple, need: float) -> Requirement:
        return Requirement(what[0], what[1], need, what[2])

    return {
        BASIC: [req(age, BASIC_MIN_DAYS), req(done, BASIC_MIN_COMPLETED)],
        MEMBER: [
            req(age, MEMBER_MIN_DAYS),
            req(rated, config["CLUB_MIN_POSITIVE"]),
            req(share, config["CLUB_MIN_PERCENT"]),
        ],
        REGULAR: [
            req(age, REGULAR_MIN_DAYS),
            req(done, REGULAR_MIN_COMPLETED),
            req(rated, REGULAR_MIN_POSITIVE),
            req(share, REGULAR_MIN_PERCENT),
        ],
    }


def _completed_count(user_id: int):
    """The SQL expression counting the member's completed transactions of every kind that
    counts them (orders and loans on either side, received pledges: each kind's registry entry
    says, app/transactions/registry.py completed_count)."""
    from sqlalchemy import literal

    counts = [kind.completed_count(user_id) for kind in kinds() if kind.completed_count]
    return sum(counts[1:], counts[0]) if counts else literal(0)


def completed_transactions(user_id: int) -> int:
    """Completed transactions of every kind (orders, loans, received pledges): one query."""
    return int(db.session.execute(select(_completed_count(user_id))).scalar_one())


def standing(user_id: int, now: datetime | None = None) -> Standing:
    """The member's trust level and why (one query for the figures). Raises NotFound."""
    from app.reviews.models import ReputationScore
    from app.reviews.reputation import OVERALL

    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("We could not find that member.")
    now = now or utcnow()
    age_days = max(0, int((now - user.created_at).total_seconds() // 86_400))

    def score(column):
        return (
            select(column)
            .where(ReputationScore.user_id == user_id, ReputationScore.role == OVERALL)
            .scalar_subquery()
        )

    completed, positive, ratings, percent = db.session.execute(
        select(
            _completed_count(user_id),
            score(ReputationScore.positive),
            score(ReputationScore.positive + ReputationScore.neutral + ReputationScore.negative),
            score(ReputationScore.percent_positive),
        )
    ).one()
    rated = bool(ratings)
    positive = int(positive) if rated else 0
    percent = round(float(percent), 1) if rated and percent is not None else None
    completed = int(completed)
    levels = _requirements(age_days, completed, positive, percent)
    level = NEW
    for number in (BASIC, MEMBER, REGULAR):
        if not all(r.is_met for r in all_requirements(levels, number)):
            break
        level = number
    return Standing(
        user_id=user_id,
        level=level,
        is_staff=bool(user.is_admin or user.is_moderator),
        age_days=age_days,
        completed=completed,
        positive=positive,
        percent_positive=percent,
        levels=levels,
    )


def gates_enabled() -> bool:
    """The ceilings, daily limits and the deal gate (the test suite turns them off unless a test
    is about them; the club rule is always enforced)."""
    return bool(current_app.config.get("TRUST_GATES_ENABLED", True))


def privileges() -> list[dict]:
    """Every gate and the level that opens it, for the page and the API."""
    ceiling = {level: format_money(c, _currency()) for level, c in PRICE_CEILING_CENTS.items()}
    deposit = {level: format_money(c, _currency()) for level, c in DEPOSIT_CEILING_CENTS.items()}
    return [
        {
            "key": "listing_price",
            "label": "Price of one listing",
            "by_level": [ceiling.get(lv, "no ceiling") for lv in LEVEL_NAMES],
        },
        {
            "key": "loan_deposit",
            "label": "Deposit you ask for a loan",
            "by_level": [deposit.get(lv, "no ceiling") for lv in LEVEL_NAMES],
        },
        {
            "key": "daily_listings",
            "label": "New listings a day",
            "by_level": [str(DAILY_LISTINGS.get(lv, "no limit")) for lv in LEVEL_NAMES],
        },
        {
            "key": "daily_messages",
            "label": "Messages a day",
            "by_level": [str(DAILY_MESSAGES.get(lv, "no limit")) for lv in LEVEL_NAMES],
        },
        {
            "key": "start_club",
            "label": "Start a buying club",
            "by_level": ["yes" if lv >= START_CLUB_LEVEL else "no" for lv in LEVEL_NAMES],
        },
        {
            "key": "organize_deal",
            "label": "Organize a group deal",
            "by_level": ["yes" if lv >= ORGANIZE_DEAL_LEVEL else "no" for lv in LEVEL_NAMES],
        },
    ]


def _currency() -> str:
    return current_app.config["SITE_CURRENCY"]


def _level_phrase(level: int) -> str:
    return f"trust level {level} ({LEVEL_NAMES[level]})"


def level_rule(level: int) -> str:
    """What level `level` asks, in a sentence (with the levels below it)."""
    placeholder = _requirements(0, 0, 0, None)
    parts = [f"{r.label.lower()} at least {r.need:g}" for r in all_requirements(placeholder, level)]
    return f"Level {level} ({LEVEL_NAMES[level]}) takes: " + ", ".join(parts) + "."


def require_level(user_id: int, level: int, privilege: str, field: str | None = None) -> Standing:
    """Refuse with `trust_level_required` unless the member has reached `level` (staff pass)."""
    found = standing(user_id)
    if found.is_staff or found.level >= level:
        return found
    raise TrustLevelRequired(
        f"{privilege} takes {_level_phrase(level)}; you are at level {found.level} "
        f"({found.name}). {level_rule(level)} See “Your trust level” in Settings.",
        level=level,
        field=field,
    )


def _ceiling(
    user_id: int, amount_cents: int | None, table: dict[int, int], what: str, field: str
) -> None:
    if not gates_enabled() or amount_cents is None or amount_cents <= min(table.values()):
        return
    found = standing(user_id)
    ceiling = table.get(found.level)
    if found.is_staff or ceiling is None or amount_cents <= ceiling:
        return
    needed = next(
        (
            lv
            for lv in range(found.level + 1, REGULAR + 1)
            if table.get(lv, amount_cents) >= amount_cents
        ),
        REGULAR,
    )
    raise TrustLevelRequired(
        f"At trust level {found.level} ({found.name}) {what} can be at most "
        f"{format_money(ceiling, _currency())}; {format_money(amount_cents, _currency())} takes "
        f"{_level_phrase(needed)}. See “Your trust level” in Settings.",
        level=needed,
        field=field,
    )


def price_ceiling_cents(user_id: int) -> int | None:
    """The highest price the member may ask for a listing now (None: no ceiling)."""
    if not gates_enabled():
        return None
    found = standing(user_id)
    return None if found.is_staff else PRICE_CEILING_CENTS.get(found.level)


def check_listing_price(user_id: int, price_cents: int | None, field: str = "price") -> None:
    """Refuse a price above the seller's level's ceiling."""
    _ceiling(user_id, price_cents, PRICE_CEILING_CENTS, "a listing's price", field)


def check_deposit(user_id: int, deposit_cents: int | None, field: str = "deposit") -> None:
    """Refuse a loan deposit above the lender's level's ceiling."""
    _ceiling(user_id, deposit_cents, DEPOSIT_CEILING_CENTS, "the deposit you ask", field)


def _daily(user_id: int, table: dict[int, int], count_since, verb: str, noun: str, field):
    if not gates_enabled():
        return
    found = standing(user_id)
    limit = table.get(found.level)
    if found.is_staff or limit is None:
        return
    since = utcnow() - DAY
    count, oldest = count_since(since)
    if count < limit:
        return
    retry = int(((oldest or since) + DAY - utcnow()).total_seconds()) + 1
    raise DailyLimitReached(
        f"At trust level {found.level} ({found.name}) you can {verb} {limit} {noun} in 24 "
        "hours, and you have. Try again later: the limit rises with your trust level (see "
        "“Your trust level” in Settings).",
        retry_after=retry,
        field=field,
    )


def check_daily_listings(
    user_id: int, count_since: CountSince, field: str | None = "title"
) -> None:
    """Refuse a new listing once the member's level's daily allowance is used. `count_since`
    (since) -> (how many, the oldest's time) is the listings' own count (app/listings)."""
    _daily(user_id, DAILY_LISTINGS, count_since, "post", "new listings", field)


def check_daily_messages(user_id: int, count_since: CountSince, field: str | None = "body") -> None:
    """Refuse a message once the member's level's daily allowance is used (`count_since`: the
    messages' own count, app/messaging)."""
    _daily(user_id, DAILY_MESSAGES, count_since, "send", "messages", field)

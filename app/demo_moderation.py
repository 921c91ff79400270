"""Demo moderation: two moderators, reports on a few listings and members, and decided cases in
the public log. Made through the moderation services, like everything else in the demo."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.listings.models import Listing
from app.moderation import services as moderation
from app.moderation.models import ModerationCase

MIN_PEOPLE = 6  # smaller demos get moderators but no cases

# (rule, details) of each report on a listing; the decision; its public reason.
LISTING_CASES = [
    ([(1, "The photos are of a newer model than the one described."),
      (1, "Asked the seller: the photos are from the maker's website.")],
     "warn", "Photos must show the item itself; the seller was asked to replace them."),
    ([(7, "This looks like a counterfeit of a designer brand."),
      (7, "Same logo as the fakes seized last month, price far too low."),
      (1, "Description says 'original' but the stitching is wrong.")],
     "remove", "Counterfeit goods are not allowed here."),
    ([(1, "I think the price is a trick, it says one price and asks for more.")],
     "dismiss", "The price is what the listing says; nothing breaks a rule."),
    ([(7, "This seems to be a prescription medicine.")], None, ""),
]  # fmt: skip


def seed_moderation(people: list[User]) -> dict[str, int]:
    """Two members made moderators (the second and third demo people: @bob and @carmen in
    the full demo), reports and actions; returns how many reports and actions."""
    for person in people[1:3]:
        person.is_moderator = True
    db.session.commit()
    if len(people) < MIN_PEOPLE:
        return {"reports": 0, "moderation actions": 0}
    first, second = people[1], people[2]
    listings = list(
        db.session.scalars(
            select(Listing)
            .where(Listing.seller_id.not_in([first.id, second.id]))
            .order_by(Listing.id.desc())
            .limit(40)
        )
    )
    reports = actions = 0
    cases = LISTING_CASES[: len(listings)]
    step = max(1, len(listings) // max(len(cases), 1))
    for n, (filed, decision, reason) in enumerate(cases):
        listing = listings[n * step]
        others = [p for p in people if p.id not in (listing.seller_id, first.id, second.id)]
        reporters = [others[(n * 3 + i) % len(others)] for i in range(len(filed))]
        case_id = None
        for reporter, (rule, details) in zip(reporters, filed, strict=True):
            case_id = moderation.create_report(
                reporter.id, "listing", listing.id, rule, details
            ).case_id
            reports += 1
        if decision:
            moderator = first if n % 2 == 0 else second
            moderation.claim_case(case_id, moderator.id)
            moderation.act(case_id, moderator.id, decision, filed[0][0], reason)
            actions += 1
        db.session.get(ModerationCase, case_id).opened_at = utcnow() - timedelta(days=n + 1)
        db.session.commit()
    # A member who insulted people in messages: suspended for a week.
    rude, reporter = people[-1], people[-2]
    case_id = moderation.create_report(
        reporter.id, "member", rude.id, 8, "Sent me insulting messages after I declined an offer."
    ).case_id
    reports += 1
    moderation.act(
        case_id,
        second.id,
        "suspend",
        8,
        "Insulting messages to a buyer; a week to cool down.",
        suspended_until=utcnow() + timedelta(days=7),
    )
    actions += 1
    return {"reports": reports, "moderation actions": actions}

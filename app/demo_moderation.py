"""Demo moderation: two moderators, reports on a few listings and members, and decided cases in
the public log. Made through the moderation services, like everything else in the demo."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.listings.models import Listing
from app.moderation import appeals
from app.moderation import services as moderation
from app.moderation.models import ModerationCase
from app.reviews.models import Feedback

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
        return {"reports": 0, "moderation actions": 0, "appeals": 0}
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
    warned = None
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
            done = moderation.act(case_id, moderator.id, decision, filed[0][0], reason)
            actions += 1
            if decision == "warn":
                warned = done
        db.session.get(ModerationCase, case_id).opened_at = utcnow() - timedelta(days=n + 1)
        db.session.commit()
    # A member who insulted people in messages: suspended for a week.
    rude, reporter = people[-1], people[-2]
    case_id = moderation.create_report(
        reporter.id, "member", rude.id, 8, "Sent me insulting messages after I declined an offer."
    ).case_id
    reports += 1
    suspension = moderation.act(
        case_id,
        second.id,
        "suspend",
        8,
        "Insulting messages to a buyer; a week to cool down.",
        suspended_until=utcnow() + timedelta(days=7),
    )
    actions += 1
    # Appeals: the suspended member's waits in the queue; the warned seller's was upheld by
    # the other moderator; feedback hidden as an insult was shown again on appeal.
    appeals.create_appeal(
        rude.id, suspension.id, "I apologised to the buyer the same day; a week is a lot."
    )
    made = 1
    if warned is not None:
        appeal = appeals.create_appeal(
            warned.target_user_id, warned.id, "The photos are mine: I took them of this very item."
        )
        appeals.decide_appeal(
            appeal.id, second.id if warned.moderator_id == first.id else first.id, "uphold", 1,
            "The same photos are on the maker's site; please photograph your own item.",
        )  # fmt: skip
        made, actions = made + 1, actions + 1
    if _appealed_feedback(first, second):
        reports, actions, made = reports + 1, actions + 2, made + 1
    return {"reports": reports, "moderation actions": actions, "appeals": made}


def _appealed_feedback(first: User, second: User) -> bool:
    """A critical feedback reported by the member rated, hidden by one moderator as an insult,
    appealed by its author and shown again by the other: harsh, but about the sale."""
    moderators = (first.id, second.id)
    feedback = db.session.scalar(
        select(Feedback)
        .where(
            Feedback.revealed_at.is_not(None),
            Feedback.rating != "positive",
            Feedback.comment != "",
            Feedback.author_id.not_in(moderators),
            Feedback.subject_user_id.not_in(moderators),
        )
        .order_by(Feedback.id)
        .limit(1)
    )
    if feedback is None:
        return False
    case_id = moderation.create_report(
        feedback.subject_user_id, "feedback", feedback.id, 8,
        "This is an insult, not an account of the sale.",
    ).case_id  # fmt: skip
    hidden = moderation.act(
        case_id, first.id, "hide", 8, "Reads as an insult rather than about the sale."
    )
    appeal = appeals.create_appeal(
        feedback.author_id, hidden.id, "I only described what went wrong with the sale."
    )
    appeals.decide_appeal(
        appeal.id, second.id, "overturn", 5,
        "Harsh, but it is about the transaction: shown again and counted.",
    )  # fmt: skip
    return True

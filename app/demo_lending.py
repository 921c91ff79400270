"""Demo lending: some demo listings are offered for loan (some for loan only), and loans between
the members sit in every state of the loan machine, each step taken through the lending
services at its own time in the past, so the timeline, the ledger and the notifications agree.

The first member (alice, the one the README signs in as) lends and borrows in most states, so
her "Loans" page shows what needs her, what is due next, and both tabs full.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.demo_pictures import picture
from app.disputes import services as disputes
from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from app.listings import services as listing_services
from app.listings.models import Listing
from app.messaging import services as messaging
from app.messaging.models import Conversation, Message
from app.reviews import services as reviews

KIND = "loan"
# Things people lend, and what they cost new (in whole currency units): their terms follow.
LENDABLE = {
    "Two-person tent": 200,
    "Cordless drill": 140,
    "Aluminium step ladder": 90,
    "Metal toolbox": 110,
    "Car roof box": 380,
    "City bike": 450,
    "Sewing machine": 240,
    "Picnic basket": 75,
    "35 mm film camera": 220,
    "Floor bike pump": 40,
    "Diamond kite": 30,
    "Wooden chess set": 60,
    "Belt-drive turntable": 250,
    "Portable typewriter": 150,
    "Tennis racket": 130,
    "Canvas backpack": 70,
    "Bluetooth speaker": 80,
    "Large umbrella": 35,
}
# A loan's plan: the state it reaches and how. "alice" says her side in it (None: others').
PLANS: list[tuple[str, str | None]] = [
    ("requested", "borrower"),
    ("requested", "lender"),
    ("approved", "borrower"),
    ("handing_over", "lender"),
    ("active", "borrower"),
    ("overdue", "borrower"),
    ("returned", "lender"),
    ("returned_late", "lender"),
    ("claimed", "borrower"),
    ("disputed", "lender"),
    ("resolved", None),
    ("completed", "borrower"),
    ("completed_late", "lender"),
    ("completed_claim", "lender"),
    ("completed_withdrawn", None),
    ("auto_completed", None),
    ("declined", "borrower"),
    ("withdrawn", None),
    ("cancelled", "lender"),
    ("expired", "borrower"),
    *[("completed", None)] * 8,
    ("completed", "lender"),
    ("completed_late", None),
]
OPENERS = [
    "Hi! Could I borrow it for {days} days? I'd take good care of it.",
    "Hello, I need it for a weekend project. Could I pick it up on {start}?",
    "Hi, is it still free those days? I live close by.",
    "Hello! First time borrowing here. Could I come by on {start} evening?",
]
REPLIES = [
    "Sure! I'm in {place}; I'll send you the address.",
    "Of course. {start} after six works for me.",
    "Happy to lend it. Bring it back clean and dry, please.",
    "Yes, it's free. See you on {start}.",
]
THANKS = ["Perfect, thanks!", "Great, see you then.", "", ""]
FEEDBACK = {
    "lender": [
        "Exactly as described, easy pick-up.",
        "Friendly and flexible.",
        "Great thing to borrow.",
        "",
    ],
    "borrower": [
        "Returned on time and clean.",
        "Careful borrower, welcome again.",
        "Smooth loan.",
        "",
    ],
}
CLAIMS = [
    "A deep scratch along one side and a dent near the corner; see the photo.",
    "One part no longer works as it did before the loan.",
    "It came back wet and muddy, and a strap is torn.",
    "A crack in the casing that was not there when it left.",
]


def _at(day: date, hour: float) -> datetime:
    """A moment of a day: `hour` hours after its midnight (UTC)."""
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(hours=hour)


def _terms(thing: str, seller: User, rng: random.Random) -> dict:
    """Loan terms that fit the thing: a small share of its price per day (or free), a deposit
    that covers damage, a late fee kept from it."""
    price = LENDABLE.get(thing, 60)
    free = rng.random() < 0.25
    fee = 0 if free else max(1, round(price * rng.uniform(0.02, 0.04))) * 100
    deposit = 0 if price < 50 and rng.random() < 0.5 else max(10, round(price * 0.4 / 5) * 5) * 100
    late = max(fee, 200) if deposit else 0
    terms = {
        "fee_per_day_cents": fee,
        "deposit_cents": deposit,
        "min_days": 1,
        "max_days": rng.choice([14, 14, 21, 30]),
        "pickup_area": seller.location or "town",
        "pickup_notes": rng.choice(
            ["Evenings after six.", "Weekends are easiest.", "Ring the bell twice.", ""]
        ),
        "late_fee_per_day_cents": late,
        "late_fee_cap_cents": min(deposit, late * 5) if late else None,
    }
    if fee and terms["max_days"] >= 7 and rng.random() < 0.5:
        terms["fee_per_week_cents"] = fee * 5
    return terms


def offer_for_loan(
    listings: list[tuple[Listing, str]], alice: User, rng: random.Random, *, at_least: int
) -> list[Listing]:
    """Offer for loan the listings of things people lend (and more, up to `at_least`), a third
    of them for loan only; alice lends some of hers. Returns those offered."""
    usable = [(lst, thing) for lst, thing in listings if lst.condition != "for_parts"]
    chosen = [(lst, thing) for lst, thing in usable if thing in LENDABLE]
    if not any(lst.seller_id == alice.id for lst, _thing in chosen):
        chosen += [(lst, thing) for lst, thing in usable if lst.seller_id == alice.id][:2]
    rest = [pair for pair in usable if pair not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, at_least - len(chosen))]
    # About one listing in six is lent (alice's first), as in a neighbourhood.
    chosen.sort(key=lambda pair: pair[0].seller_id != alice.id)
    chosen = chosen[: max(at_least, len(listings) // 6)]
    lent = []
    for n, (listing, thing) in enumerate(chosen):
        for_sale = n % 3 != 0
        listing_services.update_listing(
            listing.id,
            listing.seller_id,
            for_sale=for_sale,
            loan_offer=_terms(thing, listing.seller, rng),
        )
        lent.append(listing)
    return lent


class Lending:
    """Makes the demo's loans: picks a listing and days that are free, takes the steps."""

    def __init__(
        self,
        people: list[User],
        lent: list[Listing],
        rng: random.Random,
        drawing_of: dict[int, str],
    ) -> None:
        self.people, self.lent, self.rng = people, lent, rng
        self.drawing_of = drawing_of  # listing id -> its drawing (app/demo_pictures.py)
        self.alice = people[0]
        self.taken: dict[int, list[tuple[date, date]]] = {}
        self.today = utcnow().date()
        self.made = 0

    def _listing(self, lender_is_alice: bool | None, borrower: User | None, first: date, last):
        candidates = [
            listing
            for listing in self.lent
            if (lender_is_alice is None or (listing.seller_id == self.alice.id) == lender_is_alice)
            and (borrower is None or listing.seller_id != borrower.id)
            and not any(a <= last and first <= b for a, b in self.taken.get(listing.id, []))
        ]
        if not candidates:
            return None
        # The least lent first: loans spread over many things, as in a neighbourhood.
        fewest = min(len(self.taken.get(listing.id, [])) for listing in candidates)
        listing = self.rng.choice(
            [c for c in candidates if len(self.taken.get(c.id, [])) == fewest]
        )
        self.taken.setdefault(listing.id, []).append((first - timedelta(1), last + timedelta(1)))
        return listing

    def make(self, plan: str, alice_side: str | None) -> Loan | None:
        rng = self.rng
        first, length = self._days(plan)
        last = first + timedelta(days=length - 1)
        borrower = self.alice if alice_side == "borrower" else None
        listing = self._listing(
            True if alice_side == "lender" else (False if alice_side == "borrower" else None),
            borrower,
            first,
            last,
        )
        if listing is None:
            return None
        if borrower is None:
            others = [p for p in self.people if p.id not in (listing.seller_id, self.alice.id)]
            borrower = rng.choice(others or [p for p in self.people if p.id != listing.seller_id])
        asked = self._asked_at(plan, first)
        place = listing.seller.location or "town"
        start_words = f"{first:%A}"
        loan = lending.request_loan(
            listing.id,
            borrower.id,
            first,
            last,
            rng.choice(OPENERS).format(days=length, start=start_words),
            now=asked,
        )
        lender_id = listing.seller_id
        talk = [
            (lender_id, rng.choice(REPLIES).format(place=place, start=start_words)),
            (borrower.id, rng.choice(THANKS)),
        ]
        for sender, body in talk:
            if body:
                messaging.send_message(KIND, loan.id, sender, body)
        self._age_messages(loan.id, asked, plan)
        self._steps(loan, plan, asked)
        self.made += 1
        return loan

    def _days(self, plan: str) -> tuple[date, int]:
        """The loan's first day and length, for the state it should be in today."""
        rng, today = self.rng, self.today
        length = rng.choice([2, 3, 3, 4, 5, 7])
        if plan in ("requested", "approved", "declined", "withdrawn", "cancelled", "expired"):
            return today + timedelta(days=rng.randint(3, 20)), length
        if plan == "handing_over":
            return today, length
        if plan == "active":
            return today - timedelta(days=1), length + 2
        if plan == "overdue":
            return today - timedelta(days=length + 2), length
        if plan == "returned":  # back yesterday, on time
            return today - timedelta(days=length), length
        if plan == "returned_late":
            return today - timedelta(days=length + 2), length
        if plan == "claimed":
            return today - timedelta(days=length + 4), length
        if plan in ("disputed", "auto_completed"):
            return today - timedelta(days=length + 8), length
        # Finished loans spread over the past months.
        return today - timedelta(days=rng.randint(14, 150)), length

    def _asked_at(self, plan: str, first: date) -> datetime:
        now = utcnow()
        if plan == "expired":
            return now - timedelta(days=3, hours=self.rng.uniform(1, 12))
        if plan in ("requested", "declined", "withdrawn"):
            return now - timedelta(hours=self.rng.uniform(1, 20))
        if first > now.date():
            return now - timedelta(hours=self.rng.uniform(24, 40))
        return datetime.combine(first, time(), tzinfo=UTC) - timedelta(days=self.rng.uniform(2, 5))

    def _steps(self, loan: Loan, plan: str, asked: datetime) -> None:
        rng = self.rng
        lender_id, borrower_id = loan.lender_id, loan.borrower_id
        first, last = loan.starts_on, loan.ends_on
        if plan in ("requested", "expired"):
            return  # expired: the due job lets it expire (seed_lending runs it at the end)
        answered = min(asked + timedelta(hours=rng.uniform(0.2, 3)), utcnow())
        if plan == "declined":
            note = "Sorry, I need it myself that week."
            lending.act(loan.id, "decline", lender_id, note=note, now=answered)
            return
        if plan == "withdrawn":
            note = "Found one closer to home."
            lending.act(loan.id, "cancel", borrower_id, note=note, now=answered)
            return
        approved = min(asked + timedelta(hours=rng.uniform(1, 10)), utcnow())
        lending.act(loan.id, "approve", lender_id, now=approved)
        if plan == "approved":
            return
        if plan == "cancelled":
            note = "Sorry, it broke on the last trip: I can't lend it now."
            lending.act(loan.id, "cancel", lender_id, note=note, now=approved + timedelta(hours=5))
            return
        handover = _at(first, rng.uniform(8, 11))
        if plan == "handing_over":
            lending.act(loan.id, "confirm_handover", lender_id, now=min(handover, utcnow()))
            return
        if rng.random() < 0.3:  # the borrower types the lender's code
            code = db.session.get(Loan, loan.id).handover_code
            lending.act(loan.id, "confirm_with_code", borrower_id, code=code, now=handover)
        else:
            lending.act(loan.id, "confirm_handover", lender_id, now=handover)
            lending.act(loan.id, "confirm_handover", borrower_id, now=handover)
        if plan in ("active", "overdue"):
            return
        late = 0
        if plan in ("returned_late", "completed_late"):
            late = rng.randint(1, 3)
        elif plan in ("claimed", "disputed", "completed_claim", "resolved"):
            late = rng.choice([0, 0, 1])
        back = _at(last + timedelta(days=late), rng.uniform(16, 20))
        back = min(back, utcnow() - timedelta(hours=1))
        note = "Thanks, it was great!" if not late else "Sorry for the delay, it rained all week."
        lending.act(loan.id, "mark_returned", borrower_id, note=note, now=back)
        if plan in ("returned", "returned_late", "auto_completed"):
            return  # auto_completed: the due job completes it, no claim within the window
        checked = back + timedelta(hours=rng.uniform(10, 30))
        if plan in ("completed", "completed_late"):
            lending.act(loan.id, "confirm_return", lender_id, now=checked)
            self._rate(loan.id, lender_id, borrower_id, checked)
            return
        fresh = db.session.get(Loan, loan.id, populate_existing=True)
        most = max(0, fresh.deposit_cents - fresh.late_fee_cents)
        if most < 100:  # nothing to claim from: the lender confirms the return instead
            lending.act(loan.id, "confirm_return", lender_id, now=checked)
            self._rate(loan.id, lender_id, borrower_id, checked)
            return
        amount = max(100, round(most * rng.uniform(0.2, 0.6) / 100) * 100)
        photo = picture(self.drawing_of.get(loan.listing_id, "toolbox"), "#7c2d12", rng)
        lending.claim_damage(
            loan.id, lender_id, min(amount, most), rng.choice(CLAIMS), [photo], now=checked
        )
        if plan == "claimed":
            return
        answered = checked + timedelta(hours=rng.uniform(5, 30))
        if plan == "completed_claim":
            lending.act(loan.id, "accept_claim", borrower_id, now=answered)
            self._rate(loan.id, lender_id, borrower_id, answered, borrower_mood="neutral")
            return
        if plan == "completed_withdrawn":
            lending.act(loan.id, "withdraw_claim", lender_id, note="Fixed it easily, never mind.",
                        now=answered)  # fmt: skip
            self._rate(loan.id, lender_id, borrower_id, answered)
            return
        lending.act(
            loan.id,
            "dispute_claim",
            borrower_id,
            note="It was already like that when I picked it up; I have a photo from the day.",
            now=answered,
        )
        if plan == "resolved":
            self._decide_dispute(loan.id, lender_id, borrower_id, answered)

    def _decide_dispute(self, loan_id, lender_id, borrower_id, answered) -> None:
        """The lender answers the dispute and a moderator who takes no part (one of the demo's
        moderators, app/demo_moderation.py) upholds half of the claim."""
        dispute = disputes.dispute_about("loan", loan_id)
        disputes.answer_dispute(
            dispute.id,
            lender_id,
            "The tent was new when I lent it; the tear is fresh.",
            now=answered + timedelta(hours=6),
        )
        candidates = self.people[1:3] + self.people[3:]  # the demo's moderators first
        moderator = next(p for p in candidates if p.id not in (lender_id, borrower_id))
        moderator.is_moderator = True
        db.session.commit()
        disputes.decide_dispute(
            dispute.id,
            moderator.id,
            dispute.stake_cents // 2,
            4,
            "Both photos show some wear: half of the claim is upheld.",
            now=answered + timedelta(days=3),
        )

    def _rate(self, loan_id, lender_id, borrower_id, at, borrower_mood="positive") -> None:
        rng = self.rng
        when = min(at + timedelta(hours=rng.uniform(1, 20)), utcnow())
        reviews.leave_feedback(
            loan_id,
            borrower_id,
            borrower_mood,
            comment=rng.choice(FEEDBACK["lender"]) if borrower_mood == "positive" else (
                "Good thing to borrow, but the claim felt steep."),
            described=rng.choice([None, 4, 5, 5]),
            speed=rng.choice([None, 5]),
            kind=KIND,
            now=when,
        )  # fmt: skip
        if rng.random() < 0.85:
            reviews.leave_feedback(
                loan_id,
                lender_id,
                "positive",
                comment=rng.choice(FEEDBACK["borrower"]),
                speed=rng.choice([None, 4, 5]),
                kind=KIND,
                now=min(when + timedelta(hours=rng.uniform(1, 30)), utcnow()),
            )

    def _age_messages(self, loan_id: int, asked: datetime, plan: str) -> None:
        """Date the loan's conversation from the request on; on a finished loan both have read
        it, on an open one the last message may still wait."""
        conversation = db.session.scalar(
            select(Conversation).where(
                Conversation.subject_kind == KIND, Conversation.subject_id == loan_id
            )
        )
        if conversation is None:
            return
        messages = list(
            db.session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )
        conversation.created_at = asked
        for n, message in enumerate(messages):
            message.created_at = asked + timedelta(minutes=20 + 35 * n)
        conversation.last_message_at = messages[-1].created_at if messages else asked
        is_open = plan in ("requested", "approved", "handing_over", "active", "overdue")
        for person in conversation.participants:
            person.joined_at = asked
            seen = [
                m
                for n, m in enumerate(messages)
                if m.sender_id == person.user_id or not (is_open and n == len(messages) - 1)
            ]
            if seen:
                person.last_read_message_id = seen[-1].id
                person.last_read_at = seen[-1].created_at + timedelta(minutes=20)
        db.session.commit()


def seed_lending(
    people: list[User],
    listings: list[tuple[Listing, str]],
    rng: random.Random,
    drawings: dict[str, str],
) -> dict[str, int]:
    """Offer things for loan and make loans in every state (see PLANS); returns the counts.
    `listings`: (listing, the thing it is); `drawings`: thing -> its drawing, for the photos
    of damage claims."""
    if len(people) < 3:
        return {"lendable": 0, "loans": 0}
    lent = offer_for_loan(listings, people[0], rng, at_least=max(8, len(PLANS) // 3))
    drawing_of = {listing.id: drawings.get(thing, "toolbox") for listing, thing in listings}
    maker = Lending(people, lent, rng, drawing_of)
    for plan, alice_side in PLANS:
        maker.make(plan, alice_side)
    lending.run_due_jobs(utcnow())  # expire the unanswered, complete the unclaimed, remind

    return {"lendable": len(lent), "loans": maker.made}

"""Trust levels (app/trust/levels.py): the level rules at their boundaries, every gate
refusing and allowing (services, web forms, API), staff exemption, the page and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.clubs import deals
from app.clubs import services as clubs
from app.db import utcnow
from app.extensions import db
from app.lending.models import Loan
from app.listings import services as listings
from app.listings.models import Listing
from app.messaging import services as messaging
from app.messaging.models import Message
from app.reviews.models import ReputationScore
from app.trust import levels as trust
from tests.factories import ListingFactory, OrderFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.deal_support import make_club, terms


@pytest.fixture(autouse=True)
def _gates_on(app):
    """The suite runs with the gates off (TestConfig); these tests are about them."""
    app.config["TRUST_GATES_ENABLED"] = True


def scored(user, positive: int, negative: int = 0):
    """Store the overall reputation a full pass would give `user`."""
    total = positive + negative
    db.session.merge(
        ReputationScore(
            user_id=user.id,
            role="overall",
            trust=0.8,
            confidence=0.5,
            feedback_score=positive - negative,
            percent_positive=100.0 * positive / total if total else None,
            positive=positive,
            neutral=0,
            negative=negative,
            counts={m: [positive, 0, negative] for m in ("1", "6", "12")},
            flags=[],
            explanation=[],
            computed_at=utcnow(),
        )
    )
    db.session.commit()
    return user


def member(days: int = 0, completed: int = 0, positive: int = 0, negative: int = 0, **kw):
    """A member whose account is `days` old, with `completed` completed sales and ratings."""
    user = UserFactory(created_at=utcnow() - timedelta(days=days, minutes=1), **kw)
    for _ in range(completed):  # things sold before today: not in today's listings
        OrderFactory(listing=ListingFactory(seller=user, created_at=user.created_at))
    if positive or negative:
        scored(user, positive, negative)
    db.session.commit()
    return user


def at_level(level: int, **kw):
    figures = {
        0: {},
        1: dict(days=2, completed=1),
        2: dict(days=14, completed=1, positive=3),
        3: dict(days=90, completed=10, positive=10),
    }[level]
    user = member(**figures, **kw)
    assert trust.standing(user.id).level == level
    return user


def sale(seller, **changes):
    fields = dict(
        title="Blue city bike",
        description="Three gears.",
        category_slug="vehicles-parts",
        condition="good",
        price_cents=10_000,
        quantity=1,
    )
    fields.update(changes)
    return listings.create_listing(seller.id, **fields)


# -- the levels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "completed", "positive", "negative", "level"),
    [
        (0, 0, 0, 0, 0),
        (1, 1, 0, 0, 0),  # one day short of level 1
        (2, 0, 0, 0, 0),  # old enough, nothing completed
        (2, 1, 0, 0, 1),
        (13, 1, 3, 0, 1),  # ratings, but a day short of level 2
        (14, 1, 2, 0, 1),  # one positive rating short
        (14, 1, 3, 0, 2),
        (14, 1, 9, 1, 2),  # 90% positive: the club rule's floor
        (14, 1, 8, 1, 1),  # 88.9%
        (89, 10, 10, 0, 2),  # a day short of level 3
        (90, 9, 10, 0, 2),  # one completed transaction short
        (90, 10, 9, 0, 2),  # one positive rating short
        (90, 10, 19, 1, 3),  # 95%
        (90, 10, 18, 1, 2),  # 94.7%
        (90, 10, 10, 0, 3),
    ],
)
def test_the_level_follows_age_transactions_and_reputation(
    app, days, completed, positive, negative, level
):
    user = member(days, completed, positive, negative)
    assert trust.standing(user.id).level == level


def test_completed_transactions_count_both_sides_of_orders_and_loans_only_when_completed(app):
    user = member(days=3)
    OrderFactory(buyer=user)  # completed, as the buyer
    OrderFactory(listing=ListingFactory(seller=user))  # completed, as the seller
    OrderFactory(buyer=user, state="shipped")  # not yet
    other = UserFactory()
    thing = ListingFactory(seller=other)
    for state in ("completed", "active"):
        db.session.add(
            Loan(
                listing_id=thing.id,
                lender_id=other.id,
                borrower_id=user.id,
                title="Tent",
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 1, 3),
                days=3,
                fee_cents=0,
                deposit_cents=0,
                currency="USD",
                handover_code="123456",
                state=state,
            )
        )
    db.session.commit()
    assert trust.completed_transactions(user.id) == 3
    assert trust.completed_transactions(other.id) == 1


def test_the_standing_explains_the_level_and_what_the_next_one_needs(app):
    user = member(days=20, completed=2, positive=1)
    found = trust.standing(user.id)
    assert (found.level, found.next_level) == (1, 2)
    missing = {r.key: (r.need, r.have) for r in found.missing}
    assert missing == {"positive_ratings": (3, 1)}
    assert found.reasons[0].startswith("Account 20 days old, 2 completed transactions")
    assert (
        "Not yet level 2 (Member): Positive ratings received: 3 needed, you have 1"
        in (found.reasons[-1])
    )


def test_staff_are_exempt_from_every_gate(app):
    for flag in ("is_moderator", "is_admin"):
        staff = member(**{flag: True})
        assert trust.standing(staff.id).level == 0
        sale(staff, price_cents=5_000_000)
        for _ in range(trust.DAILY_LISTINGS[0]):
            sale(staff)
        club = clubs.create_club(staff.id, name=f"Staff club {flag}")
        deals.create_deal(club.id, staff.id, **terms(UserFactory()))


# -- listing price and loan deposit ceilings ---------------------------------------------------


@pytest.mark.parametrize(
    ("level", "allowed", "refused", "needed"),
    [(0, 25_000, 25_001, 1), (1, 100_000, 100_001, 2)],
)
def test_the_price_ceiling_of_low_levels(app, level, allowed, refused, needed):
    seller = at_level(level)
    assert sale(seller, price_cents=allowed).price_cents == allowed
    with pytest.raises(trust.TrustLevelRequired) as error:
        sale(seller, price_cents=refused)
    assert error.value.code == "trust_level_required"
    assert error.value.level_required == needed
    assert "price" in error.value.fields
    assert f"takes trust level {needed}" in error.value.message


def test_level_two_has_no_price_ceiling(app):
    assert sale(at_level(2), price_cents=5_000_000).price_cents == 5_000_000


def test_raising_a_price_above_the_ceiling_is_refused_but_other_edits_pass(app):
    seller = at_level(0)
    listing = sale(seller)
    with pytest.raises(trust.TrustLevelRequired):
        listings.update_listing(listing.id, seller.id, price_cents=30_000)
    high = ListingFactory(seller=seller, price_cents=90_000)  # listed before (a level lost)
    listings.update_listing(high.id, seller.id, title="Still the same bike", price_cents=90_000)
    assert db.session.get(Listing, high.id).title == "Still the same bike"


@pytest.mark.parametrize(
    ("level", "allowed", "refused"), [(0, 10_000, 10_001), (1, 50_000, 50_001)]
)
def test_the_deposit_ceiling_of_low_levels(app, level, allowed, refused):
    lender = at_level(level)
    offer = dict(fee_per_day_cents=300, deposit_cents=allowed, pickup_area="Old mill")
    lent = sale(lender, for_sale=False, price_cents=None, loan_offer=offer)
    assert lent.loan_offer.deposit_cents == allowed
    with pytest.raises(trust.TrustLevelRequired) as error:
        sale(
            lender, for_sale=False, price_cents=None, loan_offer={**offer, "deposit_cents": refused}
        )
    assert "deposit" in error.value.fields and error.value.level_required == level + 1
    with pytest.raises(trust.TrustLevelRequired):
        listings.update_listing(lent.id, lender.id, loan_offer={**offer, "deposit_cents": refused})


def test_level_two_asks_any_deposit(app):
    lender = at_level(2)
    lent = sale(
        lender, for_sale=False, loan_offer=dict(deposit_cents=400_000, pickup_area="Old mill")
    )
    assert lent.loan_offer.deposit_cents == 400_000


# -- daily limits ------------------------------------------------------------------------------


def test_a_new_account_posts_five_listings_a_day(app):
    seller = at_level(0)
    yesterday = ListingFactory(seller=seller)
    yesterday.created_at = utcnow() - timedelta(hours=25)  # outside the 24 hours
    db.session.commit()
    for _ in range(5):
        sale(seller)
    with pytest.raises(trust.DailyLimitReached) as error:
        sale(seller)
    assert error.value.code == "daily_limit_reached" and error.value.status == 429
    assert 0 < error.value.retry_after <= 24 * 3600
    assert "you can post 5 new listings in 24 hours" in error.value.message
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 6


def test_a_basic_member_posts_twenty_and_a_member_has_no_daily_limit(app, monkeypatch):
    basic = at_level(1)
    monkeypatch.setitem(trust.DAILY_LISTINGS, 1, 2)  # fewer rows, same rule
    sale(basic), sale(basic)
    with pytest.raises(trust.DailyLimitReached):
        sale(basic)
    regular = at_level(2)
    for _ in range(trust.DAILY_LISTINGS[0] + 1):
        sale(regular)


def _order_of(buyer):
    return OrderFactory(buyer=buyer, state="paid")


def test_a_new_account_sends_thirty_messages_a_day(app):
    buyer = at_level(0)
    order = _order_of(buyer)
    for n in range(trust.DAILY_MESSAGES[0]):
        messaging.send_message("order", order.id, buyer.id, f"Message {n}")
    with pytest.raises(trust.DailyLimitReached) as error:
        messaging.send_message("order", order.id, buyer.id, "One more")
    assert "body" in error.value.fields
    # The other party is not held back by the buyer's limit.
    messaging.send_message("order", order.id, order.seller_id, "Answer")
    assert db.session.scalar(select(func.count()).select_from(Message)) == 31


def test_old_messages_leave_the_daily_window(app, monkeypatch):
    monkeypatch.setitem(trust.DAILY_MESSAGES, 0, 1)
    buyer = at_level(0)
    order = _order_of(buyer)
    first = messaging.send_message("order", order.id, buyer.id, "Hello")
    with pytest.raises(trust.DailyLimitReached):
        messaging.send_message("order", order.id, buyer.id, "Again")
    db.session.get(Message, first.id).created_at = utcnow() - timedelta(hours=24, seconds=1)
    db.session.commit()
    messaging.send_message("order", order.id, buyer.id, "Next day")


# -- clubs and deals ---------------------------------------------------------------------------


def test_starting_a_club_takes_level_two(app):
    with pytest.raises(clubs.NotPrivileged) as error:
        clubs.create_club(at_level(1).id, name="Bulk oats")
    assert error.value.code == "trust_level_required" and error.value.level_required == 2
    assert "Days since you joined" not in error.value.message  # level 1 already has the age
    assert clubs.create_club(at_level(2).id, name="Bulk oats").id


def test_the_club_rule_stands_even_with_the_other_gates_off(app):
    app.config["TRUST_GATES_ENABLED"] = False
    with pytest.raises(clubs.NotPrivileged):
        clubs.create_club(at_level(1).id, name="Bulk oats")


def test_organizing_a_deal_takes_level_two(app):
    club, organizer, _ = make_club(organizer=at_level(1))
    with pytest.raises(trust.TrustLevelRequired) as error:
        deals.create_deal(club.id, organizer.id, **terms(UserFactory()))
    assert error.value.level_required == 2 and "title" in error.value.fields
    assert "Organizing a group deal takes trust level 2 (Member)" in error.value.message
    club, organizer, _ = make_club(organizer=at_level(2), name="Oat lovers two")
    assert deals.create_deal(club.id, organizer.id, **terms(UserFactory())).id


def test_with_the_gates_off_nothing_but_the_club_rule_applies(app):
    app.config["TRUST_GATES_ENABLED"] = False
    newcomer = at_level(0)
    sale(newcomer, price_cents=5_000_000)
    for _ in range(trust.DAILY_LISTINGS[0] + 1):
        sale(newcomer)
    club, organizer, _ = make_club(organizer=newcomer)
    assert deals.create_deal(club.id, organizer.id, **terms(UserFactory())).id


# -- the web forms -----------------------------------------------------------------------------

FORM = {
    "title": "Blue city bike",
    "description": "Three gears.",
    "category": "vehicles-parts",
    "condition": "good",
    "price": "300.00",
    "quantity": "1",
}


def test_the_sell_form_shows_the_price_ceiling_next_to_the_price(app, make_client):
    response = make_client(at_level(0)).post("/sell", data=FORM)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "At trust level 0 (New) a listing&#39;s price can be at most $250.00" in page
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0
    assert make_client(at_level(2)).post("/sell", data=FORM).status_code == 303


def test_the_message_form_keeps_the_draft_and_says_the_limit(app, make_client, monkeypatch):
    monkeypatch.setitem(trust.DAILY_MESSAGES, 0, 0)
    buyer = at_level(0)
    order = _order_of(buyer)
    client = make_client(buyer)
    response = client.post(f"/orders/{order.id}/messages", data={"body": "Is it still there?"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "you can send 0 messages in 24 hours" in page
    assert "Is it still there?" in page


# -- the API -----------------------------------------------------------------------------------

NEW_LISTING = {"title": "Road bike", "category": "vehicles-parts", "condition": "good"}


def test_the_api_refuses_with_the_code_and_the_level(client):
    user = at_level(0)
    response = client.post(
        "/api/v1/listings", headers=bearer(user), json={**NEW_LISTING, "price_cents": 30_000}
    )
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "trust_level_required" and error["level_required"] == 1
    assert error["fields"]
    ok = client.post(
        "/api/v1/listings", headers=bearer(user), json={**NEW_LISTING, "price_cents": 25_000}
    )
    assert ok.status_code == 201


def test_the_api_answers_the_daily_limit_with_retry_after(client, monkeypatch):
    monkeypatch.setitem(trust.DAILY_LISTINGS, 0, 1)
    user = at_level(0)
    body = {**NEW_LISTING, "price_cents": 1000}
    assert client.post("/api/v1/listings", headers=bearer(user), json=body).status_code == 201
    refused = client.post("/api/v1/listings", headers=bearer(user), json=body)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "daily_limit_reached"
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600


def test_get_my_trust_level(client):
    user = member(days=20, completed=2, positive=1)
    response = client.get("/api/v1/me/trust", headers=bearer(user, ("read",)))
    assert response.status_code == 200
    body = response.json
    assert (body["level"], body["name"], body["next_level"]) == (1, "Basic", 2)
    assert (body["account_age_days"], body["completed_transactions"]) == (20, 2)
    assert body["positive_ratings"] == 1 and body["percent_positive"] == 100.0
    missing = [r for r in body["next_requirements"] if not r["is_met"]]
    assert missing == [
        {
            "key": "positive_ratings",
            "label": "Positive ratings received",
            "need": 3.0,
            "have": 1.0,
            "is_met": False,
        }
    ]
    assert [level["level"] for level in body["levels"]] == [1, 2, 3]
    prices = next(row for row in body["privileges"] if row["key"] == "listing_price")
    assert prices["by_level"] == ["$250.00", "$1,000.00", "no ceiling", "no ceiling"]
    me = client.get("/api/v1/users/me", headers=bearer(user, ("read",)))
    assert me.json["trust_level"] == 1
    assert client.get("/api/v1/me/trust").status_code == 401


def test_the_api_document_describes_get_my_trust_level(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/me/trust"]["get"]
    assert operation["operationId"] == "getMyTrustLevel"


# -- the pages ---------------------------------------------------------------------------------


def test_the_trust_page_shows_the_level_the_numbers_and_the_next_level(app, make_client):
    user = member(days=20, completed=2, positive=1)
    page = make_client(user).get("/me/trust").get_data(as_text=True)
    assert "Level 1: Basic" in page
    assert "To reach level 2: Member" in page
    assert "Positive ratings received: at least 3" in page and "you have 1" in page
    assert "$250.00" in page and "$1,000.00" in page  # the price ceilings by level
    assert 'href="/me/trust"' in make_client(user).get("/settings").get_data(as_text=True)


def test_the_trust_page_needs_signing_in(client):
    response = client.get("/me/trust")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [(None, False), ("stranger", False), ("self", True), ("moderator", True), ("admin", True)],
)
def test_the_profile_shows_the_level_and_why_to_the_member_and_moderators(
    app, make_client, viewer, sees
):
    user = member(days=20, completed=2, positive=1)
    who = {
        None: None,
        "stranger": UserFactory(),
        "self": user,
        "moderator": UserFactory(is_moderator=True),
        "admin": UserFactory(is_admin=True),
    }[viewer]
    page = make_client(who).get(f"/u/{user.handle}").get_data(as_text=True)
    assert ("Trust level 1: Basic" in page) is sees
    assert ("Account 20 days old, 2 completed transactions" in page) is sees


def test_the_deal_form_says_organizing_takes_level_two(app, make_client):
    UserFactory(handle="sam")
    club, organizer, _ = make_club(organizer=at_level(1))
    client = make_client(organizer)
    draft = {
        "title": "Organic oats, 1 kg bag",
        "unit": "bag",
        "supplier": "@sam",
        "tier1_quantity": "10",
        "tier1_price": "9.00",
        "min_quantity": "10",
        "deadline": (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "fulfilment": "pickup",
        "pickup_point": "Elm Street hall",
        "pickup_times": "Sat 10-12",
        "organizer_fee": "0",
    }
    answer = client.post(f"/clubs/{club.id}/deals/new", data=draft)
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Organizing a group deal takes trust level 2 (Member)" in page
    assert "Organic oats, 1 kg bag" in page  # the draft is kept

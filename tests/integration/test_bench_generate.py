"""bench/generate.py fills an empty database with a marketplace the app reads as its own: the
counts asked for, listings found by the app's search, pages that render, and rows that keep the
rules (totals, pledged sums, feedback between parties, the ledger's invariants)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import User
from app.clubs.models import GroupDeal, Pledge
from app.extensions import db
from app.lending.models import Loan
from app.listings.models import Listing
from app.listings.services import search_listings
from app.messaging.models import Conversation, ConversationParticipant, Message
from app.orders.models import Order
from app.payments import ledger
from app.reviews.models import Feedback
from tests.integration.bench_support import generate_small, load_bench


@pytest.fixture(scope="module")
def bench_generate():
    return load_bench("generate")


@pytest.fixture
def generated(app, bench_generate):
    return generate_small(app, bench_generate)


def test_generate_writes_the_sizes_asked_for(generated):
    sizes, result = generated
    assert db.session.scalar(select(func.count(User.id))) == sizes.users
    assert db.session.scalar(select(func.count(Listing.id))) == sizes.listings
    assert db.session.scalar(select(func.count(Order.id))) == sizes.orders
    assert db.session.scalar(select(func.count(Feedback.id))) == sizes.feedback
    assert 0 < db.session.scalar(select(func.count(Loan.id))) <= sizes.loans
    assert result.counts["orders"] == sizes.orders
    assert result.busy_handle == "member1"
    assert result.busy_feedback >= sizes.busy_feedback


def test_generated_listings_are_found_by_the_apps_search(generated):
    found = search_listings(q="bike", per_page=5)
    assert found.total > 0
    assert all("bike" in (item.title + item.description).lower() for item in found.items)


def test_generated_pages_render(generated, app, make_client):
    _, result = generated
    client = make_client()
    assert client.get(f"/u/{result.busy_handle}").status_code == 200
    assert client.get(f"/u/{result.quiet_handle}").status_code == 200
    assert client.get(f"/listings/{result.sample_listing_id}").status_code == 200
    assert b"bike" in client.get("/listings?q=bike").data.lower()
    order = db.session.scalars(select(Order).where(Order.state == "completed")).first()
    assert make_client(order.buyer).get(f"/orders/{order.id}").status_code == 200
    loan = db.session.scalars(select(Loan)).first()
    assert make_client(loan.borrower).get(f"/loans/{loan.id}").status_code == 200
    deal = db.session.scalars(select(GroupDeal)).first()
    assert make_client(deal.organizer).get(f"/deals/{deal.id}").status_code == 200


def test_generated_members_sign_in_with_the_demo_password(generated, client):
    response = client.post(
        "/login", data={"email": "member7@bench.mutual.test", "password": "demo-password"}
    )
    assert response.status_code == 303
    assert client.get("/orders").status_code == 200


def test_generated_rows_keep_the_rules(generated):
    assert ledger.verify().problems == []
    assert not db.session.scalar(
        select(func.count(Order.id)).where(
            Order.total_cents != Order.unit_price_cents * Order.quantity
        )
    )
    assert not db.session.scalar(
        select(func.count(Order.id)).where(Order.state == "completed", Order.completed_at.is_(None))
    )
    sums = dict(
        db.session.execute(
            select(Pledge.deal_id, func.sum(Pledge.quantity)).group_by(Pledge.deal_id)
        ).all()
    )
    for deal in db.session.scalars(select(GroupDeal)):
        assert deal.pledged_quantity == sums.get(deal.id, 0)
        if deal.state in ("completed", "tipped"):
            assert deal.pledged_quantity >= deal.min_quantity
    # Feedback only between the two parties of a completed order, revealed.
    strays = db.session.scalar(
        select(func.count(Feedback.id))
        .join(Order, Order.id == Feedback.subject_id)
        .where(
            Feedback.subject_kind == "order",
            (Order.state != "completed")
            | ~Feedback.author_id.in_([Order.buyer_id, Order.seller_id])
            | ~Feedback.subject_user_id.in_([Order.buyer_id, Order.seller_id])
            | Feedback.revealed_at.is_(None),
        )
    )
    assert strays == 0


def test_generate_refuses_a_database_with_members(generated, app, bench_generate):
    sizes, _ = generated
    db.session.remove()
    with pytest.raises(SystemExit):
        bench_generate.generate(app.config["SQLALCHEMY_DATABASE_URI"], sizes)
    assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == sizes.users


def test_generated_conversations_fill_the_inbox_of_the_busiest_seller(generated, make_client):
    sizes, result = generated
    talks = db.session.scalars(select(Conversation)).all()
    assert len(talks) == round(sizes.orders * 0.3) == result.counts["conversations"]
    assert result.counts["messages"] == db.session.scalar(select(func.count(Message.id)))
    # Only the order's buyer and seller talk, after the order was placed.
    strays = db.session.scalar(
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Order, Order.id == Conversation.subject_id)
        .where(
            ~Message.sender_id.in_([Order.buyer_id, Order.seller_id])
            | (Message.created_at < Order.created_at)
        )
    )
    assert strays == 0
    seller = db.session.scalar(select(User).where(User.handle == "member1"))
    per_member = dict(
        db.session.execute(
            select(ConversationParticipant.user_id, func.count()).group_by(
                ConversationParticipant.user_id
            )
        ).all()
    )
    # The busiest seller's inbox is the fullest (hundreds at the benchmark's sizes).
    assert per_member[seller.id] == max(per_member.values()) >= 10
    page = make_client(seller).get("/messages")
    assert page.status_code == 200
    assert b"Order #" in page.data

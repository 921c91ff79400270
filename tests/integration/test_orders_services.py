"""Orders services: placing orders and walking them through the state machine."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.jobs.runner import run_due
from app.orders.models import Order, OrderEvent
from app.orders.services import (
    CannotBuyOwnListing,
    OutOfStock,
    auto_complete_due,
    available_actions,
    get_order_for,
    orders_for,
    place_order,
    transition,
)
from tests.factories import ListingFactory, UserFactory
from tests.integration.support import stock


def walk(order, *steps):
    """Apply (action, actor) steps and return the refreshed order."""
    for action, actor in steps:
        order = transition(order.id, action, actor.id if actor else None)
    return order


# Placing an order


def test_place_order_snapshots_the_listing_and_takes_stock(listing, buyer, seller):
    order = place_order(buyer.id, listing.id, 2)
    assert order.state == "pending_payment"
    assert (order.buyer_id, order.seller_id) == (buyer.id, seller.id)
    assert (order.title, order.unit_price_cents, order.total_cents) == (
        "Walnut desk lamp",
        1250,
        2500,
    )
    assert order.currency == "USD"
    assert stock(listing.id) == 1


def test_order_keeps_its_snapshot_when_the_listing_changes(listing, buyer):
    order = place_order(buyer.id, listing.id, 1)
    listing.title, listing.price_cents = "Renamed", 9999
    db.session.commit()
    fresh = db.session.get(Order, order.id)
    assert (fresh.title, fresh.unit_price_cents) == ("Walnut desk lamp", 1250)


def test_place_order_refuses_own_listing(listing, seller):
    with pytest.raises(CannotBuyOwnListing) as error:
        place_order(seller.id, listing.id, 1)
    assert error.value.status == 409
    assert stock(listing.id) == 3


def test_place_order_refuses_more_than_in_stock(listing, buyer):
    with pytest.raises(OutOfStock, match="Only 3 left"):
        place_order(buyer.id, listing.id, 4)
    assert stock(listing.id) == 3


@pytest.mark.parametrize("quantity", [0, -1])
def test_place_order_refuses_quantities_below_one(listing, buyer, quantity):
    with pytest.raises(ValidationFailed):
        place_order(buyer.id, listing.id, quantity)
    assert stock(listing.id) == 3


def test_place_order_refuses_a_sold_out_listing(seller, buyer):
    sold_out = ListingFactory(seller=seller, quantity=0)
    with pytest.raises(OutOfStock, match="no longer available"):
        place_order(buyer.id, sold_out.id, 1)


@pytest.mark.parametrize("status", ["paused"])
def test_place_order_refuses_a_listing_that_is_not_active(seller, buyer, status):
    paused = ListingFactory(seller=seller, quantity=2, status=status)
    with pytest.raises(OutOfStock):
        place_order(buyer.id, paused.id, 1)
    assert stock(paused.id) == 2


@pytest.mark.parametrize("listing_id", [999999, "deleted"])
def test_place_order_on_a_missing_or_deleted_listing_is_not_found(seller, buyer, listing_id):
    if listing_id == "deleted":
        listing_id = ListingFactory(seller=seller, status="deleted").id
    with pytest.raises(NotFound):
        place_order(buyer.id, listing_id, 1)


def test_last_unit_can_be_bought_and_then_nothing_more(listing, buyer):
    place_order(buyer.id, listing.id, 3)
    assert stock(listing.id) == 0
    with pytest.raises(OutOfStock):
        place_order(UserFactory().id, listing.id, 1)
    assert stock(listing.id) == 0


# The whole path


def test_happy_path_records_each_step_with_its_actor_and_timestamp(listing, buyer, seller):
    order = place_order(buyer.id, listing.id, 1)
    order = walk(order, ("mark_paid", seller))
    assert order.state == "paid" and order.paid_at is not None
    order = transition(order.id, "ship", seller.id, note="  Tracking 1Z999  ")
    assert order.state == "shipped" and order.shipped_at is not None
    assert order.shipping_note == "Tracking 1Z999"
    order = walk(order, ("confirm_delivery", buyer))
    assert order.state == "completed"
    assert order.delivered_at is not None and order.completed_at is not None
    events = db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    ).all()
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("mark_paid", "pending_payment", "paid", seller.id),
        ("ship", "paid", "shipped", seller.id),
        ("confirm_delivery", "shipped", "delivered", buyer.id),
        ("complete", "delivered", "completed", None),
    ]
    assert events[1].note == "Tracking 1Z999"


@pytest.mark.parametrize("who", ["buyer", "seller"])
@pytest.mark.parametrize("after", [[], ["mark_paid"]])
def test_cancel_by_either_party_returns_the_stock(listing, buyer, seller, who, after):
    order = place_order(buyer.id, listing.id, 2)
    order = walk(order, *[(a, seller) for a in after])
    assert stock(listing.id) == 1
    actor = buyer if who == "buyer" else seller
    order = transition(order.id, "cancel", actor.id, note="Changed my mind")
    assert order.state == "cancelled" and order.cancelled_at is not None
    assert stock(listing.id) == 3
    event = order.events[-1]
    assert (event.actor_id, event.note) == (actor.id, "Changed my mind")


def test_cancel_after_shipping_is_refused_with_a_clear_message(listing, buyer, seller):
    order = walk(place_order(buyer.id, listing.id, 1), ("mark_paid", seller), ("ship", seller))
    with pytest.raises(InvalidTransition) as error:
        transition(order.id, "cancel", buyer.id)
    assert (
        error.value.message == "This order has already shipped, so it can no longer be cancelled."
    )
    assert error.value.status == 409
    assert db.session.get(Order, order.id).state == "shipped"
    assert stock(listing.id) == 2


def test_cancelling_twice_returns_the_stock_once(listing, buyer, seller):
    order = place_order(buyer.id, listing.id, 1)
    transition(order.id, "cancel", buyer.id)
    with pytest.raises(InvalidTransition):
        transition(order.id, "cancel", seller.id)
    assert stock(listing.id) == 3


@pytest.mark.parametrize(
    ("action", "who", "setup"),
    [
        ("mark_paid", "buyer", []),
        ("ship", "buyer", ["mark_paid"]),
        ("confirm_delivery", "seller", ["mark_paid", "ship"]),
        ("auto_complete", "buyer", ["mark_paid", "ship"]),
        ("auto_complete", "seller", ["mark_paid", "ship"]),
    ],
)
def test_wrong_party_is_forbidden(listing, buyer, seller, action, who, setup):
    order = walk(place_order(buyer.id, listing.id, 1), *[(a, seller) for a in setup])
    state = order.state
    with pytest.raises(Forbidden):
        transition(order.id, action, (buyer if who == "buyer" else seller).id)
    assert db.session.get(Order, order.id).state == state


def test_stranger_cannot_touch_an_order_and_learns_nothing(listing, buyer):
    order = place_order(buyer.id, listing.id, 1)
    stranger = UserFactory()
    with pytest.raises(NotFound):
        transition(order.id, "cancel", stranger.id)
    with pytest.raises(NotFound):
        get_order_for(order.id, stranger.id)
    assert db.session.get(Order, order.id).state == "pending_payment"


def test_unknown_action_is_not_found(listing, buyer):
    order = place_order(buyer.id, listing.id, 1)
    with pytest.raises(NotFound):
        transition(order.id, "teleport", buyer.id)


def test_overlong_note_is_refused(listing, buyer, seller):
    order = walk(place_order(buyer.id, listing.id, 1), ("mark_paid", seller))
    with pytest.raises(ValidationFailed):
        transition(order.id, "ship", seller.id, note="x" * 501)
    assert db.session.get(Order, order.id).state == "paid"


def test_available_actions_follow_the_table(listing, buyer, seller):
    order = place_order(buyer.id, listing.id, 1)
    assert available_actions(order, seller.id) == ["mark_paid", "cancel"]
    assert available_actions(order, buyer.id) == ["cancel"]
    assert available_actions(order, UserFactory().id) == []
    assert available_actions(order, None) == []


def test_orders_for_lists_purchases_and_sales_separately(listing, buyer, seller):
    first = place_order(buyer.id, listing.id, 1)
    second = place_order(buyer.id, listing.id, 1)
    transition(first.id, "cancel", buyer.id)
    purchases = orders_for(buyer.id, "buyer")
    assert purchases.total == 2
    assert orders_for(buyer.id, "seller").total == 0
    assert orders_for(seller.id, "seller").total == 2
    assert [o.id for o in orders_for(buyer.id, "buyer", state="cancelled").items] == [first.id]
    assert [o.id for o in orders_for(buyer.id, "buyer", state="pending_payment").items] == [
        second.id
    ]


def test_orders_for_without_a_role_lists_purchases_and_sales_together(listing, buyer, seller):
    bought = place_order(buyer.id, listing.id, 1)
    sold = place_order(seller.id, ListingFactory(seller=buyer).id, 1)
    transition(bought.id, "cancel", buyer.id)

    both = orders_for(buyer.id, None)

    assert both.total == 2
    assert [o.id for o in both.items] == [bought.id, sold.id]
    assert [o.id for o in orders_for(buyer.id, None, state="cancelled").items] == [bought.id]
    assert orders_for(UserFactory().id, None).total == 0


# Auto-complete


def shipped_order(listing, buyer, seller):
    return walk(place_order(buyer.id, listing.id, 1), ("mark_paid", seller), ("ship", seller))


def test_auto_complete_waits_for_the_configured_days(app, listing, buyer, seller):
    order = shipped_order(listing, buyer, seller)
    days = app.config["ORDER_AUTO_COMPLETE_DAYS"]
    assert auto_complete_due(utcnow() + timedelta(days=days - 1)) == 0
    assert db.session.get(Order, order.id).state == "shipped"


def test_run_due_completes_orders_shipped_long_ago_once(app, listing, buyer, seller):
    order = shipped_order(listing, buyer, seller)
    paid_only = walk(place_order(buyer.id, listing.id, 1), ("mark_paid", seller))
    later = utcnow() + timedelta(days=app.config["ORDER_AUTO_COMPLETE_DAYS"] + 1)
    assert run_due(later)["orders.auto_complete"] == 1
    done = db.session.get(Order, order.id)
    assert done.state == "completed"
    assert done.completed_at == later.replace(microsecond=done.completed_at.microsecond)
    assert (done.events[-1].action, done.events[-1].actor_id) == ("auto_complete", None)
    assert db.session.get(Order, paid_only.id).state == "paid"
    assert run_due(later)["orders.auto_complete"] == 0


def test_flask_jobs_run_due_command_auto_completes(app, listing, buyer, seller):
    order = shipped_order(listing, buyer, seller)
    order.shipped_at = utcnow() - timedelta(days=app.config["ORDER_AUTO_COMPLETE_DAYS"] + 1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0
    assert "orders.auto_complete: 1" in result.output
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == "completed"

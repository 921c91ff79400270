"""Query budgets: each page runs a fixed number of SQL statements, however many rows it shows.

Every page is requested once over a realistic marketplace and once after the marketplace has
doubled; the number of statements must not grow (no N+1) and must stay under a ceiling.
Signed-in pages count one statement more for the header's unread messages and notifications
(one statement for both, app/templating.py header_counts).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.api import services as tokens
from app.extensions import db
from app.listings.models import Listing, ListingPhoto
from app.listings.services import CATEGORIES
from app.messaging.services import send_message
from app.orders.services import place_order, transition
from app.reviews.reputation import recompute_all
from app.reviews.services import leave_feedback
from app.transactions import events
from tests.factories import ListingFactory, UserFactory, category
from tests.integration.loan_offer_support import block, day, lend

LISTINGS_PER_BATCH = 15
ORDERS_PER_BATCH = 10
# The state each batch's orders reach, in turn: most are completed, the rest spread out.
PLANS = ("completed", "pending_payment", "completed", "paid", "completed", "shipped",
         "completed", "cancelled", "completed", "completed")  # fmt: skip
STEPS = {
    "pending_payment": (),
    "cancelled": ("cancel",),
    "paid": ("mark_paid",),
    "shipped": ("mark_paid", "ship"),
    "completed": ("mark_paid", "ship", "confirm_delivery"),
}


class Market:
    """A marketplace that grows by batches: alice buys and sells, bob is her usual partner."""

    def __init__(self) -> None:
        self.alice = UserFactory(handle="alice")
        self.bob = UserFactory(handle="bob")
        self.first_listing_id: int | None = None
        self.first_order_id: int | None = None
        self.first_lendable_id: int | None = None
        self.batches = 0

    def grow(self) -> None:
        """Add users, listings with photos, orders in every state, messages and feedback."""
        self.batches += 1
        others = [UserFactory() for _ in range(3)]
        sellers = [self.bob, self.alice, *others]
        listings = []
        for n in range(LISTINGS_PER_BATCH):
            listing = ListingFactory(
                seller=sellers[n % len(sellers)],
                # Each batch brings categories of its own, so a lazy load per category shows.
                category=category(CATEGORIES[(self.batches * 5 + n % 5) % len(CATEGORIES)][0]),
                title=f"Walnut desk lamp {self.batches}-{n}",
                quantity=5,
            )
            for position in range(2):
                db.session.add(
                    ListingPhoto(
                        listing_id=listing.id,
                        position=position,
                        image_path=f"x/{listing.id}-{position}.jpg",
                        thumb_path=f"x/{listing.id}-{position}-t.jpg",
                        width=800,
                        height=600,
                    )
                )
            listings.append(listing)
            if n % 3 == 1:  # a third are also lent, each with a day blocked out
                lend(listing, fee_per_day_cents=100 + n, fee_per_week_cents=None)
                block(listing, day(30 + self.batches * 3), day(30 + self.batches * 3))
        db.session.commit()
        self.first_listing_id = self.first_listing_id or listings[0].id
        self.first_lendable_id = self.first_lendable_id or listings[1].id  # alice lends it
        block(  # its calendar grows with the market
            db.session.get(Listing, self.first_lendable_id),
            day(self.batches * 4),
            day(self.batches * 4 + 1),
            f"Blocked in batch {self.batches}",
        )

        alice_sells = [item for item in listings if item.seller_id == self.alice.id]
        others_sell = [item for item in listings if item.seller_id != self.alice.id]
        for n, plan in enumerate(PLANS[:ORDERS_PER_BATCH]):
            if n % 2:  # alice sells to bob or a newcomer
                listing = alice_sells[n % len(alice_sells)]
                buyer = [self.bob, *others][n % 4]
            else:  # alice buys
                listing = others_sell[n % len(others_sell)]
                buyer = self.alice
            self._order(buyer.id, listing, plan)
        if self.first_order_id is not None:  # the first order's thread grows too
            send_message(
                "order", self.first_order_id, self.alice.id, f"Still happy, batch {self.batches}."
            )
            send_message("order", self.first_order_id, self.bob.id, "Glad to hear it.")
        recompute_all()
        events.deliver_committed()  # notifications grow with the market

    def _order(self, buyer_id: int, listing, plan: str) -> None:
        order = place_order(buyer_id, listing.id, 1)
        if self.first_order_id is None and {buyer_id, listing.seller_id} == {
            self.alice.id,
            self.bob.id,
        }:
            self.first_order_id = order.id
        send_message("order", order.id, buyer_id, "Hi! Is this still available?")
        send_message("order", order.id, listing.seller_id, "Yes, thanks for buying!")
        for action in STEPS[plan]:
            actor = listing.seller_id if action in ("mark_paid", "ship") else buyer_id
            transition(order.id, action, actor)
        if plan == "completed":
            leave_feedback(order.id, buyer_id, "positive", "Smooth trade.", communication=5)
            leave_feedback(order.id, listing.seller_id, "positive", "Paid fast.")


class StatementCounter:
    """Counts the SQL statements the engine runs while a request is in flight."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, _params, _context, _many) -> None:
        if self.active:
            self.statements.append(statement)

    @contextmanager
    def counting(self):
        self.statements = []
        self.active = True
        try:
            yield self
        finally:
            self.active = False


@pytest.fixture
def count_queries(app):
    """count_queries(call) -> (response, the SQL statements run while the call ran)."""
    counter = StatementCounter()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)

    def _count(call: Callable[[], object]):
        with counter.counting():
            response = call()
        return response, list(counter.statements)

    yield _count
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def market(app) -> Market:
    market = Market()
    market.grow()
    return market


NEW = "Walnut desk lamp 2-"  # a title from the second batch
# (name, who asks, URL in this market, what shows the second batch, budget of statements)
PAGES = [
    # The home page searches twice: the latest listings and the things to borrow (4 each), and
    # reads the open group deals of public clubs with their clubs (1).
    ("home", None, lambda m: "/", NEW, 10),
    # Signed in: one statement checks the session key (it used to hide in the identity map when
    # the viewer was among the sellers on the page), one counts unread messages and
    # notifications for the header.
    ("home signed in", "alice", lambda m: "/", NEW, 11),
    ("browse", None, lambda m: "/listings", NEW, 5),
    ("browse search", None, lambda m: "/listings?q=lamp", NEW, 5),
    # Detail pages read their moderation state once (app/moderation: hidden pending review).
    ("listing detail", None, lambda m: f"/listings/{m.first_listing_id}", NEW, 6),
    ("browse to borrow", None, lambda m: "/listings?offer=borrow", NEW, 5),
    (
        "browse free days",
        None,
        lambda m: f"/listings?available_from={day(1)}&available_to={day(3)}",
        NEW,
        5,
    ),
    # A lendable listing with chosen days: its calendar and the quote read the taken days once,
    # one statement per busy source (block-outs, and the loans lending registers: 6 without it).
    (
        "lendable listing detail",
        None,
        lambda m: f"/listings/{m.first_lendable_id}?start={day(5)}&end={day(6)}",
        NEW,
        8,
    ),
    (  # the same: 7 without lending's source
        "lender calendar",
        "alice",
        lambda m: f"/listings/{m.first_lendable_id}/calendar",
        "Blocked in batch 2",
        8,
    ),
    # One statement lists the hidden feedback (and on an order, the hidden messages) at once.
    ("public profile", None, lambda m: "/u/bob", NEW, 9),
    ("purchases", "alice", lambda m: "/orders?tab=purchases", NEW, 5),
    ("sales", "alice", lambda m: "/orders?tab=sales", NEW, 5),
    # The order's payments twice: for the money panel, and for the stake that decides whether
    # a dispute or refund is offered (also after completion).
    ("order detail", "alice", lambda m: f"/orders/{m.first_order_id}", "batch 2", 13),
    # One statement lists the hidden messages (a hidden latest message is not quoted).
    ("inbox", "alice", lambda m: "/messages", NEW, 5),
    # The page's ids are chosen on listings alone, then read with photos, categories and loan
    # offers; the capped count; which are hidden.
    ("my listings", "alice", lambda m: "/my/listings", NEW, 7),
    ("statement", "alice", lambda m: "/me/statement", None, 10),
    ("notifications", "alice", lambda m: "/notifications", NEW, 4),
]
# Listings and messages read once which things a moderator hid (app/visibility.py): a listing's
# `moderation` for its seller, a hidden message's body left out.
API_PAGES = [
    ("api listings", lambda m: "/api/v1/listings", 7),
    ("api listings search", lambda m: "/api/v1/listings?q=lamp", 7),
    ("api listings to borrow", lambda m: "/api/v1/listings?offer=borrow", 7),
    ("api listing blockouts", lambda m: f"/api/v1/listings/{m.first_lendable_id}/blockouts", 5),
    ("api orders", lambda m: "/api/v1/orders", 6),
    ("api notifications", lambda m: "/api/v1/notifications", 6),
    ("api conversations", lambda m: "/api/v1/conversations", 6),
    ("api order messages inbox", lambda m: "/api/v1/messages", 5),
]


def _fetch(count_queries, client, url: str, headers=None):
    client.get(url, headers=headers or {})  # first use of a token or session writes; not counted
    response, statements = count_queries(lambda: client.get(url, headers=headers or {}))
    assert response.status_code == 200, (url, response.status_code)
    return response, statements


def _assert_fixed_budget(before: list[str], after: list[str], ceiling: int) -> None:
    grown = len(after) - len(before)
    assert grown <= 0, f"{grown} more statements with twice the rows:\n" + "\n---\n".join(after)
    assert len(after) <= ceiling, f"{len(after)} statements:\n" + "\n---\n".join(after)


@pytest.mark.parametrize(
    ("who", "url_of", "new_rows", "ceiling"),
    [page[1:] for page in PAGES],
    ids=[page[0] for page in PAGES],
)
def test_page_runs_a_fixed_number_of_statements(
    market, make_client, count_queries, who, url_of, new_rows, ceiling
):
    client = make_client(getattr(market, who) if who else None)
    url = url_of(market)
    first, before = _fetch(count_queries, client, url)
    market.grow()
    second, after = _fetch(count_queries, client, url)
    if new_rows is None:  # the page simply has more rows
        assert second.data.count(b"<tr") > first.data.count(b"<tr")
    else:
        assert new_rows not in first.text
        assert new_rows in second.text
    _assert_fixed_budget(before, after, ceiling)


@pytest.mark.parametrize(
    ("url_of", "ceiling"), [page[1:] for page in API_PAGES], ids=[page[0] for page in API_PAGES]
)
def test_api_list_runs_a_fixed_number_of_statements(market, client, count_queries, url_of, ceiling):
    _token, raw = tokens.create_token(market.alice.id, "budget", ["read"])
    headers = {"Authorization": f"Bearer {raw}"}
    first, before = _fetch(count_queries, client, url_of(market), headers)
    market.grow()
    second, after = _fetch(count_queries, client, url_of(market), headers)
    assert second.get_json()["total"] > first.get_json()["total"] > 0
    _assert_fixed_budget(before, after, ceiling)

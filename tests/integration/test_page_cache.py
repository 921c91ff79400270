"""The page cache (app/page_cache.py): anonymous pages are served again until a write changes
what they show, and then never again: each kind of change is visible on the very next request.
Every test runs with the in-process store and with Redis (TEST_REDIS_URL, default db 12), on
both databases."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import event, select, text, update

from app import page_cache
from app.accounts.services import update_profile
from app.extensions import db
from app.listings import services as listings
from app.listings.models import Listing
from app.moderation import services as moderation
from app.orders.services import place_order
from app.page_cache import CacheGeneration, MemoryStore, RedisStore
from app.reviews.services import leave_feedback
from tests.conftest import login
from tests.factories import PASSWORD, ListingFactory, OrderFactory, UserFactory
from tests.integration.moderation_support import trusted

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


def _redis_store() -> RedisStore:
    store = RedisStore(REDIS_URL, f"test-page-cache-{uuid.uuid4().hex[:8]}:")
    try:
        store.client.ping()
    except store.errors as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error})")
    return store


@pytest.fixture(params=["memory", "redis"])
def cached(app, request):
    """The cache on (a fresh store), with its generations seeded as the migration does."""
    store = MemoryStore(100, 10_000_000) if request.param == "memory" else _redis_store()
    app.extensions["page_cache"] = store
    page_cache.bump()
    yield store
    app.extensions["page_cache"] = None
    if isinstance(store, RedisStore):
        store.clear()


def _get(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response


def _served_twice(client, path: str):
    """Load a page twice: the first renders it, the second is a hit."""
    first = _get(client, path)
    assert first.headers["X-Page-Cache"] == "miss"
    second = _get(client, path)
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    return second


def test_a_page_is_served_from_the_cache_until_a_change(cached, client):
    listing = ListingFactory(title="Walnut lamp")
    paths = (
        "/", "/listings", "/listings?q=walnut", f"/listings/{listing.id}",
        f"/u/{listing.seller.handle}", "/api/v1/listings", f"/api/v1/listings/{listing.id}",
    )  # fmt: skip
    for path in paths:
        page = _served_twice(client, path)
        assert "Walnut lamp" in page.get_data(as_text=True), path
        assert page.headers["ETag"]


def test_the_query_string_is_part_of_the_key_in_any_order(cached, client):
    ListingFactory(title="Walnut lamp", condition="good")
    ListingFactory(title="Walnut table", condition="like_new")
    _served_twice(client, "/listings?q=walnut&condition=good")
    same = _get(client, "/listings?condition=good&q=walnut")
    assert same.headers["X-Page-Cache"] == "hit"
    other = _get(client, "/listings?q=walnut&condition=like_new")
    assert other.headers["X-Page-Cache"] == "miss"
    assert "Walnut table" in other.get_data(as_text=True)
    assert "Walnut lamp" not in other.get_data(as_text=True)


def test_a_new_price_shows_on_the_next_request(cached, client):
    listing = ListingFactory(title="Walnut lamp", price_cents=2500)
    paths = ("/", "/listings", f"/listings/{listing.id}", f"/u/{listing.seller.handle}")
    for path in paths:
        assert "25.00" in _served_twice(client, path).get_data(as_text=True)
    listings.update_listing(listing.id, listing.seller_id, price_cents=3999)
    for path in paths:
        page = _get(client, path)
        assert page.headers["X-Page-Cache"] == "miss"
        assert "39.99" in page.get_data(as_text=True) and "25.00" not in page.get_data(as_text=True)
    assert _get(client, f"/api/v1/listings/{listing.id}").get_json()["price_cents"] == 3999


def test_stock_taken_by_an_order_shows_on_the_next_request(cached, client):
    listing = ListingFactory(quantity=3)
    path = f"/api/v1/listings/{listing.id}"
    assert _served_twice(client, path).get_json()["quantity"] == 3
    place_order(UserFactory().id, listing.id, 2)
    assert _get(client, path).get_json()["quantity"] == 1


def test_a_paused_listing_leaves_the_lists_on_the_next_request(cached, client):
    listing = ListingFactory(title="Walnut lamp")
    for path in ("/", "/listings", "/api/v1/listings"):
        assert "Walnut lamp" in _served_twice(client, path).get_data(as_text=True)
    listings.set_listing_status(listing.id, listing.seller_id, "paused")
    for path in ("/", "/listings", "/api/v1/listings"):
        assert "Walnut lamp" not in _get(client, path).get_data(as_text=True), path
    assert _get(client, f"/api/v1/listings/{listing.id}").get_json()["status"] == "paused"


def test_new_feedback_shows_on_the_profile_and_the_listing_on_the_next_request(cached, client):
    order = OrderFactory()
    seller = order.seller
    profile = f"/u/{seller.handle}"
    before = _served_twice(client, profile).get_data(as_text=True)
    assert "Smooth trade, would buy again." not in before
    _served_twice(client, f"/listings/{order.listing_id}")
    leave_feedback(order.id, order.buyer_id, "positive", "Smooth trade, would buy again.")
    leave_feedback(order.id, seller.id, "positive", "Paid fast.")  # both rated: revealed
    page = _get(client, profile)
    assert page.headers["X-Page-Cache"] == "miss"
    assert "Smooth trade, would buy again." in page.get_data(as_text=True)
    assert _get(client, f"/listings/{order.listing_id}").headers["X-Page-Cache"] == "miss"


def test_content_a_moderator_hides_is_gone_on_the_next_request(cached, client):
    listing = ListingFactory(title="Walnut lamp", description="A lamp of solid walnut.")
    detail = f"/listings/{listing.id}"
    assert "A lamp of solid walnut." in _served_twice(client, detail).get_data(as_text=True)
    assert "Walnut lamp" in _served_twice(client, "/listings").get_data(as_text=True)
    for _ in range(2):
        moderation.create_report(trusted().id, "listing", listing.id, 1, "Not what it says.")
    assert moderation.content_state("listing", listing.id) == "hidden"
    assert "A lamp of solid walnut." not in client.get(detail).get_data(as_text=True)
    assert "Walnut lamp" not in _get(client, "/listings").get_data(as_text=True)


def test_a_profile_edit_shows_on_the_next_request(cached, client):
    user = UserFactory()
    ListingFactory(seller=user)
    _served_twice(client, f"/u/{user.handle}")
    update_profile(user.id, location="Lisbon harbour")
    assert "Lisbon harbour" in _get(client, f"/u/{user.handle}").get_data(as_text=True)


def test_bulk_and_raw_sql_writes_move_the_generations_too(cached, client):
    listing = ListingFactory(title="Walnut lamp", price_cents=2500)
    path = f"/api/v1/listings/{listing.id}"
    _served_twice(client, path)
    db.session.execute(update(Listing).where(Listing.id == listing.id).values(price_cents=1111))
    db.session.commit()
    assert _get(client, path).get_json()["price_cents"] == 1111
    db.session.execute(text("UPDATE listings SET price_cents = 2222 WHERE id = :id"),
                       {"id": listing.id})  # fmt: skip
    db.session.commit()
    assert _get(client, path).get_json()["price_cents"] == 2222


def test_a_write_rolled_back_or_private_moves_nothing_and_reads_move_nothing(cached, client):
    listing = ListingFactory()

    def values():
        db.session.expire_all()
        return {row.name: row.value for row in db.session.scalars(select(CacheGeneration))}

    start = values()
    db.session.execute(update(Listing).where(Listing.id == listing.id).values(price_cents=1))
    db.session.rollback()
    _get(client, f"/listings/{listing.id}")
    db.session.execute(text("DELETE FROM notifications"))  # private: no page shows it
    db.session.commit()
    assert values() == start
    place_order(UserFactory().id, listing.id, 1)  # stock (catalogue) and orders (both)
    after = values()
    assert after["catalogue"] > start["catalogue"] and after["people"] > start["people"]


def test_feedback_alone_keeps_the_browse_pages(cached, client):
    order = OrderFactory()
    _served_twice(client, "/listings")
    _served_twice(client, f"/u/{order.seller.handle}")
    leave_feedback(order.id, order.buyer_id, "positive", "Fine.")
    assert _get(client, "/listings").headers["X-Page-Cache"] == "hit"
    assert _get(client, f"/u/{order.seller.handle}").headers["X-Page-Cache"] == "miss"


def test_signed_in_members_never_get_a_cached_page(cached, app, client):
    listing = ListingFactory(title="Walnut lamp")
    user = UserFactory(handle="signedin")
    paths = ("/", "/listings", f"/listings/{listing.id}", f"/u/{listing.seller.handle}")
    for path in paths:
        _served_twice(client, path)
    member = login(app.test_client(), user)
    for path in paths:
        page = _get(member, path)
        assert "X-Page-Cache" not in page.headers, path
        assert "@signedin" in page.get_data(as_text=True), path
    # and what they saw is kept for nobody
    fresh = _get(client, "/")
    assert fresh.headers["X-Page-Cache"] == "hit"
    assert "@signedin" not in fresh.get_data(as_text=True)


def test_an_api_call_with_a_token_is_never_cached(cached, client):
    from app.api import services as tokens

    user = UserFactory()
    _token, secret = tokens.create_token(user.id, "reader", ["read"])
    _served_twice(client, "/api/v1/listings")
    response = client.get("/api/v1/listings", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and "X-Page-Cache" not in response.headers


def test_a_page_with_a_flash_is_neither_served_nor_kept(cached, app):
    visitor = app.test_client()
    with visitor.session_transaction() as session:
        session["_flashes"] = [("info", "Check your inbox for the link.")]
    page = _get(visitor, "/")
    assert "X-Page-Cache" not in page.headers
    assert "Check your inbox for the link." in page.get_data(as_text=True)
    # the flash is gone now; the page is rendered for everyone, without it
    again = _get(visitor, "/")
    assert again.headers["X-Page-Cache"] == "miss"
    assert "Check your inbox" not in _get(app.test_client(), "/").get_data(as_text=True)


def test_anonymous_pages_carry_no_csrf_token(cached, client):
    listing = ListingFactory()
    for path in ("/", "/listings", f"/listings/{listing.id}", f"/u/{listing.seller.handle}"):
        page = _get(client, path)
        assert "csrf_token" not in page.get_data(as_text=True) and "Set-Cookie" not in page.headers


def test_an_etag_answers_304(cached, client):
    first = _get(client, "/listings")
    second = client.get("/listings", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304 and second.get_data() == b""
    ListingFactory(title="Walnut lamp")
    third = client.get("/listings", headers={"If-None-Match": first.headers["ETag"]})
    assert third.status_code == 200 and "Walnut lamp" in third.get_data(as_text=True)


def test_a_hit_runs_only_the_generations_statement(cached, app, client):
    listing = ListingFactory()
    paths = ("/", "/listings?q=item", f"/listings/{listing.id}", f"/u/{listing.seller.handle}",
             "/api/v1/listings")  # fmt: skip
    for path in paths:
        _get(client, path)
    statements: dict[str, list[str]] = {"app": [], "generations": []}

    def recorder(name):
        def record(_conn, _cursor, statement, *_args):
            statements[name].append(statement)

        return record

    engines = {"app": db.engine, "generations": page_cache.generations_engine(app)}
    listeners = {name: recorder(name) for name in engines}
    for name, engine in engines.items():
        event.listen(engine, "before_cursor_execute", listeners[name])
    try:
        for path in paths:
            assert _get(client, path).headers["X-Page-Cache"] == "hit"
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[name])
    assert statements == {
        "app": [],  # no session, no user, no ORM
        "generations": [page_cache.GENERATIONS_QUERY] * len(paths),
    }


def test_no_generations_no_cache(cached, client):
    db.session.execute(text("DELETE FROM cache_generations"))
    db.session.commit()
    _get(client, "/")
    assert "X-Page-Cache" not in _get(client, "/").headers


def test_the_in_process_store_is_bounded():
    store = MemoryStore(max_entries=3, max_bytes=1000)
    for n in range(5):
        store.set(f"k{n}", b"x" * 10, 60)
    assert len(store) == 3 and store.get("k0") is None and store.get("k4") == b"x" * 10
    store.get("k2")  # used: kept over k3
    store.set("k5", b"y" * 10, 60)
    assert store.get("k3") is None and store.get("k2") is not None
    store.set("big", b"z" * 600, 60)
    store.set("big2", b"z" * 600, 60)
    assert store.bytes <= 1000 and store.get("big") is None and store.get("big2") is not None
    store.set("huge", b"z" * 2000, 60)
    assert store.get("huge") is None
    store.set("old", b"o", 0)
    assert store.get("old") is None  # expired


@pytest.mark.parametrize(
    ("statement", "moved"),
    [
        ("SELECT * FROM listings", set()),
        ("UPDATE listings SET price_cents=1", {"catalogue"}),
        ('INSERT INTO "feedback" (id) VALUES (1)', {"people"}),
        ("DELETE FROM messages WHERE id = 1", set()),
        ("INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 1",
         {"catalogue", "people"}),
        ("WITH x AS (SELECT 1) UPDATE reputation_scores SET trust = 0", {"people"}),
        ("COPY listings (id) FROM STDIN", {"catalogue"}),
        ("ALTER TABLE listings ADD COLUMN x int", {"catalogue", "people"}),
        ("INSERT INTO something_new (id) VALUES (1)", {"catalogue", "people"}),
        ("UPDATE users SET last_login_at=%(last_login_at)s WHERE users.id = %(users_id)s",
         set()),
        ("UPDATE users SET password_hash=?, last_login_at=? WHERE users.id = ?", set()),
        ("UPDATE users SET last_login_at=?, display_name=? WHERE users.id = ?",
         {"catalogue", "people"}),
        ("UPDATE users SET last_login_at=coalesce(?, bio) WHERE users.id = ?",
         {"catalogue", "people"}),
        ("UPDATE listings SET last_login_at=? WHERE id = ?", {"catalogue"}),
    ],
)  # fmt: skip
def test_what_a_statement_moves(statement, moved):
    assert page_cache.generations_written(statement) == moved


def test_signing_in_keeps_the_cached_pages(cached, app, client):
    from app.accounts.services import authenticate

    user = UserFactory()
    assert client.get("/").headers["X-Page-Cache"] == "miss"
    assert client.get("/").headers["X-Page-Cache"] == "hit"
    assert authenticate(user.email, PASSWORD, address="127.0.0.1") is not None
    assert client.get("/").headers["X-Page-Cache"] == "hit"


def test_a_bench_load_moves_every_generation(app):
    from tests.integration.bench_support import generate_small, load_bench

    page_cache.bump()  # the rows the migration makes
    before = dict(db.session.execute(text("SELECT name, value FROM cache_generations")).all())
    db.session.commit()
    generate_small(app, load_bench("generate"))  # its own connection, COPY on PostgreSQL
    db.session.expire_all()
    after = dict(db.session.execute(text("SELECT name, value FROM cache_generations")).all())
    assert all(after[name] > before[name] for name in page_cache.GENERATIONS)


def test_flask_cache_bump_moves_every_generation(app):
    page_cache.bump()
    db.session.commit()
    before = dict(db.session.execute(text("SELECT name, value FROM cache_generations")).all())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cache", "bump"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    after = dict(db.session.execute(text("SELECT name, value FROM cache_generations")).all())
    assert {name: after[name] - before[name] for name in page_cache.GENERATIONS} == {
        "catalogue": 1,
        "people": 1,
    }

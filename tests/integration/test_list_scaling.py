"""List pages cost the same with ten times the listings (issue 14).

Each list page runs with 50 listings, then with 500: the number of SQL statements must not
grow, the count stops at a cap ("1,000+") instead of reading every row, and on PostgreSQL the
search reads the GIN index over the stored tsvector, never parsing a listing's text again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from app import pagination
from app.extensions import db
from app.listings.models import Listing, ListingPhoto, LoanOffer
from app.listings.services import category_id_of, search_listings
from tests.factories import UserFactory

LIST_PAGES = [
    ("home", "/"),
    ("browse", "/listings"),
    ("browse search", "/listings?q=lamp"),
    ("browse search by price", "/listings?q=lamp&sort=price_asc"),
    ("browse to borrow", "/listings?offer=borrow"),
    ("browse a deep page", "/listings?page=3"),
    ("browse by price", "/listings?sort=price_asc"),
    ("browse by price, high first", "/listings?sort=price_desc"),
    ("my listings", "/my/listings"),
    ("my listings page 2", "/my/listings?page=2"),
    ("api listings", "/api/v1/listings"),
    ("api listings search", "/api/v1/listings?q=lamp"),
    ("api listings by price", "/api/v1/listings?sort=price_desc"),
]
# Pages reached by "Next" (a cursor): tests/integration/test_keyset_pages.py GROWTH_PAGES.


class Shelf:
    """A seller whose listings grow in bulk: every third one also lent, every one with a photo."""

    def __init__(self) -> None:
        self.seller = UserFactory(handle="shelfkeeper")
        self.count = 0

    def fill_to(self, total: int) -> None:
        category_id = category_id_of("home-garden")
        while self.count < total:
            n = self.count
            listing = Listing(
                seller_id=self.seller.id,
                category_id=category_id,
                title=f"Walnut desk lamp {n}",
                description="Warm light, solid walnut.",
                condition="good",
                price_cents=1000 + n,
                currency="USD",
                quantity=2,
            )
            db.session.add(listing)
            db.session.flush()
            db.session.add(
                ListingPhoto(
                    listing_id=listing.id,
                    position=0,
                    image_path=f"x/{listing.id}.jpg",
                    thumb_path=f"x/{listing.id}-t.jpg",
                    width=800,
                    height=600,
                )
            )
            if n % 3 == 0:
                db.session.add(LoanOffer(listing_id=listing.id, fee_per_day_cents=100 + n))
            self.count += 1
        db.session.commit()


@pytest.fixture
def statements(app):
    """statements(call) -> (response, the SQL run meanwhile)."""
    ran: list[str] = []

    def _record(_conn, _cursor, statement, *_args) -> None:
        ran.append(statement)

    def _run(call):
        ran.clear()
        event.listen(db.engine, "before_cursor_execute", _record)
        try:
            response = call()
        finally:
            event.remove(db.engine, "before_cursor_execute", _record)
        return response, list(ran)

    return _run


@pytest.mark.parametrize(("name", "url"), LIST_PAGES, ids=[page[0] for page in LIST_PAGES])
def test_list_page_statements_do_not_grow_with_ten_times_the_listings(
    app, make_client, statements, name, url
):
    shelf = Shelf()
    shelf.fill_to(50)
    client = make_client(shelf.seller)
    client.get(url)  # the first request of a session writes; not counted
    small, before = statements(lambda: client.get(url))
    shelf.fill_to(500)
    large, after = statements(lambda: client.get(url))
    assert small.status_code == large.status_code == 200
    assert len(after) <= len(before), f"{name}: {len(before)} -> {len(after)}:\n" + "\n".join(after)
    # Nothing that reads every row: the count stops at the cap, the page at its ids.
    for statement in after:
        flat = " ".join(statement.split()).lower()
        if "count(" in flat and "from listings" in flat:
            assert " limit " in flat, f"{name} counts every row: {flat}"
        assert "to_tsvector" not in flat, f"{name} parses listing text per row: {flat}"


def test_counts_stop_at_the_cap_and_say_so(app, client, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 100)
    monkeypatch.setattr(pagination, "PAGES_AHEAD", 1)
    Shelf().fill_to(150)
    found = search_listings(sort="newest", per_page=24)
    assert (found.total, found.total_is_exact, found.total_label) == (100, False, "100+")
    assert found.has_next and len(found.items) == 24

    page = client.get("/listings").get_data(as_text=True)
    assert "1\N{EN DASH}24 of 100+ listings" in page
    assert 'rel="next"' in page

    body = client.get("/api/v1/listings").get_json()
    assert (body["total"], body["total_is_exact"]) == (100, False)

    few = search_listings(q="lamp 7", per_page=24)  # "7", "70".."79", "107".. prefixes
    assert (few.total_is_exact and few.total == len(few.items)) or few.total > len(few.items)


def test_deep_pages_walk_every_listing_once_in_order(app):
    shelf = Shelf()
    shelf.fill_to(60)
    seen = []
    for number in (1, 2, 3):
        seen += [item.id for item in search_listings(sort="newest", page=number, per_page=25)]
    assert len(seen) == len(set(seen)) == 60
    created = {item.id: (item.created_at, item.id) for item in db.session.query(Listing)}
    assert seen == sorted(seen, key=lambda i: created[i], reverse=True)


def test_my_listings_is_paged(app, make_client):
    shelf = Shelf()
    shelf.fill_to(30)
    client = make_client(shelf.seller)
    first = client.get("/my/listings").get_data(as_text=True)
    second = client.get("/my/listings?page=2").get_data(as_text=True)
    assert first.count('class="my-listing"') == 24
    assert second.count('class="my-listing"') == 6
    assert "Walnut desk lamp 29" in first and "Walnut desk lamp 0<" not in first
    assert "Walnut desk lamp 0<" in second
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_postgres_search_plan_reads_the_gin_index_of_the_stored_words(
    app, backend, client, statements
):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    shelf = Shelf()
    shelf.fill_to(500)
    rare = Listing(
        seller_id=shelf.seller.id,
        category_id=category_id_of("toys-games"),
        title="Brass zeppelin model",
        description="",
        condition="good",
        price_cents=900,
        currency="USD",
    )
    db.session.add(rare)
    db.session.commit()
    # What autovacuum does: statistics, and the new rows moved from the GIN pending list into
    # the index proper (until then the planner prices the index as a scan of that list).
    db.session.execute(text("SELECT gin_clean_pending_list('ix_listings_fulltext')"))
    db.session.execute(text("ANALYZE listings"))
    db.session.commit()
    response, ran = statements(lambda: client.get("/listings?q=zeppelin"))
    assert "Brass zeppelin model" in response.get_data(as_text=True)
    searches = [s for s in ran if "@@" in s]
    assert searches, ran
    # On 500 rows any plan is cheap: leave the planner only bitmap scans, so the plan shows
    # whether the search's condition can use the GIN index (the stored column, not a copy of
    # its expression that would have to match it exactly).
    for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
        db.session.execute(text(f"SET LOCAL {setting} = off"))
    for statement in searches:
        raw = db.session.connection().connection.cursor()
        # The statements carry psycopg placeholders; plan them with the search's own words.
        raw.execute("EXPLAIN " + statement, _params_for(statement))
        plan = "\n".join(row[0] for row in raw.fetchall())
        assert "ix_listings_fulltext" in plan, plan
        assert "to_tsvector" not in plan, plan  # ranked from the stored column
    db.session.rollback()


def _params_for(statement: str) -> dict:
    """Plausible values for every %(name)s placeholder of a browse statement."""
    import re

    values: dict = {}
    for name in re.findall(r"%\((\w+)\)s", statement):
        if name.startswith("websearch_to_tsquery"):
            values[name] = "zeppelin"
        elif name.startswith("status"):
            values[name] = "active"
        else:
            values[name] = 24
    return values


def test_api_list_links_the_next_page_keeping_the_query(app, client, make_client):
    shelf = Shelf()
    shelf.fill_to(30)
    first = client.get("/api/v1/listings?q=lamp&per_page=20").get_json()
    assert first["next"] is not None and "q=lamp" in first["next"]
    second = client.get(first["next"]).get_json()
    assert (second["page"], len(second["items"]), second["next"]) == (2, 10, None)
    seen = {item["id"] for item in first["items"] + second["items"]}
    assert len(seen) == 30

    mine = make_client(shelf.seller)
    from app.api import services as tokens

    _token, raw = tokens.create_token(shelf.seller.id, "pages", ["read"])
    headers = {"Authorization": f"Bearer {raw}"}
    page = mine.get("/api/v1/users/me/listings?per_page=25", headers=headers).get_json()
    assert (page["total"], page["total_is_exact"], len(page["items"])) == (30, True, 25)
    assert page["next"].endswith("page=2") and "per_page=25" in page["next"]


def test_id_url_builds_what_url_for_builds(app):
    from flask import url_for

    from app.templating import id_url

    with app.test_request_context("/"):
        for endpoint, name, fixed in (
            ("listings.detail", "listing_id", {}),
            ("listings.photo", "photo_id", {"size": "thumb"}),
            ("accounts.avatar", "user_id", {}),
        ):
            for value in (1, 42, 2**31 - 1):
                assert id_url(endpoint, name, value, **fixed) == url_for(
                    endpoint, **{name: value}, **fixed
                )

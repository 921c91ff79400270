"""Keyset pages (issue 14): browse, search and the API's listings page on with a cursor.

"Next" carries the cursor of the page's last row, so a deep page reads its own rows and no
more; numbered pages end where the list stops counting. The last test loads ten times the
listings and checks that a list page runs the same statements and reads the same number of
rows (PostgreSQL: EXPLAIN ANALYZE of each statement; SQLite: the virtual machine's steps).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from app import pagination
from app.db import utcnow
from app.extensions import db
from app.listings.models import Listing, LoanOffer
from app.listings.services import category_id_of, search_listings
from app.pagination import BadCursor, decode_cursor, encode_cursor, last_numbered_page
from tests.factories import UserFactory
from tests.integration.test_list_scaling import Shelf


@pytest.fixture
def small_cap(monkeypatch):
    """Lists count no further than 20 rows, so a few dozen listings make a "broad" list."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 20)
    monkeypatch.setattr(pagination, "PAGES_AHEAD", 0)


def _newest_ids() -> list[int]:
    rows = db.session.execute(
        select(Listing.id).order_by(Listing.created_at.desc(), Listing.id.desc())
    )
    return [row[0] for row in rows]


def _next_link(page: str) -> str | None:
    found = re.search(r'href="([^"]*)" rel="next"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _card_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="listing-card" href="/listings/(\d+)"', page)]


def test_next_links_walk_every_listing_once_newest_first(app, client, small_cap):
    app.config["LISTINGS_PER_PAGE"] = 7
    Shelf().fill_to(40)
    seen, url, pages = [], "/listings?sort=newest", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += _card_ids(page)
        url, pages = _next_link(page), pages + 1
        if pages > 1:
            assert url is None or ("after=" in url and "page=" not in url)
    assert pages == 6
    assert seen == _newest_ids()


def test_numbered_pages_end_where_the_count_stops(app, client, small_cap):
    app.config["LISTINGS_PER_PAGE"] = 7
    Shelf().fill_to(40)
    last = last_numbered_page(7)
    assert last == 3  # the page holding the 20th listing
    response = client.get("/listings?page=9&sort=newest")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/listings?sort=newest&page={last}"
    third = client.get(response.headers["Location"]).get_data(as_text=True)
    assert _card_ids(third) == _newest_ids()[14:21]
    # The pager numbers no page past the last numbered one; "Next" goes on by cursor.
    assert f'aria-label="Page {last + 1}"' not in third
    fourth = client.get(_next_link(third)).get_data(as_text=True)
    assert _card_ids(fourth) == _newest_ids()[21:28]
    assert "22\N{EN DASH}28 of" in fourth
    assert f'href="/listings?sort=newest&amp;page={last}" rel="prev"' in fourth


def test_a_broken_cursor_is_said_on_the_page_and_refused_in_the_api(app, client):
    Shelf().fill_to(5)
    page = client.get("/listings?after=not-a-cursor")
    assert page.status_code == 200
    text_ = page.get_data(as_text=True)
    assert "That link to more results is broken or out of date." in text_
    assert len(_card_ids(text_)) == 5

    api = client.get("/api/v1/listings?cursor=not-a-cursor")
    assert api.status_code == 422
    error = api.get_json()["error"]
    assert error["code"] == "invalid_cursor"
    assert list(error["fields"]) == ["cursor"]
    # A cursor of another sort order is refused too, not read as something else.
    newest = search_listings(sort="newest", per_page=2).next_cursor
    wrong = client.get(f"/api/v1/listings?sort=price_asc&cursor={newest}")
    assert wrong.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "e30",  # {}
        encode_cursor("newest", ["yesterday", 3], 0),
        encode_cursor("newest", [utcnow(), "3"], 0),
        encode_cursor("newest", [utcnow(), 3], -1),
        encode_cursor("newest", [utcnow(), 3, 4], 0),
        encode_cursor("price_asc", [True, 100, utcnow(), 3], 0),
    ],
)
def test_decode_cursor_refuses_what_this_list_did_not_make(raw):
    with pytest.raises(BadCursor) as refused:
        decode_cursor(raw, {"newest": [type(utcnow()), int]}, "cursor")
    assert refused.value.code == "invalid_cursor"
    assert refused.value.fields == {"cursor": [BadCursor.default_message]}


def test_api_next_carries_the_cursor_and_the_query(app, client, small_cap):
    Shelf().fill_to(30)
    seen, url = [], "/api/v1/listings?q=lamp&per_page=8"
    bodies = []
    while url:
        body = client.get(url).get_json()
        bodies.append(body)
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
        if url:
            assert "q=lamp" in url and "per_page=8" in url and not re.search(r"[?&]page=", url)
            assert f"cursor={body['next_cursor']}" in url
    assert seen == _newest_ids()  # more matches than the cap: newest first
    assert [body["page"] for body in bodies] == [1, 2, 3, 4]
    assert bodies[-1]["next_cursor"] is None
    deep = client.get("/api/v1/listings?page=4&per_page=8")
    assert deep.status_code == 422
    assert list(deep.get_json()["error"]["fields"]) == ["page"]


def test_openapi_documents_the_cursor_and_links_the_next_page(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/listings"]["get"]
    assert operation["operationId"] == "listListings"
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"cursor", "page", "per_page", "q"} <= names
    link = operation["responses"]["200"]["links"]["NextPage"]
    assert link["operationId"] == "listListings"
    assert link["parameters"]["cursor"] == "$response.body#/next_cursor"
    assert link["parameters"]["q"] == "$request.query.q"
    listed = document["components"]["schemas"]["ListingSearchList"]
    assert {"next", "next_cursor", "total_is_exact"} <= set(listed["properties"])
    assert "invalid_cursor" in json.dumps(operation["responses"]["422"])


def test_price_orders_page_on_with_cursors_keeping_ties_in_order(app):
    seller = UserFactory()
    category_id = category_id_of("tools")
    now = utcnow()
    for n in range(23):
        listing = Listing(
            seller_id=seller.id,
            category_id=category_id,
            title=f"Saw {n}",
            description="",
            condition="good",
            price_cents=500 * (n % 4),  # ties in price: newest first among them
            currency="USD",
            quantity=1,
            for_sale=n % 5 != 0,  # some only lent: after the priced ones either way
            created_at=now - timedelta(minutes=n % 3),  # ties in time too: id breaks them
        )
        db.session.add(listing)
        db.session.flush()
        if n % 5 == 0 or n % 7 == 0:
            db.session.add(LoanOffer(listing_id=listing.id, fee_per_day_cents=100 * (n % 3)))
    db.session.commit()
    rows = db.session.scalars(select(Listing)).all()

    def key(listing, descending):
        price = -listing.price_cents if descending else listing.price_cents
        return (not listing.for_sale, price, -listing.created_at.timestamp(), -listing.id)

    for sort, descending in (("price_asc", False), ("price_desc", True)):
        walked, cursor = [], None
        while True:
            found = search_listings(sort=sort, per_page=4, cursor=cursor)
            walked += [item.id for item in found.items]
            cursor = found.next_cursor
            if cursor is None:
                break
        assert walked == [x.id for x in sorted(rows, key=lambda x: key(x, descending))]

    lent = [x for x in rows if x.loan_offer is not None]
    walked, cursor = [], None
    while True:
        found = search_listings(offer="borrow", sort="price_desc", per_page=3, cursor=cursor)
        walked += [item.id for item in found.items]
        if (cursor := found.next_cursor) is None:
            break
    fee = {x.id: x.loan_offer.fee_per_day_cents for x in lent}
    expected = sorted(lent, key=lambda x: (-fee[x.id], -x.created_at.timestamp(), -x.id))
    assert walked == [x.id for x in expected]


def test_search_by_relevance_ranks_a_narrow_search_and_pages_it_by_cursor(app, client):
    seller = UserFactory()
    category_id = category_id_of("home-garden")
    for n in range(9):
        words = " ".join(["teapot"] * (1 + n % 3))
        db.session.add(
            Listing(
                seller_id=seller.id,
                category_id=category_id,
                title=f"Teapot {n}",
                description=f"{words} in porcelain",
                condition="good",
                price_cents=100,
                currency="USD",
            )
        )
    db.session.commit()
    first = search_listings(q="teapot", per_page=4)
    assert first.order is None and (first.total, first.total_is_exact) == (9, True)
    walked, found = [], first
    while True:
        walked += [item.id for item in found.items]
        if found.next_cursor is None:
            break
        assert decode_cursor(found.next_cursor, {"relevance": [float, type(utcnow()), int]}, "c")
        found = search_listings(q="teapot", per_page=4, cursor=found.next_cursor)
    assert sorted(walked) == sorted(x.id for x in db.session.scalars(select(Listing)))
    assert len(walked) == 9
    # The numbered pages and the cursor pages agree.
    numbered = [
        item.id for n in (1, 2, 3) for item in search_listings(q="teapot", page=n, per_page=4)
    ]
    assert numbered == walked


def test_a_broad_search_comes_newest_first_and_says_so(app, client, small_cap):
    Shelf().fill_to(30)
    found = search_listings(q="lamp", per_page=5)
    assert found.order == "newest" and not found.total_is_exact
    assert [item.id for item in found.items] == _newest_ids()[:5]
    page = client.get("/listings?q=lamp").get_data(as_text=True)
    assert "the newest come first" in page


# --- the cost of a list page does not grow with the data ------------------------------------

GROWTH_PAGES = [
    ("home", "/"),
    ("browse", "/listings"),
    ("browse, next page", "next:/listings"),
    ("browse, third page", "next:next:/listings"),
    ("broad search", "/listings?q=lamp"),
    ("broad search, next page", "next:/listings?q=lamp"),
    ("to borrow", "/listings?offer=borrow"),
    ("by price", "/listings?sort=price_asc"),
    ("by price, next page", "next:/listings?sort=price_asc"),
    ("by price, high first", "/listings?sort=price_desc&offer=buy"),
    ("api list", "/api/v1/listings"),
    ("api list, next page", "next:/api/v1/listings"),
    ("api search", "/api/v1/listings?q=lamp"),
]


def _resolve(client, url: str) -> str:
    """A URL, or the page its "Next" leads to ("next:" before it, once per step)."""
    if not url.startswith("next:"):
        return url
    before = _resolve(client, url.removeprefix("next:"))
    response = client.get(before)
    if before.startswith("/api/"):
        return response.get_json()["next"]
    return _next_link(response.get_data(as_text=True))


class Work:
    """The statements a request runs and the rows they read (PostgreSQL: EXPLAIN ANALYZE of
    each, the rows every scan returned or filtered out; SQLite: virtual machine steps)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.ran: list[tuple[str, object]] = []
        self.steps = 0

    def _record(self, conn, _cursor, statement, parameters, *_args) -> None:
        self.ran.append((statement, parameters))
        if self.backend == "sqlite":
            raw = conn.connection.dbapi_connection
            raw.set_progress_handler(self._step, 100)

    def _step(self) -> int:
        self.steps += 1
        return 0

    def measure(self, call) -> tuple[int, int]:
        """(statements, rows read) of call()."""
        self.ran, self.steps = [], 0
        event.listen(db.engine, "before_cursor_execute", self._record)
        try:
            response = call()
        finally:
            event.remove(db.engine, "before_cursor_execute", self._record)
            if self.backend == "sqlite":
                db.session.connection().connection.dbapi_connection.set_progress_handler(None, 0)
        assert response.status_code == 200
        if self.backend == "sqlite":
            return len(self.ran), self.steps
        return len(self.ran), sum(self._rows_read(s, p) for s, p in self.ran)

    def _rows_read(self, statement: str, parameters) -> int:
        """The rows the scans of one statement read, with only index scans allowed: a page that
        can come from an index in order reads a page of rows; one that cannot reads them all."""
        raw = db.session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            # On a few hundred rows a hash join or a scan of everything is cheapest; at 300,000
            # it is not. Leave only index scans and nested loops (JIT would only add time).
            for setting in NOT_AT_SCALE:
                cursor.execute(f"SET {setting} = off")
            try:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0][0]["Plan"]
            finally:
                cursor.execute("RESET ALL")
        return _scanned(plan)


NOT_AT_SCALE = (
    "enable_seqscan",
    "enable_bitmapscan",
    "enable_sort",
    "enable_hashjoin",
    "enable_mergejoin",
    "enable_material",
    "jit",
)


def _scanned(node: dict) -> int:
    here = 0
    if node["Node Type"].endswith("Scan") and node.get("Relation Name") == "listings":
        loops = node.get("Actual Loops", 1)
        here = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
    return here + sum(_scanned(child) for child in node.get("Plans", []))


@pytest.mark.parametrize(("name", "url"), GROWTH_PAGES, ids=[page[0] for page in GROWTH_PAGES])
def test_list_page_reads_as_many_rows_with_ten_times_the_listings(
    app, backend, client, small_cap, name, url
):
    app.config["LISTINGS_PER_PAGE"] = 10
    shelf = Shelf()
    work = Work(backend)
    shelf.fill_to(60)
    if backend == "postgresql":
        db.session.execute(text("ANALYZE listings"))
        db.session.commit()
    target = _resolve(client, url)
    client.get(target)  # warm: the first request of a process loads what it keeps
    small = work.measure(lambda: client.get(target))
    shelf.fill_to(600)
    if backend == "postgresql":
        db.session.execute(text("ANALYZE listings"))
        db.session.commit()
    target = _resolve(client, url)
    large = work.measure(lambda: client.get(target))
    assert large[0] <= small[0], f"{name}: statements {small[0]} -> {large[0]}"
    # Ten times the rows: the page reads about as much (not ten times as much).
    assert large[1] <= small[1] * 1.5 + 50, f"{name}: rows read {small[1]} -> {large[1]}"


def _plan_lines(backend: str, statement: str, parameters) -> list[str]:
    """The plan of one statement as text lines (PostgreSQL: with only index scans allowed, as
    at scale; SQLite: EXPLAIN QUERY PLAN)."""
    raw = db.session.connection().connection.dbapi_connection
    if backend == "sqlite":
        rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return [row[-1] for row in rows]
    with raw.cursor() as cursor:
        for setting in NOT_AT_SCALE:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute("EXPLAIN " + statement, parameters)
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.execute("RESET ALL")


@pytest.mark.parametrize(("tab", "role"), [("sales", "seller"), ("purchases", "buyer")])
def test_a_sales_or_purchases_page_reads_its_orders_in_index_order(app, backend, client, tab, role):
    """`/orders?tab=sales` (and purchases) take the page's 20 ids from (seller_id | buyer_id,
    updated_at, id) backwards, with no sort of all the member's orders (migration 0019; a
    seller with 13,751 sales: 7.5 ms -> 0.2 ms on PostgreSQL)."""
    from tests.conftest import login
    from tests.factories import ListingFactory, OrderFactory

    member = UserFactory()
    for _ in range(25):
        if role == "seller":
            OrderFactory(listing=ListingFactory(seller=member))
        else:
            OrderFactory(buyer=member)
    db.session.commit()
    login(client, member)
    work = Work(backend)
    work.measure(lambda: client.get(f"/orders?tab={tab}"))
    # The page's ids come from a subquery (orders_for): `orders.id IN (SELECT ... LIMIT 20)`.
    (page,) = [(s, p) for s, p in work.ran if "orders.id IN (SELECT orders.id" in s]
    plan = "\n".join(_plan_lines(backend, *page))
    index = f"ix_orders_{role}_latest"
    if backend == "postgresql":
        assert f"Scan Backward using {index}" in plan, plan
    else:
        assert f"INDEX {index} ({role}_id=?)" in plan, plan
        # Only the outer query sorts (its 20 rows): the subquery reads in index order.
        assert plan.count("USE TEMP B-TREE FOR ORDER BY") <= 1, plan

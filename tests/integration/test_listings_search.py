"""Browse and search: full-text on SQLite (FTS5) and PostgreSQL (tsvector), filters, sorting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.db import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.listings import services
from app.listings.services import fts5_query, search_listings
from app.pagination import last_numbered_page
from tests.factories import ListingFactory, category


def _titles(page) -> list[str]:
    return [listing.title for listing in page.items]


def _aged(**kwargs):
    """A listing created `hours` hours ago (the newest sort needs distinct times)."""
    hours = kwargs.pop("hours", 0)
    listing = ListingFactory(**kwargs)
    listing.created_at = utcnow() - timedelta(hours=hours)
    db.session.commit()
    return listing


@pytest.fixture
def shop(app):
    """A small shop with distinct words, prices, categories and ages."""
    return {
        "bike": _aged(
            title="Red road bike",
            description="Light frame, new chain.",
            price_cents=30000,
            category=category("vehicles-parts"),
            condition="good",
            hours=5,
        ),
        "lamp": _aged(
            title="Reading lamp",
            description="Warm light, brass finish.",
            price_cents=2500,
            category=category("home-garden"),
            condition="like_new",
            hours=4,
        ),
        "drill": _aged(
            title="Cordless drill",
            description="Comes with two batteries and a charger.",
            price_cents=6000,
            category=category("tools"),
            condition="fair",
            hours=3,
        ),
        "novel": _aged(
            title="Paperback novels",
            description="A box of crime stories about a bicycle thief.",
            price_cents=800,
            category=category("books-media"),
            condition="good",
            hours=2,
        ),
    }


def test_search_finds_by_title_words(shop):
    assert _titles(search_listings(q="cordless drill")) == ["Cordless drill"]


def test_search_finds_by_description_words(shop):
    assert _titles(search_listings(q="batteries")) == ["Cordless drill"]
    assert _titles(search_listings(q="brass")) == ["Reading lamp"]


def test_search_stems_words_so_bikes_finds_bike(shop):
    assert _titles(search_listings(q="bikes")) == ["Red road bike"]
    assert _titles(search_listings(q="lamps")) == ["Reading lamp"]


def test_search_needs_every_word(shop):
    assert _titles(search_listings(q="light chain")) == ["Red road bike"]
    assert search_listings(q="light batteries").total == 0


def test_search_ranks_a_title_match_above_a_description_match(app):
    ListingFactory(title="Old table", description="Sold with a matching lamp and two chairs.")
    ListingFactory(title="Desk lamp", description="Metal, adjustable.")
    titles = _titles(search_listings(q="lamp", sort="relevance"))
    assert titles == ["Desk lamp", "Old table"]


def test_search_matches_the_start_of_the_last_word_on_sqlite(shop, backend):
    if backend != "sqlite":
        pytest.skip("prefix matching is the FTS5 query builder's; websearch_to_tsquery has none")
    assert _titles(search_listings(q="cordl")) == ["Cordless drill"]


def test_search_leaves_out_paused_deleted_and_sold_out_listings(app):
    ListingFactory(title="Telescope visible")
    ListingFactory(title="Telescope paused", status="paused")
    ListingFactory(title="Telescope deleted", status="deleted")
    ListingFactory(title="Telescope sold", quantity=0)
    assert _titles(search_listings(q="telescope")) == ["Telescope visible"]
    assert _titles(search_listings()) == ["Telescope visible"]


def test_search_follows_edits_to_title_and_description(app):
    listing = ListingFactory(title="Wooden chair")
    services.update_listing(
        listing.id, listing.seller_id, title="Oak stool", description="Hand carved."
    )
    assert search_listings(q="chair").total == 0
    assert _titles(search_listings(q="carved")) == ["Oak stool"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "tools"}, {"drill"}),
        ({"condition": "good"}, {"bike", "novel"}),
        ({"min_price_cents": 2500}, {"bike", "lamp", "drill"}),
        ({"max_price_cents": 2500}, {"lamp", "novel"}),
        ({"min_price_cents": 2000, "max_price_cents": 7000}, {"lamp", "drill"}),
        ({"q": "light", "category": "home-garden"}, {"lamp"}),
    ],
)
def test_search_filters(shop, filters, expected):
    found = {listing.id for listing in search_listings(**filters).items}
    assert found == {shop[name].id for name in expected}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["novel", "drill", "lamp", "bike"]),
        ("relevance", ["novel", "drill", "lamp", "bike"]),  # no words: newest first
        ("price_asc", ["novel", "lamp", "drill", "bike"]),
        ("price_desc", ["bike", "drill", "lamp", "novel"]),
    ],
)
def test_search_sorts(shop, sort, expected):
    assert [x.id for x in search_listings(sort=sort).items] == [shop[n].id for n in expected]


def test_search_pages_through_results(shop):
    first = search_listings(sort="price_asc", per_page=3, page=1)
    second = search_listings(sort="price_asc", per_page=3, page=2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (4, 2, 3, 1)
    assert second.items[0].id == shop["bike"].id
    assert search_listings(per_page=3, page=99).items == []


@pytest.mark.parametrize(
    "args", [{"sort": "cheapest"}, {"category": "spaceships"}, {"condition": "mint"}]
)
def test_search_refuses_unknown_sort_category_and_condition(app, args):
    with pytest.raises(ValidationFailed):
        search_listings(**args)


WEIRD_QUERIES = [
    '"',
    '""',
    "'",
    "AND",
    "OR",
    "NOT",
    "*",
    "-",
    "--",
    "NEAR(",
    "NEAR(a b",
    "(",
    ")",
    "^",
    "title:bike",
    "bike AND",
    "AND OR NOT",
    "-bike",
    "bike*",
    "a:b:c",
    "\\",
    "%",
    "_",
    "🚲",
    "\x00",
    "bike\x00lamp",
    "x" * 5000,
    "d'Artagnan",
    "<script>alert(1)</script>",
    ";--",
    "é",
    "ß",
    "!!!",
    "{}",
    "[]",
    "+",
    "~",
    "&",
    "|",
    "!",
    ":*",
    "a & b",
    "'a':*",
]


@pytest.mark.parametrize("q", WEIRD_QUERIES)
def test_weird_queries_never_fail_and_the_page_shows_what_the_search_found(client, shop, q):
    response = client.get("/listings", query_string={"q": q})
    page = response.get_data(as_text=True)
    found = search_listings(q=q)

    assert response.status_code == 200
    assert found.total == len(found.items) <= len(shop)
    for title in (listing.title for listing in shop.values()):
        assert (title in page) is (title in {item.title for item in found.items})
    assert ("Nothing matches" in page) is (found.total == 0)


def test_fts5_query_quotes_every_word_and_prefixes_the_last():
    assert fts5_query('bike NEAR( "red" -AND*') == '"bike" "NEAR" "red" "AND"*'
    assert fts5_query('"*-') == ""


def test_postgres_search_uses_the_gin_index(app, backend, shop):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only")
    from app.listings.search import PG_TSVECTOR

    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.session.execute(
        text(
            f"EXPLAIN SELECT id FROM listings WHERE {PG_TSVECTOR} "
            "@@ websearch_to_tsquery('english', :q)"
        ),
        {"q": "bike"},
    ).scalars()
    assert "ix_listings_fulltext" in "\n".join(plan)
    db.session.rollback()


# --- the browse page ----------------------------------------------------------------------------


def test_browse_page_lists_results_with_filters_in_the_url(client, shop):
    response = client.get("/listings?q=light&sort=price_asc")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index("Reading lamp") < page.index("Red road bike")
    assert "Cordless drill" not in page
    assert "2 of 2 listings" in page


def test_browse_page_parses_prices_as_money(client, shop):
    page = client.get("/listings?min_price=$20&max_price=70.00").get_data(as_text=True)
    assert "Reading lamp" in page and "Cordless drill" in page
    assert "Red road bike" not in page and "Paperback novels" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("min_price=abc", "Enter a price as a number"),
        ("max_price=-5", "The price cannot be negative."),
        ("min_price=50&max_price=10", "The maximum is below the minimum."),
        ("category=spaceships", "not one of the options"),
        ("condition=mint", "not one of the options"),
        ("sort=cheapest", "not one of the options"),
        ("min_price=1e999", "too large"),
    ],
)
def test_browse_page_explains_bad_filters_and_still_shows_results(client, shop, query, message):
    response = client.get(f"/listings?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert "Red road bike" in page  # the bad filter is left out, not the whole search


@pytest.mark.parametrize("page_arg", ["0", "-3", "abc", "99999999999999999999999", "2.5"])
def test_browse_page_survives_odd_page_numbers(client, shop, page_arg):
    response = client.get(f"/listings?page={page_arg}")
    if page_arg.startswith("9"):  # past the numbered pages: the last numbered one
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"page={last_numbered_page(24)}")
        response = client.get(response.headers["Location"])
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    if page_arg.startswith("9"):  # past the last page: said so, with a way back
        assert "No more results" in page and "Red road bike" not in page
    else:  # anything that is not a page number is page 1
        assert "Red road bike" in page and "No more results" not in page


def test_browse_page_paginates(app, client):
    app.config["LISTINGS_PER_PAGE"] = 2
    for n in range(5):
        _aged(title=f"Vase number {n}", hours=n)
    first = client.get("/listings?sort=newest").get_data(as_text=True)
    third = client.get("/listings?sort=newest&page=3").get_data(as_text=True)
    assert "Vase number 0" in first and "Vase number 2" not in first
    assert 'aria-label="Page 1, current"' in first and "page=2" in first
    assert "Vase number 4" in third and 'aria-label="Page 3, current"' in third

"""The site's own pages: they promise only what works, the home page has one search box, and
every long list has numbered pages."""

from __future__ import annotations

import html
import re

from tests.factories import ListingFactory


def test_about_says_how_buying_clubs_and_group_deals_work(client):
    page = html.unescape(client.get("/about").get_data(as_text=True))
    assert "Buying clubs and group deals" in page
    assert "everybody pays the price of the best tier reached" in page
    assert "change or withdraw it until the deadline" in page
    assert "printable pickup list" in page


def test_about_says_how_buying_selling_lending_and_borrowing_work(client):
    page = client.get("/about").get_data(as_text=True)
    assert "buys, sells, lends and borrows" in page
    assert "Buying and selling" in page
    assert "Lending and borrowing" in page
    assert "a moderator decides" in page


def test_the_home_page_has_one_search_box(client):
    page = client.get("/").get_data(as_text=True)
    assert page.count('type="search"') == 1
    assert 'id="hero-q"' in page


def test_other_pages_keep_the_search_box_in_the_header(client):
    page = client.get("/about").get_data(as_text=True)
    assert page.count('type="search"') == 1
    assert 'id="header-q"' in page


def page_links(html: str) -> list[str]:
    return re.findall(r'class="page-number"[^>]*>(\d+)</a>', html)


def test_listings_have_numbered_pages_that_keep_the_search(app, client):
    app.config["LISTINGS_PER_PAGE"] = 2
    for n in range(21):
        ListingFactory(title=f"Oak chair {n}")
    page = client.get("/listings?q=chair&page=6").get_data(as_text=True)
    assert page_links(page) == ["1", "5", "6", "7", "11"]
    assert re.search(r'aria-current="page"[^>]*>6</a>', page)
    assert page.count('class="page-gap"') == 2
    assert 'href="/listings?q=chair&amp;page=7"' in page
    # "Next" goes on by a cursor from the last listing shown (keyset), keeping the search.
    assert re.search(r'href="/listings\?q=chair&amp;after=[\w-]+=*"[^>]*rel="next"', page)
    assert re.search(r'href="/listings\?q=chair&amp;page=5"[^>]*rel="prev"', page)


def test_a_short_list_has_no_pager(app, client):
    ListingFactory()
    assert 'class="pagination"' not in client.get("/listings").get_data(as_text=True)

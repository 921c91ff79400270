"""The site's own pages: they promise only what works, the home page has one search box, and
every long list has numbered pages."""

from __future__ import annotations

import re

import pytest

from tests.factories import ListingFactory

NOT_BUILT_YET = re.compile(r"\b(lend\w*|borrow\w*|group deals?|pledge\w*|buying clubs?)\b", re.I)


@pytest.mark.parametrize("path", ["/", "/about", "/signup", "/rules", "/login"])
def test_pages_promise_only_what_works(client, path):
    page = client.get(path).get_data(as_text=True)
    assert NOT_BUILT_YET.findall(page) == []


def test_about_says_how_buying_and_selling_work(client):
    page = client.get("/about").get_data(as_text=True)
    assert "buys and sells" in page
    assert "Buying and selling" in page


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
    assert re.search(r'href="/listings\?q=chair&amp;page=7"[^>]*rel="next"', page)
    assert re.search(r'href="/listings\?q=chair&amp;page=5"[^>]*rel="prev"', page)


def test_a_short_list_has_no_pager(app, client):
    ListingFactory()
    assert 'class="pagination"' not in client.get("/listings").get_data(as_text=True)

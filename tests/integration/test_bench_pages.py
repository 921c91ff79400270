"""The page benchmark builds without running load: the bare page answers from the app's own
database, and every page on the benchmark's list is a real page for the ids it picks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.listings.models import Listing
from tests.integration.bench_support import generate_small, load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("generate"), load_bench("pages"), load_bench("bare")


@pytest.fixture
def generated(app, bench):
    _sizes, result = generate_small(app, bench[0])
    return result


def test_bare_page_shows_the_twenty_newest_active_listings(app, bench, generated):
    _, _, bare = bench
    newest = db.session.scalars(
        select(Listing.title)
        .where(Listing.status == "active")
        .order_by(Listing.created_at.desc())
        .limit(20)
    ).all()
    response = bare.create_app(app.config["SQLALCHEMY_DATABASE_URI"]).test_client().get("/")
    assert response.status_code == 200
    shown = re.findall(r'<a href="/listings/\d+">([^<]+)</a>', response.get_data(as_text=True))
    assert shown == newest
    assert len(shown) == 20


def test_every_benchmarked_page_answers_for_the_ids_it_picks(app, bench, generated, make_client):
    _, pages, _ = bench
    ids = pages.pick_ids(db.engine)
    assert ids.busy_handle == generated.busy_handle  # the member with the most feedback
    listed = pages.page_list(ids)
    assert len({page.path for page in listed}) == len(listed) == 18
    clients = {"": make_client()}
    for who, email in (("seller", ids.seller_email), ("member", ids.member_email)):
        clients[who] = make_client(db.session.scalar(select(User).where(User.email == email)))
    for page in listed:
        response = clients[page.signed_in].get(page.path)
        assert response.status_code == 200, (page.label, page.path, response.status_code)
        if "page 500" in page.label:  # as deep as the marketplace goes: a page of listings
            assert b"listing" in response.data and b"broken or out of date" not in response.data


def test_targets_follow_the_issue(bench):
    _, pages, _ = bench
    anonymous, signed_in = pages.Page("a", "/"), pages.Page("b", "/orders", signed_in="seller")
    search = pages.Page("c", "/listings?q=bike", search=True)
    assert pages.target(anonymous, 0.5, 49.9, "postgresql")[1]
    assert not pages.target(anonymous, 0.49, 10, "postgresql")[1]
    assert pages.target(signed_in, 0.25, 10, "postgresql")[1]
    assert not pages.target(search, 0.9, 30.0, "postgresql")[1]  # search: p95 under 30 ms
    assert pages.target(search, 0.01, 199, "sqlite")[1]  # SQLite: only the 200 ms ceiling
    assert not pages.target(anonymous, 1.0, 200, "sqlite")[1]

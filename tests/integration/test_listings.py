"""Sale listings: create, edit, pause, resume, delete, the listing page and My listings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.listings import services
from app.listings.models import Listing
from tests.factories import ListingFactory, UserFactory
from tests.integration.listing_images import image_bytes

VALID_FORM = {
    "title": "Blue city bike",
    "description": "Three gears.\nNew tyres.",
    "category": "vehicles-parts",
    "condition": "good",
    "price": "1,234.50",
    "quantity": "2",
}


def _create(seller_id: int, **overrides) -> Listing:
    fields = {
        "title": "Blue city bike",
        "description": "Three gears.",
        "category_slug": "vehicles-parts",
        "condition": "good",
        "price_cents": 12000,
        "quantity": 1,
    }
    fields.update(overrides)
    return services.create_listing(seller_id, **fields)


# --- services -----------------------------------------------------------------------------------


def test_create_listing_saves_an_active_listing_in_the_site_currency(app):
    seller = UserFactory()
    listing = _create(seller.id, title="  Blue   city bike ")
    stored = db.session.get(Listing, listing.id)
    assert stored.status == "active"
    assert stored.currency == app.config["SITE_CURRENCY"]
    assert stored.title == "Blue city bike"
    assert stored.category.slug == "vehicles-parts"
    assert stored.seller_id == seller.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "ab"}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"category_slug": "spaceships"}, "category"),
        ({"condition": "mint"}, "condition"),
        ({"price_cents": -1}, "price"),
        ({"price_cents": None}, "price"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1000}, "quantity"),
    ],
)
def test_create_listing_refuses_invalid_fields_and_saves_nothing(app, overrides, field):
    seller = UserFactory()
    with pytest.raises(ValidationFailed) as caught:
        _create(seller.id, **overrides)
    assert field in caught.value.fields
    assert db.session.scalar(select(Listing)) is None


def test_update_listing_allows_quantity_zero_which_is_sold_out(app):
    listing = ListingFactory(quantity=3)
    services.update_listing(listing.id, listing.seller_id, quantity=0)
    assert db.session.get(Listing, listing.id).quantity == 0
    assert not listing.is_buyable


def test_update_listing_refuses_a_stranger(app):
    listing = ListingFactory(title="Original title")
    stranger = UserFactory()
    with pytest.raises(Forbidden):
        services.update_listing(listing.id, stranger.id, title="Stolen title")
    assert db.session.get(Listing, listing.id).title == "Original title"


def test_set_listing_status_pauses_resumes_and_deletes(app):
    listing = ListingFactory()
    services.set_listing_status(listing.id, listing.seller_id, "paused")
    assert listing.status == "paused"
    services.set_listing_status(listing.id, listing.seller_id, "active")
    assert listing.status == "active"
    services.set_listing_status(listing.id, listing.seller_id, "deleted")
    assert db.session.get(Listing, listing.id).status == "deleted"  # the row stays for orders
    with pytest.raises(NotFound):
        services.get_listing(listing.id)
    with pytest.raises(NotFound):
        services.set_listing_status(listing.id, listing.seller_id, "active")


def test_set_listing_status_refuses_a_stranger_and_unknown_statuses(app):
    listing = ListingFactory()
    with pytest.raises(Forbidden):
        services.set_listing_status(listing.id, UserFactory().id, "deleted")
    with pytest.raises(ValidationFailed):
        services.set_listing_status(listing.id, listing.seller_id, "sold")
    assert listing.status == "active"


def test_active_listings_of_lists_only_the_sellers_buyable_listings(app):
    seller = UserFactory()
    live = ListingFactory(seller=seller)
    ListingFactory(seller=seller, status="paused")
    ListingFactory(seller=seller, quantity=0)
    ListingFactory()
    assert [x.id for x in services.active_listings_of(seller.id)] == [live.id]


def test_listings_of_seller_filters_by_tab_and_hides_deleted(app):
    seller = UserFactory()
    live = ListingFactory(seller=seller)
    paused = ListingFactory(seller=seller, status="paused")
    sold = ListingFactory(seller=seller, quantity=0)
    ListingFactory(seller=seller, status="deleted")
    assert {x.id for x in services.listings_of_seller(seller.id)} == {live.id, paused.id, sold.id}
    assert [x.id for x in services.listings_of_seller(seller.id, "paused")] == [paused.id]
    assert [x.id for x in services.listings_of_seller(seller.id, "sold_out")] == [sold.id]
    assert [x.id for x in services.listings_of_seller(seller.id, "active")] == [live.id]


# --- access matrix ------------------------------------------------------------------------------

OWNER_PAGES = [
    ("get", "/listings/{id}/edit", 200),
    ("post", "/listings/{id}/edit", 303),
    ("post", "/listings/{id}/pause", 303),
    ("post", "/listings/{id}/resume", 303),
    ("get", "/listings/{id}/delete", 200),
    ("post", "/listings/{id}/delete", 303),
]


@pytest.mark.parametrize(("method", "path", "owner_status"), OWNER_PAGES)
@pytest.mark.parametrize("who", ["anonymous", "stranger", "owner"])
def test_only_the_owner_may_manage_a_listing(app, make_client, who, method, path, owner_status):
    listing = ListingFactory(title="Keep my title")
    user = {"anonymous": None, "stranger": UserFactory(), "owner": listing.seller}[who]
    client = make_client(user)
    data = dict(VALID_FORM, title="Changed title") if path.endswith("edit") else {}
    response = getattr(client, method)(path.format(id=listing.id), data=data)
    if who == "anonymous":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    elif who == "stranger":
        assert response.status_code == 403
    else:
        assert response.status_code == owner_status
    if who != "owner":
        db.session.expire_all()
        unchanged = db.session.get(Listing, listing.id)
        assert (unchanged.title, unchanged.status) == ("Keep my title", "active")


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_sell_and_my_listings_need_sign_in(app, make_client, who):
    client = make_client(None if who == "anonymous" else UserFactory())
    for path, heading in (
        ("/sell", "<h1>Sell or lend something</h1>"),
        ("/my/listings", "<h1>My listings</h1>"),
    ):
        response = client.get(path)
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == 200
            assert heading in response.get_data(as_text=True)


def test_my_listings_shows_only_my_own_listings(app, make_client):
    me = UserFactory()
    ListingFactory(seller=me, title="My lamp")
    ListingFactory(seller=me, title="My paused chair", status="paused")
    ListingFactory(title="Someone else's sofa")
    page = make_client(me).get("/my/listings").get_data(as_text=True)
    assert "My lamp" in page and "My paused chair" in page
    assert "sofa" not in page
    assert "badge-paused" in page


def test_deleted_listing_is_gone_even_for_its_owner(app, make_client):
    listing = ListingFactory()
    services.set_listing_status(listing.id, listing.seller_id, "deleted")
    client = make_client(listing.seller)
    assert client.get(f"/listings/{listing.id}").status_code == 404
    assert client.get(f"/listings/{listing.id}/edit").status_code == 404
    assert listing.title not in client.get("/my/listings").get_data(as_text=True)


# --- create and edit through the forms ----------------------------------------------------------


def test_sell_form_creates_a_listing_with_photos_and_shows_it(app, make_client):
    seller = UserFactory()
    data = dict(
        VALID_FORM,
        photos=[
            (_io(image_bytes()), "one.jpg"),
            (_io(image_bytes(fmt="PNG")), "two.png"),
        ],
    )
    response = make_client(seller).post("/sell", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    listing = db.session.scalar(select(Listing))
    assert response.headers["Location"].endswith(f"/listings/{listing.id}")
    assert (listing.price_cents, listing.quantity, listing.seller_id) == (123450, 2, seller.id)
    assert len(listing.photos) == 2
    page = make_client(seller).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "$1,234.50" in page
    assert "Three gears.<br>New tyres." in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "ab", "Use 3 to 120 characters."),
        ("price", "twelve", "Enter a price as a number"),
        ("price", "1.234", "Use at most 2 decimal places."),
        ("price", "", "Enter a price."),
        ("quantity", "0", "from 1 to 999"),
        ("quantity", "lots", "Enter a whole number, like 3."),
        ("category", "spaceships", "not one of the options"),
        ("description", "x" * 5001, "at most 5000 characters"),
    ],
)
def test_sell_form_shows_a_clear_error_for_bad_input(app, make_client, field, value, message):
    response = make_client(UserFactory()).post("/sell", data=dict(VALID_FORM, **{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Listing)) is None


def test_edit_form_changes_the_listing_and_allows_sold_out(app, make_client):
    listing = ListingFactory(quantity=3)
    client = make_client(listing.seller)
    form = client.get(f"/listings/{listing.id}/edit").get_data(as_text=True)
    assert 'value="25.00"' in form  # the current price, as plain text
    response = client.post(
        f"/listings/{listing.id}/edit",
        data=dict(VALID_FORM, title="Renamed bike", price="99", quantity="0"),
    )
    assert response.status_code == 303
    db.session.expire_all()
    changed = db.session.get(Listing, listing.id)
    assert (changed.title, changed.price_cents, changed.quantity) == ("Renamed bike", 9900, 0)
    assert "Sold out" in client.get(f"/listings/{listing.id}").get_data(as_text=True)


def test_pause_from_my_listings_returns_there(app, make_client):
    listing = ListingFactory()
    response = make_client(listing.seller).post(
        f"/listings/{listing.id}/pause", data={"next": "mine"}
    )
    assert response.headers["Location"].endswith("/my/listings")
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).status == "paused"


# --- the listing page ---------------------------------------------------------------------------


def test_listing_page_offers_the_buy_form_to_a_signed_in_buyer(app, make_client):
    listing = ListingFactory(quantity=4)
    page = make_client(UserFactory()).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert f'action="/listings/{listing.id}/buy"' in page
    assert 'name="quantity"' in page and 'name="csrf_token"' in page
    assert 'max="4"' in page
    assert f"/u/{listing.seller.handle}" in page


def test_listing_page_shows_the_seller_their_controls_instead_of_buying(app, make_client):
    listing = ListingFactory()
    page = make_client(listing.seller).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "/buy" not in page
    assert f"/listings/{listing.id}/edit" in page
    assert f"/listings/{listing.id}/pause" in page
    assert f"/listings/{listing.id}/delete" in page


def test_listing_page_asks_anonymous_visitors_to_sign_in(app, client):
    listing = ListingFactory()
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "Sign in to buy" in page
    assert "/buy" not in page


@pytest.mark.parametrize(
    ("state", "text"),
    [({"status": "paused"}, "This listing is paused"), ({"quantity": 0}, "Sold out")],
)
def test_listing_page_shows_paused_and_sold_out_without_a_buy_form(app, make_client, state, text):
    listing = ListingFactory(**state)
    page = make_client(UserFactory()).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert text in page
    assert "/buy" not in page


def test_listing_page_for_a_missing_listing_is_404(client):
    assert client.get("/listings/999999").status_code == 404


def test_home_page_shows_just_listed_and_categories(app, client):
    ListingFactory(title="Fresh sourdough starter kit")
    ListingFactory(title="Hidden paused thing", status="paused")
    page = client.get("/").get_data(as_text=True)
    assert "Fresh sourdough starter kit" in page
    assert "Hidden paused thing" not in page
    assert "/listings?category=electronics" in page


def _io(data: bytes):
    import io

    return io.BytesIO(data)

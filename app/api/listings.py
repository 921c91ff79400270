"""Listings: categories, search, selling, changing, removing and photos."""

from __future__ import annotations

from contextlib import contextmanager

from flask import request

from app.api.core import (
    api_blueprint,
    api_user_id,
    link,
    links,
    page_of,
    token_optional,
    token_required,
    write_limit,
)
from app.api.schemas import (
    CategoryList,
    ListingIn,
    ListingList,
    ListingOut,
    ListingPatchIn,
    ListingSearchArgs,
    PhotosIn,
)
from app.errors import NotFound, ValidationFailed
from app.listings import services as listings

NEW_ID = "$response.body#/id"
ORDER_IT = link("createOrder", body={"listing_id": NEW_ID, "quantity": 1})

bp = api_blueprint("listings", __name__, "Things for sale and the categories they are in.")

# The listing services name some fields as the web form does; the API names them as its schema.
FIELD_NAMES = {"price": "price_cents", "category_slug": "category"}


@contextmanager
def api_field_names():
    """Rename the fields of a ValidationFailed from the service to the API's field names."""
    try:
        yield
    except ValidationFailed as error:
        error.fields = {FIELD_NAMES.get(name, name): msgs for name, msgs in error.fields.items()}
        raise


@bp.route("/categories", methods=["GET"])
@bp.doc(operationId="listCategories")
@token_optional
@bp.response(200, CategoryList)
def categories():
    """Every category, in display order (use the slug in searches and new listings)."""
    items = listings.all_categories()
    return page_of(items, 1, max(1, len(items)), len(items))


@bp.route("/listings", methods=["GET"])
@bp.doc(operationId="listListings")
@token_optional
@bp.arguments(ListingSearchArgs, location="query")
@bp.response(200, ListingList)
def search(args):
    """Search listings that can be bought now (sort: relevance, newest, price_asc, price_desc)."""
    found = listings.search_listings(**args)
    return page_of(found.items, found.page, found.per_page, found.total)


@bp.route("/listings", methods=["POST"])
@bp.doc(
    operationId="createListing",
    **links(
        201,
        GetListing=link("getListing", listing_id=NEW_ID),
        UpdateListing=link("updateListing", listing_id=NEW_ID),
        AddListingPhotos=link("addListingPhotos", listing_id=NEW_ID),
        OrderListing=ORDER_IT,
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(ListingIn)
@bp.response(201, ListingOut)
def create(data):
    """Put something up for sale (add photos with POST /listings/{id}/photos)."""
    with api_field_names():
        return listings.create_listing(
            api_user_id(),
            title=data["title"],
            description=data["description"],
            category_slug=data["category"],
            condition=data["condition"],
            price_cents=data["price_cents"],
            quantity=data["quantity"],
            currency=data.get("currency"),
        )


@bp.route("/listings/<id:listing_id>", methods=["GET"])
@bp.doc(operationId="getListing", **links(200, OrderListing=ORDER_IT))
@token_optional
@bp.response(200, ListingOut)
def detail(listing_id: int):
    """One listing (active, sold out or paused; deleted ones are gone)."""
    return listings.get_listing(listing_id)


@bp.route("/listings/<id:listing_id>", methods=["PATCH"])
@bp.doc(operationId="updateListing")
@token_required("write")
@write_limit()
@bp.arguments(ListingPatchIn)
@bp.response(200, ListingOut)
def update(data, listing_id: int):
    """Change your listing's details; `status` pauses ("paused") or resumes ("active") it."""
    status = data.pop("status", None)
    if "category" in data:
        data["category_slug"] = data.pop("category")
    with api_field_names():
        if data:
            listings.update_listing(listing_id, api_user_id(), **data)
        if status is not None:
            listings.set_listing_status(listing_id, api_user_id(), status)
        if not data and status is None:
            listings.get_listing_for_edit(listing_id, api_user_id())
    return listings.get_listing(listing_id)


@bp.route("/listings/<id:listing_id>", methods=["DELETE"])
@bp.doc(operationId="deleteListing")
@token_required("write")
@write_limit()
@bp.response(204)
def delete(listing_id: int):
    """Remove your listing for good (orders already placed keep their copy of it)."""
    listings.set_listing_status(listing_id, api_user_id(), "deleted")


@bp.route("/listings/<id:listing_id>/photos", methods=["POST"])
@bp.doc(operationId="addListingPhotos")
@token_required("write")
@write_limit()
@bp.arguments(PhotosIn, location="files")
@bp.response(201, ListingOut)
def add_photos(files, listing_id: int):
    """Add photos to your listing (multipart, field `photos`, repeatable): all or none."""
    with api_field_names():
        listings.add_photos(listing_id, api_user_id(), request.files.getlist("photos"))
    return listings.get_listing(listing_id)


@bp.route("/listings/<id:listing_id>/photos/<id:photo_id>", methods=["DELETE"])
@bp.doc(operationId="deleteListingPhoto")
@token_required("write")
@write_limit()
@bp.response(204)
def remove_photo(listing_id: int, photo_id: int):
    """Delete one photo of your listing."""
    if listings.get_photo(photo_id).listing_id != listing_id:
        raise NotFound("That photo does not exist.")
    listings.remove_photo(photo_id, api_user_id())


@bp.route("/listings/<id:listing_id>/photos/<id:photo_id>/first", methods=["POST"])
@bp.doc(operationId="makeListingPhotoFirst")
@token_required("write")
@write_limit()
@bp.response(200, ListingOut)
def make_photo_first(listing_id: int, photo_id: int):
    """Make a photo the listing's main one."""
    if listings.get_photo(photo_id).listing_id != listing_id:
        raise NotFound("That photo does not exist.")
    listings.make_photo_first(photo_id, api_user_id())
    return listings.get_listing(listing_id)

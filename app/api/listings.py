"""Listings: categories, search, selling, changing, removing and photos."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from flask import g, request

from app.api.core import (
    ErrorSchema,
    api_blueprint,
    api_user_id,
    capped_page_of,
    link,
    links,
    page_of,
    token_optional,
    token_required,
    write_limit,
)
from app.api.schemas import (
    MAX_WINDOW_DAYS,
    AvailabilityArgs,
    AvailabilityOut,
    BlockoutIn,
    BlockoutList,
    BlockoutOut,
    CategoryList,
    ListingIn,
    ListingOut,
    ListingPatchIn,
    ListingSearchArgs,
    ListingSearchList,
    LoanQuoteArgs,
    LoanQuoteOut,
    PhotosIn,
)
from app.errors import NotFound, ValidationFailed
from app.listings import availability, calendar, offers
from app.listings import services as listings

NEW_ID = "$response.body#/id"
ORDER_IT = link("createOrder", body={"listing_id": NEW_ID, "quantity": 1})

bp = api_blueprint("listings", __name__, "Things for sale and the categories they are in.")

# The listing services name some fields as the web form does; the API names them as its schema.
FIELD_NAMES = {
    "price": "price_cents",
    "category_slug": "category",
    "offer": "for_sale",
    **{form: f"loan_offer.{term}" for term, form in offers.FIELD_OF.items()},
}


def errors(*statuses: tuple[int, str]):
    """Document an operation's error answers: (status, "the stable codes it can carry")."""

    def decorate(view):
        for status, description in statuses:
            view = bp.alt_response(status, schema=ErrorSchema, description=description)(view)
        return view

    return decorate


NOT_FOUND = (404, "`not_found`: no such listing (or block-out)")
NOT_YOURS = (403, "`forbidden`: not your listing")
NOT_FOR_LOAN = (409, "`not_for_loan`: the listing is not offered for loan")


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


SEARCH_PARAMETERS = (
    "q",
    "offer",
    "available_from",
    "available_to",
    "category",
    "min_price_cents",
    "max_price_cents",
    "condition",
    "sort",
    "per_page",
)
NEXT_PAGE = link(
    "listListings",
    cursor="$response.body#/next_cursor",
    **{name: f"$request.query.{name}" for name in SEARCH_PARAMETERS},
)


@bp.route("/listings", methods=["GET"])
@bp.doc(operationId="listListings", **links(200, NextPage=NEXT_PAGE))
@errors(
    (
        422,
        "`validation_failed`: unusable dates (past, in the wrong order, too far ahead), or "
        "a `page` past the numbered ones; `invalid_cursor`: a `cursor` this list did not make "
        "(edited, cut short, or from another `sort`)",
    )
)
@token_optional
@bp.arguments(ListingSearchArgs, location="query")
@bp.response(200, ListingSearchList)
def search(args):
    """Search listings that can be bought or borrowed now (`offer`: any, buy, borrow; sort:
    relevance, newest, price_asc, price_desc; with borrow the price is the fee per day;
    available_from/available_to: things to borrow free on all those days). Page with `next`
    (or `cursor` = `next_cursor` and the same query): numbered pages end at the first 1,000."""
    found = listings.search_listings(**args)
    return capped_page_of(found)


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
    """Put something up for sale, for loan (`loan_offer`) or both (add photos with
    POST /listings/{id}/photos). A listing only for loan (`for_sale: false`) needs no price."""
    with api_field_names():
        return listings.create_listing(
            api_user_id(),
            title=data["title"],
            description=data["description"],
            category_slug=data["category"],
            condition=data["condition"],
            price_cents=data.get("price_cents"),
            quantity=data["quantity"],
            currency=data.get("currency"),
            for_sale=data["for_sale"],
            loan_offer=data["loan_offer"],
        )


@bp.route("/listings/<id:listing_id>", methods=["GET"])
@bp.doc(operationId="getListing", **links(200, OrderListing=ORDER_IT))
@errors((404, "`not_found`: no such listing; `listing_hidden`: a moderator hid or removed it"))
@token_optional
@bp.response(200, ListingOut)
def detail(listing_id: int):
    """One listing (active, sold out or paused; deleted ones are gone). A listing a moderator
    hid or removed answers 404 `listing_hidden` to everyone but its seller and moderators."""
    viewer = g.get("api_user")
    return listings.get_visible_listing(listing_id, viewer.id if viewer is not None else None)


@bp.route("/listings/<id:listing_id>", methods=["PATCH"])
@bp.doc(operationId="updateListing")
@token_required("write")
@write_limit()
@bp.arguments(ListingPatchIn)
@bp.response(200, ListingOut)
def update(data, listing_id: int):
    """Change your listing's details; `status` pauses ("paused") or resumes ("active") it;
    `for_sale` and `loan_offer` change how it is offered (`loan_offer: null` stops lending)."""
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


# -- lending: the calendar and the quote ----------------------------------------------------


@bp.route("/listings/<id:listing_id>/blockouts", methods=["GET"])
@bp.doc(operationId="listListingBlockouts")
@errors(NOT_FOUND, NOT_YOURS, NOT_FOR_LOAN)
@token_required("read")
@bp.response(200, BlockoutList)
def blockouts(listing_id: int):
    """The days you blocked out on your lendable listing that have not ended, in date order."""
    items = availability.blockouts_of(listing_id, api_user_id())
    return page_of(items, 1, max(1, len(items)), len(items))


@bp.route("/listings/<id:listing_id>/blockouts", methods=["POST"])
@bp.doc(operationId="createListingBlockout")
@errors(
    NOT_FOUND,
    NOT_YOURS,
    (
        409,
        "`not_for_loan`: the listing is not offered for loan; `blockout_overlaps`: the days "
        "overlap another block-out; `dates_booked`: some of the days are booked by a loan",
    ),
    (422, "`validation_failed`: a day in the past, the last day before the first, or too far"),
)
@token_required("write")
@write_limit()
@bp.arguments(BlockoutIn)
@bp.response(201, BlockoutOut)
def add_blockout(data, listing_id: int):
    """Block out days on your lendable listing: nobody can borrow it then (both days included)."""
    return availability.add_blockout(
        listing_id, api_user_id(), data["starts_on"], data["ends_on"], data["note"]
    )


@bp.route("/listings/<id:listing_id>/blockouts/<id:blockout_id>", methods=["DELETE"])
@bp.doc(operationId="deleteListingBlockout")
@errors(NOT_FOUND, NOT_YOURS)
@token_required("write")
@write_limit()
@bp.response(204)
def remove_blockout(listing_id: int, blockout_id: int):
    """Open the days of one of your block-outs again."""
    availability.remove_blockout(listing_id, blockout_id, api_user_id())


@bp.route("/listings/<id:listing_id>/availability", methods=["GET"])
@bp.doc(operationId="getListingAvailability")
@errors(
    NOT_FOUND,
    NOT_FOR_LOAN,
    (422, f"`validation_failed`: `to` before `from`, or more than {MAX_WINDOW_DAYS} days"),
)
@token_optional
@bp.arguments(AvailabilityArgs, location="query")
@bp.response(200, AvailabilityOut)
def availability_of(args, listing_id: int):
    """The taken days of a lendable listing between `from` and `to` (both included)."""
    start, end = args["from_"], args["to"]
    if end < start:
        raise ValidationFailed(
            "`to` is before `from`.", fields={"to": ["Pick a day on or after `from`."]}
        )
    if end - start > timedelta(days=MAX_WINDOW_DAYS - 1):
        raise ValidationFailed(
            f"Ask for at most {MAX_WINDOW_DAYS} days at a time.",
            fields={"to": [f"At most {MAX_WINDOW_DAYS} days after `from`."]},
        )
    viewer = g.get("api_user")
    listing = listings.get_visible_listing(listing_id, viewer.id if viewer is not None else None)
    if listing.loan_offer is None:
        raise availability.NotForLoan()
    is_owner = g.api_user is not None and g.api_user.id == listing.seller_id
    busy = [
        {
            "starts_on": b.starts_on,
            "ends_on": b.ends_on,
            "reason": b.reason if is_owner else "taken",
        }
        for b in calendar.busy_ranges(listing.id, start, end)
    ]
    return {"listing_id": listing.id, "from_": start, "to": end, "busy": busy}


@bp.route("/listings/<id:listing_id>/loan-quote", methods=["GET"])
@bp.doc(operationId="getLoanQuote")
@errors(
    NOT_FOUND,
    (409, "`not_for_loan`: the listing is not offered for loan now"),
    (
        422,
        "`validation_failed` (fields `start`, `end`): a first day in the past or over a year "
        "ahead, the last day before the first, or fewer or more days than the lender lends for",
    ),
)
@token_optional
@bp.arguments(LoanQuoteArgs, location="query")
@bp.response(200, LoanQuoteOut)
def loan_quote(args, listing_id: int):
    """What borrowing the listing from `start` to `end` (both included) costs, how the deposit
    is secured, and whether every day is free (`available`; else `busy` says what is taken)."""
    found = availability.quote_loan(listing_id, args["start"], args["end"])
    q = found.quote
    return {
        "listing_id": listing_id,
        "starts_on": q.starts_on,
        "ends_on": q.ends_on,
        "days": q.days,
        "fee_cents": q.fee_cents,
        "deposit_cents": q.deposit_cents,
        "due_cents": q.due_cents,
        "late_fee_per_day_cents": q.late_fee_per_day_cents,
        "late_fee_cap_cents": q.late_fee_cap_cents,
        "currency": found.currency,
        "is_free": q.is_free,
        "available": found.is_available,
        "busy": [
            {"starts_on": b.starts_on, "ends_on": b.ends_on, "reason": "taken"} for b in found.busy
        ],
        "deposit": found.deposit,
    }

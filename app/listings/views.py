"""Listings over HTTP: browse and search, a listing's page, selling and managing listings."""

from __future__ import annotations

from functools import partial

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from app.errors import Conflict, ValidationFailed
from app.inputs import url_with_args
from app.listings import availability, calendar, services
from app.listings.forms import (
    BlockoutForm,
    BrowseForm,
    EditListingForm,
    NewListingForm,
    PhotoUploadForm,
    QuoteForm,
    listing_form_data,
)
from app.listings.models import ListingStatus
from app.pagination import BadCursor, last_numbered_page, page_number
from app.reviews.services import reputation_summary

bp = Blueprint("listings", __name__)

PHOTO_MAX_AGE = 365 * 24 * 3600  # photo files never change: a new photo gets a new name
MY_TABS = (("all", "All"), ("active", "Active"), ("sold_out", "Sold out"), ("paused", "Paused"))


@bp.get("/listings")
def browse():
    """Browse and search. Pages are numbered as far as the list counts (last_numbered_page);
    "Next" carries a cursor (?after=), so a deep page reads only its rows. An old link to a
    deeper page number lands on the last numbered one."""
    form = BrowseForm(formdata=request.args)
    form.validate()
    per_page = current_app.config["LISTINGS_PER_PAGE"]
    cursor = request.args.get("after") or None
    last_numbered = last_numbered_page(per_page)
    if cursor is None and page_number(request.args.get("page")) > last_numbered:
        return redirect(url_with_args("listings.browse", page=last_numbered))
    problems = [error for field in form for error in field.errors]
    link_problem = None
    search = partial(services.search_listings, **form.filters(), per_page=per_page)
    try:
        results = search(page=page_number(request.args.get("page")), cursor=cursor)
    except BadCursor as error:
        link_problem = f"{error.message} Here are the first results again."
        results = search(page=1)
    return render_template(
        "listings/browse.html",
        form=form,
        results=results,
        problems=problems,
        link_problem=link_problem,
    )


@bp.get("/listings/<int:listing_id>")
def detail(listing_id: int):
    viewer_id = current_user.id if current_user.is_authenticated else None
    listing = services.get_visible_listing(listing_id, viewer_id)
    is_owner = viewer_id == listing.seller_id
    more = [
        other
        for other in services.active_listings_of(listing.seller_id, limit=5)
        if other.id != listing.id
    ][:4]
    seller_reputation = reputation_summary(listing.seller_id)["roles"]["seller"]
    return render_template(
        "listings/detail.html",
        listing=listing,
        is_owner=is_owner,
        more_from_seller=more,
        seller_reputation=seller_reputation,
        **(_borrowing(listing) if listing.is_lendable else {}),
    )


def _borrowing(listing) -> dict:
    """The loan part of a listing page: a month and the next (?month=YYYY-MM, from this month
    to a year ahead), and the quote for the days in ?start=&end= (a GET form: no script)."""
    today = calendar.today()
    this_month = calendar.month_start(today)
    last = calendar.add_months(this_month, 12)
    first = calendar.parse_month(request.args.get("month"), this_month)
    first = min(max(first, this_month), last)
    quote_form = QuoteForm(formdata=request.args)
    quote = None
    asked = bool(request.args.get("start") or request.args.get("end"))
    chosen = asked and quote_form.validate()
    # One look-up of the taken days for the months shown and the chosen days together.
    start, end = calendar.months_window(first, 2)
    if chosen and quote_form.start.data and quote_form.end.data:
        start = min(start, quote_form.start.data, quote_form.end.data)
        end = max(end, quote_form.start.data, quote_form.end.data)
    busy = calendar.busy_ranges(listing.id, start, end)
    if chosen:
        try:
            quote = availability.quote_for(
                listing, quote_form.start.data, quote_form.end.data, on=today, busy=busy
            )
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                field = getattr(quote_form, name)
                field.errors = [*field.errors, *messages]
    return {
        "months": calendar.months(listing.id, first, 2, on=today, busy=busy),
        "prev_month": calendar.add_months(first, -1) if first > this_month else None,
        "next_month": calendar.add_months(first, 1) if first < last else None,
        "weekdays": calendar.WEEKDAYS,
        "quote_form": quote_form,
        "quote": quote,
        "deposit_rule": availability.deposit_rule(listing),
        "say_range": availability.say_range,
    }


@bp.route("/sell", methods=["GET", "POST"])
@login_required
def create():
    form = NewListingForm()
    if form.validate_on_submit():
        try:
            listing = services.create_listing(
                current_user.id,
                **form.service_fields(),
                photos=request.files.getlist(form.photos.name),
            )
        except ValidationFailed as error:
            form.show_errors(error.fields)
        else:
            flash("Your listing is live.", "success")
            return redirect(url_for("listings.detail", listing_id=listing.id), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("listings/form.html", form=form, listing=None), status


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id: int):
    listing = services.get_listing_for_edit(listing_id, current_user.id)
    form = EditListingForm(data=listing_form_data(listing), currency=listing.currency)
    if form.validate_on_submit():
        try:
            services.update_listing(listing.id, current_user.id, **form.service_fields())
        except ValidationFailed as error:
            form.show_errors(error.fields)
        else:
            flash("Listing saved.", "success")
            return redirect(url_for("listings.detail", listing_id=listing.id), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "listings/form.html", form=form, listing=listing, photo_form=PhotoUploadForm()
    ), status


@bp.post("/listings/<int:listing_id>/photos")
@login_required
def add_photos(listing_id: int):
    photo_form = PhotoUploadForm()
    if photo_form.validate_on_submit():
        try:
            added = services.add_photos(
                listing_id, current_user.id, request.files.getlist(photo_form.photos.name)
            )
        except ValidationFailed as error:
            photo_form.show_errors(error.fields)
        else:
            flash(f"{len(added)} photo{'s' if len(added) != 1 else ''} added.", "success")
            return redirect(url_for("listings.edit", listing_id=listing_id) + "#photos", code=303)
    listing = services.get_listing_for_edit(listing_id, current_user.id)
    form = EditListingForm(data=listing_form_data(listing), currency=listing.currency)
    return render_template(
        "listings/form.html", form=form, listing=listing, photo_form=photo_form
    ), 422


@bp.post("/photos/<int:photo_id>/delete")
@login_required
def remove_photo(photo_id: int):
    listing_id = services.get_photo(photo_id).listing_id
    services.remove_photo(photo_id, current_user.id)
    flash("Photo removed.", "success")
    return redirect(url_for("listings.edit", listing_id=listing_id) + "#photos", code=303)


@bp.post("/photos/<int:photo_id>/first")
@login_required
def make_photo_first(photo_id: int):
    photo = services.make_photo_first(photo_id, current_user.id)
    flash("Main photo changed.", "success")
    return redirect(url_for("listings.edit", listing_id=photo.listing_id) + "#photos", code=303)


@bp.post("/listings/<int:listing_id>/pause")
@login_required
def pause(listing_id: int):
    services.set_listing_status(listing_id, current_user.id, ListingStatus.PAUSED.value)
    flash("Listing paused: it is hidden from search and cannot be bought.", "success")
    return redirect(_back(listing_id), code=303)


@bp.post("/listings/<int:listing_id>/resume")
@login_required
def resume(listing_id: int):
    services.set_listing_status(listing_id, current_user.id, ListingStatus.ACTIVE.value)
    flash("Listing is live again.", "success")
    return redirect(_back(listing_id), code=303)


@bp.route("/listings/<int:listing_id>/delete", methods=["GET", "POST"])
@login_required
def delete(listing_id: int):
    listing = services.get_listing_for_edit(listing_id, current_user.id)
    if request.method == "GET":
        return render_template("listings/delete.html", listing=listing)
    services.set_listing_status(listing_id, current_user.id, ListingStatus.DELETED.value)
    flash(f"“{listing.title}” was deleted.", "success")
    return redirect(url_for("listings.mine"), code=303)


def _back(listing_id: int) -> str:
    """Where a pause/resume button was pressed: My listings or the listing page."""
    if request.form.get("next") == "mine":
        return url_for("listings.mine")
    return url_for("listings.detail", listing_id=listing_id)


@bp.get("/listings/<int:listing_id>/calendar")
@login_required
def lender_calendar(listing_id: int):
    return _calendar_page(listing_id, BlockoutForm(formdata=None))


def _calendar_page(listing_id: int, form: BlockoutForm, status: int = 200):
    """The lender's calendar: three months from ?month= (a year back to two ahead), the
    block-outs still to come, and the form to add one."""
    listing = availability.lendable_for_edit(listing_id, current_user.id)
    today = calendar.today()
    this_month = calendar.month_start(today)
    first = calendar.parse_month(request.args.get("month"), this_month)
    first = min(
        max(first, calendar.add_months(this_month, -12)), calendar.add_months(this_month, 24)
    )
    page = render_template(
        "listings/calendar.html",
        listing=listing,
        months=calendar.months(listing.id, first, 3, on=today),
        weekdays=calendar.WEEKDAYS,
        prev_month=calendar.add_months(first, -1),
        next_month=calendar.add_months(first, 1),
        this_month=this_month,
        blockouts=availability.upcoming_blockouts(listing.id, on=today),
        form=form,
        say_range=availability.say_range,
    )
    return page, status


@bp.post("/listings/<int:listing_id>/blockouts")
@login_required
def add_blockout(listing_id: int):
    form = BlockoutForm()
    if form.validate_on_submit():
        try:
            blockout = availability.add_blockout(
                listing_id,
                current_user.id,
                form.starts_on.data,
                form.ends_on.data,
                form.note.data or "",
            )
        except (ValidationFailed, availability.BlockoutOverlaps, availability.DatesBooked) as error:
            if isinstance(error, Conflict):  # about the days as a whole: said once, on top
                form.form_errors.append(error.message)
            else:
                form.show_errors(error.fields)
        else:
            taken = availability.say_range(blockout.starts_on, blockout.ends_on)
            flash(f"Blocked out {taken}: nobody can borrow it then.", "success")
            # Show the month it starts in, unless the calendar's first view shows it already.
            this_month = calendar.month_start(calendar.today())
            shown_until = calendar.month_end(calendar.add_months(this_month, 2))
            far = blockout.starts_on > shown_until
            month = blockout.starts_on.strftime("%Y-%m") if far else None
            target = url_for("listings.lender_calendar", listing_id=listing_id, month=month)
            return redirect(target, code=303)
    return _calendar_page(listing_id, form, 422)


@bp.post("/listings/<int:listing_id>/blockouts/<int:blockout_id>/delete")
@login_required
def remove_blockout(listing_id: int, blockout_id: int):
    availability.remove_blockout(listing_id, blockout_id, current_user.id)
    flash("Block-out removed: those days are open again.", "success")
    return redirect(url_for("listings.lender_calendar", listing_id=listing_id), code=303)


@bp.get("/my/listings")
@login_required
def mine():
    tab = request.args.get("status", "all")
    if tab not in dict(MY_TABS):
        tab = "all"
    listings = services.listings_of_seller(
        current_user.id,
        None if tab == "all" else tab,
        page=page_number(request.args.get("page")),
        per_page=current_app.config["LISTINGS_PER_PAGE"],
    )
    return render_template("listings/mine.html", listings=listings, tab=tab, tabs=MY_TABS)


@bp.get("/photos/<int:photo_id>/<size>")
def photo(photo_id: int, size: str):
    if size not in ("thumb", "full"):
        abort(404)
    stored = services.get_photo(photo_id)
    path = stored.thumb_path if size == "thumb" else stored.image_path
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"], path, mimetype="image/jpeg", max_age=PHOTO_MAX_AGE
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response

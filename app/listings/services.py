"""Listings: the rules for creating, changing, finding and showing things for sale."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import (
    Boolean,
    Double,
    Float,
    Integer,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from werkzeug.datastructures import FileStorage

from app import media, visibility
from app.accounts.suspension import ensure_not_suspended
from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.listings import calendar, offers
from app.listings.models import (
    Category,
    Condition,
    Listing,
    ListingPhoto,
    ListingStatus,
    LoanOffer,
)
from app.listings.search import PG_TSVECTOR
from app.money import MAX_CENTS
from app.pagination import (
    Cursor,
    Page,
    after_key,
    capped_count,
    decode_cursor,
    encode_cursor,
    last_numbered_page,
    page_number,
    per_page_count,
)
from app.trust import levels as trust

logger = logging.getLogger(__name__)

CATEGORIES = (
    ("electronics", "Electronics"),
    ("home-garden", "Home & garden"),
    ("fashion", "Clothing & accessories"),
    ("books-media", "Books, music & film"),
    ("sports-outdoors", "Sports & outdoors"),
    ("toys-games", "Toys & games"),
    ("tools", "Tools & DIY"),
    ("collectibles", "Collectibles & art"),
    ("vehicles-parts", "Bikes & vehicle parts"),
    ("other", "Everything else"),
)

TITLE_MIN, TITLE_MAX = 3, 120
TITLE_REQUIRED = "Give your listing a title."
DESCRIPTION_MAX = 5000
QUANTITY_MAX = 999
SORTS = ("relevance", "newest", "price_asc", "price_desc")
SORT_LABELS = {
    "relevance": "Best match",
    "newest": "Newest first",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
}
MAX_QUERY_CHARS = 200
# Every photo is kept in two sizes: the whole picture within 1600px, and a 480x360 card crop.
PHOTO_SIZES = (media.Size("full", 1600, 1600), media.Size("thumb", 480, 360, crop=True))
MAX_QUERY_TOKENS = 16
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "category_slug",
        "condition",
        "price_cents",
        "quantity",
        "for_sale",
        "loan_offer",
    }
)
# What a search looks for: anything on offer, things to buy, or things to borrow.
OFFERS = ("any", "buy", "borrow")
OFFER_LABELS = {"any": "Buy or borrow", "buy": "To buy", "borrow": "To borrow"}
# How far ahead "available from .. to" may look.
AVAILABILITY_HORIZON_DAYS = 730


@dataclass(frozen=True)
class CategoryInfo:
    """A category as pages and the API show it (a plain value: kept between requests)."""

    id: int
    slug: str
    name: str
    position: int


def ensure_categories() -> None:
    """Create the fixed category list if it is missing (idempotent)."""
    existing = set(db.session.scalars(select(Category.slug)))
    for position, (slug, name) in enumerate(CATEGORIES):
        if slug not in existing:
            db.session.add(Category(slug=slug, name=name, position=position))
    db.session.commit()
    current_app.extensions.pop(CATEGORIES_KEY, None)


CATEGORIES_KEY = "mutual_categories"


def all_categories() -> list[CategoryInfo]:
    """The fixed categories in display order.

    Read once per process and kept (on the app): the list is fixed (CATEGORIES), and every page
    with the filter form or the sell form showed it with one more query.
    """
    cached = current_app.extensions.get(CATEGORIES_KEY)
    if not cached:
        rows = db.session.execute(
            select(Category.id, Category.slug, Category.name, Category.position).order_by(
                Category.position, Category.id
            )
        )
        cached = [CategoryInfo(*row) for row in rows]
        if cached:  # an empty table is not worth keeping: ensure_categories may fill it
            current_app.extensions[CATEGORIES_KEY] = cached
    return list(cached)


def category_id_of(slug: str | None) -> int | None:
    """The id of the category with this slug, or None."""
    return next((c.id for c in all_categories() if c.slug == slug), None)


# --- reading ------------------------------------------------------------------------------------


def get_listing(listing_id: int) -> Listing:
    """A listing anyone may look at (active or paused). Raises NotFound when missing or deleted."""
    listing = db.session.scalar(
        select(Listing)
        .where(Listing.id == listing_id)
        .options(
            joinedload(Listing.seller),
            joinedload(Listing.category),
            joinedload(Listing.loan_offer),
            selectinload(Listing.photos),
        )
    )
    if listing is None or listing.status == ListingStatus.DELETED:
        raise NotFound("That listing does not exist or has been removed.")
    return listing


class ListingHidden(NotFound):
    """A listing a moderator hid or removed, asked for by someone other than its seller or a
    moderator: a 404 that says why."""

    code = "listing_hidden"
    MESSAGES = {
        visibility.HIDDEN: "This listing is hidden pending review by a moderator.",
        visibility.REMOVED: "This listing was removed by a moderator.",
    }

    def __init__(self, state: str):
        super().__init__(self.MESSAGES.get(state, self.MESSAGES[visibility.REMOVED]))


def get_visible_listing(listing_id: int, viewer_id: int | None) -> Listing:
    """A listing as this viewer may see it: once a moderator hid or removed it (or reports hid
    it pending review), only its seller and moderators. Raises NotFound, ListingHidden."""
    listing = get_listing(listing_id)
    if not visibility.may_see("listing", listing.id, viewer_id, owners=(listing.seller_id,)):
        raise ListingHidden(visibility.state("listing", listing.id))
    return listing


def ensure_not_hidden(listing_id: int) -> None:
    """Nobody buys or borrows a listing a moderator hid or removed. Raises ListingHidden."""
    state = visibility.state("listing", listing_id)
    if state != visibility.VISIBLE:
        raise ListingHidden(state)


def get_listing_for_edit(listing_id: int, editor_id: int) -> Listing:
    """The listing, when `editor_id` is its seller. Raises NotFound, Forbidden."""
    listing = get_listing(listing_id)
    _require_owner(listing, editor_id)
    return listing


def active_listings_of(seller_id: int, limit: int = 12) -> list[Listing]:
    """The seller's listings that can be bought or borrowed now, newest first."""
    return list(
        db.session.scalars(
            _on_offer(_with_offer(select(Listing)), "any")
            .where(Listing.seller_id == seller_id)
            .options(
                contains_eager(Listing.loan_offer),
                joinedload(Listing.seller),
                selectinload(Listing.photos),
            )
            .order_by(Listing.created_at.desc(), Listing.id.desc())
            .limit(max(0, limit))
        )
    )


def listings_of_seller(
    seller_id: int, status: str | None = None, page: int = 1, per_page: int = 24
) -> Page[Listing]:
    """One page of the listings the seller can still manage (not deleted), newest first, for
    "My listings".

    status: None for all, "active", "paused" or "sold_out" (active with nothing left).
    """
    page = page_number(page)
    per_page = per_page_count(per_page, 24)
    stmt = select(Listing).where(
        Listing.seller_id == seller_id, Listing.status != ListingStatus.DELETED
    )
    if status == "active":
        stmt = stmt.where(Listing.status == ListingStatus.ACTIVE, Listing.quantity > 0)
    elif status == "sold_out":
        stmt = stmt.where(Listing.status == ListingStatus.ACTIVE, Listing.quantity == 0)
    elif status == "paused":
        stmt = stmt.where(Listing.status == ListingStatus.PAUSED)
    total, exact = capped_count(stmt.with_only_columns(Listing.id), page, per_page)
    newest_first = (Listing.created_at.desc(), Listing.id.desc())
    # The page's ids are chosen on the listings alone, then those rows are read with their
    # loan offers: joining first joined every listing of a seller with 3,000 (130 ms).
    page_ids = (
        stmt.with_only_columns(Listing.id)
        .order_by(*newest_first)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = db.session.scalars(
        select(Listing)
        .where(Listing.id.in_(page_ids))
        .options(
            selectinload(Listing.photos),
            selectinload(Listing.category),
            joinedload(Listing.loan_offer),
        )
        .order_by(*newest_first)
    )
    return Page(items=list(items), page=page, per_page=per_page, total=total, total_is_exact=exact)


def search_listings(
    q: str | None = None,
    category: str | None = None,
    min_price_cents: int | None = None,
    max_price_cents: int | None = None,
    condition: str | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 24,
    offer: str = "any",
    available_from: date | None = None,
    available_to: date | None = None,
    cursor: str | None = None,
) -> Page[Listing]:
    """Find listings on offer by words, category, price and condition; one page of them.

    Pages by number up to last_numbered_page (the first COUNT_CAP rows; deeper numbers read
    that page), and from there, or from any page, by `cursor`: the page's next_cursor. Raises
    BadCursor (code invalid_cursor) for a cursor this search did not make.

    offer: "any" (to buy or to borrow), "buy" or "borrow". With "borrow" the price range and the
    price sorts are the fee per day; otherwise the sale price (so only things for sale match a
    price range). available_from/available_to (both included; one alone is one day): things to
    borrow with no taken day then, lent for that many days. Any text is a safe query. Raises
    ValidationFailed for an unknown category, condition, sort or offer, or unusable dates.
    """
    if sort not in SORTS:
        raise ValidationFailed("Unknown sort order.", fields={"sort": ["Choose a sort order."]})
    if offer not in OFFERS:
        raise ValidationFailed("Unknown offer.", fields={"offer": ["Choose buy or borrow."]})
    if condition and condition not in {c.value for c in Condition}:
        raise ValidationFailed("Unknown condition.", fields={"condition": ["Choose a condition."]})
    dates = availability_window(available_from, available_to)
    if dates is not None:
        offer = "borrow"
    page = page_number(page)
    per_page = per_page_count(per_page, 24)

    stmt = _with_offer(select(Listing))
    if category:
        category_id = category_id_of(category)
        if category_id is None:
            raise ValidationFailed("Unknown category.", fields={"category": ["Choose a category."]})
        stmt = stmt.where(Listing.category_id == category_id)
    if condition:
        stmt = stmt.where(Listing.condition == condition)
    price = LoanOffer.fee_per_day_cents if offer == "borrow" else Listing.price_cents
    if offer == "any" and (min_price_cents is not None or max_price_cents is not None):
        stmt = stmt.where(_buyable())
    if min_price_cents is not None:
        stmt = stmt.where(_unindexed(price) >= min_price_cents)
    if max_price_cents is not None:
        stmt = stmt.where(_unindexed(price) <= max_price_cents)
    if dates is not None:
        start, end = dates
        days = (end - start).days + 1
        stmt = stmt.where(
            LoanOffer.min_days <= days,
            LoanOffer.max_days >= days,
            Listing.id.not_in(calendar.busy_listing_ids(start, end)),
        )

    words = _clean_query(q)
    if words:
        stmt = stmt.where(_matches(words))
    # What the count reads: on SQLite a search's matches, or the loan offers, come first.
    counting = _on_offer(stmt, offer, narrower=bool(words) or offer == "borrow")
    stmt = _on_offer(stmt, offer)

    newest = [(Listing.created_at, True, datetime), (Listing.id, True, int)]
    # Things not for sale have no price: they come after the priced ones either way.
    priced_first = [] if offer == "borrow" else [(Listing.for_sale, True, bool)]
    kind = sort if sort in ("price_asc", "price_desc") else "newest"
    if sort == "price_asc":
        keys = [*priced_first, (price, False, int), *newest]
    elif sort == "price_desc":
        keys = [*priced_first, (price, True, int), *newest]
    else:
        keys = newest
    if kind != "newest" and offer == "borrow":
        kind += ".borrow"  # another key (no for_sale): a cursor of one is refused by the other
    kinds = {kind: [wanted for _column, _descending, wanted in keys]}
    if sort == "relevance" and words:
        kinds[RANKED] = [float, datetime, int]
    at = decode_cursor(cursor, kinds, "cursor") if cursor else None
    page = min(page, last_numbered_page(per_page)) if at is None else at.position // per_page + 1
    if sort == "relevance" and words and (at is None or at.kind == RANKED):
        return _ranked_page(stmt, counting, words, at, page, per_page)
    return _keyset_page(stmt, keys, kind, at, page, per_page, counting=counting)


# The cursor kind of a search by relevance (rank, created_at, id); a broad one that came
# newest first pages on with "newest" cursors.
RANKED = "relevance"


def _keyset_page(
    stmt, keys, kind: str, at: Cursor | None, page: int, per_page: int, counted=None, counting=None
) -> Page:
    """One page of `stmt` in the order of `keys` ((column, descending, type)): by page number
    (an OFFSET of at most COUNT_CAP rows) or after a cursor (an index range, however deep).

    The count is capped (COUNT_CAP): from the start on a numbered page, from the cursor on."""
    order_columns = [(column, descending) for column, descending, _type in keys]
    order = [column.desc() if descending else column.asc() for column, descending in order_columns]
    skipped = 0
    counting = stmt if counting is None else counting
    if at is not None:
        stmt = stmt.where(after_key(order_columns, at.key))
        counting = counting.where(after_key(order_columns, at.key))
        skipped = at.position
    if counted is None:
        counted = capped_count(counting.with_only_columns(Listing.id), 1 if at else page, per_page)
    counted, exact = counted
    # The page's ids first, from the index alone where it can, then the rows of those ids.
    ids = stmt.with_only_columns(Listing.id).order_by(*order).limit(per_page + 1)
    if at is None:
        ids = ids.offset((page - 1) * per_page)
    page_ids = ids.subquery("page_ids")
    rows = _with_offer(select(Listing).join(page_ids, page_ids.c.id == Listing.id))
    items = list(db.session.scalars(_card_options(rows).order_by(*order)))
    position = skipped if at is not None else (page - 1) * per_page
    next_cursor = None
    if len(items) > per_page:
        items = items[:per_page]
        last = items[-1]
        key = [_key_of(last, column) for column, _descending in order_columns]
        next_cursor = encode_cursor(kind, key, position + per_page)
    return Page(
        items=items,
        page=page,
        per_page=per_page,
        total=skipped + counted,
        total_is_exact=exact,
        next_cursor=next_cursor,
        start=skipped if at is not None else None,
        keyset=True,
    )


def _key_of(listing: Listing, column) -> Any:
    """The value of a sort column for a loaded listing (the fee per day from its loan offer)."""
    if column is LoanOffer.fee_per_day_cents:
        return listing.loan_offer.fee_per_day_cents if listing.loan_offer else 0
    return getattr(listing, column.key)


def _card_options(stmt):
    """What a listing card shows, loaded with the page's rows."""
    return stmt.options(
        contains_eager(Listing.loan_offer),
        joinedload(Listing.category),
        selectinload(Listing.seller),
        selectinload(Listing.photos),
    )


def _ranked_page(stmt, counting, words: str, at: Cursor | None, page: int, per_page: int) -> Page:
    """A page of a search by relevance: the matches by rank when there are at most COUNT_CAP of
    them; a broader search ("bike": 11,600 of 300,000 listings) comes newest first.

    Ranking reads every match from the table (the GIN index says which rows match, not how
    new they are or whether they are on offer): 11,600 rows were 60-70 ms on PostgreSQL for
    every page of "bike". Newest first, the newest-listings index finds a page of a broad
    search after reading about per_page / (share of listings matching) rows: ~600 for "bike".
    The count (capped, read anyway) tells which one a search is.
    """
    total, exact = capped_count(counting.with_only_columns(Listing.id), page, per_page)
    if at is None and not exact:
        newest = [(Listing.created_at, True, datetime), (Listing.id, True, int)]
        found = _keyset_page(stmt, newest, "newest", None, page, per_page, (total, exact))
        found.order = "newest"
        return found
    ranked = _ranked(stmt.with_only_columns(Listing.id, Listing.created_at), words)
    order_columns = [(ranked.c.score, True), (ranked.c.created_at, True), (ranked.c.id, True)]
    ids = select(ranked.c.id, ranked.c.score)
    if at is not None:
        ids = ids.where(after_key(order_columns, at.key))
    page_ids = (
        ids.order_by(*(column.desc() for column, _descending in order_columns))
        .limit(per_page + 1)
        .offset(0 if at else (page - 1) * per_page)
        .subquery("page_ids")
    )
    rows = (
        select(Listing, page_ids.c.score)
        .join(page_ids, page_ids.c.id == Listing.id)
        .outerjoin(LoanOffer, LoanOffer.listing_id == Listing.id)
    )
    newest_last = (Listing.created_at.desc(), Listing.id.desc())
    found = db.session.execute(
        _card_options(rows).order_by(page_ids.c.score.desc(), *newest_last)
    ).all()
    position = at.position if at is not None else (page - 1) * per_page
    items = [row[0] for row in found[:per_page]]
    next_cursor = None
    if len(found) > per_page:
        last = found[per_page - 1]
        next_cursor = encode_cursor(
            RANKED, (last.score, last[0].created_at, last[0].id), position + per_page
        )
    return Page(
        items=items,
        page=page,
        per_page=per_page,
        total=max(total, position + len(items)) if at is not None else total,
        total_is_exact=exact,
        next_cursor=next_cursor,
        start=at.position if at is not None else None,
        keyset=True,
    )


def _ranked(matches, words: str):
    """The matches (id, created_at) with their score, higher is better.

    PostgreSQL ranks from the stored tsvector (nothing parsed again), SQLite by bm25 from FTS5.
    The score is double precision on both, so a cursor carries it exactly.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        score = func.ts_rank(literal_column(PG_TSVECTOR), _tsquery(words))
        return matches.add_columns(cast(score, Double).label("score")).subquery("ranked")
    scores = (
        text(
            "SELECT rowid AS listing_id, bm25(listings_fts, 4.0, 1.0) AS score "
            "FROM listings_fts WHERE listings_fts MATCH :match"
        )
        .bindparams(match=fts5_query(words))
        .columns(listing_id=Integer, score=Float)
        .cte("fts_scores")
        .prefix_with("MATERIALIZED")
    )
    ranked = matches.add_columns((-scores.c.score).label("score")).join(
        scores, scores.c.listing_id == Listing.id
    )
    return ranked.subquery("ranked")


def availability_window(start: date | None, end: date | None) -> tuple[date, date] | None:
    """The days of an "available from .. to" search (one given alone is that one day), or None.

    Raises ValidationFailed for days in the past, in the wrong order or too far ahead."""
    if start is None and end is None:
        return None
    start, end = start or end, end or start
    assert start is not None and end is not None
    today = calendar.today()
    if start < today:
        raise ValidationFailed(
            "Pick days from today on.", fields={"available_from": ["Pick a day from today on."]}
        )
    if end < start:
        raise ValidationFailed(
            "The last day is before the first.",
            fields={"available_to": ["Pick a day on or after the first day."]},
        )
    if end > today + timedelta(days=AVAILABILITY_HORIZON_DAYS):
        raise ValidationFailed(
            "That is too far ahead.",
            fields={"available_to": ["Look at most two years ahead."]},
        )
    return start, end


def _with_offer(stmt):
    """The listings with their loan offer (if any) joined in, for filters and loading."""
    return stmt.outerjoin(LoanOffer, LoanOffer.listing_id == Listing.id)


def _on_offer(stmt, offer: str, narrower: bool = False):
    """Active listings that can be bought now ("buy"), borrowed ("borrow"), or either, that no
    moderator hid or removed (every public list of listings starts here).

    narrower: something narrower than "active" finds the rows (a search's words, a loan offer),
    and no order matters (a count): SQLite then reads those first, not every active listing in
    an index's order looking for them ("bike": 55 -> 16 ms to count to 1,001; see _unindexed).
    """
    buyable = _buyable()
    lendable = LoanOffer.active.is_(True)
    wanted = {"buy": buyable, "borrow": lendable}.get(offer, or_(buyable, lendable))
    status = _unindexed_text(Listing.status) if narrower else Listing.status
    return stmt.where(
        status == ListingStatus.ACTIVE, wanted, visibility.shown("listing", Listing.id)
    )


def _buyable():
    """For sale with some left. On SQLite no index serves the for_sale test (see _unindexed)."""
    for_sale = Listing.for_sale
    if db.session.get_bind().dialect.name == "sqlite":
        for_sale = literal_column("+listings.for_sale", Boolean)
    return and_(for_sale.is_(True), Listing.quantity > 0)


def _unindexed(column):
    """The column, as a filter SQLite must not answer from an index (a unary +).

    SQLite has no statistics here (no ANALYZE: bench/README.md), so it takes any index whose
    leading columns a query names: with the price-order indexes (migration 0017), a search
    with a price range walked every listing under that price instead of the few matches of
    its words (66 -> 408 ms), and "to buy" sorted every buyable listing. PostgreSQL weighs
    the indexes by their statistics and keeps the plain column.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return column + 0
    return column


def _unindexed_text(column):
    """A text column SQLite must not answer from an index (a unary +, see _unindexed)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return literal_column(f"+{column.table.name}.{column.key}", column.type)
    return column


def _clean_query(q: str | None) -> str:
    """The user's text without control characters (PostgreSQL refuses NUL), trimmed."""
    if not q:
        return ""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", " ", str(q))[:MAX_QUERY_CHARS].strip()
    # Text without a single word character cannot match anything; treat it as no query.
    return cleaned if re.search(r"\w", cleaned) else ""


def fts5_query(text_: str) -> str:
    """Turn any text into a safe FTS5 query: every word quoted, all required, the last a prefix.

    FTS5 syntax (AND, NEAR(, *, -, quotes, column filters) in the input becomes plain words.
    """
    tokens = re.findall(r"\w+", text_)[:MAX_QUERY_TOKENS]
    if not tokens:
        return ""
    quoted = [f'"{token}"' for token in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)


def _matches(words: str):
    """The condition "the listing matches the words", for the count and the page alike.

    On SQLite the FTS5 match runs once, as a set of rowids (joined, SQLite ran it once per
    listing: 275 s for "bike" in 300,000 listings); on PostgreSQL it reads the GIN index.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return literal_column(PG_TSVECTOR).op("@@")(_tsquery(words))
    matching = text("SELECT rowid FROM listings_fts WHERE listings_fts MATCH :match")
    return Listing.id.in_(matching.bindparams(match=fts5_query(words)).columns(rowid=Integer))


def _tsquery(words: str):
    return func.websearch_to_tsquery(literal_column("'english'"), words)


# --- changing -----------------------------------------------------------------------------------


def create_listing(
    seller_id: int,
    *,
    title: str,
    description: str,
    category_slug: str,
    condition: str,
    price_cents: int | None = None,
    quantity: int | None = 1,
    currency: str | None = None,
    photos: Sequence[FileStorage] = (),
    for_sale: bool = True,
    loan_offer: Mapping[str, Any] | None = None,
) -> Listing:
    """Put something up for sale, for loan (`loan_offer`: its terms, see offers.TERMS) or both,
    with its photos. A listing only for loan has no price. Raises ValidationFailed (nothing is
    saved)."""
    ensure_not_suspended(seller_id)
    currency = (currency or current_app.config["SITE_CURRENCY"]).upper()
    fields: dict[str, Any] = {
        "title": title,
        "description": description,
        "category_slug": category_slug,
        "condition": condition,
    }
    if for_sale:
        fields.update(price_cents=price_cents, quantity=quantity)
    values, errors = _validate(fields, min_quantity=1)
    terms, offer_errors = _offer_terms(bool(for_sale), loan_offer, currency, base=None)
    errors.update(offer_errors)
    uploads = _real_uploads(photos)
    processed = []
    if len(uploads) > _max_photos():
        errors["photos"] = [f"You can add at most {_max_photos()} photos to a listing."]
    else:
        processed, photo_errors = _process_all(uploads)
        if photo_errors:
            errors["photos"] = photo_errors
    if errors:
        raise _invalid(errors)
    # The gates of the seller's trust level (app/trust/levels.py).
    trust.check_daily_listings(seller_id, partial(_listed_since, seller_id))
    if for_sale:
        trust.check_listing_price(seller_id, values.get("price_cents"))
    if terms is not None:
        trust.check_deposit(seller_id, terms.get("deposit_cents"))
    if not for_sale:  # nothing to sell: no price, and the one thing that is lent
        values.update(price_cents=0, quantity=1)
    listing = Listing(
        seller_id=seller_id,
        currency=currency,
        status=ListingStatus.ACTIVE.value,
        for_sale=bool(for_sale),
        **values,
    )
    if terms is not None:
        offers.lend(listing, terms)
    db.session.add(listing)
    db.session.flush()
    _store_photos(listing, processed)
    logger.info("listing %s created by user %s", listing.id, seller_id)
    return listing


def update_listing(listing_id: int, editor_id: int, **fields: Any) -> Listing:
    """Change a listing's details (owner only). Quantity 0 marks it sold out.

    `for_sale` offers it for sale (a price is then needed) or stops selling it; `loan_offer`
    sets its loan terms (over the current ones) or, None, stops lending it (loans already
    agreed go on). At least one of the two stays on. Raises NotFound, Forbidden,
    ValidationFailed.
    """
    ensure_not_suspended(editor_id)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"update_listing cannot change {sorted(unknown)}")
    listing = _lock_listing(listing_id)
    _require_owner(listing, editor_id)
    for_sale = bool(fields.pop("for_sale", listing.for_sale))
    lending = "loan_offer" in fields
    new_terms = fields.pop("loan_offer", None)
    if not for_sale:  # a price or stock of something not sold is not used: leave them as they are
        fields.pop("price_cents", None)
        fields.pop("quantity", None)
    values, errors = _validate(fields, min_quantity=0)
    if for_sale and not listing.for_sale and "price_cents" not in fields:
        errors["price"] = ["Enter a price to offer it for sale."]
    if lending:
        base = offers.current_terms(listing.loan_offer)
        terms, offer_errors = _offer_terms(for_sale, new_terms, listing.currency, base=base)
    else:
        is_lent = listing.loan_offer is not None and listing.loan_offer.active
        terms, offer_errors = None, {} if for_sale or is_lent else {"offer": [offers.NOT_OFFERED]}
    errors.update(offer_errors)
    if errors:
        raise _invalid(errors)
    if for_sale and values.get("price_cents") not in (None, listing.price_cents):
        trust.check_listing_price(editor_id, values["price_cents"])
    if terms is not None and terms.get("deposit_cents") != _current_deposit(listing):
        trust.check_deposit(editor_id, terms.get("deposit_cents"))
    for name, value in values.items():
        setattr(listing, name, value)
    if for_sale and not listing.for_sale and listing.quantity == 0:
        listing.quantity = 1  # offered for sale again: the one thing there is
    listing.for_sale = for_sale
    if lending and terms is None:
        offers.stop_lending(listing)
    elif terms is not None:
        offers.lend(listing, terms)
    db.session.commit()
    logger.info("listing %s updated by user %s", listing.id, editor_id)
    return listing


def _current_deposit(listing: Listing) -> int | None:
    offer = listing.loan_offer
    return offer.deposit_cents if offer is not None and offer.active else None


def _offer_terms(
    for_sale: bool,
    loan_offer: Mapping[str, Any] | None,
    currency: str,
    *,
    base: Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Checked loan terms (None: not lent) and the errors, including "offer it somehow"."""
    if loan_offer is None:
        return None, {} if for_sale else {"offer": [offers.NOT_OFFERED]}
    return offers.check_terms(loan_offer, currency, base=base)


def set_listing_status(listing_id: int, editor_id: int, status: str) -> Listing:
    """Pause, resume ("active") or delete a listing (owner only). Deleting cannot be undone.

    Raises NotFound, Forbidden, ValidationFailed.
    """
    if status not in {s.value for s in ListingStatus}:
        raise ValidationFailed(f"Unknown listing status {status!r}.")
    listing = _lock_listing(listing_id)
    _require_owner(listing, editor_id)
    listing.status = status
    db.session.commit()
    logger.info("listing %s set %s by user %s", listing.id, status, editor_id)
    return listing


def add_photos(listing_id: int, editor_id: int, files: Iterable[FileStorage]) -> list[ListingPhoto]:
    """Add photos to a listing, all or none. Raises NotFound, Forbidden, ValidationFailed."""
    listing = _lock_listing(listing_id)
    _require_owner(listing, editor_id)
    uploads = _real_uploads(files)
    if not uploads:
        raise _invalid({"photos": ["Choose one or more photos to upload."]})
    room = _max_photos() - len(listing.photos)
    if len(uploads) > room:
        message = f"A listing can have at most {_max_photos()} photos" + (
            f"; you can add {room} more." if room > 0 else ", and this one is full."
        )
        raise _invalid({"photos": [message]})
    processed, photo_errors = _process_all(uploads)
    if photo_errors:
        raise _invalid({"photos": photo_errors})
    return _store_photos(listing, processed)


def add_photo(listing_id: int, editor_id: int, file_storage: FileStorage) -> ListingPhoto:
    """Add one photo to a listing. Raises NotFound, Forbidden, ValidationFailed."""
    return add_photos(listing_id, editor_id, [file_storage])[0]


def remove_photo(photo_id: int, editor_id: int) -> None:
    """Delete a photo and its files (owner only). Raises NotFound, Forbidden."""
    photo, listing = _photo_for_edit(photo_id, editor_id)
    paths = (photo.image_path, photo.thumb_path)
    listing.photos.remove(photo)
    for position, other in enumerate(listing.photos):
        other.position = position
    db.session.commit()
    media.delete_files(current_app.config["UPLOAD_DIR"], paths)
    logger.info("photo %s removed from listing %s", photo_id, listing.id)


def make_photo_first(photo_id: int, editor_id: int) -> ListingPhoto:
    """Make a photo the listing's main one (shown in lists). Raises NotFound, Forbidden."""
    photo, listing = _photo_for_edit(photo_id, editor_id)
    ordered = [photo] + [p for p in listing.photos if p.id != photo.id]
    for position, each in enumerate(ordered):
        each.position = position
    db.session.commit()
    db.session.expire(listing, ["photos"])
    return photo


def get_photo(photo_id: int) -> ListingPhoto:
    """A photo of a listing that has not been deleted. Raises NotFound."""
    photo = db.session.get(ListingPhoto, photo_id)
    if photo is None or photo.listing.status == ListingStatus.DELETED:
        raise NotFound("That photo does not exist.")
    return photo


# --- helpers ------------------------------------------------------------------------------------


def _lock_listing(listing_id: int) -> Listing:
    # The row lock keeps an edit from overwriting a quantity an order has just reserved.
    listing = db.session.get(Listing, listing_id, with_for_update=True, populate_existing=True)
    if listing is None or listing.status == ListingStatus.DELETED:
        raise NotFound("That listing does not exist or has been removed.")
    return listing


def _require_owner(listing: Listing, user_id: int) -> None:
    if listing.seller_id != user_id:
        raise Forbidden("Only the seller can change this listing.")


def _photo_for_edit(photo_id: int, editor_id: int) -> tuple[ListingPhoto, Listing]:
    photo = db.session.get(ListingPhoto, photo_id)
    if photo is None:
        raise NotFound("That photo does not exist.")
    listing = _lock_listing(photo.listing_id)
    _require_owner(listing, editor_id)
    return photo, listing


def _max_photos() -> int:
    return int(current_app.config["MAX_PHOTOS_PER_LISTING"])


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    first = next(iter(errors.values()))[0]
    message = first if len(errors) == 1 else "Some fields are not valid."
    return ValidationFailed(message, fields=errors)


def _validate(fields: dict[str, Any], *, min_quantity: int) -> tuple[dict, dict[str, list[str]]]:
    """Check the given listing fields; return (column values, errors by form field name)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "title" in fields:
        title = " ".join(str(fields["title"] or "").split())
        if not title:
            errors["title"] = [TITLE_REQUIRED]
        elif not TITLE_MIN <= len(title) <= TITLE_MAX:
            errors["title"] = [f"Use {TITLE_MIN} to {TITLE_MAX} characters."]
        values["title"] = title
    if "description" in fields:
        description = str(fields["description"] or "").strip().replace("\r\n", "\n")
        if len(description) > DESCRIPTION_MAX:
            errors["description"] = [
                f"Use at most {DESCRIPTION_MAX} characters (this has {len(description)})."
            ]
        values["description"] = description
    if "category_slug" in fields:
        category_id = category_id_of(fields["category_slug"] or "")
        if category_id is None:
            errors["category"] = ["Choose a category."]
        values["category_id"] = category_id
    if "condition" in fields:
        condition = str(fields["condition"] or "")
        if condition not in {c.value for c in Condition}:
            errors["condition"] = ["Choose a condition."]
        values["condition"] = condition
    if "price_cents" in fields:
        price = fields["price_cents"]
        if price is None:
            errors["price"] = ["Enter a price."]
        elif not isinstance(price, int) or isinstance(price, bool) or price < 0:
            errors["price"] = ["Enter a price of zero or more."]
        elif price > MAX_CENTS:
            errors["price"] = ["That price is too large."]
        values["price_cents"] = price
    if "quantity" in fields:
        quantity = fields["quantity"]
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not min_quantity <= quantity <= QUANTITY_MAX
        ):
            errors["quantity"] = [f"Enter a whole number from {min_quantity} to {QUANTITY_MAX}."]
        values["quantity"] = quantity
    return values, errors


def _real_uploads(files: Iterable[FileStorage] | None) -> list[FileStorage]:
    # An empty file input still sends one part with no filename; that is "no photo".
    return [f for f in (files or ()) if f is not None and (f.filename or "").strip()]


def _process_all(uploads: list[FileStorage]) -> tuple[list[list[media.Rendition]], list[str]]:
    processed, errors = [], []
    max_bytes = int(current_app.config["MAX_PHOTO_BYTES"])
    for upload in uploads:
        try:
            processed.append(media.process(upload, PHOTO_SIZES, max_bytes=max_bytes))
        except media.ImageRejected as rejected:
            errors.append(str(rejected))
    return processed, errors


def _store_photos(listing: Listing, processed: list[list[media.Rendition]]) -> list[ListingPhoto]:
    """Write the files, add the rows and commit; on failure remove the files again."""
    upload_dir = current_app.config["UPLOAD_DIR"]
    start = max((p.position for p in listing.photos), default=-1) + 1
    written: list[str] = []
    rows: list[ListingPhoto] = []
    try:
        for offset, renditions in enumerate(processed):
            paths = media.store(upload_dir, f"listings/{int(listing.id)}", renditions)
            written += paths.values()
            full = renditions[0]
            row = ListingPhoto(
                position=start + offset,
                image_path=paths["full"],
                thumb_path=paths["thumb"],
                width=full.width,
                height=full.height,
            )
            listing.photos.append(row)
            rows.append(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        media.delete_files(upload_dir, written)
        raise
    return rows


def _listed_since(seller_id: int, since: datetime) -> tuple[int, datetime | None]:
    """How many listings the seller put up since `since`, and when the oldest of them was
    (the daily allowance of a new account, app/trust/levels.py)."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Listing.created_at)).where(
            Listing.seller_id == seller_id, Listing.created_at >= since
        )
    ).one()
    return count, oldest

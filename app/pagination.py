"""One page of results, the same shape for every list in the marketplace."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, literal, or_, select

from app.errors import ValidationFailed
from app.extensions import db

T = TypeVar("T")

MAX_PAGE = 10_000  # nobody pages this far; past it an OFFSET only costs the database
MAX_PER_PAGE = 100
# A list counts its rows up to this many (or a few pages past the one shown, when deeper) and
# then says "1,000+": an exact count(*) of 300,000 listings took 0.25 to 0.5 s on every list
# page; counting 1,001 rows reads about as much as showing a page.
COUNT_CAP = 1_000
PAGES_AHEAD = 10  # a deep page still knows of this many pages after it
# Lists that page by cursor (keyset: "the rows after this one") number their pages only as far
# as they count: past the first COUNT_CAP rows an OFFSET reads every row it skips (page 500 of
# 300,000 listings: 65 ms on PostgreSQL), a cursor reads only the page (issue 14).
CURSOR_VERSION = 1


class BadCursor(ValidationFailed):
    """A cursor that this list did not make (edited, cut short, or from another sort order)."""

    code = "invalid_cursor"
    default_message = "That link to more results is broken or out of date."


def last_numbered_page(per_page: int) -> int:
    """The deepest page a keyset list serves by number: the one holding its COUNT_CAP-th row."""
    return max(1, -(-COUNT_CAP // max(1, per_page)))


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page starts: after the row whose sort key is `key`, `position` rows in."""

    kind: str
    key: tuple[Any, ...]
    position: int


def encode_cursor(kind: str, key: Sequence[Any], position: int) -> str:
    """An opaque, URL-safe cursor for the rows after the one with this sort key."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    payload = json.dumps([CURSOR_VERSION, kind, position, plain], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def decode_cursor(raw: str, kinds: dict[str, Sequence[type]], field_name: str) -> Cursor:
    """The Cursor in `raw`, when its kind is one of `kinds` (kind -> the type of each key
    value: datetime, int, float, bool). Raises BadCursor, naming `field_name`, otherwise."""
    try:
        text = str(raw).strip()
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        version, kind, position, plain = payload
        types = kinds[kind]
        if version != CURSOR_VERSION or len(plain) != len(types):
            raise ValueError("another version or shape")
        if type(position) is not int or not 0 <= position <= 2**53:
            raise ValueError("position")
        key = tuple(_key_value(value, wanted) for value, wanted in zip(plain, types, strict=True))
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(fields={field_name: [BadCursor.default_message]}) from None
    return Cursor(kind=kind, key=key, position=position)


def _key_value(value: Any, wanted: type) -> Any:
    if wanted is datetime and isinstance(value, str):
        moment = datetime.fromisoformat(value)  # times are UTC: one without a zone is too
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if wanted is float and type(value) in (int, float):
        return float(value)
    if type(value) is wanted and (wanted is not int or abs(value) <= 2**63 - 1):
        return value
    raise ValueError(f"not a {wanted.__name__}: {value!r}")


def after_key(columns: Sequence[tuple[Any, bool]], key: Sequence[Any]):
    """The condition "this row comes after `key`" in the order of `columns` ((column,
    descending) pairs): a bound on the first column (which an index can range over) and the
    tie-breaks after it."""
    condition = None
    for (column, descending), raw in reversed(list(zip(columns, key, strict=True))):
        value = literal(raw) if isinstance(raw, bool) else raw  # SQL compares true and false
        beyond = column < value if descending else column > value
        condition = beyond if condition is None else or_(beyond, and_(column == value, condition))
    first, descending = columns[0]
    bound = literal(key[0]) if isinstance(key[0], bool) else key[0]
    return and_(first <= bound if descending else first >= bound, condition)


def page_number(raw: object, default: int = 1) -> int:
    """A 1-based page number from a query value (text, int or None), clamped to 1..MAX_PAGE.

    Every list, on the web and in the API's services, reads its page through this, so
    `?page=9223372036854775807` or `?page=-3` is an ordinary first or last page, not an error.
    """
    try:
        number = int(str(raw).strip()) if raw is not None and str(raw).strip() else default
    except ValueError:
        number = default
    return min(MAX_PAGE, max(1, number))


def per_page_count(raw: object, default: int) -> int:
    """How many items per page, from a query value, clamped to 1..MAX_PER_PAGE."""
    try:
        number = int(str(raw).strip()) if raw is not None and str(raw).strip() else default
    except ValueError:
        number = default
    return min(MAX_PER_PAGE, max(1, number))


def capped_count(stmt: Select, page: int, per_page: int) -> tuple[int, bool]:
    """How many rows `stmt` returns, counted no further than COUNT_CAP (or PAGES_AHEAD pages
    past `page`, when that is further), and whether that is all of them (exact): "1,000+".

    The count reads at most that many rows, so it costs what showing the page costs, however
    many rows match. `stmt` is the list's query without its order; its columns do not matter.
    """
    cap = max(COUNT_CAP, (page + PAGES_AHEAD) * per_page)
    limited = stmt.order_by(None).limit(cap + 1).subquery()
    counted = db.session.scalar(select(func.count()).select_from(limited)) or 0
    return min(counted, cap), counted <= cap


def page_window(page: int, pages: int, around: int = 1) -> list[int | None]:
    """The page numbers a pager shows: the first, the last and `around` on each side of `page`,
    with None where numbers are left out (shown as "…"). A gap of one number shows the number."""
    page = min(max(page, 1), pages)
    shown = {1, pages, *range(page - around, page + around + 1)}
    numbers = sorted(n for n in shown if 1 <= n <= pages)
    window: list[int | None] = []
    last = 0
    for number in numbers:
        if number - last == 2:
            window.append(number - 1)
        elif number - last > 2:
            window.append(None)
        window.append(number)
        last = number
    return window


@dataclass
class Page(Generic[T]):
    """The items of page `page` (1-based) out of `total` results, `per_page` at a time.

    total_is_exact is False when the list stopped counting (capped_count): there are more than
    `total` results, and the last page is not known.
    """

    items: list[T] = field(default_factory=list)
    page: int = 1
    per_page: int = 24
    total: int = 0
    total_is_exact: bool = True
    # Keyset lists: the cursor of the rows after this page (None on the last page), and how
    # many rows come before this page when it was read from a cursor (None: by page number).
    next_cursor: str | None = None
    start: int | None = None
    keyset: bool = False
    # The order the rows came in when it is not the one asked for: "newest" for a search by
    # relevance too broad to rank (see app/listings/services.py _ranked_page).
    order: str | None = None

    @property
    def total_label(self) -> str:
        """The total as a page says it: "1,234", or "1,000+" when counting stopped there."""
        return f"{self.total:,}" + ("" if self.total_is_exact else "+")

    @property
    def pages(self) -> int:
        """How many pages there are; at least 1, so "page 1 of 1" reads well when empty."""
        return max(1, -(-self.total // self.per_page)) if self.per_page > 0 else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.keyset:
            return self.next_cursor is not None
        return self.page < self.pages or (not self.total_is_exact and bool(self.items))

    @property
    def by_cursor(self) -> bool:
        """Read from a cursor (past the numbered pages, or following a Next link)."""
        return self.start is not None

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when the page is empty)."""
        if not self.items:
            return 0
        return (self.start if self.start is not None else (self.page - 1) * self.per_page) + 1

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

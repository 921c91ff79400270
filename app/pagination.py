"""One page of results, the same shape for every list in the marketplace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select

from app.extensions import db

T = TypeVar("T")

MAX_PAGE = 10_000  # nobody pages this far; past it an OFFSET only costs the database
MAX_PER_PAGE = 100
# A list counts its rows up to this many (or a few pages past the one shown, when deeper) and
# then says "1,000+": an exact count(*) of 300,000 listings took 0.25 to 0.5 s on every list
# page; counting 1,001 rows reads about as much as showing a page.
COUNT_CAP = 1_000
PAGES_AHEAD = 10  # a deep page still knows of this many pages after it


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
        return self.page < self.pages or (not self.total_is_exact and bool(self.items))

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

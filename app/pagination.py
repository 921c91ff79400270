"""One page of results, the same shape for every list in the marketplace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE = 10_000  # nobody pages this far; past it an OFFSET only costs the database
MAX_PER_PAGE = 100


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
    """The items of page `page` (1-based) out of `total` results, `per_page` at a time."""

    items: list[T] = field(default_factory=list)
    page: int = 1
    per_page: int = 24
    total: int = 0

    @property
    def pages(self) -> int:
        """How many pages there are; at least 1, so "page 1 of 1" reads well when empty."""
        return max(1, -(-self.total // self.per_page)) if self.per_page > 0 else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

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

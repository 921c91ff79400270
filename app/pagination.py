"""One page of results, the same shape for every list in the marketplace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


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

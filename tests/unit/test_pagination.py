"""Which page numbers a pager shows."""

import pytest

from app.pagination import page_window


@pytest.mark.parametrize(
    ("page", "pages", "shown"),
    [
        (1, 1, [1]),
        (1, 2, [1, 2]),
        (1, 5, [1, 2, None, 5]),
        (3, 5, [1, 2, 3, 4, 5]),
        (5, 9, [1, None, 4, 5, 6, None, 9]),
        (9, 9, [1, None, 8, 9]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
        (40, 9, [1, None, 8, 9]),
    ],
)
def test_page_window_shows_ends_and_neighbours(page, pages, shown):
    assert page_window(page, pages) == shown


def test_page_window_never_hides_a_single_number_behind_a_gap():
    for pages in range(1, 30):
        for page in range(1, pages + 1):
            window = page_window(page, pages)
            numbers = [n for n in window if n is not None]
            assert numbers == sorted(set(numbers)) and numbers[0] == 1 and numbers[-1] == pages
            for i, n in enumerate(window):
                if n is None:
                    assert window[i + 1] - window[i - 1] > 2

"""The demo's pictures show the item: a drawing per kind of thing, not a placeholder tile."""

import random

import pytest
from PIL import Image, ImageChops

from app.demo import ITEMS
from app.demo_pictures import DRAWINGS, picture

DRAWINGS_USED = sorted({drawing for items in ITEMS.values() for _t, drawing, _b, _p in items})


def _image(drawing: str, color: str = "#1d4ed8", seed: int = 1) -> Image.Image:
    return Image.open(picture(drawing, color, random.Random(seed)).stream).convert("RGB")


def _count_above(gray: Image.Image, level: int) -> int:
    return sum(gray.histogram()[level + 1 :])


def test_every_demo_item_has_its_own_drawing():
    assert set(DRAWINGS_USED) <= set(DRAWINGS)
    titles = [title for items in ITEMS.values() for title, *_ in items]
    assert len(DRAWINGS_USED) >= 0.9 * len(titles) - 1  # nearly one drawing per kind of thing


@pytest.mark.parametrize("drawing", DRAWINGS_USED)
def test_a_drawing_fills_a_good_part_of_the_frame(drawing):
    image = _image(drawing)
    assert image.size == (800, 600)
    # Far from the backdrop: the object's own colours and lines.
    backdrop = image.getpixel((5, 5))
    diff = ImageChops.difference(image, Image.new("RGB", image.size, backdrop)).convert("L")
    covered = _count_above(diff, 60) / (800 * 600)
    assert 0.04 < covered < 0.6, covered


def test_different_things_look_different():
    a, b = _image("bike", seed=3), _image("lamp", seed=3)
    diff = ImageChops.difference(a, b).convert("L")
    assert _count_above(diff, 60) > 800 * 600 * 0.03

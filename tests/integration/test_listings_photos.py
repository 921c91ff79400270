"""Listing photos: checked, re-encoded in two sizes, served with long cache headers."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlalchemy import select

from app.errors import Forbidden, ValidationFailed
from app.extensions import db
from app.listings import services
from app.listings.models import Listing, ListingPhoto
from tests.factories import ListingFactory, UserFactory
from tests.integration.listing_images import bomb_png, image_bytes, upload


def _file(app, relative: str) -> str:
    return os.path.join(app.config["UPLOAD_DIR"], relative)


def test_add_photo_stores_a_full_and_a_thumb_jpeg_of_the_right_sizes(app):
    listing = ListingFactory()
    photo = services.add_photo(listing.id, listing.seller_id, upload(size=(3200, 1600)))
    assert (photo.width, photo.height) == (1600, 800)
    assert photo.image_path.startswith(f"listings/{listing.id}/")
    with Image.open(_file(app, photo.image_path)) as full:
        assert (full.format, full.size) == ("JPEG", (1600, 800))
    with Image.open(_file(app, photo.thumb_path)) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (480, 360))


def test_small_photos_are_not_enlarged(app):
    listing = ListingFactory()
    photo = services.add_photo(listing.id, listing.seller_id, upload(size=(300, 200), fmt="PNG"))
    assert (photo.width, photo.height) == (300, 200)


def test_photo_is_turned_upright_and_stripped_of_exif(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "SecretCam"  # camera make; stands in for GPS and other personal data
    listing = ListingFactory()
    photo = services.add_photo(
        listing.id, listing.seller_id, upload(size=(600, 400), exif=exif.tobytes())
    )
    assert (photo.width, photo.height) == (400, 600)
    with Image.open(_file(app, photo.image_path)) as full:
        assert dict(full.getexif()) == {}
    with open(_file(app, photo.image_path), "rb") as stored:
        assert b"SecretCam" not in stored.read()


def test_random_file_names_differ_for_the_same_upload(app):
    listing = ListingFactory()
    data = image_bytes()
    first = services.add_photo(listing.id, listing.seller_id, upload(data))
    second = services.add_photo(listing.id, listing.seller_id, upload(data))
    assert first.image_path != second.image_path
    assert [p.id for p in db.session.get(Listing, listing.id).photos] == [first.id, second.id]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a but not really a picture", "is not an image we can read"),
        (b"%PDF-1.7 a document", "is not an image we can read"),
        (b"", "is empty"),
        (image_bytes()[:200], "is not an image we can read"),  # truncated JPEG
        (bomb_png(), "at most 40 megapixels"),
        (bomb_png(7000, 7000), "at most 40 megapixels"),
    ],
    ids=["fake-gif", "pdf", "empty", "truncated", "bomb-100mp", "bomb-49mp"],
)
def test_add_photo_rejects_non_images_and_bombs_with_a_message(app, data, message):
    listing = ListingFactory()
    with pytest.raises(ValidationFailed) as caught:
        services.add_photo(listing.id, listing.seller_id, upload(data, filename="x.jpg"))
    assert message in caught.value.fields["photos"][0]
    assert db.session.scalar(select(ListingPhoto)) is None


def test_add_photo_rejects_files_over_the_size_limit(app):
    app.config["MAX_PHOTO_BYTES"] = 20_000
    listing = ListingFactory()
    big = image_bytes(size=(300, 300), noise=True)
    assert len(big) > 20_000
    with pytest.raises(ValidationFailed) as caught:
        services.add_photo(listing.id, listing.seller_id, upload(big, filename="big.jpg"))
    assert "big.jpg is too large: the limit is 19 KB." in caught.value.fields["photos"][0]


def test_the_ninth_photo_is_refused(app, make_client):
    listing = ListingFactory()
    services.add_photos(listing.id, listing.seller_id, [upload(size=(64, 48)) for _ in range(8)])
    response = make_client(listing.seller).post(
        f"/listings/{listing.id}/photos",
        data={"photos": [(io.BytesIO(image_bytes(size=(64, 48))), "ninth.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "at most 8 photos" in response.get_data(as_text=True)
    assert len(db.session.get(Listing, listing.id).photos) == 8


def test_create_with_nine_photos_is_refused_and_saves_nothing(app):
    seller = UserFactory()
    with pytest.raises(ValidationFailed) as caught:
        services.create_listing(
            seller.id,
            title="Many photos",
            description="",
            category_slug="other",
            condition="good",
            price_cents=100,
            quantity=1,
            photos=[upload(size=(32, 32)) for _ in range(9)],
        )
    assert "at most 8 photos" in caught.value.fields["photos"][0]
    assert db.session.scalar(select(Listing)) is None


def test_sell_form_with_a_non_image_shows_the_message_and_creates_nothing(app, make_client):
    response = make_client(UserFactory()).post(
        "/sell",
        data={
            "title": "Garden gnome",
            "category": "home-garden",
            "condition": "good",
            "price": "5",
            "quantity": "1",
            "photos": [(io.BytesIO(b"not an image"), "gnome.txt")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "gnome.txt is not an image we can read" in response.get_data(as_text=True)
    assert db.session.scalar(select(Listing)) is None


def test_edit_page_uploads_photos(app, make_client):
    listing = ListingFactory()
    response = make_client(listing.seller).post(
        f"/listings/{listing.id}/photos",
        data={
            "photos": [(io.BytesIO(image_bytes()), "a.jpg"), (io.BytesIO(image_bytes()), "b.jpg")]
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert len(db.session.get(Listing, listing.id).photos) == 2


def test_remove_photo_deletes_its_files_and_renumbers(app, make_client):
    listing = ListingFactory()
    first, second = services.add_photos(
        listing.id, listing.seller_id, [upload(size=(64, 48)), upload(size=(64, 48))]
    )
    paths = [_file(app, first.image_path), _file(app, first.thumb_path)]
    response = make_client(listing.seller).post(f"/photos/{first.id}/delete")
    assert response.status_code == 303
    assert not any(os.path.exists(path) for path in paths)
    db.session.expire_all()
    remaining = db.session.get(Listing, listing.id).photos
    assert [(p.id, p.position) for p in remaining] == [(second.id, 0)]


def test_make_photo_first_moves_it_to_the_front(app, make_client):
    listing = ListingFactory()
    photos = services.add_photos(
        listing.id, listing.seller_id, [upload(size=(64, 48)) for _ in range(3)]
    )
    make_client(listing.seller).post(f"/photos/{photos[2].id}/first")
    db.session.expire_all()
    ordered = [p.id for p in db.session.get(Listing, listing.id).photos]
    assert ordered == [photos[2].id, photos[0].id, photos[1].id]


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
@pytest.mark.parametrize("action", ["delete", "first"])
def test_only_the_owner_may_change_photos(app, make_client, who, action):
    listing = ListingFactory()
    photos = services.add_photos(
        listing.id, listing.seller_id, [upload(size=(64, 48)), upload(size=(64, 48))]
    )
    client = make_client(None if who == "anonymous" else UserFactory())
    response = client.post(f"/photos/{photos[1].id}/{action}")
    assert response.status_code == (302 if who == "anonymous" else 403)
    db.session.expire_all()
    assert [p.id for p in db.session.get(Listing, listing.id).photos] == [p.id for p in photos]


def test_a_stranger_cannot_add_photos(app):
    listing = ListingFactory()
    with pytest.raises(Forbidden):
        services.add_photo(listing.id, UserFactory().id, upload())


def test_photos_are_served_with_long_cache_headers(app, client):
    listing = ListingFactory()
    photo = services.add_photo(listing.id, listing.seller_id, upload(size=(800, 600)))
    for size, expected in (("full", (800, 600)), ("thumb", (480, 360))):
        response = client.get(f"/photos/{photo.id}/{size}")
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        with Image.open(io.BytesIO(response.data)) as served:
            assert served.size == expected


def test_photo_route_refuses_unknown_sizes_missing_photos_and_deleted_listings(app, client):
    listing = ListingFactory()
    photo = services.add_photo(listing.id, listing.seller_id, upload(size=(64, 48)))
    assert client.get(f"/photos/{photo.id}/original").status_code == 404
    assert client.get(f"/photos/{photo.id}/..%2F..%2Fconfig.py").status_code == 404
    assert client.get("/photos/999999/full").status_code == 404
    services.set_listing_status(listing.id, listing.seller_id, "deleted")
    assert client.get(f"/photos/{photo.id}/full").status_code == 404

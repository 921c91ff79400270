"""One pipeline for every uploaded image (app/media.py): listing photos and avatars get the
same checks (content, format, pixels before decoding, bytes) and the same clean output."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app import media
from app.extensions import db
from tests.factories import ListingFactory, UserFactory
from tests.integration.listing_images import bomb_png, image_bytes

ROOT = Path(__file__).resolve().parents[2]


def _post_photo(make_client, data: bytes, filename: str):
    listing = ListingFactory()
    response = make_client(listing.seller).post(
        f"/listings/{listing.id}/photos",
        data={"photos": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    db.session.expire_all()
    stored = [p.image_path for p in listing.photos]
    return response, stored


def _post_avatar(make_client, data: bytes, filename: str):
    user = UserFactory()
    response = make_client(user).post(
        "/settings/avatar",
        data={"avatar": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    db.session.expire_all()
    return response, [user.avatar_path] if user.avatar_path else []


UPLOADS = {"listing photo": _post_photo, "avatar": _post_avatar}


def _jpeg_with_comment(text: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), "teal").save(out, "JPEG", comment=text)
    return out.getvalue()


def _bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "teal").save(out, "BMP")
    return out.getvalue()


@pytest.mark.parametrize("kind", UPLOADS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bomb_png(9400, 9400), "at most 40 megapixels"),  # header only: refused undecoded
        (bomb_png(7000, 7000), "at most 40 megapixels"),
        (_bmp(), "not an image we can read"),  # a real image, but not on the allow-list
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image we can read"),
        (b"", "is empty"),
    ],
    ids=["88mp-header", "49mp-header", "bmp", "svg", "empty"],
)
def test_every_upload_gets_the_same_refusals(make_client, kind, data, message):
    response, stored = UPLOADS[kind](make_client, data, "upload.png")
    assert response.status_code == 422
    assert message in response.text
    assert stored == []


@pytest.mark.parametrize("kind", UPLOADS)
def test_every_upload_is_stored_without_any_metadata(app, make_client, kind):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    jpeg = io.BytesIO()
    Image.new("RGB", (600, 400), "teal").save(
        jpeg, "JPEG", comment=b"secret-comment", exif=exif.tobytes()
    )
    response, stored = UPLOADS[kind](make_client, jpeg.getvalue(), "upload.jpg")
    assert response.status_code in (302, 303)
    data = Path(app.config["UPLOAD_DIR"], stored[0]).read_bytes()
    assert b"secret-comment" not in data and b"SecretCam" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert "comment" not in image.info and not image.getexif()


@pytest.mark.parametrize("kind", UPLOADS)
def test_the_content_decides_the_format_not_the_name(app, make_client, kind):
    png = image_bytes(size=(400, 300), fmt="PNG")
    response, stored = UPLOADS[kind](make_client, png, "holiday.gif")
    assert response.status_code in (302, 303)
    assert len(stored) == 1


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "JPEG"),
        (b"\x89PNG\r\n\x1a\nrest", "PNG"),
        (b"GIF89a...", "GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"BM....", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniff_reads_the_signature(data, expected):
    assert media.sniff(data) == expected


def test_jpeg_and_webp_and_gif_are_all_accepted():
    for fmt in ("JPEG", "WEBP", "GIF", "PNG"):
        out = media.process(
            io.BytesIO(image_bytes(size=(800, 600), fmt=fmt)),
            (media.Size("full", 400, 400), media.Size("thumb", 100, 100, crop=True)),
            max_bytes=10**6,
        )
        assert [(r.name, r.width, r.height) for r in out] == [
            ("full", 400, 300),
            ("thumb", 100, 100),
        ], fmt


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    big = image_bytes(size=(6400, 4800))
    out = media.process(
        io.BytesIO(big), (media.Size("card", 480, 360, crop=True),), max_bytes=10**8
    )
    assert (out[0].width, out[0].height) == (480, 360)
    with Image.open(io.BytesIO(big)) as image:
        image.draft("RGB", media._needed(6400, 4800, (media.Size("card", 480, 360, crop=True),)))
        assert image.size == (800, 600)  # 1/8 scale: 1/64 of the pixels are decoded


MEASURE = """
import io, sys
from pathlib import Path
from PIL import Image
from app import media
from app.listings.services import PHOTO_SIZES

def kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

buffer = io.BytesIO()
Image.new("RGB", (7720, 5142), (40, 120, 160)).save(buffer, "JPEG", quality=85)
data = buffer.getvalue()
del buffer
Path("/proc/self/clear_refs").write_text("5")
start = kb("VmRSS")
media.process(io.BytesIO(data), PHOTO_SIZES, max_bytes=len(data))
print((kb("VmHWM") - start) // 1024)
"""


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc peak reset"
)
def test_a_40_megapixel_photo_costs_tens_of_megabytes_not_hundreds():
    result = subprocess.run(
        [sys.executable, "-c", MEASURE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    peak_mb = int(result.stdout.strip())
    assert peak_mb < 80, f"processing a 39.7 MP JPEG grew the process by {peak_mb} MB"

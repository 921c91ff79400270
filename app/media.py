"""The one pipeline for uploaded images: listing photos and avatars (and whatever comes next).

Every upload goes through the same checks, in an order that keeps one request's memory small:

1. bytes: at most `max_bytes` are read (one byte more tells "too large");
2. content: the first bytes must be a JPEG, PNG, WebP or GIF signature (the file name and the
   declared type are ignored), and only that format's decoder is allowed to open it;
3. pixels: the header gives the size; more than MAX_PIXELS is refused before a single pixel
   is decoded (Pillow's own bomb check is made an error too);
4. decoding: JPEGs decode straight at the smallest 1/2, 1/4 or 1/8 scale that still covers the
   largest size we keep (`draft`); anything else is box-reduced right after decoding, so the
   rotation, flattening and resizing work on a small image; at most DECODES_AT_ONCE uploads
   decode at the same time in one process;
5. output: turned upright from EXIF, flattened on white, re-encoded as JPEG with no metadata
   at all (no EXIF, GPS, ICC profile or comment), in the sizes the caller asks for.
"""

from __future__ import annotations

import io
import os
import secrets
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

MAX_PIXELS = 40_000_000  # a 40-megapixel photo; larger is a decompression bomb, not a bike
DECODES_AT_ONCE = 2  # per process: bounds what parallel uploads can hold in memory together
JPEG_QUALITY = 85

# signature -> Pillow format; the only decoders an upload may reach
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF"}  # MPO: a JPEG from a phone camera
FORMATS_TEXT = "JPEG, PNG, WebP or GIF"

# Pillow's own limit, as a second line: warn above it (we make that an error), raise above 2x.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_decode_slots = threading.BoundedSemaphore(DECODES_AT_ONCE)


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the person."""


@dataclass(frozen=True)
class Size:
    """One stored size: `fit` keeps the whole picture inside the box (never enlarged);
    `cover` fills the box exactly and crops the overflow (centred)."""

    name: str
    width: int
    height: int
    crop: bool = False


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The image format the content starts with (JPEG, PNG, GIF, WEBP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def size_text(size: int) -> str:
    """'8 MB', '20 KB': a byte limit for people."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{max(1, size // 1024)} KB"


def upload_name(upload) -> str:
    """How a message names the upload: its file name, else "That file"."""
    return os.path.basename(getattr(upload, "filename", None) or "") or "That file"


def read_upload(upload, *, max_bytes: int) -> bytes:
    """At most max_bytes of a FileStorage (or a binary stream). Raises ImageRejected."""
    name = upload_name(upload)
    stream = getattr(upload, "stream", upload)
    data = stream.read(max_bytes + 1)
    if not data:
        raise ImageRejected(f"{name} is empty.")
    if len(data) > max_bytes:
        raise ImageRejected(f"{name} is too large: the limit is {size_text(max_bytes)}.")
    return data


def process(upload, sizes: Sequence[Size], *, max_bytes: int) -> list[Rendition]:
    """Check one upload and re-encode it in every size. Raises ImageRejected."""
    name = upload_name(upload)
    data = read_upload(upload, max_bytes=max_bytes)
    not_an_image = ImageRejected(f"{name} is not an image we can read. Use a {FORMATS_TEXT}.")
    too_many_pixels = ImageRejected(
        f"{name} has too many pixels: images can have at most {MAX_PIXELS // 1_000_000} megapixels."
    )
    fmt = sniff(data)
    if fmt is None:
        raise not_an_image
    try:
        with _decode_slots, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upright = _decode_small(data, fmt, sizes, too_many_pixels)
            return [_render(upright, size) for size in sizes]
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise too_many_pixels from None
    except Exception:  # Pillow raises many kinds of errors on damaged or hostile files
        raise not_an_image from None


# EXIF orientation -> the transpose that shows the picture upright
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_REDUCIBLE_MODES = {"L", "LA", "La", "I", "F", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}


def _needed(width: int, height: int, sizes: Sequence[Size]) -> tuple[int, int]:
    """The smallest (width, height) of this picture from which every size can still be made
    at full quality, whichever way EXIF turns it (so each box counts by its longer side)."""
    need_w = need_h = 1
    for size in sizes:
        side = max(size.width, size.height)
        if size.crop:  # cover: the shorter side must still fill the box
            scale = min(1.0, side / min(width, height))
        else:  # fit: the longer side must still reach the box
            scale = min(1.0, side / max(width, height))
        need_w, need_h = max(need_w, round(width * scale)), max(need_h, round(height * scale))
    return need_w, need_h


def _decode_small(
    data: bytes, fmt: str, sizes: Sequence[Size], too_many: ImageRejected
) -> Image.Image:
    """Decode at no more than the resolution the sizes need; upright RGB, no metadata."""
    image = Image.open(io.BytesIO(data), formats=[fmt])  # reads the header only
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected("unexpected format")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise too_many
    orientation = image.getexif().get(0x0112, 1)
    need = _needed(width, height, sizes)
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", need)  # decoded at 1/2, 1/4 or 1/8 scale, never below `need`
    image.load()
    factor = min(image.width // need[0], image.height // need[1])
    if factor > 1:
        if image.mode not in _REDUCIBLE_MODES:
            image = _flatten(image)
        image = image.reduce(factor)  # the full-size pixels are freed right here
    image = _flatten(image)
    if orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
    image.info = {}  # nothing of the upload's metadata may reach the stored file
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent images would otherwise turn black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _render(image: Image.Image, size: Size) -> Rendition:
    if size.crop:
        out = ImageOps.fit(image, (size.width, size.height), Image.Resampling.LANCZOS)
    else:
        scale = min(1.0, size.width / image.width, size.height / image.height)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # resize() makes only the small copy (reduce first, then resample), never a full one
        out = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out.info = {}
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return Rendition(size.name, buffer.getvalue(), out.width, out.height)


def store(upload_dir: str, folder: str, renditions: Iterable[Rendition]) -> dict[str, str]:
    """Write each rendition under <folder>/ with one random stem; return name -> relative path.

    The first rendition is <stem>.jpg, the others <stem>-<name>.jpg."""
    stem = secrets.token_urlsafe(16)
    (Path(upload_dir) / folder).mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    try:
        for index, rendition in enumerate(renditions):
            relative = (
                f"{folder}/{stem}.jpg" if index == 0 else f"{folder}/{stem}-{rendition.name}.jpg"
            )
            (Path(upload_dir) / relative).write_bytes(rendition.data)
            paths[rendition.name] = relative
    except BaseException:
        delete_files(upload_dir, paths.values())
        raise
    return paths


def delete_files(upload_dir: str, relative_paths: Iterable[str | None]) -> None:
    """Remove stored files; missing ones are already gone; nothing outside upload_dir."""
    root = Path(upload_dir).resolve()
    for relative in relative_paths:
        if not relative:
            continue
        path = (root / relative).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)

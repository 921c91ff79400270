"""Listing photos on disk: check an upload is a real, sane image, re-encode it, store it.

Uploads are never stored as sent: decoding and re-encoding drops EXIF (location!) and any
payload hidden in the file, and gives every photo the same two predictable sizes.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage

MAX_PIXELS = 40_000_000  # larger is a decompression bomb, not a photo of a used bike
FULL_MAX_SIDE = 1600
THUMB_SIZE = (480, 360)
JPEG_QUALITY = 85
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}


class PhotoRejected(ValueError):
    """The upload is not a photo we accept; the message says why, for the form."""


@dataclass(frozen=True)
class ProcessedPhoto:
    full: bytes
    thumb: bytes
    width: int
    height: int


def process(upload: FileStorage, *, max_bytes: int) -> ProcessedPhoto:
    """Check and re-encode one upload. Raises PhotoRejected with a message for the person."""
    name = os.path.basename(upload.filename or "") or "The file"
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise PhotoRejected(f"{name} is empty.")
    if len(data) > max_bytes:
        raise PhotoRejected(
            f"{name} is larger than {max_bytes / (1024 * 1024):g} MB; "
            "please upload a smaller photo."
        )
    not_an_image = PhotoRejected(f"{name} is not an image we can read (use JPEG, PNG or WebP).")
    too_large = PhotoRejected(
        f"{name} has too many pixels; photos can have at most {MAX_PIXELS // 1_000_000} megapixels."
    )
    try:
        with warnings.catch_warnings():
            # Pillow only warns about bombs it can still open; make that a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_an_image
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise too_large
                probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = _flatten(upright)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise too_large from None
    except Exception:  # Pillow raises many kinds of errors on damaged or hostile files
        raise not_an_image from None

    full = rgb.copy()
    full.thumbnail((FULL_MAX_SIDE, FULL_MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = ImageOps.fit(rgb, THUMB_SIZE, Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        full=_jpeg(full), thumb=_jpeg(thumb), width=full.width, height=full.height
    )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent PNGs would otherwise turn black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()


def save(upload_dir: str, listing_id: int, photo: ProcessedPhoto) -> tuple[str, str]:
    """Write both sizes under listings/<listing_id>/ with a random name; return relative paths."""
    folder = Path(upload_dir) / "listings" / str(int(listing_id))
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_urlsafe(16)
    image_path = f"listings/{int(listing_id)}/{stem}.jpg"
    thumb_path = f"listings/{int(listing_id)}/{stem}-thumb.jpg"
    (Path(upload_dir) / image_path).write_bytes(photo.full)
    (Path(upload_dir) / thumb_path).write_bytes(photo.thumb)
    return image_path, thumb_path


def delete_files(upload_dir: str, relative_paths) -> None:
    """Remove stored files; missing ones are already gone."""
    root = Path(upload_dir).resolve()
    for relative in relative_paths:
        path = (root / relative).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)

"""Real images made in memory with Pillow, for listing photo tests."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image
from werkzeug.datastructures import FileStorage


def image_bytes(size=(800, 600), fmt="JPEG", color="teal", exif=None, noise=False) -> bytes:
    """An encoded image of the given size and format."""
    mode = "RGBA" if fmt == "PNG" and color is None else "RGB"
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new(mode, size, color or (0, 0, 0, 0))
    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def upload(data: bytes | None = None, filename: str = "photo.jpg", **kwargs) -> FileStorage:
    """A FileStorage as a request would carry it."""
    data = image_bytes(**kwargs) if data is None else data
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type="image/jpeg")


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb)."""
    data = bytearray(image_bytes(size=(1, 1), fmt="PNG"))
    struct.pack_into(">II", data, 16, width, height)  # IHDR width, height
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)

"""Peak memory of the upload pipeline (app/media.py) for the images that used to cost the most.

    .venv/bin/python bench/media/memory.py [--parallel 4]

Writes four test images to a temp dir (9400x9400 and 6000x6000 JPEG avatars, a
39.7-megapixel JPEG listing photo, a 39.7-megapixel PNG listing photo), then, each in a fresh
child process, runs the pipeline on one of them (or on `--parallel` copies in threads at once)
and prints the growth of the process's peak resident memory (VmHWM, reset just before) over
its resident size after imports and reading the file. Linux only. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "avatar 9400x9400 JPEG (88 MP)": ("avatar.jpg", "avatar"),
    "avatar 6000x6000 JPEG (36 MP)": ("avatar6000.jpg", "avatar"),
    "photo 7720x5142 JPEG (39.7 MP)": ("photo.jpg", "photo"),
    "photo 7720x5142 PNG (39.7 MP)": ("photo.png", "photo"),
}


def make_images(folder: Path) -> None:
    from PIL import Image, ImageDraw

    def picture(size):
        image = Image.new("RGB", size, (40, 120, 160))
        draw = ImageDraw.Draw(image)
        for i in range(0, size[0], 400):
            draw.rectangle([i, 0, i + 200, size[1]], fill=(200, 80 + i % 120, 40))
        return image

    picture((9400, 9400)).save(folder / "avatar.jpg", quality=20)
    picture((6000, 6000)).save(folder / "avatar6000.jpg", quality=20)
    photo = picture((7720, 5142))
    photo.save(folder / "photo.jpg", quality=85)
    photo.save(folder / "photo.png", compress_level=1)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak resident size (Linux: clear_refs 5) and return the current one, in KB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def child(path: str, kind: str, parallel: int) -> None:
    """Run the pipeline on `path` in `parallel` threads; print the peak RSS growth in MB."""
    sys.path.insert(0, str(ROOT))
    from werkzeug.datastructures import FileStorage

    from app import media
    from app.accounts.services import AVATAR_SIZES
    from app.listings.services import PHOTO_SIZES

    data = Path(path).read_bytes()
    sizes = AVATAR_SIZES if kind == "avatar" else PHOTO_SIZES
    baseline = _reset_peak()

    def run() -> None:
        upload = FileStorage(io.BytesIO(data), filename=os.path.basename(path))
        media.process(upload, sizes, max_bytes=64 * 1024 * 1024)

    threads = [threading.Thread(target=run) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{(_status_kb('VmHWM') - baseline) / 1024:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_images(folder)
        print(f"{'image':34} {'bytes':>10} {'1 upload':>10} {args.parallel} at once")
        for label, (name, kind) in CASES.items():
            path = folder / name
            row = [f"{label:34}", f"{path.stat().st_size:>10,}"]
            for parallel in (1, args.parallel):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), kind, str(parallel)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row.append(f"{out.stdout.strip():>7} MB")
            print(" ".join(row))


if __name__ == "__main__":
    main()

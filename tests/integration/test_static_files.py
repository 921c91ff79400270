"""Static files are linked under content-hashed names that browsers may cache for a year."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from app.static_files import StaticManifest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def test_pages_link_the_stylesheet_under_its_content_hash(client):
    page = client.get("/about").get_data(as_text=True)
    expected = f"/static/css/site.{_digest(STATIC / 'css' / 'site.css')}.css"
    assert f'href="{expected}"' in page
    assert re.search(r'src="/static/img/logo\.[0-9a-f]{10}\.svg"', page)


def test_a_hashed_name_is_cached_for_a_year(client):
    url = f"/static/css/site.{_digest(STATIC / 'css' / 'site.css')}.css"
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == (STATIC / "css" / "site.css").read_bytes()
    cache = response.cache_control
    assert cache.max_age == 365 * 24 * 3600
    assert cache.public and cache.immutable


def test_the_plain_name_still_answers_but_is_revalidated(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.cache_control.max_age != 365 * 24 * 3600
    assert not response.cache_control.immutable


def test_a_stale_hash_is_not_found(client):
    assert client.get("/static/css/site.0000000000.css").status_code == 404


def test_while_debugging_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "site.css"
    sheet.write_text("body { color: black; }")
    manifest = StaticManifest(tmp_path, recheck=True)
    manifest.scan()
    before = manifest.hashed_name("css/site.css")
    assert manifest.plain_name(before) == "css/site.css"

    sheet.write_text("body { color: navy; }")
    os.utime(sheet, (sheet.stat().st_atime, sheet.stat().st_mtime + 5))
    after = manifest.hashed_name("css/site.css")
    assert after != before and after == f"css/site.{_digest(sheet)}.css"
    assert manifest.plain_name(before) is None  # the old name no longer resolves
    assert manifest.plain_name(after) == "css/site.css"

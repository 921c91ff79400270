"""Static files under names that carry a hash of their content, cached for a year.

`url_for("static", filename="css/site.css")` gives `/static/css/site.3f2a9c0d1e.css`. A browser
or proxy may keep that URL forever (`Cache-Control: public, max-age=31536000, immutable`):
when the file changes, its name changes, so nobody sees an old stylesheet after a release. The
plain name still works (for links from outside) and is revalidated each time, as before.

Names are hashed once at start-up; with the debugger on (`flask run --debug`) a file that changed
since gets its new hash at the next url_for, so editing CSS needs no restart.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, send_from_directory

ONE_YEAR = 365 * 24 * 3600
HASH_LENGTH = 10
# name.<10 hex digits>.ext: the hashed form of name.ext
HASHED_NAME = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[^./]+)$")


@dataclass
class StaticManifest:
    """The content hash of every file under one static folder, by its plain name."""

    folder: Path
    recheck: bool = False
    _hashes: dict[str, tuple[float, str]] = field(default_factory=dict)

    def scan(self) -> None:
        """Hash every file under the folder."""
        for path in self.folder.rglob("*"):
            if path.is_file():
                self._hash(path.relative_to(self.folder).as_posix())

    def _hash(self, filename: str) -> str | None:
        path = self.folder / filename
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        known = self._hashes.get(filename)
        if known is not None and (not self.recheck or known[0] == mtime):
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
        self._hashes[filename] = (mtime, digest)
        return digest

    def hashed_name(self, filename: str) -> str:
        """css/site.css -> css/site.<hash>.css; a name we do not know is left as it is."""
        if filename not in self._hashes and not self.recheck:
            return filename
        digest = self._hash(filename)
        if digest is None:
            return filename
        stem, ext = os.path.splitext(filename)
        return f"{stem}.{digest}{ext}" if ext else filename

    def plain_name(self, filename: str) -> str | None:
        """css/site.<hash>.css -> css/site.css when the hash is the file's current one."""
        match = HASHED_NAME.match(filename)
        if match is None:
            return None
        plain = f"{match['stem']}{match['ext']}"
        if plain not in self._hashes and not self.recheck:
            return None
        return plain if self._hash(plain) == match["hash"] else None


def init_app(app: Flask) -> None:
    """Hash the static folder, rewrite url_for('static') and serve hashed names for a year."""
    if not app.static_folder:
        return
    manifest = StaticManifest(Path(app.static_folder), recheck=app.debug)
    manifest.scan()
    app.extensions["static_manifest"] = manifest

    @app.url_defaults
    def _hashed_static_url(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.hashed_name(values["filename"])

    def static(filename: str):
        plain = manifest.plain_name(filename)
        if plain is None:
            # A plain name (or a stale hash): served as before, revalidated by the browser.
            return app.send_static_file(filename)
        response = send_from_directory(app.static_folder, plain, max_age=ONE_YEAR)
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static  # Flask's own, registered with the static folder

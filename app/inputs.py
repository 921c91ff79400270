"""Guards on what a request can carry, for every page and API endpoint at once.

- Ids in URLs: `<int:...>` and `<id:...>` match only positive ids that fit the database's
  integer columns; anything longer or larger is a 404, never an overflow in the database driver.
- Text: NUL characters are removed from every query-string and form value (and name) as the
  request parses them. No person types one, browsers never send one from a text box, and
  PostgreSQL refuses to store one; what is left is validated as usual. JSON bodies keep theirs
  and are refused by the API's `Text` field, field by field.
- JSON bodies larger than MAX_JSON_BYTES (1 MB; uploads are multipart and have their own limits)
  are a 413, and those nested deeper than MAX_JSON_DEPTH a 400 (`json_too_deep`), before any
  parser reads or recurses into them.
- `url_with_args()`: links that keep the current query string pass only plain parameters to
  `url_for`, never its own options (`_method`, `_external`, `_scheme`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, request, url_for
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import BaseConverter, ValidationError

from app.errors import DomainError

MAX_ID = 2**31 - 1  # ids past a 32-bit integer do not exist and would overflow some databases
MAX_JSON_DEPTH = 32  # our documents nest four levels at most; Python's parser recurses per level


class JsonTooDeep(DomainError):
    code, status = "json_too_deep", 400
    default_message = f"The JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."


class IdConverter(BaseConverter):
    """<id:name> (and <int:name>): a positive id that fits the database; else a 404."""

    regex = r"\d{1,10}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def _without_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class TextParameters(ImmutableMultiDict):
    """Query-string and form values (and names) without NUL characters; files untouched."""

    def __init__(self, mapping: Mapping | Iterable | None = None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, MultiDict):
            pairs: Iterable = mapping.items(multi=True)
        elif isinstance(mapping, Mapping):
            pairs = mapping.items()
        else:
            pairs = mapping
        super().__init__([(_without_nul(key), _without_nul(value)) for key, value in pairs])


class MutualRequest(Request):
    parameter_storage_class = TextParameters


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_nesting_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text opens more than `limit` arrays/objects inside each other.

    A linear scan that skips strings; it does not parse, so it cannot recurse."""
    depth = 0
    for match in _JSON_TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _guard_json_body() -> None:
    """JSON bodies: at most MAX_JSON_BYTES (else 413), nested at most MAX_JSON_DEPTH (else 400)."""
    if not request.is_json:
        return
    request.max_content_length = current_app.config["MAX_JSON_BYTES"]
    if json_nesting_exceeds(request.get_data(cache=True)):
        raise JsonTooDeep()


def url_with_args(endpoint: str, **changes: Any) -> str:
    """The URL of `endpoint` with the current query string plus `changes`.

    Names starting with "_" are url_for's options, not parameters, and are dropped; so is a
    name the caller sets explicitly (it wins over the query string)."""
    params = {
        key: value
        for key, value in request.args.items()
        if key and not key.startswith("_") and key not in changes
    }
    return url_for(endpoint, **params, **changes)


def init_app(app: Flask) -> None:
    """Install the guards; call before any blueprint is registered (routes bind converters)."""
    app.request_class = MutualRequest
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter
    app.config.setdefault("MAX_JSON_BYTES", 1024 * 1024)
    app.before_request(_guard_json_body)
    app.jinja_env.globals["url_with_args"] = url_with_args


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target

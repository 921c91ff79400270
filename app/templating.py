"""Jinja filters and the values every page needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask, current_app, g, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from app.money import format_money, format_price
from app.pagination import last_numbered_page, page_window


def _datetime(value: datetime | None, fmt: str = "%b %-d, %Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime(fmt) + (" UTC" if "%H" in fmt else "")


def _date(value: datetime | None) -> str:
    return _datetime(value, "%b %-d, %Y")


def _timeago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = (datetime.now(UTC) - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (
        ("year", 31536000),
        ("month", 2592000),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= size:
            n = int(seconds // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def _nl2br(value: str | None) -> Markup:
    if not value:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in value.splitlines())


_ID_MARK = 1987654321  # a valid id (<id:...> takes 10 digits) no real URL holds


def id_url(endpoint: str, name: str, value: int, **fixed: str) -> str:
    """url_for(endpoint, name=value, **fixed) for an integer id, cheaply in a loop.

    The URL is built once a request per endpoint (and fixed values) around a mark, and each
    id is put in its place: a list of 24 cards called url_for 48 times, about 25 us each.
    """
    patterns = g.setdefault("id_url_patterns", {})
    key = (endpoint, name, tuple(sorted(fixed.items())))
    pattern = patterns.get(key)
    if pattern is None:
        pattern = patterns[key] = url_for(endpoint, **{name: _ID_MARK}, **fixed).split(
            str(_ID_MARK)
        )
    if len(pattern) != 2:  # the mark did not come out whole: build this one the usual way
        return url_for(endpoint, **{name: value}, **fixed)
    return f"{pattern[0]}{int(value)}{pattern[1]}"


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")  # what a URL carries as it is, unquoted
_WORD_MARK = "zq9markq9z"


def handle_url(endpoint: str, name: str, value: str, **fixed: str) -> str:
    """url_for(endpoint, name=value, **fixed) for a plain word such as a handle, cheaply in a
    loop (see id_url); a value that would need quoting is built the usual way."""
    if not _PLAIN.fullmatch(value or ""):
        return url_for(endpoint, **{name: value}, **fixed)
    patterns = g.setdefault("handle_url_patterns", {})
    key = (endpoint, name, tuple(sorted(fixed.items())))
    pattern = patterns.get(key)
    if pattern is None:
        pattern = patterns[key] = url_for(endpoint, **{name: _WORD_MARK}, **fixed).split(_WORD_MARK)
    if len(pattern) != 2:
        return url_for(endpoint, **{name: value}, **fixed)
    return f"{pattern[0]}{value}{pattern[1]}"


def init_app(app: Flask) -> None:
    """Register filters and the context processor."""
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["price"] = format_price  # "Free" for a giveaway
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["timeago"] = _timeago
    app.jinja_env.filters["nl2br"] = _nl2br
    app.jinja_env.globals["page_window"] = page_window
    app.jinja_env.globals["last_numbered_page"] = last_numbered_page
    app.jinja_env.globals["id_url"] = id_url
    app.jinja_env.globals["handle_url"] = handle_url
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _site_context():
        unread_messages = unread_notifications = 0
        if current_user.is_authenticated:
            unread_messages, unread_notifications = header_counts(current_user.id)
        return {
            "site_name": current_app.config["SITE_NAME"],
            "site_currency": current_app.config["SITE_CURRENCY"],
            "unread_messages": unread_messages,
            "unread_notifications": unread_notifications,  # the bell
            "now_utc": datetime.now(UTC),
        }


def header_counts(user_id: int) -> tuple[int, int]:
    """(unread messages, unread notifications) for the header, in one statement. Counted when
    the page renders, after what the view itself marked read."""
    from app.extensions import db
    from app.messaging.services import unread_count_query as unread_messages
    from app.notifications.services import unread_count_query as unread_notifications

    messages, notifications = db.session.execute(
        select(
            unread_messages(user_id).scalar_subquery(),
            unread_notifications(user_id).scalar_subquery(),
        )
    ).one()
    return messages or 0, notifications or 0

"""Logs: every record carries the request id (or the Celery task id) and the due job it was made
in, one line per request says what was asked and how it went, and LOG_FORMAT chooses plain text
(development, tests) or one JSON object per line (production).

The context lives in contextvars, set when a request, task or job starts and cleared when it
ends; a log record factory copies it onto every record, whichever logger or handler makes it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

NO_ID = "-"
request_id_var: ContextVar[str] = ContextVar("mutual_request_id", default=NO_ID)
job_var: ContextVar[str] = ContextVar("mutual_job", default=NO_ID)

request_logger = logging.getLogger("app.requests")

# A request id from the client (or a proxy) is kept only when it is short and plain, so it can
# neither forge log lines (newlines, spaces) nor smuggle markup; anything else gets a fresh id.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s %(job)s"


def request_id_from(raw: str | None) -> str:
    """The client's request id when it is a sane token, else a fresh one."""
    if raw and SAFE_REQUEST_ID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex[:12]


def current_request_id() -> str:
    """The id of the request or task being handled ("-" outside one)."""
    return request_id_var.get()


@contextmanager
def log_context(*, request_id: str | None = None, job: str | None = None) -> Iterator[None]:
    """Tag every record made inside with this request id and/or job name."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if job is not None:
        tokens.append((job_var, job_var.set(job)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


_factory_installed = False


def install_record_factory() -> None:
    """Give every log record `request_id` and `job` from the current context (once per process,
    wrapping whatever factory was there)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get()
        record.job = job_var.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT: "json" (one object per line) or "text"."""
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601, UTC
        )
    if log_format != "text":
        raise RuntimeError(f"LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
    return logging.Formatter(TEXT_FORMAT)


def _signed_in_user_id() -> int | None:
    # Only a user this request already loaded: logging must never cost a query.
    user = g.get("api_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


def init_app(app: Flask, *, on_request_done=None) -> None:
    """Request ids in and out, the per-request log line, and (outside tests, when nothing
    configured logging yet) the root handler in LOG_FORMAT. `on_request_done(endpoint, method,
    status, seconds)` is called for each request too (the metrics)."""
    install_record_factory()
    make_formatter(app.config["LOG_FORMAT"])  # refuse a wrong LOG_FORMAT at start

    def start():
        g.request_started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get("X-Request-Id"))
        request_id_var.set(g.request_id)

    def finish(response):
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule
        endpoint = request.endpoint or "none"
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        request_logger.info(
            "%s %s %s %.1fms",
            request.method,
            rule.rule if rule is not None else "<unmatched>",
            response.status_code,
            seconds * 1000,
            extra={
                "method": request.method,
                "path": rule.rule if rule is not None else None,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "user_id": _signed_in_user_id(),
            },
        )
        if on_request_done is not None:
            on_request_done(endpoint, request.method, response.status_code, seconds)
        return response

    def clear(_error=None):
        request_id_var.set(NO_ID)

    # First before every other hook (a rate limit may answer before the view), last after and
    # at teardown, so the id is set from the start and the line has the final status.
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
    app.teardown_request_funcs.setdefault(None, []).insert(0, clear)

    if not app.testing and not logging.getLogger().handlers:
        # On the root logger, so migrations (alembic), the dev server's request lines (werkzeug),
        # Celery and the app share one format; migrations/env.py then leaves logging alone.
        handler = logging.StreamHandler()
        handler.setFormatter(make_formatter(app.config["LOG_FORMAT"]))
        logging.getLogger().addHandler(handler)
        for name in ("app", "alembic", "werkzeug", "celery"):
            logging.getLogger(name).setLevel(logging.INFO)

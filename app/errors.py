"""Domain errors and the one place that turns them (and HTTP errors) into responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the marketplace said no. Carries a stable code, an HTTP status and a message."""

    code = "domain_error"
    status = 400
    default_message = "That could not be done."

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    code, status, default_message = "validation_failed", 422, "Some fields are not valid."


class NotFound(DomainError):
    code, status, default_message = "not_found", 404, "Not found."


class Forbidden(DomainError):
    code, status, default_message = "forbidden", 403, "You are not allowed to do that."


class Conflict(DomainError):
    code, status, default_message = "conflict", 409, "That conflicts with the current state."


class InvalidTransition(Conflict):
    code, default_message = "invalid_transition", "That step is not possible now."


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
}

HTTP_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You are not allowed to see this page.",
    404: "We could not find that page.",
    405: "That method is not allowed here.",
    413: "That upload is too large.",
    429: "Too many attempts. Please wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}


def wants_json() -> bool:
    """True for API requests, which always answer JSON."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_body(
    code: str, message: str, fields: dict[str, Any] | None = None, extra: dict | None = None
) -> dict:
    """The one JSON error shape: {"error": {"code", "message", "fields"}}, plus any facts a
    code documents (`suspended_until` of account_suspended)."""
    return {"error": {"code": code, "message": message, "fields": fields or {}, **(extra or {})}}


def _respond(
    status: int, code: str, message: str, fields: dict | None = None, extra: dict | None = None
) -> Response:
    if wants_json():
        response = jsonify(error_body(code, message, fields, extra))
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer domain and HTTP errors as JSON for the API and as a page for people."""

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        from app.extensions import db

        db.session.rollback()
        extra = dict(getattr(error, "extra", None) or {})
        level = getattr(error, "level_required", None)
        if level is not None:  # trust gates: the level that opens it
            extra["level_required"] = level
        response = _respond(error.status, error.code, error.message, error.fields, extra or None)
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = HTTP_MESSAGES.get(status) or error.description or "Error."
        if status in (400, 405, 413) and error.description and status != 405:
            message = HTTP_MESSAGES.get(status, error.description)
        response = _respond(status, code, message)
        if status == 429 and getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        for key, value in error.get_headers() or []:
            if key.lower() in {"allow", "retry-after", "www-authenticate"}:
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        from app.extensions import db

        db.session.rollback()
        # The request id is in the message itself, so any handler (gunicorn's, pytest's) shows it.
        logger.exception(
            "unhandled error on %s %s (request %s)",
            request.method,
            request.path,
            g.get("request_id", "-"),
        )
        return _respond(500, "internal_error", HTTP_MESSAGES[500])

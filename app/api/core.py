"""The API's plumbing: the smorest Api, Bearer-token auth, scopes, rate limits, errors, lists.

Every resource module builds its blueprint with `api_blueprint()` and guards each view with
`token_required("read" | "write")` or `token_optional`; `init_app()` registers them all.
"""

from __future__ import annotations

import importlib
from copy import deepcopy
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, g, jsonify, request, url_for
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import BadRequest, UnprocessableEntity
from werkzeug.routing import BaseConverter

from app.errors import DomainError, Forbidden, error_body
from app.extensions import csrf, limiter
from app.inputs import MAX_ID, IdConverter
from app.pagination import MAX_PAGE, MAX_PER_PAGE, Page

API_PREFIX = "/api/v1"

RESOURCE_MODULES = (
    "app.api.auth",
    "app.api.users",
    "app.api.listings",
    "app.api.orders",
    "app.api.loans",
    "app.api.clubs",
    "app.api.deals",
    "app.api.payments",
    "app.api.feedback",
    "app.api.messages",
    "app.api.notifications",
    "app.api.conversations",
    "app.api.trust",
    "app.api.moderation",
    "app.api.disputes",
)


CONFIG_DEFAULTS = {
    "API_TITLE": "Mutual API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": API_PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "Everything a person does in the Mutual web UI, a program acting for them can "
                "do here. Authenticate with a personal access token: "
                "`Authorization: Bearer mut_...`. Money is integer minor units plus a currency "
                "code; times are ISO 8601 UTC. Errors always answer "
                '`{"error": {"code", "message", "fields"}}`.'
            )
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (mut_...) from /settings/tokens "
                    "or POST /api/v1/auth/tokens.",
                }
            }
        },
    },
}


# -- errors --------------------------------------------------------------------------------


class TokenRequired(DomainError):
    code, status, default_message = (
        "unauthorized",
        401,
        "Send a personal access token: Authorization: Bearer <token>.",
    )


class InvalidToken(TokenRequired):
    code, default_message = "invalid_token", "That token is not valid, or it has been revoked."


class InsufficientScope(Forbidden):
    code, default_message = "insufficient_scope", "This token may only read; it needs `write`."


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable snake_case code"})
    message = ma.fields.String(required=True, metadata={"description": "for a person"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "field name -> messages (empty when not about fields)"},
    )
    level_required = ma.fields.Integer(
        metadata={"description": "`trust_level_required` only: the trust level that opens it"}
    )
    suspended_until = ma.fields.DateTime(
        allow_none=True,
        metadata={"description": "account_suspended only: when the suspension ends (null: a ban)"},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class MutualApi(Api):
    """flask-smorest with our one error body; the app-wide handlers answer every error."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # smorest would take over HTTPException for the whole site (HTML pages too); app/errors.py
        # already answers JSON under /api/, and api_blueprint() handles webargs' 400/422.
        pass


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' {"json": {"a": {"b": [...]}}} -> {"a.b": [...]}; body-level errors go to _body."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "_body" if key == "_schema" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        out.setdefault(prefix or "_body", []).extend(messages)
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out.setdefault(prefix or "_body", []).append(str(messages))
    return out


def _input_error(error: BadRequest):
    """webargs' aborts (bad JSON 400, invalid fields 422) in the one error shape."""
    data = getattr(error, "data", None) or {}
    fields: dict[str, list[str]] = {}
    for location, messages in (data.get("messages") or {}).items():
        flat = _flatten(messages)
        if location in ("json", "query", "form", "files", "view_args"):
            fields.update(flat)
        else:
            fields.update({f"{location}.{k}": v for k, v in flat.items()})
    if error.code == 422:
        code, message = "validation_failed", "Some fields are not valid."
    elif data.get("messages"):
        code, message = "invalid_body", "The request body is not valid JSON."
    else:
        code, message = "bad_request", "The request could not be understood."
    response = jsonify(error_body(code, message, fields))
    response.status_code = error.code or 400
    return response


def _add_auth_challenge(response):
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="mutual"')
    return response


class ApiParser(FlaskParser):
    """webargs, strict about multipart bodies: a `files` schema sees every part (files and plain
    fields) and refuses the ones it does not declare, as its document says
    (additionalProperties: false)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "files": None}

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class ApiBlueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = ApiParser()


def api_blueprint(name: str, import_name: str, description: str = "") -> SmorestBlueprint:
    """A resource blueprint under /api/v1: no CSRF, no cookies, JSON errors."""
    bp = ApiBlueprint(f"api_{name}", import_name, url_prefix=API_PREFIX, description=description)
    bp.register_error_handler(BadRequest, _input_error)
    bp.register_error_handler(UnprocessableEntity, _input_error)
    bp.after_request(_add_auth_challenge)
    csrf.exempt(bp)
    return bp


# -- authentication ------------------------------------------------------------------------


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("Use the Bearer scheme: Authorization: Bearer <token>.")
    return value.strip()


def _load_token(*, required: bool, scope: str | None) -> None:
    from app.api.services import authenticate_token

    g.api_token = g.api_user = None
    raw = _bearer()
    if raw is None:
        if required:
            raise TokenRequired()
        return
    token = authenticate_token(raw)
    if token is None:
        raise InvalidToken()
    if scope and not token.has_scope(scope):
        raise InsufficientScope()
    g.api_token, g.api_user = token, token.user


def _document(wrapper, doc: dict) -> None:
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual.update(doc)


def token_required(scope: str = "read"):
    """Guard a view: a live Bearer token with `scope`, else 401/403. Sets g.api_user."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            _load_token(required=True, scope=scope)
            return view(*args, **kwargs)

        _document(wrapper, {"security": [{"bearerAuth": []}], "x-token-scope": scope})
        return wrapper

    return decorator


def token_optional(view):
    """Public view that also knows the caller when a token is sent (a bad token is still 401)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        _load_token(required=False, scope=None)
        return view(*args, **kwargs)

    _document(wrapper, {"security": [{}, {"bearerAuth": []}]})
    return wrapper


def link(operation_id: str, *, body: dict | None = None, **parameters: str) -> dict:
    """An OpenAPI link to another operation: its parameters (and body) from this response."""
    target: dict[str, Any] = {"operationId": operation_id}
    if parameters:
        target["parameters"] = parameters
    if body is not None:
        target["requestBody"] = body
    return target


def links(status: int, **targets: dict) -> dict:
    """`responses` for @bp.doc: the links that follow from the `status` answer."""
    return {"responses": {status: {"links": targets}}}


def api_user_id() -> int:
    """The id of the user the token belongs to (inside a token_required view)."""
    return g.api_user.id


# -- rate limits ---------------------------------------------------------------------------


def _token_or_address() -> str:
    from app.api.services import hash_token

    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + hash_token(header[7:].strip())
    return "ip:" + (request.remote_addr or "unknown")


def token_creation_limit():
    """One budget for creating tokens (API_TOKEN_RATE_LIMIT) per client address, shared by
    POST /api/v1/auth/tokens and the settings page. The password check inside token creation
    is throttled further by the accounts' password policy."""
    return limiter.shared_limit(
        lambda: current_app.config["API_TOKEN_RATE_LIMIT"],
        scope="token-create",
        methods=["POST"],
        error_message="Too many attempts. Please wait a moment and try again.",
    )


def write_limit():
    """One shared budget of writes per token (or per address without one)."""
    return limiter.shared_limit(
        lambda: current_app.config["API_WRITE_RATE_LIMIT"],
        scope="api-write",
        key_func=_token_or_address,
        error_message="Too many changes in a short time. Please slow down.",
    )


# -- fields and lists ----------------------------------------------------------------------


class Text(ma.fields.String):
    """A string a database can store: no NUL characters or lone surrogates; trimmed."""

    def __init__(self, *args, strip: bool = True, **kwargs):
        self.strip = strip
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("Must be valid Unicode text.") from None
        return text.strip() if self.strip else text


class PatchIn(ma.Schema):
    """A PATCH body: at least one field to change (a missing or empty body is a 422)."""

    @ma.pre_load
    def _something_to_change(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Send at least one field to change.")
        return data


def Id(**kwargs) -> ma.fields.Integer:
    """A positive integer id (floats and strings refused)."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(1, MAX_ID), **kwargs)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, MAX_PAGE))
    per_page = ma.fields.Integer(load_default=24, validate=ma.validate.Range(1, MAX_PER_PAGE))


def list_schema(
    item_schema: type[ma.Schema], name: str, capped: bool = False, keyset: bool = False
) -> type[ma.Schema]:
    """{"items": [...], "page", "per_page", "total"} around item_schema; a `capped` list's
    total stops at a cap (app/pagination.py capped_count) and says so in total_is_exact; a
    `keyset` list's `next` carries a cursor (`next_cursor`) instead of a page number."""
    fields = {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "page": ma.fields.Integer(required=True),
        "per_page": ma.fields.Integer(required=True),
        "total": ma.fields.Integer(required=True),
    }
    if capped:
        fields["total_is_exact"] = ma.fields.Boolean(
            required=True,
            metadata={
                "description": "false: there are more than `total` (counting stopped at "
                "1,000, or ten pages past this one); follow `next` until it is null"
            },
        )
        fields["next"] = ma.fields.String(
            required=True,
            allow_none=True,
            metadata={
                "description": "the URL of the next page (the same query, page + 1), or "
                "null on the last page"
            },
        )
    if keyset:
        fields["page"] = ma.fields.Integer(
            required=True,
            metadata={
                "description": "the page number of this page (on a page read from a "
                "cursor: its position divided by per_page, plus 1)"
            },
        )
        fields["next"].metadata["description"] = (
            "the URL of the next page: the same query with `cursor` set to `next_cursor` "
            "(no `page`), or null on the last page"
        )
        fields["next_cursor"] = ma.fields.String(
            required=True,
            allow_none=True,
            metadata={
                "description": "opaque: pass it as `cursor` (with the same query) for the "
                "page after this one; null on the last page"
            },
        )
    return ma.Schema.from_dict(fields, name=name)


def capped_page_of(found: Page) -> dict:
    """A page of a capped list (app/pagination.py Page) with its total_is_exact and next."""
    body = page_of(found.items, found.page, found.per_page, found.total, found.total_is_exact)
    body["next"] = None
    if found.keyset:
        body["next_cursor"] = found.next_cursor
        if found.next_cursor is not None:
            args = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "page"}
            args["cursor"] = [found.next_cursor]
            body["next"] = url_for(request.endpoint, **request.view_args, **args)
    elif found.has_next and found.page < MAX_PAGE:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(found.page + 1)]
        body["next"] = url_for(request.endpoint, **request.view_args, **args)
    return body


def page_of(items: list, page: int, per_page: int, total: int, total_is_exact: bool = True) -> dict:
    """One page of a list as the API answers it (lists without total_is_exact drop it)."""
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_is_exact": total_is_exact,
    }


def paginate(items: list, page: int, per_page: int) -> dict:
    """A page of an already loaded list."""
    start = (page - 1) * per_page
    found = Page(items[start : start + per_page], page=page, per_page=per_page, total=len(items))
    return capped_page_of(found)


# -- setup ---------------------------------------------------------------------------------


class HandleConverter(BaseConverter):
    """<handle:name>: text that could be a handle (with or without @); anything else is a 404."""

    regex = r"@?[A-Za-z0-9_]{1,60}"


def init_app(app: Flask) -> MutualApi:
    """Register the API (OpenAPI at /api/v1/openapi.json), its resources and its pages."""
    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, deepcopy(value))
    app.url_map.converters["handle"] = HandleConverter
    api = MutualApi()
    api.init_app(app)
    api.register_converter(
        IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    )
    api.register_converter(
        HandleConverter, lambda _c: {"type": "string", "pattern": r"^@?[A-Za-z0-9_]{1,60}$"}
    )
    api.register_field(Text, ma.fields.String)
    for module in RESOURCE_MODULES:
        api.register_blueprint(importlib.import_module(module).bp)
    from app.api import views

    app.register_blueprint(views.bp)
    app.extensions["mutual_api"] = api
    return api

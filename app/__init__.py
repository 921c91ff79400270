"""The Mutual application factory."""

from __future__ import annotations

import importlib
import os

from flask import Flask

from config import Config, ProductionConfig, config_from_env

BLUEPRINT_MODULES = (
    "app.main.views",
    "app.accounts.views",
    "app.profiles.views",
    "app.listings.views",
    "app.orders.views",
    "app.orders.money_views",
    "app.lending.views",
    "app.clubs.views",
    "app.clubs.deal_views",
    "app.reviews.views",
    "app.messaging.views",
    "app.payments.views",
    "app.notifications.views",
    "app.trust.views",
    "app.moderation.views",
    "app.disputes.views",
)

MODEL_MODULES = (
    "app.accounts.models",
    "app.listings.models",
    "app.orders.models",
    "app.lending.models",
    "app.clubs.models",
    "app.reviews.models",
    "app.messaging.models",
    "app.api.models",
    "app.payments.models",
    "app.transactions.events",
    "app.notifications.models",
    "app.moderation.models",
    "app.disputes.models",
    "app.page_cache",
)


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the application from a config class (default: MUTUAL_ENV) plus overrides."""
    config = config or config_from_env()
    if issubclass(config, ProductionConfig):
        config.validate()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    _configure_proxies(app)

    from app.extensions import csrf, db, limiter, login_manager, mail, migrate

    for module in MODEL_MODULES:
        importlib.import_module(module)
    _pool_options(app)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    _configure_sqlite(app)

    from app.errors import register_error_handlers

    register_error_handlers(app)
    from app import inputs

    inputs.init_app(app)  # before the blueprints: their routes bind the id converter
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)
    importlib.import_module("app.api.core").init_app(app)  # /api/v1, its docs and token pages

    from app import cli, static_files, templating
    from app.accounts import auth
    from app.clubs import conversation as club_conversation
    from app.clubs import kind as deal_kind
    from app.lending import kind as loan_kind
    from app.orders import kind as order_kind
    from app.orders import money as order_money
    from app.payments import cli as payments_cli

    auth.init_app(app)
    order_kind.init_app(app)  # orders are a kind of transaction (app/transactions/registry.py)
    loan_kind.init_app(app)  # so are loans (with their money rules and calendar)
    club_conversation.init_app(app)  # a club's members talk in one group conversation
    deal_kind.init_app(app)  # and group deals with their pledges (app/clubs)
    templating.init_app(app)
    static_files.init_app(app)  # hashed names, cached for a year
    importlib.import_module("app.moderation.hooks").init_app(app)  # notices, re-review
    cli.init_app(app)
    payments_cli.init_app(app)
    order_money.init_app(app)  # the escrow invariant, statement words, money panel, CLI
    importlib.import_module("app.transactions.events").init_app(app)  # consumers after commit
    if app.config.get("REDIS_URL"):  # last: every due job registered above becomes a task
        importlib.import_module("app.jobs.celery_app").init_app(app)
    _configure_security_headers(app)
    from app import logs, metrics, page_cache

    metrics.init_app(app)
    # Before logs: a page served from the cache is still logged and counted (app/page_cache.py).
    page_cache.init_app(app)
    # Last: its hooks go first before and last after every other one (app/logs.py).
    logs.init_app(app, on_request_done=metrics.observe_request)
    return app


def _configure_proxies(app: Flask) -> None:
    """Behind PROXY_FIX_X_FOR proxies, take the client address (and with PROXY_FIX_X_PROTO the
    scheme) from X-Forwarded-* headers, so rate limits and logs see the real client. Headers
    are only trusted as far as the configured number of proxies: a client cannot add hops."""
    x_for, x_proto = app.config.get("PROXY_FIX_X_FOR", 0), app.config.get("PROXY_FIX_X_PROTO", 0)
    if x_for or x_proto:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _configure_security_headers(app: Flask) -> None:
    """A strict Content-Security-Policy (no inline script or style) and the usual hardening."""
    stripe = {
        _origin(app.config.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/"),
        _origin(app.config.get("STRIPE_API_BASE") or "https://api.stripe.com"),
        "https://js.stripe.com",
        "https://hooks.stripe.com",
    } - {""}
    stripe_sources = " ".join(sorted(stripe))
    policy = "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            "style-src 'self'",
            f"script-src 'self' {stripe_sources}",
            f"frame-src {stripe_sources}",
            f"connect-src 'self' {stripe_sources}",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )

    hsts = app.config.get("HSTS_SECONDS", 0)

    @app.after_request
    def _harden(response):
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _configure_sqlite(app: Flask) -> None:
    """Foreign keys on, and WAL so readers and one writer can work at once."""
    from sqlalchemy import event

    from app.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _pool_options(app: Flask) -> None:
    """PostgreSQL's connection pool sized from DB_POOL_* (config.py); SQLite keeps its own."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options.setdefault("pool_size", app.config["DB_POOL_SIZE"])
    options.setdefault("max_overflow", app.config["DB_MAX_OVERFLOW"])
    options.setdefault("pool_timeout", app.config["DB_POOL_TIMEOUT_SECONDS"])
    options.setdefault("pool_recycle", app.config["DB_POOL_RECYCLE_SECONDS"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

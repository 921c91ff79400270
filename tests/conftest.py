"""Shared fixtures: `app` runs every database test on SQLite and, when TEST_DATABASE_URL is
set, again on PostgreSQL. Each test starts from empty tables (categories excepted)."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from config import TestConfig

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
KEEP_TABLES = {"categories", "alembic_version"}


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as on a real server.

    Flask reuses an app context that is already pushed (our `app` fixture pushes one), which
    would share `g`, the signed-in user and the database session between the test's code and
    every request. Running the request in an empty contextvars context gives it its own.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_test_app(backend: str, tmp_dir: str, **overrides) -> Flask:
    """A fresh application with an empty schema on the given backend."""
    from app.listings import search
    from app.listings.services import ensure_categories

    if backend == "postgresql":
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{os.path.join(tmp_dir, 'test.sqlite3')}"
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=os.path.join(tmp_dir, "uploads"),
        **overrides,
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            search.install(conn)
        ensure_categories()
    return app


def wipe(app: Flask) -> None:
    """Delete every row but the fixed categories, children first."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in KEEP_TABLES:
                    conn.execute(table.delete())
            stats = (
                conn.dialect.name == "sqlite"
                and conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
                ).first()
            )
            if stats:  # a test ran ANALYZE (bench/generate.py): the next test plans afresh
                conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        if stats:
            db.engine.dispose()  # connections keep the statistics they loaded


@pytest.fixture(scope="session", params=BACKENDS)
def _session_app(request, tmp_path_factory) -> Iterator[Flask]:
    app = make_test_app(request.param, str(tmp_path_factory.mktemp(request.param)))
    app.config["TEST_BACKEND"] = request.param
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The application inside an app context; tables are emptied after the test."""
    saved = dict(_session_app.config)
    ctx = _session_app.app_context()
    ctx.push()
    try:
        yield _session_app
    finally:
        db.session.remove()
        ctx.pop()
        wipe(_session_app)
        _session_app.config.clear()
        _session_app.config.update(saved)


@pytest.fixture
def backend(app: Flask) -> str:
    """'sqlite' or 'postgresql'."""
    return app.config["TEST_BACKEND"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, user) -> FlaskClient:
    """Sign the test client in as `user` (what a successful sign-in leaves in the session)."""
    from app.accounts.services import open_session

    with client.session_transaction() as session:
        session["_user_id"] = open_session(user.id).session_key
        session["_fresh"] = True
    return client


@pytest.fixture
def make_client(app: Flask):
    """make_client(user) -> a new test client signed in as that user (None: anonymous)."""

    def _make(user=None) -> FlaskClient:
        new = app.test_client()
        return login(new, user) if user is not None else new

    return _make

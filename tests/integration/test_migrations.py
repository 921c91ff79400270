"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.conftest import BACKENDS, PG_URL

SCHEMA = "migration_check"


def _url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{SCHEMA}"


@pytest.fixture(params=BACKENDS)
def migrated_app(request, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=_url(request.param, tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _ignore_search_objects(obj, name, type_, reflected, compare_to):
    return not (name or "").startswith("listings_fts") and name != "ix_listings_fulltext"


def test_migrations_match_the_models(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_object": _ignore_search_objects},
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_migrations_create_the_search_index(migrated_app):
    inspector = inspect(db.engine)
    if db.engine.dialect.name == "sqlite":
        assert "listings_fts" in inspector.get_table_names()
    else:
        assert "ix_listings_fulltext" in {i["name"] for i in inspector.get_indexes("listings")}


def test_migrations_downgrade_to_base_and_up_again(migrated_app):
    downgrade(revision="base")
    assert "users" not in inspect(db.engine).get_table_names()
    upgrade()
    assert "users" in inspect(db.engine).get_table_names()


def test_search_finds_listings_in_a_migrated_database(migrated_app):
    from app.accounts.services import register
    from app.listings.services import create_listing, ensure_categories, search_listings

    ensure_categories()
    seller = register("mig@example.com", "migrator", "a long enough password")
    create_listing(
        seller.id,
        title="Walnut bookshelf",
        description="Five shelves, solid wood.",
        category_slug="home-garden",
        condition="good",
        price_cents=9000,
        quantity=1,
    )
    assert [item.title for item in search_listings(q="shelves").items] == ["Walnut bookshelf"]


def test_the_test_schema_search_ddl_is_the_migrations():
    """Tests build the schema with create_all + search.install; that must equal migration 0002."""
    import importlib.util
    from pathlib import Path

    from app.listings import search

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0002_search.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def squash(statements):
        return [" ".join(s.split()) for s in statements]

    assert squash(search.SQLITE_DDL) == squash(migration.SQLITE_UP)[: len(search.SQLITE_DDL)]
    assert squash(search.POSTGRES_DDL) == squash(migration.POSTGRES_UP)


def test_accounts_from_before_email_confirmation_count_as_confirmed(migrated_app):
    downgrade(revision="0004")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, handle, password_hash, is_moderator, is_admin,"
                " is_suspended, created_at) VALUES ('early@example.com', 'early', 'x',"
                " false, false, false, '2026-01-02 03:04:05+00:00')"
            )
        )
    upgrade()
    with db.engine.connect() as conn:
        confirmed, created = conn.execute(
            text("SELECT email_confirmed_at, created_at FROM users WHERE handle = 'early'")
        ).one()
    assert confirmed is not None and confirmed == created

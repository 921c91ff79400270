"""PostgreSQL's connection pool is sized from the DB_POOL_* settings; SQLite keeps its own."""

from __future__ import annotations

from app import create_app
from app.extensions import db
from config import TestConfig


def test_the_postgresql_pool_follows_the_settings(tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/unused",  # never opened
        UPLOAD_DIR=str(tmp_path),
        DB_POOL_SIZE=3,
        DB_MAX_OVERFLOW=2,
        DB_POOL_TIMEOUT_SECONDS=7,
        DB_POOL_RECYCLE_SECONDS=600,
    )
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (3, 2, 7, 600)
        assert pool._pre_ping
        db.engine.dispose()


def test_sqlite_gets_no_pool_settings(tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        UPLOAD_DIR=str(tmp_path),
        DB_POOL_SIZE=3,
    )
    assert "pool_size" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]

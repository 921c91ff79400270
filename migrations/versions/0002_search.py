"""Full-text search over listings: FTS5 on SQLite, a GIN tsvector index on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS listings_fts USING fts5("
    "title, description, content='listings', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS listings_fts_ai AFTER INSERT ON listings BEGIN "
    "INSERT INTO listings_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER IF NOT EXISTS listings_fts_ad AFTER DELETE ON listings BEGIN "
    "INSERT INTO listings_fts(listings_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER IF NOT EXISTS listings_fts_au AFTER UPDATE OF title, description ON listings "
    "BEGIN INSERT INTO listings_fts(listings_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO listings_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO listings_fts(listings_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS listings_fts_au",
    "DROP TRIGGER IF EXISTS listings_fts_ad",
    "DROP TRIGGER IF EXISTS listings_fts_ai",
    "DROP TABLE IF EXISTS listings_fts",
)
POSTGRES_UP = (
    "CREATE INDEX IF NOT EXISTS ix_listings_fulltext ON listings USING gin "
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '')))",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_listings_fulltext",)


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_UP)
    else:
        _run(POSTGRES_UP)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_DOWN)
    else:
        _run(POSTGRES_DOWN)

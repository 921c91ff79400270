"""Full-text search over listings: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

The DDL here is what migration 0002 created; keep the two in step (test_migrations compares them).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

SQLITE_DDL = (
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
)

# The expression must match the one the queries use, or PostgreSQL will not use the index.
PG_TSVECTOR = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, ''))"
POSTGRES_DDL = (
    f"CREATE INDEX IF NOT EXISTS ix_listings_fulltext ON listings USING gin ({PG_TSVECTOR})",
)


def install(connection: Connection) -> None:
    """Create the search index for this connection's database (tests; migrations copy it)."""
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)

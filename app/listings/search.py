"""Full-text search over listings: FTS5 on SQLite, a stored tsvector + GIN on PostgreSQL.

The DDL here is what migrations 0002 (SQLite) and 0015 (PostgreSQL) create; keep them in step
(test_migrations compares them). On PostgreSQL the words of a listing are a stored generated
column, `search_vector`, so ranking reads them instead of parsing every match again (issue 14:
1.9 s to rank 40,000 matches of "bike" by re-parsing, milliseconds from the column). It is not a
model column: only PostgreSQL has it, and nothing but the search reads it.
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

PG_WORDS = "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, ''))"
# What the queries match and rank: the stored column the GIN index is on.
PG_TSVECTOR = "listings.search_vector"
POSTGRES_DDL = (
    "ALTER TABLE listings ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({PG_WORDS}) STORED",
    "CREATE INDEX IF NOT EXISTS ix_listings_fulltext ON listings USING gin (search_vector)",
)


def install(connection: Connection) -> None:
    """Create the search index for this connection's database (tests; migrations copy it)."""
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)

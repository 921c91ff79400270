"""Run one page, then EXPLAIN ANALYZE (PostgreSQL) / EXPLAIN QUERY PLAN (SQLite) every statement
it ran that took more than 2 ms: the slow statements of a page, with their plans.

    PYTHONPATH=. .venv/bin/python bench/queries/explain_page.py DATABASE_URL PATH [min_ms]
"""

import sys
import time

from sqlalchemy import event

from app import create_app
from app.extensions import db

url, path = sys.argv[1], sys.argv[2]
min_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
app = create_app(SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
ran = []
with app.app_context():
    engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, many):
        conn.info["t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, many):
        ran.append(((time.perf_counter() - conn.info["t"]) * 1000, statement, params))


client = app.test_client()
client.get(path)
ran.clear()
r = client.get(path)
print(path, r.status_code, f"{len(ran)} statements, {sum(t for t, *_ in ran):.1f} ms in SQL")
sqlite = url.startswith("sqlite")
with app.app_context():
    raw = db.engine.raw_connection()
    cur = raw.cursor()
    for ms, statement, params in ran:
        if ms < min_ms:
            continue
        print(f"\n--- {ms:.1f} ms: {' '.join(statement.split())[:400]}")
        cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE ") + statement, params)
        for row in cur.fetchall():
            print("   ", row[-1] if sqlite else row[0])
    raw.close()

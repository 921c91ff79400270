"""Time list pages in-process (Flask test client, no server) against a generated database:
the median and fastest of N requests, the statements each ran and the page size (issue 14).

    PYTHONPATH=. .venv/bin/python bench/queries/time_pages.py DATABASE_URL [N] [name,name]

Not the page benchmark (bench/web/): no gunicorn, no concurrency, just what one request costs.
"""

import statistics
import sys
import time
from datetime import datetime

from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.pagination import encode_cursor

url = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
only = sys.argv[3].split(",") if len(sys.argv) > 3 else None
app = create_app(SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
with app.app_context():
    # Page 500 as "Next" reaches it: after the 11,976th newest listing (numbered pages end at
    # the first 1,000 results; ?page=500 redirects to the last numbered one).
    deep_at, deep_id = db.session.execute(
        text(
            "SELECT created_at, id FROM listings WHERE status = 'active' "
            "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 11975"
        )
    ).one()
    if not isinstance(deep_at, datetime):
        deep_at = datetime.fromisoformat(deep_at)
    deep = encode_cursor("newest", (deep_at, deep_id), 11976)
PAGES = [
    ("home", "/"),
    ("browse", "/listings"),
    ("search bike", "/listings?q=bike"),
    ("search narrow", "/listings?q=walnut+lamp&category=home-garden&max_price=100"),
    ("page 500", f"/listings?after={deep}"),
    ("page 42", "/listings?page=42"),
    ("busy profile", "/u/member1"),
    ("quiet profile", "/u/member99999"),
    ("listing", "/listings/150000"),
    ("api list", "/api/v1/listings"),
    ("api bike", "/api/v1/listings?q=bike"),
    ("api page 500", f"/api/v1/listings?cursor={deep}"),
]
counter = {"n": 0}


def _count(*_args) -> None:
    counter["n"] += 1


with app.app_context():
    event.listen(db.engine, "before_cursor_execute", _count)
client = app.test_client()
for name, path in PAGES:
    if only and name not in only:
        continue
    times = []
    for _ in range(n):
        counter["n"] = 0
        t = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
    median, fastest = statistics.median(times), min(times)
    print(
        f"{name:15s} {path[:60]:60s} {r.status_code} median {median:8.1f} ms  min {fastest:8.1f} ms"
        f"  {counter['n']} stmts  {len(r.data) // 1024} KB",
        flush=True,
    )

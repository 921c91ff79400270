"""The signed-in pages of bench/pages.py served in-process (Flask test client, no server):
statements per request, CPU ms per request (`time.process_time`, best of 3 x N) and, with
--profile, cProfile's top functions by cumulative time (issue 14).

    PYTHONPATH=. .venv/bin/python bench/queries/profile_signed_in.py DATABASE_URL [--n 40]
        [--only 'sales|loan'] [--statements] [--profile 25 [--filter 'app/']]

The database must hold a marketplace from bench/generate.py, migrated; signing in writes a
session row, so use a copy (createdb -T bench_full bench_x), never bench_full itself.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import re
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event

from app import create_app
from app.extensions import db

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_pages", HERE.parent / "pages.py")
bench_pages = importlib.util.module_from_spec(spec)
sys.modules["bench_pages"] = bench_pages  # its dataclasses look their module up
spec.loader.exec_module(bench_pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--n", type=int, default=40, help="requests per timing (best of 3)")
    parser.add_argument("--only", default="", help="a regular expression on the page names")
    parser.add_argument("--profile", type=int, default=0, help="print this many functions")
    parser.add_argument("--statements", action="store_true", help="print each page's SQL")
    parser.add_argument("--filter", default="", help="a regular expression on the functions")
    args = parser.parse_args()

    ids = bench_pages.pick_ids(create_engine(args.database_url))
    pages = [p for p in bench_pages.page_list(ids) if p.signed_in]
    if args.only:
        pages = [p for p in pages if re.search(args.only, p.label)]
    app = create_app(SQLALCHEMY_DATABASE_URI=args.database_url, WTF_CSRF_ENABLED=False)
    counter = {"n": 0, "ran": []}

    def count(_conn, _cursor, statement, *_args) -> None:
        counter["n"] += 1
        counter["ran"].append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    clients = {}
    for who, email in (("seller", ids.seller_email), ("member", ids.member_email)):
        client = app.test_client()
        answer = client.post(
            "/login", data={"email": email, "password": bench_pages.DEMO_PASSWORD, "next": ""}
        )
        if answer.status_code != 303:
            raise SystemExit(f"signing in as {email} answered {answer.status_code}")
        clients[who] = client
    for page in pages:
        client = clients[page.signed_in]
        for _ in range(3):  # warm
            answer = client.get(page.path)
        if answer.status_code != 200:
            raise SystemExit(f"{page.path} answered {answer.status_code}")
        counter["n"], counter["ran"] = 0, []
        client.get(page.path)
        statements = counter["n"]
        if args.statements:
            print("\n---\n".join(counter["ran"]))
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for _ in range(args.n):
                client.get(page.path)
            best = min(best, (time.process_time() - started) * 1000 / args.n)
        print(
            f"{page.label:12s} {page.path:24s} {statements:3d} statements "
            f"{best:7.2f} CPU ms/request {len(answer.data) // 1024:5d} KB",
            flush=True,
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                client.get(page.path)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.filter, args.profile)


if __name__ == "__main__":
    main()

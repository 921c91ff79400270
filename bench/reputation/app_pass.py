"""The app's full reputation pass on PostgreSQL, against a plain SELECT of the same rows.

Run from the repo root:

    python bench/reputation/app_pass.py [--feedback 1000000] [--users 100000] [--runs 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_rep]

It creates the database if needed, migrates it (`flask db upgrade`), fills it with synthetic
members, orders and revealed two-way feedback (server-side, generate_series; skipped when the
database already holds exactly that many feedback rows), then measures, each in a fresh
process under /usr/bin/time (wall seconds and peak RSS), `--runs` times in turn:

1. a plain `SELECT` of the columns a pass reads, fetched by psycopg (the floor of any pass);
2. `flask reputation recompute` itself, with the phases it reports (load, score, store).
   The first run is the day's first pass (today's chart points are deleted before it,
   untimed, so it writes every one of them); later runs are later passes of the same day.

and once:

3. a reveal above REPUTATION_SYNC_LIMIT (`refresh_after_reveal` of one order's two parties),
   timed in-process, 20 times.

The machine may be shared: medians of the runs are printed, and CPU seconds beside wall.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_rep"
SELECT = (
    "SELECT author_id, subject_user_id, author_role, subject_role, rating, created_at, "
    "amount_cents, subject_id FROM feedback WHERE revealed_at IS NOT NULL"
)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def ensure_database(url: str) -> None:
    """Create the database when missing and bring it to the newest migration."""
    import psycopg

    base, name = _plain(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)


def populate(url: str, n_feedback: int, n_users: int) -> None:
    """Members, one listing each, completed orders, and both sides' revealed feedback."""
    import psycopg

    n_orders = n_feedback // 2
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        if have == 2 * n_orders and users == n_users:
            print(f"database already holds {have:,} feedback among {users:,} members")
            return
        started = time.perf_counter()
        conn.execute(
            "TRUNCATE feedback, orders, listings, categories, users, reputation_scores, "
            "reputation_snapshots, reputation_runs RESTART IDENTITY CASCADE"
        )
        conn.execute("SELECT setseed(0.42)")
        conn.execute(
            "INSERT INTO users (id, email, handle, password_hash, is_moderator, is_admin, "
            "is_suspended, created_at) SELECT g, 'm' || g || '@bench.invalid', 'mem' || g, 'x', "
            "false, false, false, now() - interval '1100 days' * random() - interval '30 days' "
            "FROM generate_series(1, %s) g",
            (n_users,),
        )
        conn.execute("INSERT INTO categories (id, slug, name, position) VALUES (1, 'b', 'B', 1)")
        conn.execute(
            "INSERT INTO listings (id, seller_id, category_id, title, description, condition, "
            "price_cents, currency, quantity, status, created_at, updated_at) SELECT g, g, 1, "
            "'Item', '', 'used', 5000, 'USD', 1000, 'active', now(), now() "
            "FROM generate_series(1, %s) g",
            (n_users,),
        )
        # Sellers by a skewed popularity (a few sell a lot), buyers uniform, 3 years of trades.
        conn.execute(
            "INSERT INTO orders (id, listing_id, buyer_id, seller_id, title, quantity, "
            "unit_price_cents, total_cents, currency, state, created_at, updated_at) "
            "SELECT g, s, b, s, 'Item', 1, p, p, 'USD', 'completed', t, t FROM ("
            "  SELECT g, s, CASE WHEN b = s THEN b %% %s + 1 ELSE b END AS b, p, t FROM ("
            "    SELECT g, least(%s, 1 + floor(%s * power(random(), 3)))::int AS s, "
            "    1 + floor(random() * %s)::int AS b, (100 + floor(random() * 20000))::int AS p, "
            "    now() - interval '1095 days' * random() AS t FROM generate_series(1, %s) g"
            "  ) raw"
            ") o",
            (n_users, n_users, n_users, n_users, n_orders),
        )
        conn.execute(
            "INSERT INTO feedback (subject_kind, subject_id, author_id, subject_user_id, "
            "author_role, subject_role, rating, comment, amount_cents, title, currency, "
            "created_at, revealed_at) "
            "SELECT 'order', id, buyer_id, seller_id, 'buyer', 'seller', "
            "CASE WHEN random() < 0.94 THEN 'positive' WHEN random() < 0.5 THEN 'neutral' "
            "ELSE 'negative' END, '', total_cents, title, currency, "
            "created_at + interval '3 days', created_at + interval '4 days' FROM orders "
            "UNION ALL SELECT 'order', id, seller_id, buyer_id, 'seller', 'buyer', "
            "CASE WHEN random() < 0.97 THEN 'positive' ELSE 'negative' END, '', total_cents, "
            "title, currency, created_at + interval '3 days', created_at + interval '4 days' "
            "FROM orders"
        )
        conn.execute("ANALYZE")
        print(
            f"populated {2 * n_orders:,} feedback among {n_users:,} members "
            f"in {time.perf_counter() - started:.0f} s"
        )


def timed(argv: list[str], url: str) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one command under /usr/bin/time.

    The machine may be shared: CPU seconds (user + system) say what the command itself cost.
    """
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %U %S %M", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall, user, system, kb = re.search(
        r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out.stderr
    ).groups()
    return float(wall), float(user) + float(system), int(kb) / 1024, out.stdout


def child_select(url: str) -> None:
    """The baseline: fetch the same rows with a plain SELECT (psycopg, all rows in memory)."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(_plain(url)) as conn:
        rows = conn.execute(SELECT).fetchall()
    print(f"rows {len(rows)} fetch {time.perf_counter() - started:.2f}")


def forget_today(url: str) -> None:
    """Delete today's chart points, so that the next pass is the day's first."""
    import psycopg

    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute("DELETE FROM reputation_snapshots WHERE day = current_date")


def child_reveal(url: str) -> None:
    """Time refresh_after_reveal for one order's two parties above the sync limit."""
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.orders.models import Order
    from app.reviews import reputation

    app = create_app()
    with app.app_context():
        limit = app.config["REPUTATION_SYNC_LIMIT"]
        orders = db.session.execute(select(Order.buyer_id, Order.seller_id).limit(20)).all()
        times = []
        for buyer, seller in orders:
            started = time.perf_counter()
            reputation.refresh_after_reveal([buyer, seller])
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(
            f"reveal median {times[len(times) // 2]:.1f} ms, worst {times[-1]:.1f} ms "
            f"(REPUTATION_SYNC_LIMIT {limit:,})"
        )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    """Populate, then measure the plain SELECT and the full pass in turn, and a reveal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--child", choices=["select", "reveal"])
    args = parser.parse_args()
    children = {"select": child_select, "reveal": child_reveal}
    if args.child:
        children[args.child](args.database_url)
        return
    ensure_database(args.database_url)
    populate(args.database_url, args.feedback, args.users)
    me = [sys.executable, __file__, "--database-url", args.database_url]
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "reputation", "recompute"]
    url = args.database_url
    print(f"PostgreSQL, {args.feedback:,} revealed feedback among {args.users:,} members")
    print(f"  {'':38} {'wall':>8} {'CPU':>8} {'peak RSS':>9}")
    selects, passes = [], []
    for run in range(args.runs):
        selects.append(timed([*me, "--child", "select"], url)[:3])
        if run == 0:
            forget_today(url)
        wall, cpu, mb, said = timed(flask, url)
        passes.append((wall, cpu, mb))
        label = "day's first" if run == 0 else "same day"
        for name, (w, c, m) in (
            (f"run {run + 1}: plain SELECT", selects[-1]),
            (f"run {run + 1}: recompute ({label})", passes[-1]),
        ):
            print(f"  {name:38} {w:7.2f}s {c:7.2f}s {m:6.0f} MB")
        print("    " + said.strip().splitlines()[-1])
    for name, runs in (
        ("plain SELECT of the same rows", selects),
        ("flask reputation recompute", passes),
    ):
        wall, cpu, mb = (_median([r[k] for r in runs]) for k in range(3))
        print(f"  median {name:31} {wall:7.2f}s {cpu:7.2f}s {mb:6.0f} MB")
    pass_s = _median([r[0] for r in passes])
    select_s = _median([r[0] for r in selects])
    print(f"  ratio pass / SELECT (median wall) {pass_s / select_s:7.1f} x   targets: <= 15 s, "
          "<= 1024 MB")  # fmt: skip
    print("  " + said.strip().splitlines()[-2])
    *_, reveal = timed([*me, "--child", "reveal"], url)
    print("  " + reveal.strip())


if __name__ == "__main__":
    main()

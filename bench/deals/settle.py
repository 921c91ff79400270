"""Group deals under load: pledging throughput and latency with many members pledging at once,
then the settlement of the deal (every pledge charged off-session) against localstripe.

Run from the repo root (localstripe is in the dev dependencies):

    .venv/bin/python bench/deals/settle.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB \
        [--pledges 1000] [--members 50] [--cap 0]

What it does: starts localstripe on a free loopback port, builds the app against the database
in a schema of its own (`bench_deals`, created and dropped by the script, so the rest of the
database is left alone; without --database-url a temp SQLite file, where writes are serialized
by SQLite's one write lock) with PAYMENT_PROVIDER=stripe, adds a club with --pledges members,
an organizer and a supplier, and one saved card at localstripe that every member's payment
profile points to (charges are still one PaymentIntent per pledge; saving 1,000 cards would only
time localstripe). Then:

1. pledging: --members threads pledge at the same moment, each for its share of the members, one
   unit of work per pledge (the deal's row lock, the totals, the tip); it prints pledges per
   second and latency percentiles, and checks the total is exact and never over --cap (0: no
   cap);
2. settlement: the deadline passes and the due job (`app.clubs.settlement.run`) closes the deal
   and charges every pledge at localstripe; it prints the time, the time per pledge, and checks
   every pledge is paid once and `flask ledger verify` is clean;
3. the notifications of those events are delivered (`events.deliver_due`), timed apart.

Only 127.0.0.1 is contacted. The schema and localstripe are removed at the end, also on error.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

SCHEMA = "bench_deals"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--pledges", type=int, default=1000, help="members pledging")
    parser.add_argument("--members", type=int, default=50, help="concurrent pledging threads")
    parser.add_argument("--cap", type=int, default=0, help="the deal's cap (0: none)")
    return parser.parse_args(argv)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _engine_url(url: str) -> str:
    """The URL with the bench's own schema first on the search path (PostgreSQL)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{SCHEMA}"


def _prepare_schema(url: str, *, drop_only: bool = False) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        if not drop_only:
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


def build_app(args, stripe_url: str, tmp: str):
    from app import create_app
    from config import TestConfig

    if args.database_url:
        _prepare_schema(args.database_url)
        url = _engine_url(args.database_url)
        engine = {"pool_size": args.members + 2, "max_overflow": 0, "pool_pre_ping": True}
    else:
        url = f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}"
        engine = {"pool_pre_ping": True}
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS=engine,
        UPLOAD_DIR=os.path.join(tmp, "uploads"),
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_test_bench",
        STRIPE_PUBLISHABLE_KEY="pk_test_bench",
        STRIPE_API_BASE=stripe_url,
        PAYMENT_RETRY_ATTEMPTS=3,
        PAYMENT_RETRY_BASE_DELAY=0.2,
    )
    from app.extensions import db

    with app.app_context():
        db.create_all()
    return app


def seed(count: int, cap: int | None):
    """A club of `count` members, its organizer, a supplier, one saved card at localstripe
    shared by every member's profile, and an open deal. Returns (deal_id, member ids)."""
    import secrets

    from sqlalchemy import insert, select

    from app.accounts.models import User
    from app.accounts.passwords import hash_password
    from app.clubs import deals
    from app.clubs.models import ACTIVE, MEMBER, ORGANIZER, Club, ClubMember
    from app.db import utcnow
    from app.extensions import db
    from app.payments.models import PaymentProfile
    from app.payments.providers import get_provider

    password = hash_password("bench password")
    now = utcnow()
    rows = [
        {"handle": f"bench{n:05d}", "email": f"bench{n:05d}@example.com",
         "password_hash": password, "created_at": now, "email_confirmed_at": now}
        for n in range(count + 2)
    ]  # fmt: skip
    db.session.execute(insert(User), rows)
    ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    organizer_id, supplier_id, member_ids = ids[0], ids[1], ids[2:]
    club = Club(name="Bench club", invite_token=secrets.token_urlsafe(32),
                organizer_id=organizer_id, member_count=count + 1)  # fmt: skip
    db.session.add(club)
    db.session.flush()
    db.session.execute(
        insert(ClubMember),
        [{"club_id": club.id, "user_id": organizer_id, "role": ORGANIZER, "status": ACTIVE,
          "joined_at": now, "updated_at": now}]
        + [{"club_id": club.id, "user_id": uid, "role": MEMBER, "status": ACTIVE,
            "joined_at": now, "updated_at": now} for uid in member_ids],
    )  # fmt: skip
    client = get_provider().client
    customer = client.v1.customers.create(params={"email": "bench@example.com"})
    method = client.v1.payment_methods.create(
        params={"type": "card",
                "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2035,
                         "cvc": "123"}}
    )  # fmt: skip
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    db.session.execute(
        insert(PaymentProfile),
        [{"user_id": uid, "provider": "stripe", "customer_ref": customer.id,
          "payment_method_ref": method.id, "updated_at": now} for uid in member_ids],
    )  # fmt: skip
    db.session.commit()
    opened_at = now - timedelta(hours=2)
    deal = deals.create_deal(
        club.id, organizer_id, supplier_id=supplier_id, title="Bench oats", unit="bag",
        currency="USD", tiers=[(10, 900), (100, 800), (500, 700)], min_quantity=10,
        cap_quantity=cap, member_limit=None, deadline=opened_at + timedelta(hours=1, minutes=5),
        fulfilment="pickup", pickup_point="The hall", pickup_times="Saturday",
        shipping_cents=0, organizer_fee_bps=300, now=opened_at,
    )  # fmt: skip
    deals.deal_action(deal.id, "propose", organizer_id, now=opened_at)
    deals.deal_action(deal.id, "accept_terms", supplier_id, now=opened_at)
    return deal.id, member_ids, opened_at


def pledge_at_once(app, deal_id: int, member_ids: list[int], threads: int, when):
    """Every member pledges one unit, `threads` at a time; returns (seconds, latencies, refused)."""
    from app.clubs import deals
    from app.errors import DomainError
    from app.extensions import db

    shares = [member_ids[n::threads] for n in range(threads)]
    barrier = threading.Barrier(threads)
    latencies: list[float] = []
    refused: list[str] = []
    lock = threading.Lock()

    def work(share: list[int]) -> None:
        mine, codes = [], []
        with app.app_context():
            barrier.wait()
            for member_id in share:
                started = time.perf_counter()
                try:
                    deals.pledge(deal_id, member_id, 1, now=when)
                except DomainError as error:
                    codes.append(error.code)
                mine.append(time.perf_counter() - started)
            db.session.remove()
        with lock:
            latencies.extend(mine)
            refused.extend(codes)

    workers = [threading.Thread(target=work, args=(share,)) for share in shares]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, latencies, refused


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.stripe_server import start_stripe_server, stop_stripe_server

    server = start_stripe_server()
    tmp = tempfile.mkdtemp(prefix="mutual-bench-deals-")
    ok = True
    try:
        app = build_app(args, server.url, tmp)
        with app.app_context():
            from sqlalchemy import func, select

            from app.clubs import money, settlement, states
            from app.clubs.models import GroupDeal, Pledge
            from app.extensions import db
            from app.payments import ledger
            from app.payments.models import Payment
            from app.transactions.events import deliver_due

            backend = "PostgreSQL" if args.database_url else "SQLite"
            print(f"group deals bench: {args.pledges} members, {args.members} threads, "
                  f"{backend}, localstripe at {server.url}")  # fmt: skip
            started = time.perf_counter()
            deal_id, member_ids, opened_at = seed(args.pledges, args.cap or None)
            print(
                f"seeded in {time.perf_counter() - started:.1f} s; load average "
                f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
            )

            seconds, latencies, refused = pledge_at_once(
                app, deal_id, member_ids, args.members, opened_at + timedelta(minutes=1)
            )
            db.session.expire_all()
            deal = db.session.get(GroupDeal, deal_id)
            live = db.session.scalar(
                select(func.coalesce(func.sum(Pledge.quantity), 0)).where(
                    Pledge.deal_id == deal_id, Pledge.state.in_(states.COUNTED)
                )
            )
            exact = deal.pledged_quantity == live and (
                not args.cap or deal.pledged_quantity <= args.cap
            )
            ok &= exact
            print("\npledging (one unit of work per pledge, all threads at once)")
            print(
                f"  pledges placed      {len(latencies) - len(refused)}"
                + (f" ({len(refused)} refused: {sorted(set(refused))})" if refused else "")
            )
            print(
                f"  throughput          {len(latencies) / seconds:.0f} pledges/s ({seconds:.2f} s)"
            )
            print(
                f"  latency ms          p50 {_percentile(latencies, 0.5) * 1000:.1f}  "
                f"p95 {_percentile(latencies, 0.95) * 1000:.1f}  "
                f"p99 {_percentile(latencies, 0.99) * 1000:.1f}  "
                f"max {max(latencies) * 1000:.1f}  "
                f"mean {statistics.mean(latencies) * 1000:.1f}"
            )
            print(f"  total exact         {exact} ({deal.pledged_quantity} units, "
                  f"{deal.pledge_count} pledges, state {deal.state})")  # fmt: skip

            # settlement.run, part by part (the same calls in the same order), to show where
            # the time goes: closing, charging at localstripe, the payouts decided after.
            moment = deal.deadline + timedelta(minutes=1)
            parts = {}
            started = time.perf_counter()
            for name, part in (
                ("close", lambda: settlement.remind(moment) + settlement.close_due(moment)),
                ("charge", lambda: settlement.charge_due(moment)),
                ("settle", lambda: settlement.drop_due(moment) + settlement.settle_due(moment)),
                ("payouts", money.run_operations),
            ):
                begun = time.perf_counter()
                part()
                parts[name] = time.perf_counter() - begun
            settle_seconds = time.perf_counter() - started
            db.session.expire_all()
            deal = db.session.get(GroupDeal, deal_id)
            paid = db.session.scalar(
                select(func.count(Pledge.id)).where(
                    Pledge.deal_id == deal_id, Pledge.state == states.PAID
                )
            )
            charges = db.session.scalar(
                select(func.count(Payment.id)).where(
                    Payment.subject_type == "pledge", Payment.status == "succeeded"
                )
            )
            report = ledger.verify()
            ok &= deal.state == states.SETTLED and paid == charges == deal.pledge_count
            ok &= report.ok
            print("\nsettlement (the due job: close, charge every pledge at localstripe, settle)")
            print(
                f"  time                {settle_seconds:.1f} s "
                f"({settle_seconds / max(1, paid) * 1000:.1f} ms a pledge)"
            )
            print(
                "  of which            "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items())
            )
            print(
                f"  pledges paid        {paid} of {deal.pledge_count}, {charges} charges, "
                f"deal {deal.state} at {deal.final_unit_price_cents / 100:.2f} a unit"
            )
            print(f"  ledger verify       {'clean' if report.ok else report.problems[:3]}")

            started = time.perf_counter()
            delivered = deliver_due(deal.deadline + timedelta(days=1))
            print(
                f"  notifications       {delivered} deliveries in "
                f"{time.perf_counter() - started:.1f} s (apart from the settlement)"
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        stop_stripe_server(server)
        if args.database_url:
            _prepare_schema(args.database_url, drop_only=True)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print("\nOK" if ok else "\nPROBLEMS: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Load a large, consistent marketplace into a migrated database, fast and repeatably.

    python bench/generate.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench \
        --users 100000 --listings 300000 --orders 700000 --feedback 1000000 --seed 1
    python bench/generate.py --database-url sqlite:///instance/bench.sqlite3 --quick

The database must be migrated (`flask db upgrade`) and hold no members yet. Rows go in with bulk
SQL (COPY on PostgreSQL; executemany in large transactions with bulk-load PRAGMAs on SQLite),
then the search index is rebuilt the way the app keeps it (app/listings/search.py), id sequences
are moved past the rows, and ANALYZE runs. Every row keeps the schema's CHECK constraints and the
state machines' invariants: a state has exactly the timestamps of the steps that led to it, an
order's total is its unit price times its quantity, a loan's fee is its offer's quote for its
days, a deal's pledged quantity and pledge count are the sums of its pledges, a settled deal's
pledges are charged at the best tier reached, and feedback is only written between the parties
of a completed transaction and revealed. No payment or ledger rows are written (manual, in
person), so `flask ledger verify` holds. Afterwards: `flask reputation recompute`.

Times are relative to --now (default: today, midnight UTC); the same seed and --now give the
same rows. Every member signs in with the demo password (app/demo.py DEMO_PASSWORD). The summary
names a busy profile (the member with the most feedback) and a quiet one for the page benchmark.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.accounts.passwords import hash_password
from app.clubs.feedback import PLEDGE_PAIRS
from app.demo import DEMO_PASSWORD
from app.lending.feedback import PAIRS as LOAN_PAIRS
from app.listings import search
from app.listings.pricing import fee_cents, late_fee_cap_cents
from app.listings.services import CATEGORIES
from app.orders.feedback import PAIRS as ORDER_PAIRS

try:
    from tqdm import tqdm
except ImportError:  # the generator works without it, silently
    tqdm = None

BATCH = 50_000
# SQLite 3.40 (Debian 12's) answers `a = ? AND b IN (..) AND c <= ?` on an index (a, b, c)
# with rows outside the range once sqlite_stat1 exists (the loans' calendar check, seen
# here); 3.51 does not. Older SQLite gets no statistics: slower plans, right answers.
SQLITE_SAFE_ANALYZE = (3, 45, 0)
DAY = 86_400
CURRENCY = "USD"

# -- words ------------------------------------------------------------------------------------

# (noun, weight): "bike" is in about 4 % of titles, so a search for it is broad but not all.
NOUNS = (
    ("bike", 4),
    ("lamp", 4),
    ("chair", 4),
    ("table", 3),
    ("jacket", 4),
    ("camera", 3),
    ("guitar", 2),
    ("drill", 3),
    ("tent", 2),
    ("kettle", 3),
    ("backpack", 3),
    ("monitor", 3),
    ("keyboard", 3),
    ("sofa", 2),
    ("bookshelf", 2),
    ("puzzle", 3),
    ("skateboard", 2),
    ("helmet", 2),
    ("novel", 4),
    ("record", 3),
    ("teapot", 2),
    ("mirror", 2),
    ("rug", 2),
    ("stroller", 2),
    ("ladder", 2),
    ("blender", 2),
    ("speaker", 3),
    ("headphones", 3),
    ("watch", 3),
    ("boots", 3),
    ("sweater", 3),
    ("painting", 2),
    ("vase", 2),
    ("saw", 2),
    ("projector", 1),
    ("telescope", 1),
    ("typewriter", 1),
    ("sewing machine", 1),
    ("snowboard", 1),
    ("kayak", 1),
    ("lego set", 2),
    ("board game", 2),
    ("coffee grinder", 2),
)
ADJECTIVES = (
    "vintage",
    "walnut",
    "oak",
    "steel",
    "compact",
    "foldable",
    "wireless",
    "handmade",
    "leather",
    "wool",
    "blue",
    "red",
    "green",
    "black",
    "white",
    "retro",
    "modern",
    "antique",
    "lightweight",
    "heavy-duty",
    "electric",
    "classic",
    "rustic",
    "minimal",
    "portable",
    "ceramic",
    "brass",
    "bamboo",
    "canvas",
    "linen",
    "solid",
    "spacious",
    "tiny",
    "large",
)
BRANDS = (
    "Nordvik",
    "Alder",
    "Kestrel",
    "Marlow",
    "Brightwell",
    "Tamsin",
    "Corvo",
    "Halden",
    "Ostra",
    "Pellion",
    "Quill",
    "Rowan",
    "Saska",
    "Tove",
    "Umber",
    "Vesta",
    "Wren",
    "Yarrow",
)
SENTENCES = (
    "Well looked after and kept indoors.",
    "Selling because I am moving flat.",
    "Barely used, works perfectly.",
    "A few marks from normal use, see the photos.",
    "Comes with the original box.",
    "Pick up in town or I can post it.",
    "Smoke-free and pet-free home.",
    "Happy to answer questions before you buy.",
    "Bought last year, no longer needed.",
    "Cleaned and checked before listing.",
)
FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Femi",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Maya",
    "Nils",
    "Olu",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Adler",
    "Baptiste",
    "Costa",
    "Dahl",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Uddin",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhou",
)
CITIES = (
    "Lisbon",
    "Porto",
    "Ghent",
    "Leeds",
    "Lyon",
    "Bologna",
    "Graz",
    "Aarhus",
    "Tartu",
    "Utrecht",
    "Kraków",
    "Brno",
    "Malmö",
    "Bristol",
    "Cork",
    "Nantes",
)
COMMENTS = {
    "positive": (
        "Great to deal with, thank you!",
        "Exactly as described.",
        "Quick and friendly.",
        "Smooth from start to finish.",
        "Would trade again.",
        "",
    ),
    "neutral": ("It was fine.", "Took a while but got there.", ""),
    "negative": ("Not as described.", "Slow to answer messages.", "Did not turn up on time."),
}
CONDITIONS = ("new", "like_new", "good", "fair", "for_parts")
DEAL_PRODUCTS = (
    ("Organic oats, 1 kg bag", "bag"),
    ("Fair-trade coffee beans, 500 g", "pack"),
    ("Olive oil, 5 l tin", "tin"),
    ("Local honey, 450 g jar", "jar"),
    ("Wood pellets, 15 kg", "sack"),
    ("Seed potatoes, 2 kg", "net"),
    ("Rice, 10 kg sack", "sack"),
    ("LED bulbs, box of 4", "box"),
)

# -- sizes ------------------------------------------------------------------------------------


@dataclass
class Sizes:
    users: int
    listings: int
    orders: int
    feedback: int
    loans: int
    clubs: int
    deals: int
    pledges: int
    busy_feedback: int
    # Order conversations (None: one for 30 % of the orders), 1 to 7 messages each.
    conversations: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        if args.quick:
            users, listings, orders, feedback = 2_000, 6_000, 14_000, 20_000
        else:
            users, listings, orders, feedback = (
                args.users,
                args.listings,
                args.orders,
                args.feedback,
            )
        loans = args.loans if args.loans is not None else orders // 20
        clubs = args.clubs if args.clubs is not None else max(1, users // 500)
        deals = args.deals if args.deals is not None else clubs * 10
        pledges = args.pledges if args.pledges is not None else deals * 15
        busy = args.busy_feedback if args.busy_feedback is not None else round(feedback * 0.011)
        if users < 20:
            raise SystemExit("--users must be at least 20")
        talks = getattr(args, "conversations", None)
        return cls(users, listings, orders, feedback, loans, clubs, deals, pledges, busy, talks)


# -- writing rows -----------------------------------------------------------------------------


@dataclass
class Writer:
    """Bulk inserts into one database: COPY on PostgreSQL, executemany on SQLite."""

    engine: Engine
    show_progress: bool
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dialect = self.engine.dialect.name
        self.raw = self.engine.raw_connection()
        self.sqlite = self.dialect == "sqlite"
        if self.sqlite:
            cur = self.raw.cursor()
            self.journal_mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            try:  # leaving WAL needs the only connection; with others open, load in WAL
                cur.execute("PRAGMA journal_mode=OFF")
            except sqlite3.OperationalError:
                self.journal_mode = None
            for pragma in (
                "PRAGMA synchronous=OFF",
                "PRAGMA cache_size=-400000",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA foreign_keys=OFF",
            ):
                cur.execute(pragma)
            cur.close()

    def value(self, v):
        """A Python value as the column stores it (SQLite keeps naive UTC text, as the app)."""
        if self.sqlite and isinstance(v, datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.sqlite and isinstance(v, date):
            return v.isoformat()
        return v

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple], total: int) -> int:
        """Write `rows` into `table`, showing progress; returns how many went in."""
        bar = tqdm(total=total, desc=table, unit="row", leave=False) if self._bar() else None
        written = 0
        cur = self.raw.cursor()
        try:
            if self.sqlite:
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})"
                )
                for chunk in _chunks(rows, BATCH):
                    cur.executemany(sql, [tuple(map(self.value, row)) for row in chunk])
                    written += len(chunk)
                    if bar:
                        bar.update(len(chunk))
            else:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for chunk in _chunks(rows, BATCH):
                        for row in chunk:
                            copy.write_row(row)
                        written += len(chunk)
                        if bar:
                            bar.update(len(chunk))
            self.raw.commit()
        finally:
            cur.close()
            if bar:
                bar.close()
        self.counts[table] = self.counts.get(table, 0) + written
        return written

    def execute(self, sql: str) -> None:
        cur = self.raw.cursor()
        cur.execute(sql)
        cur.close()
        self.raw.commit()

    def scalar(self, sql: str):
        cur = self.raw.cursor()
        cur.execute(sql)
        row = cur.fetchone()
        cur.close()
        return row[0] if row else None

    def _bar(self) -> bool:
        return self.show_progress and tqdm is not None

    def close(self) -> None:
        self.raw.rollback()  # a failed load leaves nothing half-written in its batch
        if self.sqlite:
            cur = self.raw.cursor()
            if self.journal_mode:
                cur.execute(f"PRAGMA journal_mode={self.journal_mode}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
        self.raw.close()


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- the marketplace ----------------------------------------------------------------------------


@dataclass
class Generated:
    counts: dict[str, int]
    seconds: dict[str, float]
    busy_handle: str
    busy_feedback: int
    quiet_handle: str
    sample_listing_id: int
    total_seconds: float = 0.0


class Marketplace:
    """Draws every row from one seeded generator, in a fixed order."""

    def __init__(self, writer: Writer, sizes: Sizes, seed: int, now: datetime) -> None:
        self.w = writer
        self.n = sizes
        self.rng = np.random.default_rng(seed)
        self.now = now
        self.now_s = int(now.timestamp())
        self.seconds: dict[str, float] = {}
        self.ts = (
            (lambda s: datetime.fromtimestamp(int(s), UTC).replace(tzinfo=None))
            if writer.sqlite
            else (lambda s: datetime.fromtimestamp(int(s), UTC))
        )

    def day(self, s: int) -> date:
        return datetime.fromtimestamp(int(s), UTC).date()

    def timed(self, name: str, step: Callable[[], None]) -> None:
        started = time.perf_counter()
        step()
        self.seconds[name] = round(time.perf_counter() - started, 2)
        if self.w.show_progress:
            print(f"  {name}: {self.seconds[name]:.1f} s", file=sys.stderr)

    # users ---------------------------------------------------------------------------------

    def users(self) -> None:
        n, rng = self.n.users, self.rng
        # Hashed once (argon2 is slow on purpose), with the app's default cost outside a request.
        with Flask(__name__).app_context():
            password = hash_password(DEMO_PASSWORD)
        self.user_created = self.now_s - rng.integers(40 * DAY, 1500 * DAY, n)
        first = rng.integers(0, len(FIRST_NAMES), n)
        last = rng.integers(0, len(LAST_NAMES), n)
        city = rng.integers(0, len(CITIES), n)
        has_bio = rng.random(n) < 0.3

        def rows():
            for i in range(n):
                uid = i + 1
                created = self.ts(self.user_created[i])
                yield (
                    uid,
                    f"member{uid}@bench.mutual.test",
                    f"member{uid}",
                    password,
                    f"{FIRST_NAMES[first[i]]} {LAST_NAMES[last[i]]}",
                    "Trading what I no longer need." if has_bio[i] else None,
                    CITIES[city[i]],
                    False,
                    False,
                    False,
                    created,
                    created,
                )

        cols = [
            "id",
            "email",
            "handle",
            "password_hash",
            "display_name",
            "bio",
            "location",
            "is_moderator",
            "is_admin",
            "is_suspended",
            "created_at",
            "email_confirmed_at",
        ]
        self.w.insert("users", cols, rows(), n)

    # listings -------------------------------------------------------------------------------

    def listings(self) -> None:
        n, rng, users = self.n.listings, self.rng, self.n.users
        categories = self.categories()
        # Five power sellers hold 1 % of the listings each; the rest is skewed towards low ids.
        power = min(5, users // 4)
        seller = (6 + np.floor((users - 6) * rng.random(n) ** 2)).astype(np.int64)
        per_power = n // 100
        for p in range(power):
            seller[p * per_power : (p + 1) * per_power] = p + 1
        rng.shuffle(seller)
        weights = np.array([w for _, w in NOUNS], dtype=float)
        noun = rng.choice(len(NOUNS), n, p=weights / weights.sum())
        adj = rng.integers(0, len(ADJECTIVES), n)
        brand = rng.integers(0, len(BRANDS), n)
        with_brand = rng.random(n) < 0.4
        s1, s2 = rng.integers(0, len(SENTENCES), n), rng.integers(0, len(SENTENCES), n)
        cat = rng.integers(0, len(categories), n)
        cond = rng.integers(0, len(CONDITIONS), n)
        price = (np.exp(rng.normal(7.6, 1.1, n)) // 50 * 50).astype(np.int64)
        price[rng.random(n) < 0.02] = 0
        quantity = np.where(rng.random(n) < 0.85, 1, rng.integers(2, 11, n))
        quantity[rng.random(n) < 0.05] = 0  # sold out
        status_draw = rng.random(n)
        status = np.where(status_draw < 0.90, 0, np.where(status_draw < 0.96, 1, 2))
        # Listed after the seller joined, before now.
        joined = self.user_created[seller - 1]
        # Listed after the seller joined and at least 20 days ago (orders follow them).
        created = joined + (rng.random(n) * (self.now_s - 20 * DAY - joined)).astype(np.int64)
        lendable = (rng.random(n) < 0.10) & (status != 2)
        loan_only = lendable & (rng.random(n) < 0.3)
        self.titles = []
        self.listing_seller, self.listing_price = seller, price
        self.listing_created, self.listing_status = created, status
        self.listing_for_sale = ~loan_only
        self.lendable_idx = np.flatnonzero(lendable & (status == 0))
        self.busy_listing_idx = np.flatnonzero(seller == 1)
        statuses = ("active", "paused", "deleted")

        def rows():
            for i in range(n):
                word = NOUNS[noun[i]][0]
                title = f"{ADJECTIVES[adj[i]].capitalize()} {word}"
                if with_brand[i]:
                    title = f"{BRANDS[brand[i]]} {title.lower()}"
                self.titles.append(title)
                t = self.ts(created[i])
                yield (
                    i + 1,
                    int(seller[i]),
                    categories[cat[i]],
                    title,
                    f"{ADJECTIVES[adj[i]].capitalize()} {word}. {SENTENCES[s1[i]]} "
                    f"{SENTENCES[s2[i]]}",
                    CONDITIONS[cond[i]],
                    int(price[i]),
                    CURRENCY,
                    int(quantity[i]),
                    statuses[status[i]],
                    not loan_only[i],
                    t,
                    t,
                )

        cols = [
            "id",
            "seller_id",
            "category_id",
            "title",
            "description",
            "condition",
            "price_cents",
            "currency",
            "quantity",
            "status",
            "for_sale",
            "created_at",
            "updated_at",
        ]
        self.w.insert("listings", cols, rows(), n)
        self.loan_offers(lendable)

    def categories(self) -> list[int]:
        """The fixed categories' ids, creating any that are missing (as ensure_categories)."""
        existing = self._category_ids()
        missing = [(s, name, pos) for pos, (s, name) in enumerate(CATEGORIES) if s not in existing]
        if missing:
            self.w.insert("categories", ("slug", "name", "position"), missing, len(missing))
            existing = self._category_ids()
        return [existing[slug] for slug, _ in CATEGORIES]

    def _category_ids(self) -> dict[str, int]:
        cur = self.w.raw.cursor()
        cur.execute("SELECT slug, id FROM categories")
        out = {slug: cid for slug, cid in cur.fetchall()}
        cur.close()
        return out

    def loan_offers(self, lendable: np.ndarray) -> None:
        idx = np.flatnonzero(lendable)
        rng, k = self.rng, len(idx)
        day_fee = (rng.integers(0, 30, k) * 50).astype(np.int64)
        has_week = rng.random(k) < 0.4
        deposit = (rng.integers(0, 40, k) * 500).astype(np.int64)
        max_days = rng.integers(7, 31, k)
        late = (rng.integers(0, 10, k) * 100).astype(np.int64)
        cap = late * 5
        self.offers: dict[int, Offer] = {}

        def rows():
            for j, i in enumerate(idx):
                week = int(day_fee[j] * 6) if has_week[j] and day_fee[j] > 0 else None
                offer = Offer(int(day_fee[j]), week, int(deposit[j]), int(late[j]), int(cap[j]))
                offer.max_days = int(max_days[j])
                self.offers[int(i)] = offer
                t = self.ts(self.listing_created[i])
                yield (
                    int(i) + 1,
                    True,
                    offer.fee_per_day_cents,
                    week,
                    offer.deposit_cents,
                    1,
                    offer.max_days,
                    CITIES[int(i) % len(CITIES)],
                    "Evenings after 6.",
                    offer.late_fee_per_day_cents,
                    offer.late_fee_cap_cents,
                    t,
                    t,
                )

        cols = [
            "listing_id",
            "active",
            "fee_per_day_cents",
            "fee_per_week_cents",
            "deposit_cents",
            "min_days",
            "max_days",
            "pickup_area",
            "pickup_notes",
            "late_fee_per_day_cents",
            "late_fee_cap_cents",
            "created_at",
            "updated_at",
        ]
        self.w.insert("loan_offers", cols, rows(), k)

    # orders ---------------------------------------------------------------------------------

    def orders(self) -> None:
        n, rng, users = self.n.orders, self.rng, self.n.users
        busy_sale = np.intersect1d(self.busy_listing_idx, np.flatnonzero(self.listing_for_sale))
        # The busy member (member1) sells only through the orders set aside for them below.
        for_sale = np.flatnonzero(self.listing_for_sale & (self.listing_seller != 1))
        listing = for_sale[rng.integers(0, len(for_sale), n)]
        # The busy member sells enough for ~busy_feedback ratings of them as a seller.
        busy_orders = min(n, int(self.n.busy_feedback / 0.8) + 1) if len(busy_sale) else 0
        listing[:busy_orders] = busy_sale[rng.integers(0, len(busy_sale), busy_orders)]
        seller = self.listing_seller[listing]
        buyer = rng.integers(1, users + 1, n)
        buyer = np.where(buyer == seller, buyer % users + 1, buyer)
        quantity = np.where(rng.random(n) < 0.9, 1, rng.integers(2, 4, n))
        draw = rng.random(n)
        # 0 completed, 1 cancelled, 2 pending_payment, 3 paid, 4 shipped
        state = np.select([draw < 0.82, draw < 0.89, draw < 0.92, draw < 0.96], [0, 1, 2, 3], 4)
        state[:busy_orders] = 0
        start = np.maximum(self.listing_created[listing], self.user_created[buyer - 1]) + 3600
        created = start + (rng.random(n) * (self.now_s - 12 * DAY - start)).astype(np.int64)
        recent = self.now_s - rng.integers(2 * 3600, 4 * DAY, n)  # open orders are recent
        created = np.where(state >= 2, recent, created)
        paid_after = rng.integers(60, 2 * DAY, n)
        ship_after = rng.integers(3600, 3 * DAY, n)
        deliver_after = rng.integers(DAY, 5 * DAY, n)
        self.completed_orders = []
        self.order_parties: list[tuple[int, int, int, str, int, int]] = []
        names = ("completed", "cancelled", "pending_payment", "paid", "shipped")

        def rows():
            for i in range(n):
                li, st = int(listing[i]), int(state[i])
                unit, qty = int(self.listing_price[li]), int(quantity[i])
                c = int(created[i])
                paid = shipped = delivered = completed = cancelled = None
                if unit == 0 and st == 2:
                    st = 3  # a free order skips payment
                if st in (0, 3, 4):
                    paid = c if unit == 0 else c + int(paid_after[i])
                    paid = min(paid, self.now_s - 60)
                if st in (0, 4):
                    shipped = min(paid + int(ship_after[i]), self.now_s - 30)
                if st == 0:
                    delivered = completed = shipped + int(deliver_after[i])
                if st == 1:
                    cancelled = c + int(paid_after[i])
                last = max(x for x in (c, paid, shipped, completed, cancelled) if x is not None)
                oid = i + 1
                title = self.titles[li]
                self.order_parties.append((oid, int(buyer[i]), int(seller[i]), title, c, last))
                if st == 0:
                    self.completed_orders.append(
                        (oid, int(buyer[i]), int(seller[i]), title, unit * qty, completed)
                    )
                yield (
                    oid,
                    li + 1,
                    int(buyer[i]),
                    int(seller[i]),
                    title,
                    qty,
                    unit,
                    unit * qty,
                    CURRENCY,
                    names[st],
                    "Sent by tracked post." if shipped else None,
                    self.ts(c),
                    self.ts(last),
                    self._t(paid),
                    self._t(shipped),
                    self._t(delivered),
                    self._t(completed),
                    self._t(cancelled),
                )

        cols = [
            "id",
            "listing_id",
            "buyer_id",
            "seller_id",
            "title",
            "quantity",
            "unit_price_cents",
            "total_cents",
            "currency",
            "state",
            "shipping_note",
            "created_at",
            "updated_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "completed_at",
            "cancelled_at",
        ]
        self.w.insert("orders", cols, rows(), n)

    def _t(self, s: int | None):
        return None if s is None else self.ts(s)

    # loans ----------------------------------------------------------------------------------

    def loans(self) -> None:
        rng, users = self.rng, self.n.users
        if not len(self.lendable_idx):
            return
        n = self.n.loans
        listing = self.lendable_idx[rng.integers(0, len(self.lendable_idx), n)]
        borrower = rng.integers(1, users + 1, n)
        draw = rng.random(n)
        # 0 completed, 1 declined, 2 cancelled, 3 requested, 4 approved, 5 active
        state = np.select(
            [draw < 0.78, draw < 0.84, draw < 0.90, draw < 0.94, draw < 0.97], [0, 1, 2, 3, 4], 5
        )
        length = rng.integers(1, 8, n)
        # Each listing's loans, one after another back in time from now: no two overlap.
        order = np.lexsort((np.arange(n), listing))
        cursor: dict[int, int] = {}
        self.completed_loans = []
        names = ("completed", "declined", "cancelled", "requested", "approved", "active")
        today = self.day(self.now_s)

        def rows():
            for i in order:
                li = int(listing[i])
                offer = self.offers[li]
                lender = int(self.listing_seller[li])
                b = int(borrower[i])
                if b == lender:
                    b = b % users + 1
                st = int(state[i])
                days = int(min(length[i], offer.max_days))
                end_before = cursor.get(li)
                if st in (3, 4, 5) and end_before is not None:
                    st = 0  # only the newest loan of a thing can be booked or on loan
                if st in (3, 4):  # asked for or agreed: starts in the coming days
                    starts = today + timedelta(days=int(rng.integers(2, 20)))
                elif st == 5:  # on loan now
                    starts = today - timedelta(days=int(rng.integers(0, days)))
                else:
                    latest = end_before if end_before is not None else today
                    starts = latest - timedelta(days=days + int(rng.integers(3, 30)))
                ends = starts + timedelta(days=days - 1)
                cursor[li] = min(starts, cursor.get(li, starts))
                listed = self.day(self.listing_created[li])
                if starts <= listed:
                    continue  # no room before the listing existed
                start_s = int(
                    datetime(starts.year, starts.month, starts.day, tzinfo=UTC).timestamp()
                )
                created = max(
                    start_s - int(rng.integers(DAY, 10 * DAY)),
                    int(self.listing_created[li]) + 60,
                )
                created = min(created, self.now_s - 3600)
                t = {
                    k: None
                    for k in (
                        [
                            "approved",
                            "handed",
                            "returned",
                            "completed",
                            "declined",
                            "cancelled",
                            "expires",
                        ]
                    )
                }
                if st == 3:
                    t["expires"] = self.now_s + 2 * DAY
                if st in (0, 4, 5):
                    t["approved"] = created + 3 * 3600
                if st in (0, 5):
                    t["handed"] = max(start_s + 10 * 3600, t["approved"] + 60)
                    t["handed"] = min(t["handed"], self.now_s - 60)
                if st == 0:
                    t["returned"] = start_s + days * DAY - 4 * 3600
                    t["completed"] = t["returned"] + 2 * 3600
                if st == 1:
                    t["declined"] = created + 5 * 3600
                if st == 2:
                    t["cancelled"] = created + 2 * 3600
                last = max(v for v in (created, *t.values()) if v is not None and v <= self.now_s)
                fee = fee_cents(offer, days)
                deposit = offer.deposit_cents
                yield (
                    li + 1,
                    lender,
                    b,
                    self.titles[li],
                    starts,
                    ends,
                    days,
                    fee,
                    deposit,
                    offer.late_fee_per_day_cents,
                    late_fee_cap_cents(offer),
                    CURRENCY,
                    CITIES[li % len(CITIES)],
                    names[st],
                    "Could I borrow it for a weekend?",
                    "in_person" if deposit else "none",
                    f"{int(rng.integers(0, 10**6)):06d}",
                    self._t(t["handed"]),
                    self._t(t["handed"]),
                    self._t(t["expires"]),
                    self.ts(created),
                    self.ts(last),
                    self._t(t["approved"]),
                    self._t(t["handed"]),
                    self._t(t["returned"]),
                    self._t(t["completed"]),
                    self._t(t["declined"]),
                    self._t(t["cancelled"]),
                    (lender, b, self.titles[li], fee, t["completed"]) if st == 0 else None,
                )

        cols = [
            "listing_id",
            "lender_id",
            "borrower_id",
            "title",
            "starts_on",
            "ends_on",
            "days",
            "fee_cents",
            "deposit_cents",
            "late_fee_per_day_cents",
            "late_fee_cap_cents",
            "currency",
            "pickup_area",
            "state",
            "request_message",
            "deposit_method",
            "handover_code",
            "lender_handover_at",
            "borrower_handover_at",
            "expires_at",
            "created_at",
            "updated_at",
            "approved_at",
            "handed_over_at",
            "returned_at",
            "completed_at",
            "declined_at",
            "cancelled_at",
            "late_days",
            "late_fee_cents",
        ]
        base = self.max_id("loans")

        def numbered():
            for k, row in enumerate(rows(), start=base + 1):
                if row[-1] is not None:
                    self.completed_loans.append((k, *row[-1]))
                yield (k, *row[:-1], 0, 0)

        self.w.insert("loans", ["id", *cols], numbered(), n)

    def sample_listing(self) -> int:
        """An active listing of the busiest seller (its page shows "more from this seller")."""
        active = np.intersect1d(self.busy_listing_idx, np.flatnonzero(self.listing_status == 0))
        return int(active[0]) + 1 if len(active) else 1

    def max_id(self, table: str) -> int:
        return int(self.w.scalar(f"SELECT coalesce(max(id), 0) FROM {table}"))

    # clubs, deals, pledges ------------------------------------------------------------------

    def clubs(self) -> None:
        rng, users, n = self.rng, self.n.users, self.n.clubs
        organizer = rng.integers(1, users + 1, n)
        size = np.minimum(np.maximum(3, (rng.pareto(1.2, n) * 20 + 5).astype(np.int64)), users - 1)
        created = self.now_s - rng.integers(60 * DAY, 700 * DAY, n)
        self.club_members: list[np.ndarray] = []
        self.club_organizer = organizer
        self.club_created = created
        member_rows = []
        for c in range(n):
            others = rng.choice(users, int(size[c]) + 1, replace=False) + 1
            others = others[others != organizer[c]][: int(size[c])]
            self.club_members.append(others)
            member_rows.append((c, int(organizer[c]), "organizer", int(created[c])))
            for m in others:
                member_rows.append(
                    (c, int(m), "member", int(created[c]) + int(rng.integers(0, 50 * DAY)))
                )

        def clubs_rows():
            for c in range(n):
                t = self.ts(created[c])
                yield (
                    c + 1,
                    f"{CITIES[c % len(CITIES)]} buying club {c + 1}",
                    "We buy staples together and share the savings.",
                    CITIES[c % len(CITIES)],
                    "public",
                    "open",
                    f"{rng.bytes(16).hex()}{c:011d}"[:43],
                    int(organizer[c]),
                    len(self.club_members[c]) + 1,
                    t,
                    t,
                )

        cols = [
            "id",
            "name",
            "description",
            "area",
            "visibility",
            "join_policy",
            "invite_token",
            "organizer_id",
            "member_count",
            "created_at",
            "updated_at",
        ]
        self.w.insert("clubs", cols, clubs_rows(), n)

        def member_rows_out():
            for c, user, role, joined in member_rows:
                t = self.ts(joined)
                yield (c + 1, user, role, "active", "", t, t, t)

        cols = [
            "club_id",
            "user_id",
            "role",
            "status",
            "message",
            "requested_at",
            "joined_at",
            "updated_at",
        ]
        self.w.insert("club_members", cols, member_rows_out(), len(member_rows))

    def deals(self) -> None:
        rng, n = self.rng, self.n.deals
        if not n or not self.n.clubs:
            return
        club = rng.integers(0, self.n.clubs, n)
        want = rng.multinomial(self.n.pledges, np.ones(n) / n) if self.n.pledges else np.zeros(n)
        draw = rng.random(n)
        # 0 completed, 1 open, 2 tipped, 3 failed, 4 cancelled (before any pledge)
        kind = np.select([draw < 0.6, draw < 0.75, draw < 0.88, draw < 0.96], [0, 1, 2, 3], 4)
        deal_rows, tier_rows, pledge_rows = [], [], []
        self.received_pledges = []
        pledge_id = self.max_id("pledges")
        for d in range(n):
            c = int(club[d])
            organizer = int(self.club_organizer[c])
            members = self.club_members[c]
            if len(members) < 2:
                continue
            supplier = int(members[0])
            pool = members[1:]
            k = int(kind[d])
            count = 0 if k == 4 else min(int(want[d]), len(pool))
            pledgers = rng.choice(pool, count, replace=False) if count else []
            qty = rng.integers(1, 4, count) if count else np.zeros(0, dtype=np.int64)
            total = int(qty.sum())
            if k in (0, 2) and total == 0:
                k = 1
            if k in (1, 3):
                min_q = total + int(rng.integers(1, 20))
            elif k == 4:
                min_q = int(rng.integers(5, 40))
            else:
                min_q = max(1, total - int(rng.integers(0, max(1, total // 2))))
            product, unit = DEAL_PRODUCTS[d % len(DEAL_PRODUCTS)]
            base = int(rng.integers(3, 60)) * 100
            tiers = [(1, base), (min_q + 1, base * 9 // 10), (min_q * 2 + 2, base * 8 // 10)]
            fee_bps = int(rng.choice([0, 200, 500]))
            # Old enough that a finished deal finished before now.
            room = self.now_s - int(self.club_created[c]) - 30 * DAY
            created = int(self.club_created[c]) + int(rng.integers(DAY, max(2 * DAY, room)))
            t = dict.fromkeys(
                [
                    "proposed",
                    "opened",
                    "tipped",
                    "closed",
                    "settled",
                    "fulfilled",
                    "completed",
                    "failed",
                    "cancelled",
                ]
            )
            t["proposed"] = created + 3600
            if k == 4:
                deadline = self.now_s + 10 * DAY
                t["cancelled"] = created + DAY
            elif k in (1, 2):
                created = self.now_s - int(rng.integers(3 * DAY, 20 * DAY))
                t["proposed"] = created + 3600
                t["opened"] = created + 7200
                deadline = self.now_s + int(rng.integers(2 * DAY, 20 * DAY))
            else:
                t["opened"] = created + 7200
                deadline = t["opened"] + 14 * DAY
                if k == 0:
                    t["closed"] = deadline + 60
                    t["settled"] = deadline + 3600
                    t["fulfilled"] = deadline + 5 * DAY
                    t["completed"] = deadline + 6 * DAY
                else:
                    t["failed"] = deadline + 60
            state = ("completed", "open", "tipped", "failed", "cancelled")[k]
            final = None
            if k == 0:
                final = [p for q, p in tiers if q <= total][-1]
            pledge_times = (
                np.sort(rng.integers(t["opened"], min(deadline, self.now_s) - 60, count))
                if count
                else []
            )
            if k in (0, 2):
                running = np.cumsum(qty)
                t["tipped"] = int(pledge_times[int(np.argmax(running >= min_q))])
            did = d + 1
            for j in range(count):
                pledge_id += 1
                q, member, when = int(qty[j]), int(pledgers[j]), int(pledge_times[j])
                stamps = dict.fromkeys(["paid", "released", "delivered", "received", "payment_due"])
                if k == 0:
                    goods = final * q
                    fee = (goods * fee_bps + 5000) // 10000
                    money = (final, goods, fee, 0, goods + fee)
                    stamps["paid"] = t["settled"]
                    stamps["delivered"] = t["fulfilled"]
                    stamps["received"] = t["fulfilled"] + 3600
                    pstate = "received"
                    self.received_pledges.append(
                        (
                            pledge_id,
                            member,
                            organizer,
                            supplier,
                            product,
                            goods + fee,
                            stamps["received"],
                        )
                    )
                elif k == 3:
                    money, pstate = (None, 0, 0, 0, 0), "released"
                    stamps["released"] = t["failed"]
                else:
                    money, pstate = (None, 0, 0, 0, 0), "pledged"
                last = max(v for v in (when, *stamps.values()) if v is not None)
                pledge_rows.append(
                    (
                        pledge_id,
                        did,
                        member,
                        q,
                        pstate,
                        "in_person",
                        *money,
                        0,
                        self.ts(when),
                        self._t(stamps["paid"]),
                        self._t(stamps["released"]),
                        self._t(stamps["delivered"]),
                        self._t(stamps["received"]),
                        self.ts(when),
                        self.ts(last),
                    )
                )
            for q, p in tiers:
                tier_rows.append((did, q, p))
            last = max(v for v in (created, *t.values()) if v is not None)
            deal_rows.append(
                (
                    did,
                    c + 1,
                    organizer,
                    supplier,
                    product,
                    "Ordered straight from the grower.",
                    unit,
                    CURRENCY,
                    min_q,
                    None,
                    None,
                    self.ts(deadline),
                    "pickup",
                    f"{CITIES[c % len(CITIES)]} community hall",
                    "Saturdays 10-12",
                    0,
                    fee_bps,
                    state,
                    total,
                    count,
                    final,
                    *(
                        self._t(t[step])
                        for step in [
                            "proposed",
                            "opened",
                            "tipped",
                            "closed",
                            "settled",
                            "fulfilled",
                            "completed",
                            "failed",
                            "cancelled",
                        ]
                    ),
                    self.ts(created),
                    self.ts(min(last, self.now_s)),
                )
            )
        cols = [
            "id",
            "club_id",
            "organizer_id",
            "supplier_id",
            "title",
            "description",
            "unit",
            "currency",
            "min_quantity",
            "cap_quantity",
            "member_limit",
            "deadline",
            "fulfilment",
            "pickup_point",
            "pickup_times",
            "shipping_cents",
            "organizer_fee_bps",
            "state",
            "pledged_quantity",
            "pledge_count",
            "final_unit_price_cents",
            "proposed_at",
            "opened_at",
            "tipped_at",
            "closed_at",
            "settled_at",
            "fulfilled_at",
            "completed_at",
            "failed_at",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]
        self.w.insert("group_deals", cols, deal_rows, len(deal_rows))
        self.w.insert(
            "deal_tiers", ("deal_id", "min_quantity", "unit_price_cents"), tier_rows, len(tier_rows)
        )
        cols = [
            "id",
            "deal_id",
            "member_id",
            "quantity",
            "state",
            "payment_method",
            "unit_price_cents",
            "goods_cents",
            "fee_cents",
            "shipping_cents",
            "amount_cents",
            "charge_attempts",
            "pledged_at",
            "paid_at",
            "released_at",
            "delivered_at",
            "received_at",
            "created_at",
            "updated_at",
        ]
        self.w.insert("pledges", cols, pledge_rows, len(pledge_rows))

    # feedback -------------------------------------------------------------------------------

    def feedback(self) -> None:
        rng, target = self.rng, self.n.feedback
        # Candidates: (kind, id, author, rated, rating pair, title, amount, opens at)
        order_pairs = {(p.author_role, p.subject_role): p for p in ORDER_PAIRS}
        loan_pairs = {(p.author_role, p.subject_role): p for p in LOAN_PAIRS}
        pledge_pairs = {(p.author_role, p.subject_role): p for p in PLEDGE_PAIRS}
        busy, rest = [], []
        for oid, buyer, seller, title, amount, done in self.completed_orders:
            first = (
                "order",
                oid,
                buyer,
                seller,
                order_pairs[("buyer", "seller")],
                title,
                amount,
                done,
            )
            (busy if seller == 1 else rest).append(first)
            rest.append(
                ("order", oid, seller, buyer, order_pairs[("seller", "buyer")], title, amount, done)
            )
        for lid, lender, borrower, title, amount, done in self.completed_loans:
            rest.append(
                (
                    "loan",
                    lid,
                    borrower,
                    lender,
                    loan_pairs[("borrower", "lender")],
                    title,
                    amount,
                    done,
                )
            )
            rest.append(
                (
                    "loan",
                    lid,
                    lender,
                    borrower,
                    loan_pairs[("lender", "borrower")],
                    title,
                    amount,
                    done,
                )
            )
        for pid, member, organizer, supplier, title, amount, done in self.received_pledges:
            for a, b, ra, rb in (
                (member, organizer, "member", "organizer"),
                (organizer, member, "organizer", "member"),
                (member, supplier, "member", "supplier"),
                (supplier, member, "supplier", "member"),
            ):
                if a != b:
                    rest.append(("pledge", pid, a, b, pledge_pairs[(ra, rb)], title, amount, done))
        busy = busy[: self.n.busy_feedback]
        take = max(0, min(target - len(busy), len(rest)))
        if target > len(busy) + len(rest):
            print(
                f"  only {len(busy) + len(rest)} completed pairs for {target} feedback",
                file=sys.stderr,
            )
        chosen = rng.choice(len(rest), take, replace=False) if take else np.zeros(0, np.int64)
        chosen.sort()
        picked = busy + [rest[i] for i in chosen]
        m = len(picked)
        rating_draw = rng.random(m)
        details = rng.integers(3, 6, (m, 3))
        delay = rng.integers(3600, 7 * DAY, m)
        replied = rng.random(m) < 0.03
        comment_pick = rng.integers(0, 100, m)
        self.received: dict[int, int] = {}

        def rows():
            for i, (kind, sid, author, rated, pair, title, amount, opens) in enumerate(picked):
                rating = (
                    "positive"
                    if rating_draw[i] < 0.9
                    else "neutral"
                    if rating_draw[i] < 0.96
                    else "negative"
                )
                slots = {slot for slot, _ in pair.details}
                created = min(int(opens) + int(delay[i]), self.now_s - 120)
                created = max(created, int(opens) + 1)
                comments = COMMENTS[rating]
                self.received[rated] = self.received.get(rated, 0) + 1
                yield (
                    kind,
                    sid,
                    author,
                    rated,
                    pair.author_role,
                    pair.subject_role,
                    rating,
                    int(details[i, 0]) if "described" in slots else None,
                    int(details[i, 1]) if "communication" in slots else None,
                    int(details[i, 2]) if "speed" in slots else None,
                    comments[comment_pick[i] % len(comments)],
                    title[:120],
                    int(amount),
                    CURRENCY,
                    self.ts(created),
                    self.ts(min(created + 60, self.now_s - 60)),
                    "Thanks!" if replied[i] else None,
                    self.ts(min(created + 120, self.now_s - 1)) if replied[i] else None,
                )

        cols = [
            "subject_kind",
            "subject_id",
            "author_id",
            "subject_user_id",
            "author_role",
            "subject_role",
            "rating",
            "detail_described",
            "detail_communication",
            "detail_speed",
            "comment",
            "title",
            "amount_cents",
            "currency",
            "created_at",
            "revealed_at",
            "reply",
            "reply_at",
        ]
        self.w.insert("feedback", cols, rows(), m)

    # finishing ------------------------------------------------------------------------------

    # conversations ---------------------------------------------------------------------------

    def conversations(self) -> None:
        """Buyer and seller talk on a share of the orders (the busiest sellers' inboxes hold
        hundreds): 1 to 7 messages from the order's day on, taking turns, the buyer first;
        each has read up to their own last message (the last one is unread by the other)."""
        rng, orders = self.rng, self.order_parties
        n = self.n.conversations
        n = round(len(orders) * 0.3) if n is None else min(n, len(orders))
        picked = np.sort(rng.choice(len(orders), n, replace=False)) if n else np.array([], int)
        counts = rng.integers(1, 8, n)
        gaps = rng.integers(60, DAY, int(counts.sum()))
        talks, members, messages = [], [], []
        message_id = 0
        for k, index in enumerate(picked):
            oid, buyer, seller, title, created, _last = orders[int(index)]
            conversation_id = k + 1
            at = created + 60
            last_by = {buyer: None, seller: None}
            for m in range(int(counts[k])):
                at = min(at + int(gaps[message_id]), self.now_s - 1)
                message_id += 1
                sender = buyer if m % 2 == 0 else seller
                body = MESSAGE_LINES[(oid + m) % len(MESSAGE_LINES)]
                messages.append((message_id, conversation_id, sender, body, self.ts(at)))
                last_by[sender] = (message_id, at)
            talks.append(
                (conversation_id, "order", oid, f"Order #{oid}: {title}"[:120],
                 self.ts(created), self.ts(at))
            )  # fmt: skip
            for user in (buyer, seller):
                read = last_by[user]
                members.append(
                    (conversation_id, user, self.ts(created),
                     read[0] if read else None, self.ts(read[1]) if read else None)
                )  # fmt: skip
        self.w.insert(
            "conversations",
            ["id", "subject_kind", "subject_id", "title", "created_at", "last_message_at"],
            talks,
            len(talks),
        )
        self.w.insert(
            "conversation_participants",
            ["conversation_id", "user_id", "joined_at", "last_read_message_id", "last_read_at"],
            members,
            len(members),
        )
        self.w.insert(
            "messages",
            ["id", "conversation_id", "sender_id", "body", "created_at"],
            messages,
            len(messages),
        )

    def finish(self) -> None:
        """Search index, sequences and statistics, as the app expects them after its own
        inserts."""
        if self.w.sqlite:
            # Rebuilt from the listings table (the insert trigger was dropped for the load).
            for statement in search.SQLITE_DDL:
                self.w.execute(statement)
            self.w.execute("INSERT INTO listings_fts(listings_fts) VALUES ('rebuild')")
            if sqlite3.sqlite_version_info >= SQLITE_SAFE_ANALYZE:
                self.w.execute("ANALYZE")
            else:
                print(
                    f"  (no ANALYZE: SQLite {sqlite3.sqlite_version}'s planner, given statistics, "
                    "returns wrong rows for `col IN (..) AND range` on a composite index)"
                )
        else:
            for statement in search.POSTGRES_DDL:
                self.w.execute(statement)
            for table in GENERATED_TABLES:
                self.w.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            self.w.execute("ANALYZE")
        # The rows went in without the app's engine, so no page cache generation moved: move
        # them all, or a running app could serve pages cached before the load.
        found = (
            "SELECT count(*) FROM sqlite_master WHERE name = 'cache_generations'"
            if self.w.sqlite
            else "SELECT count(*) FROM pg_class WHERE relname = 'cache_generations'"
        )
        if self.w.scalar(found):
            self.w.execute("UPDATE cache_generations SET value = value + 1")

    def prepare(self) -> None:
        """Refuse a database with members; drop what slows a bulk load (rebuilt in finish)."""
        if self.w.scalar("SELECT count(*) FROM users"):
            raise SystemExit("The database already has members: generate into an empty one.")
        if self.w.sqlite:
            self.w.execute("DROP TRIGGER IF EXISTS listings_fts_ai")
        else:
            self.w.execute("DROP INDEX IF EXISTS ix_listings_fulltext")


GENERATED_TABLES = (
    "users",
    "categories",
    "listings",
    "orders",
    "loans",
    "clubs",
    "club_members",
    "group_deals",
    "deal_tiers",
    "pledges",
    "feedback",
    "conversations",
    "messages",
)

MESSAGE_LINES = (
    "Hi! Is it still available?",
    "Yes, it is. When would suit you?",
    "Could you send it by tracked post?",
    "Sent this morning, here is the tracking number.",
    "Arrived today, thank you!",
    "Does it come with the original box?",
    "I can meet you on Saturday near the station.",
    "Thanks, a pleasure dealing with you.",
)


@dataclass
class Offer:
    """A listing's loan terms, as app/listings/pricing.py reads them."""

    fee_per_day_cents: int
    fee_per_week_cents: int | None
    deposit_cents: int
    late_fee_per_day_cents: int
    late_fee_cap_cents: int
    max_days: int = 14


def generate(
    database_url: str,
    sizes: Sizes,
    seed: int = 1,
    now: datetime | None = None,
    progress: bool = False,
) -> Generated:
    """Fill the migrated, empty database at `database_url`; returns counts and timings."""
    now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    engine = create_engine(database_url)
    writer = Writer(engine, progress)
    started = time.perf_counter()
    try:
        market = Marketplace(writer, sizes, seed, now)
        market.prepare()
        steps = ("users", "listings", "orders", "loans", "clubs", "deals", "feedback")
        for name in (*steps, "conversations"):
            market.timed(name, getattr(market, name))
        market.timed("index and analyze", market.finish)
    finally:
        writer.close()
        engine.dispose()
    received = market.received
    busy = max(received, key=received.get) if received else 1
    quiet = max((u for u in range(sizes.users, 0, -1) if u not in received), default=sizes.users)
    return Generated(
        counts=dict(writer.counts),
        seconds=market.seconds,
        busy_handle=f"member{busy}",
        busy_feedback=received.get(busy, 0),
        quiet_handle=f"member{quiet}",
        sample_listing_id=market.sample_listing(),
        total_seconds=round(time.perf_counter() - started, 2),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a migrated, empty database")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=300_000)
    parser.add_argument("--orders", type=int, default=700_000)
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--loans", type=int, help="default: orders / 20")
    parser.add_argument("--clubs", type=int, help="default: users / 500")
    parser.add_argument("--deals", type=int, help="default: 10 per club")
    parser.add_argument("--pledges", type=int, help="default: 15 per deal")
    parser.add_argument(
        "--conversations", type=int, help="order conversations (default: 30 %% of the orders)"
    )
    parser.add_argument(
        "--busy-feedback", type=int, help="feedback the busiest seller receives (1.1 %%)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", help="the run's 'now' (ISO date, UTC); default: today")
    parser.add_argument("--quick", action="store_true", help="a small run: 2,000 members")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    sizes = Sizes.from_args(args)
    now = datetime.fromisoformat(args.now).replace(tzinfo=UTC) if args.now else None
    result = generate(args.database_url, sizes, args.seed, now, progress=not args.json)
    if args.json:
        print(json.dumps(result.__dict__))
        return
    print(f"Generated in {result.total_seconds:.1f} s (seed {args.seed}):")
    for table, count in result.counts.items():
        print(f"  {table:<14} {count:>10,}")
    for step, seconds in result.seconds.items():
        print(f"  {step:<20} {seconds:>7.1f} s")
    print(f"  busy profile:  /u/{result.busy_handle} ({result.busy_feedback:,} feedback)")
    print(f"  quiet profile: /u/{result.quiet_handle}")
    print(f"  a listing:     /listings/{result.sample_listing_id}")
    print(f"  sign in as any member{{n}}@bench.mutual.test with password {DEMO_PASSWORD!r}")


if __name__ == "__main__":
    main()

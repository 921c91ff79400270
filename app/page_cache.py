"""The page cache: anonymous GET pages and API reads served from Redis (REDIS_URL set) or an
in-process LRU, never stale.

Correct by construction:

- Every write bumps a **generation** row in `cache_generations` in the same transaction. The
  bump is not tied to models: an engine event reads every statement the application sends
  (ORM flushes, bulk `update()`/`delete()`, raw `text()` SQL in services, Celery jobs,
  reputation passes, the CLI) and notes the tables an INSERT, UPDATE, DELETE, COPY or DDL
  statement writes; just before that connection commits, one UPDATE adds 1 to the generations
  those tables feed (`TABLE_GENERATIONS`; a table not named there bumps every generation, so
  a new table can only cost hits, never freshness). A rolled back transaction bumps nothing.
- A request reads the generations first (one statement) and they are part of the cache key:
  a write committed before the request started has moved them, so the page is rendered again.
  A page rendered while a write commits is stored under the generations read before it, so it
  can only be newer than its key, never older.
- Only what everyone sees is kept: anonymous requests (no signed-in session, no remember-me
  cookie, no Authorization header, no flashed messages waiting), status 200, no cookie set,
  no CSRF token made, HTML or JSON. A hit answers before the session user, the rate limiter
  and the ORM are touched.
- Times: entries live PAGE_CACHE_SECONDS at most (relative times such as "2 hours ago" lag by
  that much at most) and the key holds today's date (a listing's loan calendar starts today).

Writes that do not go through this application's engine (another program, `psql`, bench/
generate.py's COPY through its own connection) must bump the generations themselves:
`flask cache bump` (bench/generate.py does it at the end of a load).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, request, session
from sqlalchemy import BigInteger, String, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

CATALOGUE, PEOPLE = "catalogue", "people"
GENERATIONS = (CATALOGUE, PEOPLE)

# What each table's rows show on cached pages. Tables not named here bump every generation.
TABLE_GENERATIONS: dict[str, tuple[str, ...]] = {
    # Listings, what they cost, their stock, photos, loan terms and the days they are lent.
    "listings": (CATALOGUE,),
    "listing_photos": (CATALOGUE,),
    "categories": (CATALOGUE,),
    "loan_offers": (CATALOGUE,),
    "loan_blockouts": (CATALOGUE,),
    "loans": (CATALOGUE,),
    # Feedback and the scores and trust computed from it (profiles, a listing's seller box).
    "feedback": (PEOPLE,),
    "reputation_scores": (PEOPLE,),
    "reputation_snapshots": (PEOPLE,),
    # Private to the people involved, or bookkeeping: no cached page shows them.
    "cache_generations": (),
    "domain_events": (),
    "event_deliveries": (),
    "notifications": (),
    "notification_preferences": (),
    "notification_digests": (),
    "conversations": (),
    "conversation_participants": (),
    "messages": (),
    "api_tokens": (),
    "login_sessions": (),
    "account_tokens": (),
    "ledger_accounts": (),
    "ledger_transactions": (),
    "ledger_lines": (),
    "payments": (),
    "payment_operations": (),
    "payment_provider_events": (),
    "payment_profiles": (),
    "order_events": (),
    "loan_events": (),
    "deal_events": (),
    "reputation_runs": (),
    "rule_sets": (),
    "rules": (),
}
# users, orders, moderation cases and actions, reports, disputes, clubs, deals...: both.

# Columns of a table no cached page shows: an UPDATE that sets only these moves nothing (every
# sign-in sets users.last_login_at; it must not empty the cache).
PRIVATE_COLUMNS: dict[str, frozenset[str]] = {
    "users": frozenset({"last_login_at", "password_hash", "email", "email_confirmed_at"}),
}
_UPDATE_SET = re.compile(
    r"^\s*UPDATE\s+\"?(\w+)\"?\s+SET\s+(.*?)\s+WHERE\s", re.IGNORECASE | re.DOTALL
)
_SET_COLUMN = re.compile(r"^\s*\"?(\w+)\"?\s*=")

# endpoint -> the generations its page depends on
CACHED_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "main.index": (CATALOGUE,),
    "listings.browse": (CATALOGUE,),
    "listings.detail": GENERATIONS,  # the seller's feedback summary too
    "profiles.profile": GENERATIONS,
    "api_listings.search": GENERATIONS,  # the API shows each seller's brief (trust included)
    "api_listings.detail": GENERATIONS,
    "api_listings.categories": (CATALOGUE,),
    "api_users.profile": GENERATIONS,
    "api_users.reputation": GENERATIONS,
    "api_users.received_feedback": GENERATIONS,
    "api_users.listings_of": GENERATIONS,
}

_PENDING = "mutual_cache_pending"
_READY = "mutual_cache_table_ready"
_WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)"
    r"\s+(?!SET\b)(?:ONLY\s+)?(?:\"?\w+\"?\.)?\"?(\w+)\"?",
    re.IGNORECASE,
)
_QUIET = {"SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "PRAGMA", "SET",
          "SHOW", "EXPLAIN", "VACUUM", "ANALYZE"}  # fmt: skip
_DDL = {"CREATE", "ALTER", "DROP"}
_UNCACHED_HEADERS = {"set-cookie", "x-request-id", "content-length", "date"}


class CacheGeneration(db.Model):
    """A counter the writes that change what a group of pages shows add 1 to."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# -- the write side -------------------------------------------------------------------------


def _first_word(statement: str) -> str:
    head = statement.lstrip()[:12].split(None, 1)
    return head[0].upper() if head else ""


def generations_written(statement: str) -> set[str]:
    """The generations a statement's writes move (empty for reads)."""
    first = _first_word(statement)
    if first in _QUIET or not first:
        return set()
    if first in _DDL:
        return set(GENERATIONS)
    if first == "UPDATE" and _sets_only_private_columns(statement):
        return set()
    moved: set[str] = set()
    for match in _WRITE.finditer(statement):
        moved.update(TABLE_GENERATIONS.get(match.group(1).lower(), GENERATIONS))
    return moved


def _sets_only_private_columns(statement: str) -> bool:
    """An UPDATE of one table that sets only columns no cached page shows. Anything it cannot
    read plainly (a function call with commas, a subquery) counts as public."""
    found = _UPDATE_SET.match(statement)
    if found is None:
        return False
    private = PRIVATE_COLUMNS.get(found.group(1).lower())
    if not private:
        return False
    columns = [_SET_COLUMN.match(part) for part in found.group(2).split(",")]
    return all(c is not None and c.group(1).lower() in private for c in columns)


def _note_writes(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    moved = generations_written(statement)
    if moved and _first_word(statement) in _DDL:  # a migration: is the table still there?
        conn.engine.__dict__.pop(_READY, None)
    if moved:
        conn.info.setdefault(_PENDING, set()).update(moved)


def _table_ready(conn) -> bool:
    engine_info = conn.engine.__dict__
    if engine_info.get(_READY):
        return True
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute("SELECT to_regclass('cache_generations') IS NOT NULL")
            ready = bool(cursor.fetchone()[0])
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'cache_generations'")
            ready = cursor.fetchone() is not None
    finally:
        cursor.close()
    if ready:
        engine_info[_READY] = True
    return ready


def _bump_before_commit(conn) -> None:
    moved = conn.info.pop(_PENDING, None)
    if not moved or not _table_ready(conn):
        return
    names = ", ".join(f"'{name}'" for name in sorted(moved) if name in GENERATIONS)
    cursor = conn.connection.cursor()
    try:  # on the DBAPI connection: inside the transaction being committed, last lock taken
        cursor.execute(f"UPDATE cache_generations SET value = value + 1 WHERE name IN ({names})")
    finally:
        cursor.close()


def _forget(conn) -> None:
    conn.info.pop(_PENDING, None)


def watch_writes(engine) -> None:
    """Bump the generations in every transaction of this engine that writes (once per engine)."""
    if event.contains(engine, "before_cursor_execute", _note_writes):
        return
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "commit", _bump_before_commit)
    event.listen(engine, "rollback", _forget)


def bump(*names: str) -> None:
    """Move generations now (every one by default), for writes made outside this engine."""
    names = names or GENERATIONS
    for name in names:
        updated = db.session.execute(
            text("UPDATE cache_generations SET value = value + 1 WHERE name = :name"),
            {"name": name},
        ).rowcount
        if not updated:
            db.session.add(CacheGeneration(name=name, value=1))
    db.session.commit()


# -- the stores ---------------------------------------------------------------------------


class MemoryStore:
    """An LRU in this process, bounded by entries and by bytes, entries expiring."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return found[2]

    def set(self, key: str, value: bytes, seconds: int) -> None:
        size = len(key) + len(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (time.monotonic() + seconds, size, value)
            self.bytes += size
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def _drop(self, key: str) -> None:
        self.bytes -= self._entries.pop(key)[1]


class RedisStore:
    """Entries in Redis (shared by every process and machine), expiring by themselves."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self.prefix = prefix
        self.errors = redis.RedisError

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except self.errors:  # no Redis: render the page
            return None

    def set(self, key: str, value: bytes, seconds: int) -> None:
        with contextlib.suppress(self.errors):  # no Redis: the next request renders it
            self.client.set(self.prefix + key, value, ex=seconds)

    def clear(self) -> None:
        for key in self.client.scan_iter(match=self.prefix + "*", count=500):
            self.client.delete(key)


def make_store(config) -> MemoryStore | RedisStore | None:
    """The store PAGE_CACHE asks for: auto (Redis when REDIS_URL is set, else memory), memory,
    redis or off."""
    kind = (config.get("PAGE_CACHE") or "auto").lower()
    if kind not in {"auto", "memory", "redis", "off"}:
        raise RuntimeError(f"PAGE_CACHE must be auto, memory, redis or off, not {kind!r}")
    if kind == "off":
        return None
    redis_url = config.get("PAGE_CACHE_REDIS_URL") or config.get("REDIS_URL")
    if kind == "redis" or (kind == "auto" and redis_url):
        if not redis_url:
            raise RuntimeError("PAGE_CACHE=redis needs REDIS_URL (or PAGE_CACHE_REDIS_URL)")
        return RedisStore(redis_url, f"{config.get('CELERY_QUEUE', 'mutual')}:page:")
    return MemoryStore(config["PAGE_CACHE_MAX_ENTRIES"], config["PAGE_CACHE_MAX_BYTES"])


def store_of(app: Flask):
    return app.extensions.get("page_cache")


# -- the request side ---------------------------------------------------------------------


def _anonymous() -> bool:
    if request.authorization is not None or request.headers.get("Authorization"):
        return False
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return not ("_user_id" in session or "_flashes" in session)


GENERATIONS_QUERY = "SELECT name, value FROM cache_generations"


def generations_engine(app: Flask):
    """The engine the generations are read with: autocommit, no ping, so a read is one round
    trip (no BEGIN, ROLLBACK or ping of a pooled session connection). Created in each process
    on its first request (after gunicorn forks). Reading on another connection than the view's
    is still safe: the view's reads start after it and see at least what it saw committed."""
    engine = app.extensions.get("page_cache_engine")
    if engine is None:
        engine = app.extensions["page_cache_engine"] = create_engine(
            app.config["SQLALCHEMY_DATABASE_URI"],
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,
        )
    return engine


def read_generations() -> dict[str, int] | None:
    """The current generations (one statement), None when they are not all there."""
    try:
        with generations_engine(current_app).connect() as conn:
            rows = dict(conn.exec_driver_sql(GENERATIONS_QUERY).all())
    except SQLAlchemyError:  # not migrated yet, or the database is away: no cache
        return None
    if not all(name in rows for name in GENERATIONS):
        return None
    return rows


def _key(generations: dict[str, int], depends: tuple[str, ...]) -> str:
    query = "&".join(
        f"{name}={value}"
        for name, value in sorted(request.args.items(multi=True), key=lambda pair: pair[0])
    )
    moved = ".".join(f"{name[0]}{generations[name]}" for name in depends)
    today = datetime.now(UTC).date().isoformat()
    raw = f"{request.scheme}://{request.host}{request.path}?{query}|{moved}|{today}"
    return hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


def _pack(status: int, headers: list, body: bytes, etag: str) -> bytes:
    return json.dumps([status, headers, etag]).encode() + b"\n" + body


def _answer(entry: bytes) -> Response:
    meta, _, body = entry.partition(b"\n")
    status, headers, etag = json.loads(meta)
    if etag in request.if_none_match:
        response = Response(status=304)
        response.set_etag(etag)
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    response = Response(body, status=status, headers=headers)
    response.headers["X-Page-Cache"] = "hit"
    return response


def _before():
    if request.method != "GET":
        return None
    depends = CACHED_ENDPOINTS.get(request.endpoint or "")
    store = store_of(current_app)
    if depends is None or store is None or not _anonymous():
        return None
    generations = read_generations()
    if generations is None:
        return None
    key = _key(generations, depends)
    entry = store.get(key)
    if entry is not None:
        return _answer(entry)
    g.page_cache_key = key
    return None


def _storable(response: Response) -> bool:
    if response.status_code != 200 or response.direct_passthrough or response.is_streamed:
        return False
    if response.mimetype not in {"text/html", "application/json"}:
        return False
    if "Set-Cookie" in response.headers or session.modified:
        return False
    if session and current_app.session_interface.should_set_cookie(current_app, session):
        return False
    if current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g:
        return False
    user = g.get("_login_user")
    return not (user is not None and user.is_authenticated) and g.get("api_user") is None


def _after(response: Response) -> Response:
    key = g.pop("page_cache_key", None)
    if key is None or not _storable(response):
        return response
    body = response.get_data()
    etag = hashlib.blake2b(body, digest_size=16).hexdigest()
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _UNCACHED_HEADERS]
    entry = _pack(response.status_code, headers, body, etag)
    store_of(current_app).set(key, entry, current_app.config["PAGE_CACHE_SECONDS"])
    response.headers["X-Page-Cache"] = "miss"
    if etag in request.if_none_match:
        return _answer(entry)
    return response


def init_app(app: Flask) -> None:
    """Bump generations on writes, and serve and keep pages. Call before app.logs.init_app (its
    hooks go first before and last after ours: a hit is still logged and counted)."""
    with app.app_context():
        watch_writes(db.engine)
    app.extensions["page_cache"] = make_store(app.config)
    app.before_request_funcs.setdefault(None, []).insert(0, _before)
    app.after_request_funcs.setdefault(None, []).insert(0, _after)

    @app.cli.group("cache")
    def cache_cli():
        """The page cache."""

    @cache_cli.command("bump")
    def bump_command():
        """Invalidate every cached page (after writes made outside the app)."""
        bump()
        print("page cache generations moved")

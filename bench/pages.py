"""Page speed on a large marketplace, next to a bare Flask + SQLAlchemy page in the same run.

    .venv/bin/python bench/pages.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench \
        --database-url sqlite:////tmp/bench.sqlite3 [--rounds 3] [--seconds 5]
    .venv/bin/python bench/pages.py --generate --quick          # a throwaway SQLite, one command

Each database must hold a marketplace loaded by bench/generate.py (or pass --generate to migrate
and load one first; without --database-url that is a temporary SQLite file). For each database
it starts two gunicorns with gunicorn.conf.py and `-w --workers`: the app in production mode and
the bare page (bench/bare.py: 20 listing rows through SQLAlchemy into a Jinja template). It picks
real ids from the database (the member with the most feedback, a quiet member, a seller with an
order, a loan, a club with a deal and a conversation, whom it signs in as with the demo
password), checks that every page answers 200, then alternates load runs: bare, page, bare,
page ... for --rounds rounds. The table gives each page's median req/s and p95 over the rounds,
its ratio to the bare page (the median over the rounds of page / the bare run just before it),
and the target of issue 14 with pass or miss. gunicorn processes and temporary files are removed
at the end, also on Ctrl+C, `kill` or an error. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
GUNICORN_CONF = REPO / "gunicorn.conf.py"
DEMO_PASSWORD = "demo-password"  # app/demo.py DEMO_PASSWORD: every generated member has it

# The targets of issue 14, on PostgreSQL; on SQLite only the 200 ms ceiling applies.
ANONYMOUS_RATIO = 0.5
SIGNED_IN_RATIO = 0.25
P95_MS = 50.0
SEARCH_P95_MS = 30.0
SQLITE_P95_MS = 200.0
ALONE_LOADS = 4  # one request at a time, before the load runs


@dataclass(frozen=True)
class Page:
    """One page to measure: a label, its path, and what the targets treat it as."""

    label: str
    path: str
    signed_in: str = ""  # "", "seller" (the biggest seller) or "member" (loans and clubs)
    search: bool = False


@dataclass(frozen=True)
class Ids:
    """The rows the pages are about, picked from the database."""

    listing_id: int
    busy_handle: str
    busy_feedback: int
    quiet_handle: str
    seller_email: str
    member_email: str
    order_id: int
    loan_id: int
    club_id: int
    deal_id: int
    narrow_query: dict[str, str]
    deep_cursor: str  # the cursor of browse page 500 (what its "Next" links carry)


@dataclass
class Run:
    """One load run of one URL."""

    requests_per_second: float
    p95_ms: float
    requests: int
    errors: int


@dataclass
class Row:
    """Every run of one page, and the bare runs paired with them."""

    page: Page
    runs: list[Run] = field(default_factory=list)
    bare: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.requests_per_second for r in self.runs)

    @property
    def p95(self) -> float:
        return statistics.median(r.p95_ms for r in self.runs)

    @property
    def ratio(self) -> float:
        return statistics.median(
            r.requests_per_second / b.requests_per_second if b.requests_per_second else 0.0
            for r, b in zip(self.runs, self.bare, strict=True)
        )

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def page_list(ids: Ids) -> list[Page]:
    """Every page the benchmark measures, with the ids picked from the database."""
    narrow = urlencode(ids.narrow_query)
    return [
        Page("home", "/"),
        Page("browse", "/listings"),
        # Page 500 as "Next" reaches it: numbered pages end at the first 1,000 listings.
        Page("browse page 500", f"/listings?after={ids.deep_cursor}"),
        Page("search broad", "/listings?q=bike", search=True),
        Page("search narrow + filters", f"/listings?{narrow}", search=True),
        Page("a listing", f"/listings/{ids.listing_id}"),
        Page(f"busy profile ({ids.busy_feedback:,} feedback)", f"/u/{ids.busy_handle}"),
        Page("quiet profile", f"/u/{ids.quiet_handle}"),
        Page("API list", "/api/v1/listings"),
        Page("API search", "/api/v1/listings?q=bike", search=True),
        Page("API page 500", f"/api/v1/listings?cursor={ids.deep_cursor}"),
        Page("sales list", "/orders?tab=sales", signed_in="seller"),
        Page("an order", f"/orders/{ids.order_id}", signed_in="seller"),
        Page("a loan", f"/loans/{ids.loan_id}", signed_in="member"),
        Page("a club", f"/clubs/{ids.club_id}", signed_in="member"),
        Page("a deal", f"/deals/{ids.deal_id}", signed_in="member"),
        Page("inbox", "/messages", signed_in="seller"),
        Page("my listings", "/my/listings", signed_in="seller"),
    ]


def pick_ids(engine: Engine) -> Ids:
    """Real rows: the busiest and a quiet profile, and a seller who has every kind of page."""
    with engine.connect() as conn:
        one = lambda sql, **params: conn.execute(text(sql), params).first()  # noqa: E731
        busy_id, busy_feedback = one(
            "SELECT subject_user_id, count(*) FROM feedback GROUP BY subject_user_id "
            "ORDER BY count(*) DESC, subject_user_id LIMIT 1"
        ) or (None, 0)
        if busy_id is None:
            raise RuntimeError("no feedback in this database: load it with bench/generate.py")
        quiet = one(
            "SELECT subject_user_id FROM feedback GROUP BY subject_user_id "
            "HAVING count(*) = 1 ORDER BY subject_user_id DESC LIMIT 1"
        ) or one("SELECT max(id) FROM users")
        handle = lambda user_id: one("SELECT handle FROM users WHERE id = :id", id=user_id)[0]  # noqa: E731
        # Two signed-in members: the seller with the most listings (the heaviest sales list and
        # "my listings", one of their orders) and the busiest seller among those who lend or
        # borrow and belong to a club with a deal (a loan, a club and a deal page).
        seller_id = one(
            "SELECT seller_id FROM listings GROUP BY seller_id "
            "ORDER BY count(*) DESC, seller_id LIMIT 1"
        )[0]
        order_id = one("SELECT max(id) FROM orders WHERE seller_id = :u", u=seller_id)[0]
        member = one(
            "SELECT o.seller_id FROM orders o WHERE o.seller_id IN "
            "(SELECT m.user_id FROM club_members m JOIN group_deals d ON d.club_id = m.club_id "
            "WHERE m.status = 'active') AND o.seller_id IN "
            "(SELECT lender_id FROM loans UNION SELECT borrower_id FROM loans) "
            "GROUP BY o.seller_id ORDER BY count(*) DESC, o.seller_id LIMIT 1"
        )
        if order_id is None or member is None:
            raise RuntimeError(
                "no seller with orders, or no member with a loan and a club deal: "
                "generate a larger marketplace (bench/generate.py)"
            )
        member_id = member[0]
        loan_id = one(
            "SELECT max(id) FROM loans WHERE lender_id = :u OR borrower_id = :u", u=member_id
        )[0]
        deal_id, club_id = one(
            "SELECT d.id, d.club_id FROM group_deals d JOIN club_members m "
            "ON m.club_id = d.club_id WHERE m.user_id = :u AND m.status = 'active' "
            "ORDER BY d.id DESC LIMIT 1",
            u=member_id,
        )
        email = lambda user_id: one("SELECT email FROM users WHERE id = :id", id=user_id)[0]  # noqa: E731
        # "a listing": an active one of the member with the most listings (the heaviest
        # "more from this seller").
        listing_id = one(
            "SELECT min(id) FROM listings WHERE status = 'active' AND for_sale AND seller_id = :u",
            u=seller_id,
        )[0]
        # The narrow search: two words of a real listing's title, its category and condition,
        # and a price range around it.
        title, slug, condition, price = one(
            "SELECT l.title, c.slug, l.condition, l.price_cents FROM listings l "
            "JOIN categories c ON c.id = l.category_id "
            "WHERE l.status = 'active' AND l.for_sale AND l.title LIKE '% %' "
            "ORDER BY l.id DESC LIMIT 1"
        )
        # Page 500, newest first: after the 11,976th newest listing (a cursor, as "Next" has).
        # A smaller marketplace: the page after its newest listing.
        deep_rows = min(DEEP_PAGE_ROWS, one("SELECT count(*) FROM listings")[0] // 2 or 1)
        deep_at, deep_id = one(
            "SELECT created_at, id FROM listings WHERE status = 'active' "
            "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET :n",
            n=deep_rows - 1,
        )
        busy_handle, quiet_handle = handle(busy_id), handle(quiet[0])
        seller_email, member_email = email(seller_id), email(member_id)
    narrow = {
        "q": " ".join(title.split()[:2]).lower(),
        "category": slug,
        "condition": condition,
        "min_price": str(max(0, price // 100 - 50)),
        "max_price": str(price // 100 + 50),
    }
    return Ids(
        listing_id=listing_id,
        busy_handle=busy_handle,
        busy_feedback=busy_feedback,
        quiet_handle=quiet_handle,
        seller_email=seller_email,
        member_email=member_email,
        order_id=order_id,
        loan_id=loan_id,
        club_id=club_id,
        deal_id=deal_id,
        narrow_query=narrow,
        deep_cursor=encode_cursor("newest", (_as_datetime(deep_at), deep_id), deep_rows),
    )


DEEP_PAGE_ROWS = 499 * 24  # the rows before page 500 of browse


def encode_cursor(kind: str, key: tuple, position: int) -> str:
    """A cursor as the app makes it (app/pagination.py: the app imports `config` from the
    repository's root, which this script, run from bench/, does not have on its path)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from app.pagination import encode_cursor as app_encode_cursor

    return app_encode_cursor(kind, key, position)


def _as_datetime(value) -> datetime:
    """A timestamp as the database gave it (SQLite: text) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def target(page: Page, row_rps_ratio: float, p95: float, backend: str) -> tuple[str, bool]:
    """The issue's target for this page on this database, and whether the figures meet it."""
    if backend == "sqlite":
        return f"p95 < {SQLITE_P95_MS:.0f} ms", p95 < SQLITE_P95_MS
    ratio = SIGNED_IN_RATIO if page.signed_in else ANONYMOUS_RATIO
    ceiling = SEARCH_P95_MS if page.search else P95_MS
    return (
        f">= {ratio:g} x, p95 < {ceiling:.0f} ms",
        row_rps_ratio >= ratio and p95 < ceiling,
    )


# --- servers ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="a database loaded by bench/generate.py; repeat it to measure several in turn",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians)")
    parser.add_argument("--seconds", type=float, default=5.0, help="load time of one run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (each server)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", help="measure only pages whose label matches this regex")
    parser.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="use the built-in load generator even when wrk is installed",
    )
    gen = parser.add_argument_group("--generate: migrate and load each database first")
    gen.add_argument("--generate", action="store_true")
    for name in ("users", "listings", "orders", "feedback", "seed"):
        gen.add_argument(f"--{name}", type=int, help="passed to bench/generate.py")
    gen.add_argument("--quick", action="store_true", help="bench/generate.py --quick")
    args = parser.parse_args(argv)
    if not args.database_url and not args.generate:
        parser.error("give --database-url (a generated marketplace) or --generate")
    if not 0 < args.seconds <= 600 or not 1 <= args.rounds <= 50:
        parser.error("--seconds 0..600, --rounds 1..50")
    if not 1 <= args.workers <= 32 or not 1 <= args.connections <= 256 or args.threads < 1:
        parser.error("--workers 1..32, --connections 1..256, --threads >= 1")
    args.threads = min(args.threads, args.connections)
    return args


def app_environment(database_url: str, workdir: Path) -> dict[str, str]:
    """Production settings on the given database; no Redis, so every run measures the same."""
    drop = {"FLASK_APP", "FLASK_DEBUG", "REDIS_URL", "RATELIMIT_STORAGE_URI"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        MUTUAL_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(36),
        DATABASE_URL=database_url,
        UPLOAD_DIR=str(workdir / "uploads"),
        JOBS_MODE="external",
        PAYMENT_PROVIDER="manual",
        DEMO_DATA="0",
        PYTHONDONTWRITEBYTECODE="1",
        GUNICORN_LOG_LEVEL="warning",
    )
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command(app_spec: str, port: int, workers: int, *extra: str) -> list[str]:
    """gunicorn with the project's configuration, on 127.0.0.1:port with `workers` workers.

    Workers are not recycled during the run (--max-requests 0): the bare page would reach the
    configured count every few seconds and pay for restarts the pages mostly do not."""
    return [
        sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
        "-w", str(workers), "-b", f"{HOST}:{port}", "--max-requests", "0",
        "--chdir", str(REPO), *extra, app_spec,
    ]  # fmt: skip


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a server in its own session (Ctrl+C reaches only us; we stop it ourselves)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(server: subprocess.Popen | None) -> None:
    """Stop a gunicorn and its workers gracefully, then for good."""
    if server is None or server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    except ProcessLookupError:
        pass


def tail(log: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    body: str | None = None,
    cookie: str = "",
    timeout: float = 60.0,
) -> tuple[int, dict[str, list[str]], bytes]:
    """One request to a bench server: (status, headers, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        collected: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            collected.setdefault(name.lower(), []).append(value)
        return response.status, collected, response.read()
    finally:
        conn.close()


def wait_until_up(server: subprocess.Popen, port: int, path: str, log: Path) -> None:
    """Poll path until it answers 200; fail with the server log if it dies or never answers."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{tail(log)}")
        try:
            if request(port, path, timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{path} did not answer within 90 s:\n{tail(log)}")


def sign_in(port: int, email: str) -> str:
    """Sign in through the login form as a generated member; the Cookie header to send."""
    jar: dict[str, str] = {}

    def keep(headers: dict[str, list[str]]) -> None:
        for value in headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]

    status, headers, page = request(port, "/login")
    keep(headers)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or token is None:
        raise RuntimeError(f"/login answered {status} without a CSRF token")
    form = urlencode(
        {"csrf_token": token[1].decode(), "email": email, "password": DEMO_PASSWORD, "next": ""}
    )
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, headers, _ = request(port, "/login", method="POST", body=form, cookie=cookie)
    keep(headers)
    if status != 303:
        raise RuntimeError(f"signing in as {email} answered {status}, not a redirect")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


@dataclass
class Checked:
    """What loading each page alone showed: its size, its time, or why it cannot be measured."""

    size: dict[str, int] = field(default_factory=dict)
    alone_ms: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def check_pages(port: int, pages: list[Page], cookies: dict[str, str]) -> Checked:
    """Load every page ALONE_LOADS times, one request at a time, before measuring (this warms
    the workers): its size and the median time of all but the first load, or why it cannot be
    measured (a 5xx, or no answer before gunicorn's timeout killed the worker). A status other
    than 200 or 5xx is a mistake of the benchmark: it stops."""
    checked = Checked()
    for page in pages:
        times = []
        for _ in range(ALONE_LOADS):
            began = time.perf_counter()
            try:
                status, _, body = request(port, page.path, cookie=cookies[page.signed_in])
            except (OSError, http.client.HTTPException) as exc:
                took = time.perf_counter() - began
                checked.failures[page.label] = (
                    f"no answer ({type(exc).__name__} after {took:.0f} s)"
                )
                break
            took = time.perf_counter() - began
            if status >= 500:
                checked.failures[page.label] = f"{status} after {took:.1f} s"
                break
            if status != 200:
                raise RuntimeError(f"{page.label} ({page.path}) answered {status}: {body[:200]!r}")
            checked.size[page.label] = len(body)
            times.append(took * 1000)
        if times and page.label not in checked.failures:
            # The first load may meet a cold worker (each of them builds its caches once).
            checked.alone_ms[page.label] = statistics.median(times[1:])
    return checked


# --- load ---------------------------------------------------------------------------------

# wrk prints its report; this script adds a machine-readable line with the 95th percentile.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(95), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(port: int, page: str, args: argparse.Namespace, cookie: str, script: Path) -> Run:
    """Load one URL with wrk for --seconds; req/s, p95 and errors from the script's line."""
    duration = max(1, round(args.seconds))
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
        "--timeout", "30s", "-s", str(script), f"http://{HOST}:{port}{page}",
    ]  # fmt: skip
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    line = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+)$", done.stdout, re.M)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed on {page}: {done.stderr or done.stdout}")
    requests, duration_us, p95_us, errors = (int(n) for n in line.groups())
    p95_ms = p95_us / 1000 if requests else float("inf")  # none finished within the run
    return Run(requests / (duration_us / 1e6), p95_ms, requests, errors)


def run_python(port: int, page: str, args: argparse.Namespace, cookie: str) -> Run:
    """Load one URL with --connections threads, each a keep-alive http.client loop."""
    deadline = time.monotonic() + args.seconds
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors = [0] * args.connections
    headers = {"Cookie": cookie} if cookie else {}

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                conn.request("GET", page, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            if response.status >= 400:
                errors[slot] += 1
            latencies[slot].append(time.perf_counter() - began)
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(errors))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.seconds + 60)
    elapsed = time.monotonic() - began
    times = sorted(t for mine in latencies for t in mine)
    if not times:
        return Run(0.0, float("inf"), 0, sum(errors))
    rank = max(1, round(0.95 * len(times) + 0.5 - 1e-9))
    return Run(
        len(times) / elapsed, times[min(rank, len(times)) - 1] * 1000, len(times), sum(errors)
    )


def drain(port: int, workers: int, path: str) -> None:
    """Wait until the server has finished what the last run left queued. wrk stops at the end
    of a run, but a sync worker still serves every request already sent (up to --connections
    of them, seconds each on a slow page) before it sees that the client left: the next run
    would pay for them. One request per worker, all at once, comes back only after those."""

    def one() -> None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            request(port, path, timeout=120)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=130)


# --- one database -------------------------------------------------------------------------


def backend_of(database_url: str) -> str:
    """ "postgresql" or "sqlite" (the targets differ)."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def generate(database_url: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Migrate the database and load a marketplace into it with bench/generate.py."""
    migrate_env = {**env, "FLASK_APP": "wsgi", "MUTUAL_ENV": "development"}
    flask = [sys.executable, "-m", "flask", "db", "upgrade"]
    subprocess.run(flask, env=migrate_env, cwd=REPO, check=True, capture_output=True)
    command = [sys.executable, str(REPO / "bench" / "generate.py"), "--database-url", database_url]
    for name in ("users", "listings", "orders", "feedback", "seed"):
        if getattr(args, name) is not None:
            command += [f"--{name}", str(getattr(args, name))]
    if args.quick:
        command.append("--quick")
    print(f"generating: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, env=migrate_env, cwd=REPO, check=True)


def measure(database_url: str, args: argparse.Namespace, workdir: Path) -> list[Row]:
    """Serve the app and the bare page on one database and measure every page against it."""
    backend = backend_of(database_url)
    env = app_environment(database_url, workdir)
    if args.generate:
        generate(database_url, args, env)
    engine = create_engine(database_url)
    try:
        ids = pick_ids(engine)
    finally:
        engine.dispose()
    pages = page_list(ids)
    if args.only:
        pages = [p for p in pages if re.search(args.only, p.label)]
    app_port, bare_port = free_port(), free_port()
    app_log, bare_log = workdir / f"app-{backend}.log", workdir / f"bare-{backend}.log"
    servers: list[subprocess.Popen] = []
    try:
        servers.append(start(gunicorn_command("wsgi:app", app_port, args.workers), env, app_log))
        bare = gunicorn_command(
            "bare:create_app()", bare_port, args.workers, "--pythonpath", "bench"
        )
        servers.append(start(bare, env, bare_log))
        wait_until_up(servers[0], app_port, "/healthz", app_log)
        wait_until_up(servers[1], bare_port, "/", bare_log)
        cookies = {
            "": "",
            "seller": sign_in(app_port, ids.seller_email),
            "member": sign_in(app_port, ids.member_email),
        }
        checked = check_pages(app_port, pages, cookies)
        bare_times = []
        for _ in range(ALONE_LOADS):
            began = time.perf_counter()
            request(bare_port, "/")
            bare_times.append((time.perf_counter() - began) * 1000)
        checked.alone_ms["bare page"] = statistics.median(bare_times[1:])
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        script = workdir / "p95.lua"
        script.write_text(WRK_SCRIPT)
        load = os.getloadavg()
        print(
            f"\n{backend}: {database_url}\n"
            f"gunicorn -c gunicorn.conf.py -w {args.workers} (app: MUTUAL_ENV=production; bare: "
            f"bench/bare.py), {'wrk' if use_wrk else 'Python client'} with {args.connections} "
            f"connections, {args.seconds:g} s a run, {args.rounds} rounds of bare, page ...\n"
            f"signed in as {ids.seller_email} (sales, order, inbox, my listings) and "
            f"{ids.member_email} (loan, club, deal)\n"
            f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} before the run",
            flush=True,
        )

        def run(port: int, path: str, cookie: str = "") -> Run:
            if use_wrk:
                return run_wrk(port, path, args, cookie, script)
            return run_python(port, path, args, cookie)

        rows = [Row(page) for page in pages if page.label not in checked.failures]
        for round_no in range(1, args.rounds + 1):
            for row in rows:
                row.bare.append(run(bare_port, "/"))
                drain(bare_port, args.workers, "/")
                row.runs.append(run(app_port, row.page.path, cookies[row.page.signed_in]))
                drain(app_port, args.workers, "/healthz")
                print(
                    f"  round {round_no} {row.page.label}: "
                    f"{row.runs[-1].requests_per_second:.1f} req/s "
                    f"(bare {row.bare[-1].requests_per_second:.0f})",
                    flush=True,
                )
                for server, log in ((servers[0], app_log), (servers[1], bare_log)):
                    if server.poll() is not None:
                        raise RuntimeError(f"gunicorn died during the run:\n{tail(log)}")
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after the run")
        print_table(rows, backend, checked, pages)
        return rows
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C must not skip this
        for server in servers:
            stop(server)
        signal.signal(signal.SIGINT, previous)


def print_table(rows: list[Row], backend: str, checked: Checked, pages: list[Page]) -> None:
    """A Markdown table: page, size, one request alone, req/s, p95, ratio to bare, target."""
    bare = [b for row in rows for b in row.bare]
    print(
        f"\n| page ({backend}) | path | KB | alone ms | req/s | p95 ms | ratio to bare "
        "| target | met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    if bare:
        bare_rps = statistics.median(b.requests_per_second for b in bare)
        bare_p95 = statistics.median(b.p95_ms for b in bare)
        print(
            f"| bare page | `/` of bench/bare.py | | {checked.alone_ms['bare page']:.1f} | "
            f"{bare_rps:.1f} | {bare_p95:.1f} | 1 | | |"
        )
    measured = {row.page.label: row for row in rows}
    for page in pages:
        who = f" (signed in: {page.signed_in})" if page.signed_in else ""
        head = f"| {page.label}{who} | `{page.path}` |"
        if page.label in checked.failures:
            goal, _ = target(page, 0.0, float("inf"), backend)
            print(f"{head} | {checked.failures[page.label]} | | | | {goal} | miss |")
            continue
        row = measured[page.label]
        goal, met = target(page, row.ratio, row.p95, backend)
        errors = f" ({row.errors} errors)" if row.errors else ""
        p95 = f"{row.p95:.1f}" if row.p95 != float("inf") else "none done"
        print(
            f"{head} {checked.size[page.label] / 1024:.0f} | {checked.alone_ms[page.label]:.1f} | "
            f"{row.rps:.1f}{errors} | {p95} | {row.ratio:.3f} | {goal} | "
            f"{'pass' if met and not row.errors else 'miss'} |"
        )


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Measure every database given, print a table each, clean up."""
    args = parse_args(argv)
    if importlib.util.find_spec("gunicorn") is None:
        print(f"gunicorn is missing: {sys.executable} -m pip install -e .", file=sys.stderr)
        return 2
    # Ctrl+C and `kill` both clean up, even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="mutual-bench-pages-"))
    urls = args.database_url or [f"sqlite:///{workdir / 'bench.sqlite3'}"]
    results: dict[str, list[Row]] = {}
    try:
        for url in urls:
            results[url] = measure(url, args, workdir)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        url: [
                            {
                                "page": row.page.label,
                                "path": row.page.path,
                                "runs": [vars(r) for r in row.runs],
                                "bare": [vars(b) for b in row.bare],
                            }
                            for row in rows
                        ]
                        for url, rows in results.items()
                    },
                    indent=1,
                )
            )
        failed = any(row.errors for rows in results.values() for row in rows)
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("\ninterrupted, cleaning up", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not skip cleanup
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

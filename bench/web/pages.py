"""Page speed: requests per second and latency of the main pages under gunicorn, production-like.

Run from the repo root (gunicorn must be in the venv: `.venv/bin/pip install gunicorn`):

    .venv/bin/python bench/web/pages.py [--seconds 10] [--workers 2] [--connections 8]

What it does: builds a throwaway SQLite database and upload dir in a temp folder, migrates it and
fills it with the demo marketplace (about 15 s), starts gunicorn on 127.0.0.1 and a free port with
MUTUAL_ENV=production (random SECRET_KEY, JOBS_MODE=external, rate limits off), then loads each
page in turn for --seconds with `wrk` when it is on PATH, else with a small built-in load generator
(threads + http.client; it says which one it used). gunicorn and the temp folder are removed at the
end, also on Ctrl+C or an error. Only 127.0.0.1 is ever contacted.

How to read the table: req/s is the throughput of that page alone with --connections concurrent
clients; p50 / p99 are latencies in milliseconds; "vs healthz" is the page's throughput divided by
the throughput of /healthz (one `SELECT 1`) measured in the same run, so it says how much work a
page costs on top of the bare request path and stays comparable across machines. The load
generator shares the CPU with gunicorn, so on a small machine absolute numbers are low; compare
ratios, and runs made on the same machine. "errors" counts non-2xx answers and socket errors: any
non-zero value means the figure for that page is not trustworthy.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PAGES = (
    "/healthz",
    "/",
    "/listings",
    "/listings?q=bike",
    "/listings/{listing_id}",
    "/u/alice",
    "/api/v1/listings",
    "/api/v1/listings?q=bike",
)


@dataclass
class Result:
    """One page's measurement."""

    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="load time per page (wrk: whole s)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=8, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="use the built-in load generator even when wrk is installed",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (for a look)")
    parser.add_argument("--prepare", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 600:
        parser.error("--seconds must be between 0 and 600")
    if not 1 <= args.workers <= 32 or not 1 <= args.connections <= 256 or args.threads < 1:
        parser.error("--workers 1..32, --connections 1..256, --threads >= 1")
    args.threads = min(args.threads, args.connections)
    return args


def prepare_database() -> None:
    """In a child process with the bench environment: migrate, seed the demo, print a listing id."""
    sys.path.insert(0, str(REPO))
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.demo import seed_demo
    from app.extensions import db
    from app.listings.models import Listing, ListingStatus
    from app.listings.services import ensure_categories

    app = create_app()
    with app.app_context():
        upgrade()
        ensure_categories()
        summary = seed_demo()
        listing_id = db.session.scalar(
            select(Listing.id)
            .where(Listing.status == ListingStatus.ACTIVE.value)
            .order_by(Listing.id)
            .limit(1)
        )
    print(json.dumps({"listing_id": listing_id, "summary": summary}))


def bench_environment(workdir: Path) -> dict[str, str]:
    """Production settings pointing at the throwaway database and upload dir."""
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_APP", "FLASK_DEBUG"}}
    env.update(
        MUTUAL_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        UPLOAD_DIR=str(workdir / "uploads"),
        JOBS_MODE="external",
        RATELIMIT_ENABLED="0",
        PAYMENT_PROVIDER="manual",
        DEMO_DATA="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """One GET to the bench server: (status, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    """Start gunicorn in its own session (Ctrl+C reaches only us; we stop it ourselves)."""
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--chdir", str(REPO),
        "--error-logfile", "-",
        "--log-level", "warning",
        "--timeout", "60",
        "wsgi:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until_healthy(server: subprocess.Popen, port: int, log: Path, limit: float = 60) -> None:
    """Poll /healthz until it answers 200; fail with the server log if it dies or never answers."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{tail(log)}")
        try:
            if get(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer within {limit:.0f} s:\n{tail(log)}")


def stop(server: subprocess.Popen | None) -> None:
    """Stop gunicorn gracefully, then for good."""
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


_WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _WRK_UNITS_MS[match[2]]


def run_wrk(port: int, path: str, seconds: float, connections: int, threads: int) -> Result:
    """Load one page with wrk and parse its --latency report."""
    duration = max(1, round(seconds))
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        "--latency", f"http://{HOST}:{port}{path}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed on {path}: {done.stderr or out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rate and total and p50 and p99):
        raise RuntimeError(f"could not read wrk's report for {path}:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(path, float(rate[1]), _wrk_ms(p50[1]), _wrk_ms(p99[1]), int(total[1]), errors)


def run_python(port: int, path: str, seconds: float, connections: int) -> Result:
    """Load one page with `connections` threads, each a keep-alive http.client loop."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine = latencies[slot]
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[slot] += 1
                    continue
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 15)
    elapsed = time.monotonic() - started
    times = sorted(t for mine in latencies for t in mine)
    if not times:
        return Result(path, 0.0, float("nan"), float("nan"), 0, sum(errors))
    return Result(
        path,
        len(times) / elapsed,
        percentile(times, 50) * 1000,
        percentile(times, 99) * 1000,
        len(times),
        sum(errors),
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(pct / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def check_pages(port: int, paths: list[str]) -> None:
    """Every page must answer 200 before it is measured (also warms the workers' caches)."""
    for path in paths:
        for _ in range(3):
            status, body = get(port, path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")


def print_table(results: list[Result]) -> None:
    """URL, req/s, p50, p99 and throughput relative to /healthz."""
    base = results[0].requests_per_second or float("nan")
    width = max(len(r.path) for r in results)
    print(
        f"{'URL':<{width}}  {'req/s':>8}  {'p50 ms':>8}  {'p99 ms':>8}  {'vs healthz':>10}  errors"
    )
    print("-" * (width + 54))
    for r in results:
        print(
            f"{r.path:<{width}}  {r.requests_per_second:>8.1f}  {r.p50_ms:>8.1f}  "
            f"{r.p99_ms:>8.1f}  {r.requests_per_second / base:>10.2f}  {r.errors}"
        )


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Prepare, serve, load every page, print the table, clean up."""
    args = parse_args(argv)
    if args.prepare:
        prepare_database()
        return 0
    if importlib.util.find_spec("gunicorn") is None:
        print(f"gunicorn is missing: {sys.executable} -m pip install gunicorn", file=sys.stderr)
        return 2
    # Ctrl+C and `kill` both clean up, even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    workdir = Path(tempfile.mkdtemp(prefix="mutual-bench-web-"))
    env = bench_environment(workdir)
    log = workdir / "gunicorn.log"
    server: subprocess.Popen | None = None
    try:
        print(f"Preparing a demo database in {workdir} ...", flush=True)
        began = time.monotonic()
        prepared = subprocess.run(
            [sys.executable, __file__, "--prepare", str(workdir)],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if prepared.returncode != 0:
            raise RuntimeError(f"preparing the database failed:\n{prepared.stderr[-3000:]}")
        info = json.loads(prepared.stdout.strip().splitlines()[-1])
        summary = ", ".join(f"{n} {what}" for what, n in info["summary"].items())
        print(f"  {summary} ({time.monotonic() - began:.1f} s)")
        paths = [p.format(listing_id=info["listing_id"]) for p in PAGES]

        port = free_port()
        server = start_gunicorn(env, port, args.workers, log)
        wait_until_healthy(server, port, log)
        check_pages(port, paths)
        client = f"wrk ({args.threads} threads)" if use_wrk else "built-in Python client (threads)"
        load = os.getloadavg()
        print(
            f"gunicorn: {args.workers} sync workers on {HOST}:{port}, MUTUAL_ENV=production, "
            f"SQLite\nload generator: {client}, {args.connections} connections, "
            f"{args.seconds:g} s per page\nmachine: {os.cpu_count()} CPUs, load average "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the run\n",
            flush=True,
        )
        results = []
        for path in paths:
            if use_wrk:
                result = run_wrk(port, path, args.seconds, args.connections, args.threads)
            else:
                result = run_python(port, path, args.seconds, args.connections)
            results.append(result)
        print_table(results)
        if server.poll() is not None:
            print(f"\nwarning: gunicorn died during the run:\n{tail(log)}", file=sys.stderr)
            return 1
        return 0 if not any(r.errors for r in results) else 1
    except KeyboardInterrupt:
        print("\ninterrupted, cleaning up", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not skip cleanup
        stop(server)
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

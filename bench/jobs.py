"""Background work under load: real Celery workers and beat, Redis as broker, on a generated
marketplace, next to a bare task measured in the same run.

    createdb -h 127.0.0.1 -U postgres bench_jobs
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench_jobs \
        .venv/bin/flask --app wsgi db upgrade
    .venv/bin/python bench/jobs.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench_jobs \
        [--redis-url redis://127.0.0.1:6379/12] [--workers 1 --workers 2]

THE DATABASE IS WIPED: every row of every table is deleted before each run (it must be migrated:
`flask db upgrade`). For each worker count it loads a marketplace with bench/generate.py whose
"now" lies 30 days back (so shipped orders are due to auto-complete, deal deadlines have passed,
loans are overdue, feedback windows closed), starts `celery worker --concurrency N` and `celery
beat` (JOBS_INTERVAL_SECONDS=--beat-interval) on a queue of its own, and then:

1. the bare task: --bare no-op tasks (`mutual.events.deliver` with no events: the same app
   context, broker and result round trip, no work) sent at once; its throughput is the baseline;
2. the burst, handed to Celery at once from this process through the app's own code paths:
   every due job (order auto-complete, loans, deal settlement, feedback reveal, the reputation
   pass, payment operations, sessions, digests, event delivery), the events of --messages
   messages in order conversations (notifications; the messages themselves are written first,
   untimed, as web processes would have), --resets password reset requests (the mail is
   deferred to a worker) and --refreshes reputation refreshes of two members (deferred, as a
   revealed feedback does), while beat sends the due jobs every --beat-interval seconds.

It samples the queue's length every 0.1 s until every task it sent has finished, and reads each
task's wait (sent to started) and run time from the workers' log lines (app/jobs/celery_app.py).
Printed: queue depth over time, throughput, wait p50/p95 by kind, and the ratio of the burst's
throughput to the bare task's with the same workers. Only 127.0.0.1 is contacted; workers and
beat are stopped at the end, also on Ctrl+C or an error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DONE_LINE = re.compile(
    r"task (?P<job>\S+) (?P<outcome>done|failed) waited_ms=(?P<waited>[\d.]+|None) "
    r"ran_ms=(?P<ran>[\d.]+)"
)


@dataclass
class Burst:
    messages: int = 300
    resets: int = 100
    refreshes: int = 100
    bare: int = 300


@dataclass
class Run:
    """What one worker count measured."""

    workers: int
    split: bool = False  # one process on the due jobs' queue, the rest on the requests' queue
    bare_tasks: int = 0
    bare_seconds: float = 0.0
    tasks: int = 0
    seconds: float = 0.0
    send_seconds: float = 0.0  # sending the burst (the app's code paths, in this process)
    sent: dict[str, int] = field(default_factory=dict)
    depth: list[tuple[float, int]] = field(default_factory=list)  # (seconds, queue length)
    waits: dict[str, list[float]] = field(default_factory=dict)  # kind -> waits in ms
    runs: dict[str, list[float]] = field(default_factory=dict)  # kind -> run times in ms
    failed: int = 0

    @property
    def label(self) -> str:
        if self.split:
            return f"{self.workers} (1 due jobs, {self.workers - 1} requests)"
        return str(self.workers)

    @property
    def bare_rate(self) -> float:
        return self.bare_tasks / self.bare_seconds if self.bare_seconds else 0.0

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate if self.bare_rate else 0.0


def load_generate():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _looks_disposable(database_url: str) -> bool:
    """A database named for benchmarks or tests (bench_jobs, test_ops, /tmp/bench.sqlite3)."""
    from sqlalchemy.engine import make_url

    name = (make_url(database_url).database or "").lower()
    return "bench" in name or "test" in name


def wipe(database_url: str) -> None:
    """Delete every row of every table the app has (the schema stays)."""
    from sqlalchemy import create_engine, text

    from app import create_app
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=database_url, DEMO_DATA_ON_FIRST_START=False)
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


def worker_env(database_url: str, redis_url: str, queue: str, interval: int) -> dict[str, str]:
    return {
        **os.environ,
        "MUTUAL_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "JOBS_MODE": "external",
        "JOBS_INTERVAL_SECONDS": str(interval),
        "JOBS_CATCH_UP_ON_WORKER_START": "0",
        "DEMO_DATA": "0",
        "LOG_FORMAT": "text",
        "MAIL_BACKEND": "locmem",
        "PYTHONPATH": str(REPO),
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "app.jobs.worker:celery", *args]


def wait_for_worker(
    celery, process: subprocess.Popen, log: Path, timeout: float = 60, replies: int = 1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
        if len(celery.control.ping(timeout=0.5)) >= replies:
            return
    raise RuntimeError(f"no worker answered within {timeout} s:\n{log.read_text()[-3000:]}")


def queue_length(client, queue: str) -> int:
    """Tasks waiting in the requests' queue and the due jobs' (app/jobs/celery_app.py)."""
    names = [
        name + step
        for name in (queue, f"{queue}.due")
        for step in ("", *(f"\x06\x16{n}" for n in ("3", "6", "9")))
    ]
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(name)
        return sum(pipe.execute())


def wait_done(celery, client, queue: str, ids: list[str], run: Run, started: float) -> float:
    """Sample the queue until every task in `ids` finished; the seconds it took."""
    from celery.result import AsyncResult

    pending = list(ids)
    while pending:
        run.depth.append((time.monotonic() - started, queue_length(client, queue)))
        # A few result look-ups per sample, so sampling stays cheap: done when none is left.
        checked = [i for i in pending[:50] if not AsyncResult(i, app=celery).ready()]
        pending = checked + pending[50:]
        if pending:
            time.sleep(0.1)
    return time.monotonic() - started


def build_app(database_url: str, redis_url: str, queue: str, interval: int):
    from app import create_app

    return create_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        JOBS_MODE="external",
        JOBS_INTERVAL_SECONDS=interval,
        DEMO_DATA_ON_FIRST_START=False,
        MAIL_BACKEND="locmem",
        RATELIMIT_ENABLED=False,
        TRUST_GATES_ENABLED=False,
    )


@dataclass
class Prepared:
    """What the requests of the burst did before handing work over (not timed)."""

    message_events: list[list[int]]  # the events each message committed
    reset_emails: list[str]
    refresh_pairs: list[list[int]]


def prepare_burst(app, burst: Burst, seed: int) -> Prepared:
    """Do the requests' own part of the burst: messages sent in order conversations (their
    events committed, not yet handed over), members who will ask for a reset, pairs of members
    whose feedback will be revealed. Web processes do this in parallel, so it is not timed."""
    import random

    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db
    from app.messaging.services import send_message
    from app.orders.models import Order
    from app.transactions import events

    rng = random.Random(seed)
    with app.app_context():
        orders = db.session.execute(
            select(Order.id, Order.buyer_id).order_by(Order.id).limit(burst.messages)
        ).all()
        message_events = []
        for i in range(burst.messages):
            order_id, buyer_id = orders[i % len(orders)]
            send_message("order", order_id, buyer_id, f"Is it still on? ({i})")
            message_events.append(events.take_committed())
        # Generated members live under .test, which the app refuses as an address: the members
        # asking for a reset get deliverable-looking ones first.
        members = db.session.scalars(select(User).order_by(User.id).limit(burst.resets)).all()
        for member in members:
            member.email = f"{member.handle}@example.com"
        db.session.commit()
        emails = [member.email for member in members]
        user_ids = db.session.scalars(select(User.id)).all()
        pairs = [rng.sample(user_ids, 2) for _ in range(burst.refreshes)]
        db.session.remove()
    return Prepared(message_events, emails, pairs)


def send_burst(app, prepared: Prepared) -> tuple[list[str], dict[str, int]]:
    """Hand the burst to Celery through the app's own code paths, as fast as they go: every
    due job, each message's events, each reset request, each reputation refresh. The ids of
    the tasks sent, and how many of each task."""
    from celery.signals import after_task_publish

    from app.accounts.services import request_password_reset
    from app.extensions import db
    from app.jobs.celery_app import celery_of, job_task_name
    from app.jobs.runner import DUE_JOBS
    from app.reviews.reputation import refresh_after_reveal
    from app.transactions import events

    sent: list[str] = []
    kinds: dict[str, int] = {}

    def note(headers=None, body=None, **_):
        task_id = (headers or {}).get("id")
        if task_id:
            sent.append(task_id)
            name = (headers or {}).get("task", "?")
            kinds[name] = kinds.get(name, 0) + 1

    after_task_publish.connect(note, weak=False)
    try:
        with app.app_context():
            celery = celery_of(app)
            hand_off = app.extensions[events.HAND_OFF]
            # Every due job once, without beat's expiry (a copy beat sends runs late or is
            # skipped; these must run, so the runs compare).
            for name in DUE_JOBS:
                celery.send_task(job_task_name(name))
            for event_ids in prepared.message_events:
                hand_off(event_ids)
            for email in prepared.reset_emails:
                request_password_reset(email, address="127.0.0.1")
            for pair in prepared.refresh_pairs:
                refresh_after_reveal(pair)
            db.session.remove()
    finally:
        after_task_publish.disconnect(note)
    return sent, kinds


def send_bare(app, count: int) -> list[str]:
    from app.jobs.celery_app import DELIVER_EVENTS_TASK, celery_of

    with app.app_context():
        celery = celery_of(app)
        return [celery.send_task(DELIVER_EVENTS_TASK, args=[[]]).id for _ in range(count)]


def read_log(log: Path, run: Run, skip: int) -> int:
    """Add the task lines of the worker's log after the first `skip` ones; how many it read."""
    lines = [m for m in DONE_LINE.finditer(log.read_text(errors="replace"))]
    for match in lines[skip:]:
        job = match["job"]
        if match["waited"] != "None":
            run.waits.setdefault(job, []).append(float(match["waited"]))
        run.runs.setdefault(job, []).append(float(match["ran"]))
        run.failed += match["outcome"] == "failed"
    return len(lines)


def measure(
    database_url: str,
    redis_url: str,
    workers: int,
    sizes,
    burst: Burst,
    *,
    seed: int = 1,
    beat_interval: int = 30,
    workdir: Path,
    generate=None,
    split: bool = False,
) -> Run:
    """One run with `workers` worker processes on freshly generated data (`split`: one of
    them on the due jobs' queue alone, the others on the requests' queue)."""
    import redis

    generate = generate or load_generate()
    wipe(database_url)
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=30)
    generate.generate(database_url, sizes, seed=seed, now=now, progress=False)
    queue = f"bench-jobs-{uuid.uuid4().hex[:8]}"
    env = worker_env(database_url, redis_url, queue, beat_interval)
    app = build_app(database_url, redis_url, queue, beat_interval)
    app_logger = logging.getLogger("app")
    level = app_logger.level
    app_logger.setLevel(logging.WARNING)  # the burst's own lines: not measured
    from app.jobs.celery_app import celery_of

    celery = celery_of(app)
    client = redis.Redis.from_url(redis_url)
    split = split and workers >= 2
    tag = f"{workers}{'s' if split else ''}"
    worker_log, beat_log = workdir / f"worker{tag}.log", workdir / f"beat{tag}.log"
    due_log = workdir / f"worker{tag}-due.log"
    run = Run(workers=workers, split=split)
    worker = due_worker = beat = None

    def worker_command(name: str, concurrency: int, *queues: str) -> list[str]:
        return celery_command(
            "worker", "--concurrency", str(concurrency), "--pool", "prefork", "--loglevel",
            "info", "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
            *(["-Q", ",".join(queues)] if queues else []),
        )  # fmt: skip

    try:
        if split:
            due_worker = start(worker_command(f"due-{queue}", 1, f"{queue}.due"), env, due_log)
            worker = start(worker_command(queue, workers - 1, queue), env, worker_log)
        else:
            worker = start(worker_command(queue, workers), env, worker_log)
        wait_for_worker(celery, worker, worker_log, replies=2 if split else 1)
        # Warm every pool process (imports, connections) before anything is timed.
        for task_id in send_bare(app, workers * 4):
            celery.AsyncResult(task_id).get(timeout=60)
        seen = read_log(worker_log, Run(workers=workers), 0)

        started = time.monotonic()
        ids = send_bare(app, burst.bare)
        run.bare_seconds = wait_done(celery, client, queue, ids, Run(workers=workers), started)
        run.bare_tasks = len(ids)
        time.sleep(0.3)  # the last log lines
        seen = read_log(worker_log, Run(workers=workers), seen)

        prepared = prepare_burst(app, burst, seed)
        schedule = workdir / f"beat-{queue}"
        beat = start(
            celery_command("beat", "--loglevel", "info", "-s", str(schedule)), env, beat_log
        )
        started = time.monotonic()
        ids, run.sent = send_burst(app, prepared)
        run.send_seconds = time.monotonic() - started
        run.seconds = wait_done(celery, client, queue, ids, run, started)
        run.tasks = len(ids)
        stop(beat)
        beat = None
        time.sleep(0.5)
        read_log(worker_log, run, seen)
        if split:
            read_log(due_log, run, 0)
    finally:
        stop(beat)
        stop(worker)
        stop(due_worker)
        app_logger.setLevel(level)
        client.delete(queue, f"{queue}.due")
        client.close()
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    return run


def depth_line(run: Run, width: int = 12) -> str:
    """The queue's length at `width` points over the run."""
    if not run.depth:
        return ""
    step = max(1, len(run.depth) // width)
    return ", ".join(f"{t:.1f}s: {n}" for t, n in run.depth[::step])


def report(runs: list[Run]) -> str:
    lines = [
        "| workers | bare tasks/s | burst tasks | sent in s | all done in s | tasks/s | "
        "ratio to bare | wait p50 ms | wait p95 ms | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        waits = [w for values in run.waits.values() for w in values]
        lines.append(
            f"| {run.label} | {run.bare_rate:.1f} | {run.tasks} | {run.send_seconds:.1f} | "
            f"{run.seconds:.1f} | "
            f"{run.rate:.1f} | {run.ratio:.3f} | {percentile(waits, 50):.0f} | "
            f"{percentile(waits, 95):.0f} | {run.failed} |"
        )
    for run in runs:
        lines += [
            "",
            f"{run.label} worker process(es), by kind:",
            "",
            "| kind | tasks | wait p50 ms | wait p95 ms | run p50 ms | run p95 ms |",
            "|---|---|---|---|---|---|",
        ]
        for kind in sorted(run.runs):
            waits, runs_ms = run.waits.get(kind, []), run.runs[kind]
            lines.append(
                f"| {kind} | {len(runs_ms)} | {percentile(waits, 50):.0f} | "
                f"{percentile(waits, 95):.0f} | {percentile(runs_ms, 50):.0f} | "
                f"{percentile(runs_ms, 95):.0f} |"
            )
        lines += ["", f"queue length: {depth_line(run)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated database: WIPED")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--workers", type=int, action="append", help="default: 1 and 2")
    parser.add_argument(
        "--split",
        type=int,
        action="append",
        help="also N worker processes with one of them on the due jobs' queue alone",
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--listings", type=int, default=6000)
    parser.add_argument("--orders", type=int, default=14000)
    parser.add_argument("--feedback", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages", type=int, default=Burst.messages)
    parser.add_argument("--resets", type=int, default=Burst.resets)
    parser.add_argument("--refreshes", type=int, default=Burst.refreshes)
    parser.add_argument("--bare", type=int, default=Burst.bare)
    parser.add_argument("--beat-interval", type=int, default=30)
    parser.add_argument("--json", help="write every run to this file")
    parser.add_argument(
        "--wipe-any-database",
        action="store_true",
        help="wipe a database whose name says neither bench nor test (refused without it)",
    )
    args = parser.parse_args(argv)
    if not (args.wipe_any_database or _looks_disposable(args.database_url)):
        parser.error(
            "the database is wiped before each run, and its name says neither 'bench' nor "
            "'test': pass --wipe-any-database if you mean it"
        )
    generate = load_generate()
    sizes = generate.Sizes.from_args(
        argparse.Namespace(
            quick=False, loans=None, clubs=None, deals=None, pledges=None, busy_feedback=None,
            users=args.users, listings=args.listings, orders=args.orders, feedback=args.feedback,
        )
    )  # fmt: skip
    burst = Burst(args.messages, args.resets, args.refreshes, args.bare)
    runs = []
    with tempfile.TemporaryDirectory(prefix="jobbench-") as tmp:
        plans = [(n, False) for n in args.workers or [1, 2]]
        plans += [(n, True) for n in args.split or []]
        for workers, split in plans:
            print(f"{workers} worker(s), split {split}: generating and measuring", flush=True)
            runs.append(
                measure(
                    args.database_url,
                    args.redis_url,
                    workers,
                    sizes,
                    burst,
                    seed=args.seed,
                    beat_interval=args.beat_interval,
                    workdir=Path(tmp),
                    generate=generate,
                    split=split,
                )
            )
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(report(runs))
    if args.json:
        Path(args.json).write_text(json.dumps([run.__dict__ for run in runs], indent=1))
    return 1 if any(run.failed for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

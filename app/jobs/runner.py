"""Due jobs: each is a function `(now) -> int` (how many things it handled), run on a schedule.

Embedded mode runs them in a thread of the web process; with REDIS_URL set, Celery beat schedules
them and Celery workers run them (app/jobs/celery_app.py), or run `flask jobs run-due` from cron.
Every job is idempotent: running it twice in a row does nothing the second time.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from app import logs, metrics
from app.db import utcnow

logger = logging.getLogger(__name__)

# name -> "module:function". Domains add their due jobs here.
DUE_JOBS: dict[str, str] = {
    "orders.auto_complete": "app.orders.services:auto_complete_due",
    "lending.due": "app.lending.services:run_due_jobs",
    "clubs.deals_due": "app.clubs.settlement:run",
    "reviews.reveal_expired": "app.reviews.services:reveal_expired",
    "reputation.recompute": "app.reviews.reputation:recompute_due",
    "payments.run_pending": "app.payments.services:run_pending_operations",
    "accounts.expired_sessions": "app.accounts.services:delete_expired_sessions",
    "notifications.digest": "app.notifications.services:send_digests",
    # Last, so what the jobs above recorded is delivered in the same run.
    "events.deliver": "app.transactions.events:deliver_due",
}


def _load(path: str) -> Callable[[datetime], int]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_job(name: str, now: datetime | None = None) -> int:
    """Run the due job `name` once; how many items it handled, -1 when it failed (logged and
    rolled back: the next run tries again). Needs an app context. Its log records carry the
    job's name; its run, outcome and time are counted (app/metrics.py)."""
    started = time.perf_counter()
    with logs.log_context(job=name):
        try:
            handled = _load(DUE_JOBS[name])(now or utcnow())
        except Exception:
            logger.exception("job %s failed", name)
            from app.extensions import db

            db.session.rollback()
            handled = -1
    metrics.observe_job(name, failed=handled == -1, seconds=time.perf_counter() - started)
    return handled


def run_due(now: datetime | None = None) -> dict[str, int]:
    """Run every due job once; returns how many items each handled. Needs an app context."""
    now = now or utcnow()
    return {name: run_job(name, now) for name in list(DUE_JOBS)}


def runs_inprocess(app: Flask) -> bool:
    """Whether `flask serve` runs the due jobs in a thread: JOBS_MODE=inprocess and no Celery
    (with REDIS_URL set, beat and the workers run them)."""
    return app.config["JOBS_MODE"] == "inprocess" and not app.config.get("REDIS_URL")


def start_inprocess_scheduler(app: Flask) -> threading.Event:
    """Run due jobs every JOBS_INTERVAL_SECONDS in a daemon thread. Returns its stop event."""
    stop = threading.Event()
    interval = app.config["JOBS_INTERVAL_SECONDS"]

    def loop() -> None:
        while not stop.wait(interval):
            with app.app_context():
                results = run_due()
                handled = {k: v for k, v in results.items() if v}
                if handled:
                    logger.info("due jobs ran: %s", handled)

    threading.Thread(target=loop, name="mutual-jobs", daemon=True).start()
    return stop

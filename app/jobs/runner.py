"""Due jobs: each is a function `(now) -> int` (how many things it handled), run on a schedule.

Embedded mode runs them in a thread of the web process; at scale, run `flask jobs run-due` from
cron or a worker. Every job is idempotent: running it twice in a row does nothing the second time.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from app.db import utcnow

logger = logging.getLogger(__name__)

# name -> "module:function". Domains add their due jobs here.
DUE_JOBS: dict[str, str] = {
    "orders.auto_complete": "app.orders.services:auto_complete_due",
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


def run_due(now: datetime | None = None) -> dict[str, int]:
    """Run every due job once; returns how many items each handled. Needs an app context."""
    now = now or utcnow()
    results: dict[str, int] = {}
    for name, path in DUE_JOBS.items():
        try:
            results[name] = _load(path)(now)
        except Exception:
            logger.exception("job %s failed", name)
            from app.extensions import db

            db.session.rollback()
            results[name] = -1
    return results


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

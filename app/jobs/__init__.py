"""Background jobs: a registry of due jobs, run in-process or by `flask jobs run-due`, and work
a request defers to a Celery worker when there is one (`later`)."""

from __future__ import annotations

import importlib

from flask import current_app

# app.extensions key: a `fn(name, args)` that sends deferred work to a Celery worker.
DEFER = "mutual.jobs.defer"

# name -> "module:function". Work a request hands to a worker when Celery runs (REDIS_URL set),
# else runs where it is asked for. Domains add theirs here; the arguments must be JSON.
DEFERRED: dict[str, str] = {
    "accounts.mail_reset_link": "app.accounts.services:mail_reset_link",
    "reputation.refresh": "app.reviews.reputation:refresh_now",
}


def later(name: str, *args) -> bool:
    """Run the deferred work `name` with `args` on a Celery worker when there is one (True), else
    at once in this process (False). Needs an app context."""
    send = current_app.extensions.get(DEFER)
    if send is not None:
        try:
            send(name, list(args))
            return True
        except Exception:  # Redis unreachable: doing it here beats not doing it
            current_app.logger.exception("deferring %s failed: running it here", name)
    module, _, function = DEFERRED[name].partition(":")
    getattr(importlib.import_module(module), function)(*args)
    return False

"""Background work on Celery with Redis, when REDIS_URL is set.

- One task per due job (`mutual.jobs.<name>`, generated from runner.DUE_JOBS when the app is
  built, so a job a domain adds there is scheduled too), which Celery beat sends every
  JOBS_INTERVAL_SECONDS. A worker that starts sends them all once, so what fell due while no
  worker ran (a deal deadline, an order to auto-complete) is handled at once.
- `mutual.events.deliver`: a request that committed domain events hands their ids to a worker,
  which runs their consumers (notifications, e-mails, feedback windows) instead of the request.
  The periodic `events.deliver` job stays the retry for anything that task could not deliver.

Running a task twice, or on two workers at once, is safe:
- a due job runs under a Redis lock per job name (`<CELERY_QUEUE>:lock:<name>`, expiring after
  JOBS_LOCK_SECONDS should a worker die holding it): a second copy sent while the first runs is
  skipped. Some jobs act outside the database before they commit (the digest job sends mail), so
  two copies at once could act twice; the lock prevents that. Run one after the other, every job
  does nothing the second time (runner.py).
- an event delivery claims each delivery row with a conditional UPDATE (a lease) before running
  its consumer, so two workers never run one consumer for one event (transactions/events.py).
- tasks are acknowledged after they ran (`task_acks_late`): a task whose worker died is run
  again, which the two points above make harmless.

Without REDIS_URL nothing here is used: `flask serve` runs the same job functions in a thread.
Commands: `celery -A app.jobs.worker:celery worker` and `... beat` (README, "Background work").
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import before_task_publish, worker_process_init, worker_ready
from flask import Flask
from kombu import Exchange, Queue
from redis.exceptions import LockError

from app import logs, metrics
from app.jobs import DEFER, DEFERRED
from app.jobs.runner import DUE_JOBS, run_job
from app.transactions import events

logger = logging.getLogger(__name__)

EXTENSION = "celery"
JOB_TASK_PREFIX = "mutual.jobs."
DELIVER_EVENTS_TASK = "mutual.events.deliver"
DEFERRED_TASK_PREFIX = "mutual.later."
REQUEST_ID_HEADER = "mutual_request_id"
# When the task was sent (Unix time, set on every message this process publishes): a worker
# measures from it how long the task waited in the queue.
SENT_AT_HEADER = "mutual_sent_at"


def job_task_name(job: str) -> str:
    """The Celery task that runs the due job `job` ("orders.auto_complete")."""
    return JOB_TASK_PREFIX + job


def due_queue(queue: str) -> str:
    """The queue of the due jobs, beside CELERY_QUEUE (a request's work): a long catch-up job
    must not hold up the work requests hand over, so each can have workers of its own."""
    return f"{queue}.due"


def job_kind(task: str) -> str:
    """The kind of work a task does, as logs and metrics name it: the due job's or the
    deferred work's name, "events.handed_off" for a request's events."""
    if task == DELIVER_EVENTS_TASK:
        return "events.handed_off"
    return task.removeprefix(JOB_TASK_PREFIX).removeprefix(DEFERRED_TASK_PREFIX)


def celery_of(app: Flask) -> Celery:
    """The Celery app of this Flask app; a clear error when REDIS_URL is not set."""
    celery = app.extensions.get(EXTENSION)
    if celery is None:
        raise RuntimeError(
            "Celery needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0). Without it, "
            "`flask serve` runs the due jobs in-process and no worker is needed."
        )
    return celery


def init_app(app: Flask) -> Celery | None:
    """With REDIS_URL set: build the Celery app (`app.extensions["celery"]`) and hand the
    events each request commits to a worker. Without it: nothing (in-process jobs)."""
    if not app.config.get("REDIS_URL"):
        return None
    celery = make_celery(app)
    deliver_events = celery.tasks[DELIVER_EVENTS_TASK]

    def hand_off(event_ids: list[int]) -> None:
        if event_ids:
            # The worker's log lines for these events carry the request's id.
            origin = {REQUEST_ID_HEADER: logs.current_request_id()}
            deliver_events.apply_async(args=[event_ids], headers=origin)

    def later(name: str, args: list) -> None:
        origin = {REQUEST_ID_HEADER: logs.current_request_id()}
        celery.tasks[DEFERRED_TASK_PREFIX + name].apply_async(args=[args], headers=origin)

    app.extensions[EXTENSION] = celery
    app.extensions[events.HAND_OFF] = hand_off
    app.extensions[DEFER] = later
    return celery


def make_celery(app: Flask) -> Celery:
    """A Celery app on REDIS_URL (broker and results) whose tasks run in an app context of
    `app`, with a task per due job and its beat schedule."""
    url = app.config["REDIS_URL"]
    queue = app.config["CELERY_QUEUE"]
    interval = app.config["JOBS_INTERVAL_SECONDS"]

    class AppContextTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            # Log records made by the task carry the id of the request that sent it (else the
            # task's own id) and the due job's name (else the task's).
            origin = getattr(self.request, REQUEST_ID_HEADER, None)
            if not origin or origin == logs.NO_ID:
                origin = self.request.id or logs.NO_ID
            job = job_kind(self.name)
            sent_at = getattr(self.request, SENT_AT_HEADER, None)
            waited = time.time() - float(sent_at) if sent_at else None
            if waited is not None:
                metrics.observe_job_wait(job, waited)
            started = time.perf_counter()
            failed = True
            with logs.log_context(request_id=origin, job=job), app.app_context():
                try:
                    result = self.run(*args, **kwargs)
                    failed = False
                    return result
                finally:
                    ran = time.perf_counter() - started
                    if not self.name.startswith(JOB_TASK_PREFIX):  # run_job counts due jobs
                        metrics.observe_job(job, failed=failed, seconds=ran)
                    logger.info(
                        "task %s %s waited_ms=%s ran_ms=%.1f",
                        job,
                        "failed" if failed else "done",
                        None if waited is None else round(waited * 1000, 1),
                        ran * 1000,
                    )

    celery = Celery(app.import_name, task_cls=AppContextTask, set_as_current=False)
    celery.conf.update(
        broker_url=url,
        result_backend=url,
        result_expires=3600,
        task_default_queue=queue,
        # Due jobs on a queue of their own; a worker consumes both unless told `-Q` (README,
        # "Background work").
        task_queues=tuple(
            Queue(name, Exchange(name, type="direct"), routing_key=name)
            for name in (queue, due_queue(queue))
        ),
        task_routes={JOB_TASK_PREFIX + "*": {"queue": due_queue(queue)}},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        # A request that cannot reach Redis gives up quickly; the due job delivers its events.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,  # create_app configured logging already
        beat_schedule={
            f"job {name}": {
                "task": job_task_name(name),
                "schedule": float(interval),
                # Not run late: the next one is already on its way.
                "options": {"expires": float(interval)},
            }
            for name in DUE_JOBS
        },
        beat_schedule_filename=os.path.join(app.instance_path, "celerybeat-schedule"),
    )
    celery.conf.mutual_catch_up_on_start = app.config["JOBS_CATCH_UP_ON_WORKER_START"]
    celery.conf.mutual_job_interval = interval

    def fresh_connections(**_: Any) -> None:
        """A forked pool process opens its own database connections, never its parent's."""
        from app.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)

    worker_process_init.connect(fresh_connections, weak=False)

    locks = redis.Redis.from_url(url)
    lock_seconds = app.config["JOBS_LOCK_SECONDS"]

    def run_locked(name: str) -> dict[str, Any]:
        lock = locks.lock(f"{queue}:lock:{name}", timeout=lock_seconds)
        if not lock.acquire(blocking=False):
            logger.info("due job %s is running elsewhere: skipped", name)
            return {"job": name, "skipped": True}
        try:
            handled = run_job(name)
            # What the job recorded (a loan reminder, a settled deal) is delivered here too.
            delivered = _deliver_committed()
        finally:
            try:
                lock.release()
            except LockError:  # it expired meanwhile; whoever holds it now keeps it
                logger.warning("due job %s outlived its lock (JOBS_LOCK_SECONDS)", name)
        if handled:
            logger.info("due job %s handled %s", name, handled)
        return {"job": name, "handled": handled, "delivered": delivered}

    for name in DUE_JOBS:
        _add_job_task(celery, name, run_locked)

    @celery.task(name=DELIVER_EVENTS_TASK, shared=False)
    def deliver_events(event_ids: list[int]) -> int:
        """Run the consumers of these committed events (and of the events they record)."""
        return events.deliver(event_ids) + _deliver_committed()

    for name, path in DEFERRED.items():
        _add_deferred_task(celery, name, path)

    return celery


def _add_deferred_task(celery: Celery, name: str, path: str) -> None:
    module, _, function = path.partition(":")

    def run(args: list) -> None:
        getattr(importlib.import_module(module), function)(*args)

    run.__name__ = run.__qualname__ = "later_" + name.replace(".", "_")
    run.__doc__ = f"Run {path} on a worker, for the request that deferred it."
    celery.task(name=DEFERRED_TASK_PREFIX + name, shared=False)(run)


def _add_job_task(celery: Celery, name: str, run_locked) -> None:
    def run() -> dict[str, Any]:
        return run_locked(name)

    run.__name__ = run.__qualname__ = "job_" + name.replace(".", "_")
    run.__doc__ = f"Run the due job {name} ({DUE_JOBS[name]}) under its lock."
    celery.task(name=job_task_name(name), shared=False)(run)


def _deliver_committed() -> int:
    try:
        return events.deliver_committed()
    except Exception:  # committed and pending: the events.deliver job retries them
        logger.exception("delivering events on the worker failed")
        from app.extensions import db

        db.session.rollback()
        return 0


def send_due_jobs(celery: Celery) -> list[str]:
    """Send every due job's task once (what beat does each interval). Returns their task ids."""
    expires = float(celery.conf.mutual_job_interval)
    return [
        celery.send_task(job_task_name(name), expires=expires).id
        for name in DUE_JOBS
        if job_task_name(name) in celery.tasks
    ]


@before_task_publish.connect
def _stamp_sent_at(headers: dict | None = None, **_: Any) -> None:
    """Every task message carries when it was sent, for the time it waits in the queue."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


@worker_ready.connect
def _catch_up(sender=None, **_: Any) -> None:
    """A worker that starts runs every due job once: deadlines that passed while none ran."""
    celery = getattr(sender, "app", None)
    if celery is None or not celery.conf.get("mutual_catch_up_on_start"):
        return
    send_due_jobs(celery)

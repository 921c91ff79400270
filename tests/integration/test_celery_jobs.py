"""Background work on Celery with Redis (REDIS_URL set): due jobs run as tasks on a real worker,
a request's events are delivered by the worker, a job running elsewhere is skipped, and the
documented worker command starts and catches up on what fell due. Without REDIS_URL nothing
changes. Needs the local Redis (TEST_REDIS_URL, default db 13); each run has its own queue and
lock names in it, so parallel runs do not collide."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from flask import current_app
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app import jobs, logs
from app.db import utcnow
from app.extensions import db
from app.jobs import celery_app
from app.jobs.runner import DUE_JOBS, runs_inprocess
from app.notifications import services as notifications
from app.notifications.models import Notification
from app.orders.models import Order
from app.orders.services import place_order, transition
from app.transactions import events
from app.transactions.events import DomainEvent, EventDelivery, record_event

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
HERE = "tests.integration.test_celery_jobs"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 15

# Who ran what, by thread: (what, thread ident).
RAN: list[tuple[str, int]] = []
# What the consumer saw: (event name, request id of its log records).
SEEN_WITH: list[tuple[str, str]] = []


def tick(now) -> int:
    """A due job, as a domain would add one: records an event whose consumer is `seen`."""
    RAN.append(("tick", threading.get_ident()))
    record_event("test.ticked", subject_kind="test", subject_id=1, actor_id=None)
    db.session.commit()
    return 1


def seen(event: DomainEvent) -> None:
    RAN.append((event.name, threading.get_ident()))
    SEEN_WITH.append((event.name, logs.current_request_id()))


def _redis() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


@pytest.fixture
def celery(app, monkeypatch) -> Iterator[Celery]:
    """Celery turned on for this app, on its own queue, with a test job added to DUE_JOBS
    first (as a domain registers one) and `seen` following the events of the test."""
    try:
        _redis().ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}): the Celery path needs it")
    RAN.clear()
    SEEN_WITH.clear()
    queue = f"mutual-test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setitem(DUE_JOBS, "test.tick", f"{HERE}:tick")
    for name in ("test.ticked", "order.placed"):
        events.register_consumer(name, f"{HERE}:seen")
    app.config.update(REDIS_URL=REDIS_URL, CELERY_QUEUE=queue)
    celery = celery_app.init_app(app)
    try:
        yield celery
    finally:
        app.extensions.pop(celery_app.EXTENSION, None)
        app.extensions.pop(events.HAND_OFF, None)
        app.extensions.pop(jobs.DEFER, None)
        for name in ("test.ticked", "order.placed"):
            events.unregister_consumer(name, f"{HERE}:seen")
        events.CONSUMERS.pop("test.ticked", None)
        client = _redis()
        bindings = [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
        due = celery_app.due_queue(queue)
        bindings += [f"_kombu.binding.{due}", f"_kombu.binding_permanent.{due}"]
        client.delete(queue, due, *bindings, *client.keys(f"{queue}:*"))


@pytest.fixture
def worker(celery):
    """A real worker on the test queue, in a thread of this process."""
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
        yield


@pytest.fixture
def outbox(app):
    state = current_app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        db.session.rollback()  # a fresh snapshot: see what the worker committed
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {TIMEOUT} s: {what}")


def _pending_deliveries() -> int:
    pending = select(func.count(EventDelivery.id)).where(EventDelivery.status == "pending")
    return db.session.scalar(pending)


def test_every_due_job_is_a_task_that_beat_sends_each_interval(app, celery):
    assert "test.tick" in DUE_JOBS  # added before Celery was set up, like a domain's job
    for name in DUE_JOBS:
        assert celery_app.job_task_name(name) in celery.tasks
        entry = celery.conf.beat_schedule[f"job {name}"]
        assert entry["task"] == f"mutual.jobs.{name}"
        assert entry["schedule"] == app.config["JOBS_INTERVAL_SECONDS"]
    assert len(celery.conf.beat_schedule) == len(DUE_JOBS)
    assert celery.conf.broker_url == celery.conf.result_backend == REDIS_URL
    assert celery.conf.task_default_queue == app.config["CELERY_QUEUE"]


def test_a_due_job_runs_on_the_worker_once_and_its_events_are_delivered_there(
    app, celery, worker, listing, buyer, seller
):
    order = place_order(buyer.id, listing.id, 1)
    transition(order.id, "mark_paid", seller.id)
    transition(order.id, "ship", seller.id, "Posted")
    events.deliver_committed()
    shipped = db.session.get(Order, order.id)
    shipped.shipped_at = utcnow() - timedelta(days=app.config["ORDER_AUTO_COMPLETE_DAYS"] + 1)
    db.session.commit()

    result = celery.send_task("mutual.jobs.orders.auto_complete").get(timeout=TIMEOUT)
    assert result["handled"] == 1 and result["job"] == "orders.auto_complete"
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == "completed"
    assert celery.send_task("mutual.jobs.orders.auto_complete").get(timeout=TIMEOUT)["handled"] == 0

    # A job's own events are delivered by the same task, on the worker.
    RAN.clear()
    result = celery.send_task("mutual.jobs.test.tick").get(timeout=TIMEOUT)
    assert result == {"job": "test.tick", "handled": 1, "delivered": 1}
    main = threading.get_ident()
    assert [what for what, _ in RAN] == ["tick", "test.ticked"]
    assert all(ident != main for _, ident in RAN)
    db.session.rollback()
    assert _pending_deliveries() == 0


def test_a_request_hands_its_events_to_the_worker_which_notifies_and_emails(
    app, celery, worker, listing, buyer, seller, make_client, outbox
):
    notifications.set_preferences(seller.id, {"order_placed": "email"})
    response = make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": 1})
    assert response.status_code in (302, 303)

    _eventually(lambda: "order.placed" in {w for w, _ in RAN}, "the consumer ran")
    _eventually(lambda: _pending_deliveries() == 0, "every delivery done")
    assert [ident for what, ident in RAN if what == "order.placed"] != [threading.get_ident()]
    notified = db.session.scalars(select(Notification).where(Notification.user_id == seller.id))
    assert [n.kind for n in notified] == ["order_placed"]
    assert len(outbox) == 1 and outbox[0].to == [seller.email]
    assert "@bob ordered" in outbox[0].subject


def test_a_request_whose_events_cannot_reach_redis_leaves_them_to_the_due_job(
    app, celery, listing, buyer, seller, make_client
):
    app.extensions[events.HAND_OFF] = _unreachable
    response = make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": 1})
    assert response.status_code in (302, 303)  # the order stands
    db.session.rollback()
    assert db.session.scalar(select(Order.state)) == "pending_payment"
    assert _pending_deliveries() >= 1
    assert events.deliver_due(utcnow()) >= 1
    assert _pending_deliveries() == 0


def _unreachable(event_ids: list[int]) -> None:
    raise ConnectionError("Redis is down")


def test_a_job_already_running_elsewhere_is_skipped_then_runs_once_free(app, celery, worker):
    held = _redis().lock(f"{app.config['CELERY_QUEUE']}:lock:test.tick", timeout=30)
    assert held.acquire(blocking=False)
    try:
        result = celery.send_task("mutual.jobs.test.tick").get(timeout=TIMEOUT)
        assert result == {"job": "test.tick", "skipped": True}
        assert RAN == []
    finally:
        held.release()
    assert celery.send_task("mutual.jobs.test.tick").get(timeout=TIMEOUT)["handled"] == 1
    assert [what for what, _ in RAN].count("tick") == 1


def test_delivering_the_same_events_twice_runs_each_consumer_once(app, celery, worker):
    event_id = record_event("test.ticked", subject_kind="test", subject_id=2, actor_id=None).id
    db.session.commit()
    events.take_committed()  # as a request hands them off
    first = celery.send_task("mutual.events.deliver", args=[[event_id]])
    second = celery.send_task("mutual.events.deliver", args=[[event_id]])
    assert first.get(timeout=TIMEOUT) + second.get(timeout=TIMEOUT) == 1
    assert RAN.count(("test.ticked", RAN[0][1])) == 1 and len(RAN) == 1


def test_without_redis_url_jobs_run_in_process_and_requests_deliver_their_events(
    app, listing, buyer, make_client
):
    assert app.config["REDIS_URL"] == ""
    assert celery_app.EXTENSION not in app.extensions
    with pytest.raises(RuntimeError, match="set REDIS_URL"):
        celery_app.celery_of(app)
    app.config["JOBS_MODE"] = "inprocess"
    assert runs_inprocess(app)
    app.config["REDIS_URL"] = REDIS_URL
    assert not runs_inprocess(app)  # flask serve leaves them to beat and the workers
    app.config["REDIS_URL"] = ""

    make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": 1})
    db.session.rollback()
    assert _pending_deliveries() == 0  # delivered by the request itself


def test_the_documented_worker_command_starts_and_catches_up_on_due_jobs(
    app, celery, listing, buyer, seller
):
    """`celery -A app.jobs.worker:celery worker` (README) in its own process, on this test's
    database: an order whose auto-completion fell due while no worker ran is completed as soon
    as the worker is ready."""
    order = place_order(buyer.id, listing.id, 1)
    transition(order.id, "mark_paid", seller.id)
    transition(order.id, "ship", seller.id, "Posted")
    shipped = db.session.get(Order, order.id)
    shipped.shipped_at = utcnow() - timedelta(days=app.config["ORDER_AUTO_COMPLETE_DAYS"] + 1)
    db.session.commit()

    env = {
        **os.environ,
        "MUTUAL_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": app.config["CELERY_QUEUE"],
        "UPLOAD_DIR": app.config["UPLOAD_DIR"],
        "DEMO_DATA": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "app.jobs.worker:celery", "worker"]
    worker = subprocess.Popen(
        [*command, "--pool", "solo", "--loglevel", "info", "--without-mingle", "--without-gossip"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _eventually(
            lambda: db.session.get(Order, order.id, populate_existing=True).state == "completed",
            "the worker completed the order on start",
        )
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=TIMEOUT)
    assert "mutual.jobs.orders.auto_complete" in output
    assert "'handled': 1" in output


def test_the_worker_logs_a_requests_events_with_its_request_id_and_a_job_with_its_name(
    app, celery, worker, listing, buyer, make_client, caplog
):
    caplog.set_level(logging.INFO)
    response = make_client(buyer).post(
        f"/listings/{listing.id}/buy", data={"quantity": 1}, headers={"X-Request-Id": "buy-77"}
    )
    assert response.status_code in (302, 303)
    _eventually(lambda: ("order.placed", "buy-77") in SEEN_WITH, "the consumer ran with the id")

    assert celery.send_task("mutual.jobs.test.tick").get(timeout=TIMEOUT)["handled"] == 1
    handled = [r for r in caplog.records if r.getMessage() == "due job test.tick handled 1"]
    assert handled and handled[-1].job == "test.tick"
    assert handled[-1].request_id not in ("-", "buy-77")  # the task's own id


def test_metrics_show_the_celery_queue_depth_read_at_scrape_time(app, celery, client):
    queue = app.config["CELERY_QUEUE"]
    due = celery_app.due_queue(queue)

    def depth() -> dict[str, float]:
        text = client.get("/metrics").get_data(as_text=True)
        for family in text_string_to_metric_families(text):
            if family.name == "mutual_celery_queue_length":
                return {found.labels["queue"]: found.value for found in family.samples}
        raise AssertionError("no queue depth on /metrics")

    assert depth() == {queue: 0, due: 0}
    celery.send_task("mutual.jobs.test.tick")  # no worker runs: it waits in the queue
    celery.send_task("mutual.jobs.test.tick", priority=9)
    celery.send_task(celery_app.DELIVER_EVENTS_TASK, args=[[]])  # a request's work
    # Due jobs wait on their own queue, behind no request's work and holding none up.
    assert depth() == {queue: 1, due: 2}


def _sample(client, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def test_a_password_reset_mail_and_a_reputation_refresh_run_on_the_worker(
    app, celery, worker, buyer, seller, client, outbox
):
    from app.reviews import reputation

    waited = "mutual_job_wait_seconds_count"
    before = {
        kind: (_sample(client, waited, job=kind), _sample(client, "mutual_jobs_total", job=kind))
        for kind in ("accounts.mail_reset_link", "reputation.refresh")
    }
    assert {"mutual.later.accounts.mail_reset_link", "mutual.later.reputation.refresh"} <= set(
        celery.tasks
    )
    response = client.post("/forgot-password", data={"email": buyer.email})
    assert response.status_code == 200
    assert outbox == []
    response.close()  # delivered: the link is sent to a worker
    _eventually(lambda: len(outbox) == 1, "the reset link mailed by the worker")
    assert outbox[0].to == [buyer.email] and "Reset your password" in outbox[0].subject

    reputation.refresh_after_reveal([buyer.id, seller.id])
    for kind, (waits, runs) in before.items():
        _eventually(
            lambda kind=kind, runs=runs: _sample(client, "mutual_jobs_total", job=kind) == runs + 1,
            f"{kind} ran on the worker and was counted",
        )
        assert _sample(client, waited, job=kind) == waits + 1  # its time in the queue too

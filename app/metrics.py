"""Prometheus metrics (prometheus_client): requests, latency, background jobs (runs, failures,
run time and time waited in the queue, by kind), payments (by provider and outcome), provider
operations and the Celery queue's depth, served at /metrics in the text format.

Counting is in memory (no database, no network) so a request pays a dictionary lookup and two
increments. The queue depth is read from Redis only when Prometheus scrapes. Under gunicorn with
several workers, set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at each start) in the
environment before the workers start: every process then writes its counts there and a scrape
adds them up. (There are only counters and histograms, so no gunicorn child_exit hook is needed:
a dead worker's counts stay in the sums, as they should.)

/metrics answers a caller on this machine, or anyone sending `Authorization: Bearer
<METRICS_TOKEN>` when METRICS_TOKEN is set; everyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from flask import Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "mutual_http_requests", "HTTP requests answered", ["endpoint", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "mutual_http_request_duration_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOBS = Counter("mutual_jobs", "Due job runs, by outcome (ok or failed)", ["job", "outcome"])
JOB_SECONDS = Histogram(
    "mutual_job_duration_seconds",
    "Time a due job ran",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0),
)
JOB_WAIT_SECONDS = Histogram(
    "mutual_job_wait_seconds",
    "Time a Celery task waited in the queue, from being sent to starting on a worker",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0),
)
PAYMENT_OPERATIONS = Counter(
    "mutual_payment_operations",
    "Provider operation attempts (refund, transfer, capture, cancel), by provider and by what "
    "came of them: succeeded, failed (for good) or pending (will be retried)",
    ["provider", "kind", "status"],
)
PAYMENTS = Counter(
    "mutual_payments",
    "Payments that reached an outcome (succeeded, failed, canceled), by provider and kind "
    "(charge or hold), counted when the outcome was committed",
    ["provider", "kind", "outcome"],
)

# kombu's Redis transport keeps a queue as one list per priority step: the name, then the name
# with "\x06\x16" and the step (celery's default steps are 0, 3, 6 and 9).
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = ("3", "6", "9")


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its time."""
    REQUESTS.labels(endpoint, method, str(status)).inc()
    REQUEST_SECONDS.labels(endpoint).observe(seconds)


def observe_job(job: str, *, failed: bool, seconds: float) -> None:
    """Count one run of a due job and its time."""
    JOBS.labels(job, "failed" if failed else "ok").inc()
    JOB_SECONDS.labels(job).observe(seconds)


def observe_job_wait(job: str, seconds: float) -> None:
    """Count how long a task waited in the broker queue before a worker started it."""
    JOB_WAIT_SECONDS.labels(job).observe(max(seconds, 0.0))


def observe_payment_operation(provider: str, kind: str, status: str) -> None:
    """Count one attempt of a provider operation by what came of it."""
    PAYMENT_OPERATIONS.labels(provider, kind, status).inc()


def observe_payment(provider: str, kind: str, outcome: str) -> None:
    """Count one payment that reached an outcome (committed)."""
    PAYMENTS.labels(provider, kind, outcome).inc()


class QueueDepthCollector:
    """The number of Celery messages waiting in each broker queue, read at scrape time."""

    def __init__(self, redis_url: str, queues: list[str]) -> None:
        self.redis_url, self.queues = redis_url, queues

    def collect(self):
        import redis

        gauge = GaugeMetricFamily(
            "mutual_celery_queue_length", "Tasks waiting in each Celery queue", labels=["queue"]
        )
        steps = ("", *(f"{_PRIORITY_SEP}{step}" for step in _PRIORITY_STEPS))
        try:
            client = redis.Redis.from_url(
                self.redis_url, socket_connect_timeout=1, socket_timeout=1
            )
            with client.pipeline(transaction=False) as pipe:  # one round trip for all
                for queue in self.queues:
                    for step in steps:
                        pipe.llen(queue + step)
                lengths = pipe.execute()
        except redis.RedisError as error:  # no number beats a wrong one; the scrape goes on
            logger.warning("queue depth unavailable: %s", error)
            return
        for k, queue in enumerate(self.queues):
            gauge.add_metric([queue], sum(lengths[k * len(steps) : (k + 1) * len(steps)]))
        yield gauge


def exposition(app: Flask) -> bytes:
    """Every metric in the text format: this process's (or, in multiprocess mode, all
    workers'), plus the queue depth when REDIS_URL is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if app.config.get("REDIS_URL"):
        scraped = CollectorRegistry()
        queue = app.config["CELERY_QUEUE"]
        # The due jobs' queue (app/jobs/celery_app.py due_queue), by name: no import of jobs.
        scraped.register(QueueDepthCollector(app.config["REDIS_URL"], [queue, f"{queue}.due"]))
        body += generate_latest(scraped)
    return body


def _is_local(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _has_token(token: str) -> bool:
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def metrics_view() -> Response:
    """GET /metrics: the local machine, or a bearer of METRICS_TOKEN when it is set."""
    token = current_app.config.get("METRICS_TOKEN", "")
    if not (_is_local(request.remote_addr) or (token and _has_token(token))):
        abort(403)
    return Response(exposition(current_app), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def init_app(app: Flask) -> None:
    """Serve /metrics."""
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])

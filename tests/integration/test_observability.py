"""Logs and metrics: every request gets an id (the client's when it is sane) that comes back in
X-Request-Id and is on every log record made meanwhile, one line per request says what was
asked and how it went (as JSON with LOG_FORMAT=json), and /metrics counts requests, due jobs and
payment operations for callers on this machine or bearing METRICS_TOKEN."""

from __future__ import annotations

import json
import logging

import pytest
from flask import current_app
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app import logs
from app.extensions import db
from app.jobs import runner
from app.payments import operations
from app.payments.models import Payment, ProviderOperation
from config import Config, ProductionConfig, TestConfig

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
HERE = "tests.integration.test_observability"


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.requests"]


def sample(client, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when it is not there yet)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain")
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def fail_job(now) -> int:
    logging.getLogger("app.jobs.runner").info("about to fail")
    raise RuntimeError("this job always fails")


def test_a_sane_request_id_is_echoed_and_on_every_record_of_the_request(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/listings", headers={"X-Request-Id": "edge-42.a:b"})
    assert response.headers["X-Request-Id"] == "edge-42.a:b"
    made = [r for r in caplog.records if r.request_id != logs.NO_ID]
    assert made and all(r.request_id == "edge-42.a:b" for r in made)
    assert [r.request_id for r in request_lines(caplog)] == ["edge-42.a:b"]


def test_the_request_id_ends_with_its_request(app):
    # A plain client runs the request in this very context, as a server thread runs one
    # request after another: nothing of the last request may stick to what comes next.
    plain = FlaskClient(app, app.response_class)
    assert plain.get("/healthz", headers={"X-Request-Id": "done-1"}).status_code == 200
    assert logs.current_request_id() == logs.NO_ID


@pytest.mark.parametrize("sent", [None, "two words", "x" * 65, "<script>"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client, caplog, sent):
    caplog.set_level(logging.INFO)
    headers = {} if sent is None else {"X-Request-Id": sent}
    first = client.get("/healthz", headers=headers).headers["X-Request-Id"]
    second = client.get("/healthz", headers=headers).headers["X-Request-Id"]
    assert logs.SAFE_REQUEST_ID.fullmatch(first) and first != sent and first != second
    assert [r.request_id for r in request_lines(caplog)] == [first, second]


def test_the_request_line_says_what_was_asked_how_it_went_and_by_whom(
    client, caplog, seller, listing, make_client
):
    caplog.set_level(logging.INFO)
    make_client(seller).get(f"/listings/{listing.id}", headers={"X-Request-Id": "r1"})
    client.get("/no/such/page", headers={"X-Request-Id": "r2"})
    signed_in, missing = request_lines(caplog)
    assert (signed_in.method, signed_in.status, signed_in.user_id) == ("GET", 200, seller.id)
    assert signed_in.path == "/listings/<int:listing_id>"
    assert signed_in.endpoint == "listings.detail"
    assert signed_in.duration_ms > 0
    assert (missing.status, missing.user_id, missing.path) == (404, None, None)
    assert "/no/such/page" not in missing.getMessage()  # no raw paths in the line

    line = json.loads(logs.make_formatter("json").format(signed_in))
    assert line["message"].startswith("GET /listings/")
    assert {k: line[k] for k in ("level", "logger", "request_id", "job", "method", "status")} == {
        "level": "INFO",
        "logger": "app.requests",
        "request_id": "r1",
        "job": "-",
        "method": "GET",
        "status": 200,
    }
    assert line["user_id"] == seller.id and line["endpoint"] == "listings.detail"
    assert isinstance(line["duration_ms"], float) and "time" in line
    text = logs.make_formatter("text").format(missing)
    assert "[r2] app.requests: GET <unmatched> 404" in text and "\n" not in text


def test_log_format_is_json_in_production_and_text_elsewhere(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert ProductionConfig.LOG_FORMAT == "json"
    assert Config.LOG_FORMAT == TestConfig.LOG_FORMAT == "text"
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        logs.make_formatter("yaml")


def test_a_due_job_is_counted_and_its_records_carry_its_name(app, client, caplog, monkeypatch):
    monkeypatch.setitem(runner.DUE_JOBS, "test.fail", f"{HERE}:fail_job")
    ok = dict(job="accounts.expired_sessions", outcome="ok")
    failed = dict(job="test.fail", outcome="failed")
    before_ok = sample(client, "mutual_jobs_total", **ok)
    before_failed = sample(client, "mutual_jobs_total", **failed)
    before_time = sample(client, "mutual_job_duration_seconds_count", job="test.fail")
    caplog.set_level(logging.INFO)

    assert runner.run_job("accounts.expired_sessions") >= 0
    assert runner.run_job("test.fail") == -1

    assert sample(client, "mutual_jobs_total", **ok) == before_ok + 1
    assert sample(client, "mutual_jobs_total", **failed) == before_failed + 1
    assert sample(client, "mutual_job_duration_seconds_count", job="test.fail") == before_time + 1
    from_job = [r for r in caplog.records if r.name == "app.jobs.runner"]
    assert [r.getMessage() for r in from_job] == ["about to fail", "job test.fail failed"]
    assert {r.job for r in from_job} == {"test.fail"}
    assert logs.job_var.get() == logs.NO_ID


def test_metrics_count_requests_by_endpoint_method_and_status(client):
    labels = dict(endpoint="main.healthz", method="GET", status="200")
    unrouted = dict(endpoint="none", method="POST", status="405")  # no route: no endpoint
    timed = "mutual_http_request_duration_seconds_count"
    before = sample(client, "mutual_http_requests_total", **labels)
    before_unrouted = sample(client, "mutual_http_requests_total", **unrouted)
    before_time = sample(client, timed, endpoint="main.healthz")
    for _ in range(3):
        client.get("/healthz")
    client.post("/healthz")
    assert sample(client, "mutual_http_requests_total", **labels) == before + 3
    assert sample(client, "mutual_http_requests_total", **unrouted) == before_unrouted + 1
    assert sample(client, timed, endpoint="main.healthz") == before_time + 3


def test_a_payment_operation_is_counted_by_kind_and_outcome(app, client):
    op = ProviderOperation(operation_key="op:metrics:1", kind="teleport", currency="USD")
    db.session.add(op)
    db.session.commit()
    before = sample(client, "mutual_payment_operations_total", kind="teleport", status="failed")
    assert operations.run(op.id).status == "failed"  # a kind no provider knows fails for good
    after = sample(client, "mutual_payment_operations_total", kind="teleport", status="failed")
    assert after == before + 1


def test_metrics_refuse_a_remote_caller_without_the_token(app, client):
    assert client.get("/metrics", environ_base=REMOTE).status_code == 403
    current_app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    try:
        assert client.get("/metrics", environ_base=REMOTE).status_code == 403
        wrong = {"Authorization": "Bearer not-the-token"}
        assert client.get("/metrics", environ_base=REMOTE, headers=wrong).status_code == 403
        right = {"Authorization": "Bearer s3cret-scrape-token"}
        response = client.get("/metrics", environ_base=REMOTE, headers=right)
        assert response.status_code == 200
        assert b"mutual_http_requests_total" in response.data
    finally:
        current_app.config["METRICS_TOKEN"] = ""
    assert client.get("/metrics").status_code == 200  # this machine needs no token


def test_a_payment_is_counted_by_provider_and_outcome_once_committed(app, client, listing, buyer):
    from app.orders.services import place_order, transition

    labels = dict(provider="manual", kind="charge", outcome="succeeded")
    before = sample(client, "mutual_payments_total", **labels)
    order = place_order(buyer.id, listing.id, 1)
    transition(order.id, "mark_paid", listing.seller_id)  # received in person, recorded
    assert sample(client, "mutual_payments_total", **labels) == before + 1

    # An outcome decided in a unit of work that rolls back is not counted.
    from app.payments import money

    payment = db.session.scalars(select(Payment).where(Payment.subject_id == order.id)).one()
    money._count_outcome(payment, "succeeded")
    db.session.rollback()
    db.session.commit()
    assert sample(client, "mutual_payments_total", **labels) == before + 1


def test_deferred_work_runs_at_once_without_a_worker(app, monkeypatch):
    from app import jobs

    ran = []
    monkeypatch.setitem(jobs.DEFERRED, "test.note", f"{HERE}:note")
    monkeypatch.setattr(f"{HERE}.NOTED", ran)
    assert jobs.later("test.note", 7, "x") is False  # no REDIS_URL: here and now
    assert ran == [(7, "x")]
    assert set(jobs.DEFERRED) >= {"accounts.mail_reset_link", "reputation.refresh"}


NOTED: list = []


def note(number, text) -> None:
    NOTED.append((number, text))

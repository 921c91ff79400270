"""The job benchmark runs end to end with tiny sizes: a real Celery worker and beat on the test
database, every kind of background work it sends finishes, and the figures add up. Needs the
local Redis (TEST_REDIS_URL, default db 13); it uses a queue of its own there."""

from __future__ import annotations

import logging
import os

import pytest
import redis

from tests.integration.bench_support import load_bench

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="module")
def bench():
    return load_bench("generate"), load_bench("jobs")


@pytest.mark.parametrize("workers, split", [(1, False), (2, True)])
def test_the_job_benchmark_runs_every_kind_of_work_on_a_worker(
    app, bench, tmp_path, workers, split
):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error})")
    generate, jobs = bench
    sizes = generate.Sizes(
        users=40, listings=150, orders=240, feedback=200, loans=20, clubs=2, deals=8,
        pledges=40, busy_feedback=25,
    )  # fmt: skip
    burst = jobs.Burst(messages=6, resets=3, refreshes=4, bare=10)
    from app.extensions import db

    db.session.remove()
    db.engine.dispose()
    level = logging.getLogger("app").level
    run = jobs.measure(
        app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL,
        workers,
        sizes,
        burst,
        seed=3,
        beat_interval=60,
        workdir=tmp_path,
        generate=generate,
        split=split,
    )
    assert logging.getLogger("app").level == level  # the bench quiets the app only meanwhile
    assert run.failed == 0 and run.split == split
    assert run.bare_tasks == 10 and run.bare_seconds > 0
    # Every due job, one delivery per message, one deferred mail per reset and refresh.
    from app.jobs.runner import DUE_JOBS

    sent = run.sent
    assert {f"mutual.jobs.{name}" for name in DUE_JOBS} <= set(sent)
    assert sent["mutual.events.deliver"] == 6
    assert sent["mutual.later.accounts.mail_reset_link"] == 3
    assert sent["mutual.later.reputation.refresh"] == 4
    assert run.tasks == sum(sent.values())
    # The worker logged each of them with its wait and run time, by kind.
    assert set(run.runs) >= {"accounts.mail_reset_link", "reputation.refresh", "clubs.deals_due"}
    assert len(run.runs["events.handed_off"]) >= 6
    assert all(w >= 0 for waits in run.waits.values() for w in waits)
    assert run.depth and run.depth[-1][1] == 0  # sampled until the queue was empty
    assert run.rate > 0 and run.ratio > 0
    table = jobs.report([run])
    assert f"| {run.label} |" in table and "reputation.refresh" in table


def test_the_jobs_bench_refuses_to_wipe_a_database_not_named_for_it(capsys):
    jobs = load_bench("jobs")
    with pytest.raises(SystemExit) as refused:
        jobs.main(["--database-url", "postgresql+psycopg://postgres@127.0.0.1:5432/mutual"])
    assert refused.value.code == 2
    assert "--wipe-any-database" in capsys.readouterr().err
    assert jobs._looks_disposable("sqlite:////tmp/x/bench.sqlite3")
    assert jobs._looks_disposable("postgresql+psycopg://postgres@127.0.0.1/test_ops")

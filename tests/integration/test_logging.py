"""Every unhandled error is logged with its request id and traceback: in tests, after migrations
ran in the same process, under `flask serve` and under gunicorn."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from config import TestConfig

ROOT = Path(__file__).resolve().parents[2]
REQUEST_ID = "req-7f3a9c1d2e"


def _failing_app(tmp_path: Path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )

    @app.get("/boom")
    def boom():
        raise RuntimeError("the boom the log must show")

    return app


def _assert_logged(caplog) -> None:
    records = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert records, "the unhandled error was not logged"
    record = records[-1]
    assert REQUEST_ID in record.getMessage()
    assert record.exc_info[0] is RuntimeError
    assert "the boom the log must show" in caplog.text and "Traceback" in caplog.text


def test_an_unhandled_error_is_logged_with_its_request_id_and_traceback(tmp_path, caplog):
    app = _failing_app(tmp_path)
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/boom", headers={"X-Request-Id": REQUEST_ID})
    assert response.status_code == 500
    assert response.headers["X-Request-Id"] == REQUEST_ID
    _assert_logged(caplog)


def test_running_migrations_in_process_leaves_the_app_loggers_working(tmp_path, caplog):
    app = _failing_app(tmp_path)
    with app.app_context():
        upgrade()
    assert not logging.getLogger("app.errors").disabled
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/boom", headers={"X-Request-Id": REQUEST_ID})
    assert response.status_code == 500
    _assert_logged(caplog)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_and_fail(tmp_path: Path, command: list[str], port: int) -> str:
    """Run the server command with a failing route, request it, return what the server logged."""
    (tmp_path / "boomapp.py").write_text(
        textwrap.dedent(
            """
            from app import create_app

            app = create_app()


            @app.get("/boom")
            def boom():
                raise RuntimeError("the boom the log must show")
            """
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "MUTUAL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "DEMO_DATA": "0",
        "JOBS_MODE": "external",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the server did not start:\n{log_path.read_text()}")
                    time.sleep(0.2)
            request = urllib.request.Request(f"{base}/boom", headers={"X-Request-Id": REQUEST_ID})
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(request, timeout=10)
            assert failed.value.code == 500
            time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=20)
    return log_path.read_text()


def _assert_server_logged(output: str) -> None:
    lines = output.splitlines()
    error_lines = [i for i, line in enumerate(lines) if "unhandled error" in line]
    assert error_lines, output
    first = error_lines[0]
    assert REQUEST_ID in lines[first], output
    trace = "\n".join(lines[first:])
    assert "Traceback" in trace and "RuntimeError: the boom the log must show" in trace, output


def test_flask_serve_logs_an_unhandled_error_with_its_request_id(tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "flask", "--app", "boomapp", "serve", "--port", str(port)]
    output = _serve_and_fail(tmp_path, command, port)
    assert "Running upgrade" in output  # migrations ran in the same process first
    _assert_server_logged(output)


def test_gunicorn_logs_an_unhandled_error_with_its_request_id(tmp_path):
    port = _free_port()
    bind = f"127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", bind, "boomapp:app"]
    _assert_server_logged(_serve_and_fail(tmp_path, command, port))

"""The application factory, health check, error pages and configuration."""

import socket

import pytest

from app import create_app
from config import ProductionConfig, TestConfig


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}  # no Redis configured


def test_healthz_checks_redis_when_redis_url_is_set(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_unavailable_when_redis_does_not_answer(app, client):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unreachable",
    }


def test_healthz_is_unavailable_when_the_database_does_not_answer(tmp_path):
    missing = tmp_path / "no-such-folder" / "mutual.sqlite3"  # SQLite cannot open it
    app = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}", UPLOAD_DIR=str(tmp_path)
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"site-header" in response.data


def test_unknown_api_path_answers_json_error(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig.validate()


def test_production_accepts_a_long_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    ProductionConfig.validate()


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app" / "templates"
    templates = list(root.rglob("*.html"))
    assert len(templates) > 20  # the loop below really reads the app's templates
    for template in templates:
        text = template.read_text()
        assert "<script>" not in text and "style=" not in text, template

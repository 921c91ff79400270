"""Settings read from the environment, the request id a client may send, and HSTS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from app import create_app
from app.extensions import db
from config import ProductionConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = {
    "API_WRITE_RATE_LIMIT": "7 per minute",
    "API_TOKEN_RATE_LIMIT": "3 per hour",
    "LOGIN_RATE_LIMIT": "4 per minute",
    "LOGIN_ACCOUNT_RATE_LIMIT": "9 per hour",
    "LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT": "2 per minute",
    "SIGNUP_RATE_LIMIT": "5 per day",
    "PROXY_FIX_X_FOR": "1",
    "PROXY_FIX_X_PROTO": "1",
    "HSTS_SECONDS": "600",
}


def _config_in_a_fresh_process(env: dict[str, str]) -> dict:
    """The settings as config.py reads them in a new interpreter with exactly `env` set."""
    code = (
        "import json, config; "
        f"names = {sorted(SETTINGS)!r}; "
        "print(json.dumps({cls: {n: getattr(getattr(config, cls), n) for n in names} "
        "for cls in ('Config', 'ProductionConfig')}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_rate_limits_proxies_and_hsts_are_read_from_the_environment():
    read = _config_in_a_fresh_process(SETTINGS)
    expected = {name: int(v) if v.isdigit() else v for name, v in SETTINGS.items()}
    assert read["ProductionConfig"] == expected
    assert read["Config"] == {**expected, "HSTS_SECONDS": 0}  # HSTS is for production only


def test_without_the_environment_the_documented_defaults_apply():
    read = _config_in_a_fresh_process({})["ProductionConfig"]
    assert read == {
        "API_WRITE_RATE_LIMIT": "60 per minute",
        "API_TOKEN_RATE_LIMIT": "10 per minute",
        "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
        "LOGIN_ACCOUNT_RATE_LIMIT": "20 per hour;100 per day",
        "LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT": "5 per minute;20 per hour",
        "SIGNUP_RATE_LIMIT": "20 per hour",
        "PROXY_FIX_X_FOR": 0,
        "PROXY_FIX_X_PROTO": 0,
        "HSTS_SECONDS": 365 * 24 * 3600,
    }


@pytest.mark.parametrize(
    "sent",
    [
        "abc def",  # a space would let a client write what looks like another log field
        "x" * 65,
        "id<script>",
        "evil]\tfake",
        "ünïcode",
    ],
)
def test_a_request_id_in_an_unsafe_format_is_replaced(client, sent):
    response = client.get("/healthz", headers={"X-Request-Id": sent})
    echoed = response.headers["X-Request-Id"]
    assert echoed != sent
    assert re.fullmatch(r"[0-9a-f]{12}", echoed)


@pytest.mark.parametrize("sent", ["3f2a9c1e-77b0-4c55-9d1a-0b8e6f0c2d11", "req.42:edge_7"])
def test_a_request_id_in_a_safe_format_is_kept(client, sent):
    assert client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"] == sent


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_production_sends_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    app = create_app(
        ProductionConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RATELIMIT_ENABLED=False,
    )
    try:
        response = app.test_client().get("/healthz", base_url="https://mutual.example")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

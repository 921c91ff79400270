"""Personal access tokens: issuing, hashing, scopes, revocation, last use, and the settings page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.api import services as tokens
from app.api.models import ApiToken
from app.db import utcnow
from app.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, UserFactory
from tests.integration.api_support import bearer


def _only_token() -> ApiToken:
    return db.session.scalars(select(ApiToken)).one()


def test_create_token_with_password_answers_201_and_stores_only_a_hash(client):
    user = UserFactory()
    response = client.post(
        "/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD, "name": "cli"}
    )
    assert response.status_code == 201
    raw = response.json["token"]
    assert raw.startswith("mut_") and len(raw) > 40
    stored = _only_token()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (stored.token_hash, stored.display_prefix)
    assert response.json["display_prefix"] == stored.display_prefix == raw[:10]
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {raw}"}).json["handle"]
        == user.handle
    )


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "{email}", "password": "wrong password"},
    ],
    ids=["unknown-email", "wrong-password"],
)
def test_create_token_refuses_bad_credentials_with_401(client, body):
    user = UserFactory()
    body = {k: v.format(email=user.email) for k, v in body.items()}
    response = client.post("/api/v1/auth/tokens", json=body)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    assert db.session.scalars(select(ApiToken)).all() == []


def test_a_suspended_member_gets_a_token_to_read_but_writes_are_refused(client):
    user = UserFactory(is_suspended=True, suspended_until=utcnow() + timedelta(days=3))
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201
    headers = {"Authorization": f"Bearer {response.json['token']}"}
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    refused = client.post(
        "/api/v1/reports",
        headers=headers,
        json={"kind": "member", "target_id": UserFactory().id, "rule": 8, "details": "Rude to me."},
    )
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "account_suspended"
    assert refused.json["error"]["suspended_until"] == user.suspended_until.isoformat()


def test_create_token_with_read_scope_only(client):
    user = UserFactory()
    response = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD, "scopes": ["read"]},
    )
    assert response.json["scopes"] == ["read"]


def test_create_token_rejects_unknown_scope_with_422(client):
    user = UserFactory()
    response = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": PASSWORD, "scopes": ["admin"]},
    )
    assert response.status_code == 422
    assert "scopes.0" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer mut_not-a-real-token", "Basic dXNlcjpwYXNz", "Token mut_x", "mut_x"],
    ids=["missing", "empty", "unknown", "basic", "other-scheme", "no-scheme"],
)
def test_private_endpoint_answers_401_without_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] in {"unauthorized", "invalid_token"}
    assert response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_session_does_not_authenticate_the_api(client):
    user = UserFactory()
    login(client, user)
    assert client.get("/orders").status_code == 200  # the cookie works for pages
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_api_writes_need_no_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    user = UserFactory()
    response = client.patch(
        "/api/v1/users/me", headers=bearer(user), json={"display_name": "Ada L."}
    )
    assert response.status_code == 200
    assert response.json["display_name"] == "Ada L."


def test_read_token_gets_403_insufficient_scope_on_writes(client):
    user = UserFactory()
    headers = bearer(user, scopes=["read"])
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    response = client.patch("/api/v1/users/me", headers=headers, json={"bio": "hi"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"
    assert db.session.get(type(user), user.id).bio is None


def test_revoked_token_stops_working_at_once(client):
    user = UserFactory()
    headers = bearer(user)
    token_id = _only_token().id
    assert client.delete(f"/api/v1/auth/tokens/{token_id}", headers=headers).status_code == 204
    response = client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
    assert _only_token().revoked_at is not None


def test_token_of_a_member_suspended_later_still_reads(client):
    user = UserFactory()
    headers = bearer(user)
    user.is_suspended = True
    db.session.commit()
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200


def test_list_tokens_shows_mine_without_secrets(client):
    me, other = UserFactory(), UserFactory()
    headers = bearer(me)
    bearer(other)
    listed = client.get("/api/v1/auth/tokens", headers=headers).json
    assert listed["total"] == 1
    assert "token" not in listed["items"][0]
    assert "token_hash" not in listed["items"][0]


def test_last_used_at_is_recorded_at_most_once_a_minute(client, monkeypatch):
    user = UserFactory()
    headers = bearer(user)
    client.get("/api/v1/users/me", headers=headers)
    first = _only_token().last_used_at
    assert first is not None
    client.get("/api/v1/users/me", headers=headers)
    db.session.expire_all()
    assert _only_token().last_used_at == first

    later = first + timedelta(minutes=2)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    client.get("/api/v1/users/me", headers=headers)
    db.session.expire_all()
    assert _only_token().last_used_at == later


def test_revoke_someone_elses_token_is_404_and_keeps_it(client):
    owner, stranger = UserFactory(), UserFactory()
    bearer(owner)
    token_id = _only_token().id
    response = client.delete(f"/api/v1/auth/tokens/{token_id}", headers=bearer(stranger))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).revoked_at is None


# -- the settings page ---------------------------------------------------------------------


def test_token_page_needs_sign_in(client):
    response = client.get("/settings/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_token_page_creates_a_token_and_shows_it_once(make_client):
    user = UserFactory()
    browser = make_client(user)
    created = browser.post("/settings/tokens", data={"name": "Price tracker", "scope": "write"})
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    stored = _only_token()
    raw = page.split('id="new-token-value" type="text" readonly value="')[1].split('"')[0]
    assert hashlib.sha256(raw.encode()).hexdigest() == stored.token_hash
    assert stored.scope_list == ["read", "write"]
    again = browser.get("/settings/tokens").get_data(as_text=True)
    assert raw not in again
    assert "Price tracker" in again and stored.display_prefix in again


def test_token_page_shows_a_form_error_for_a_missing_name(make_client):
    browser = make_client(UserFactory())
    response = browser.post("/settings/tokens", data={"name": "  ", "scope": "read"})
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken)).all() == []


def test_token_page_revokes_only_my_tokens(make_client):
    owner, stranger = UserFactory(), UserFactory()
    bearer(owner)
    token = _only_token()
    assert make_client(stranger).post(f"/settings/tokens/{token.id}/revoke").status_code == 404
    db.session.expire_all()
    assert _only_token().revoked_at is None
    response = make_client(owner).post(f"/settings/tokens/{token.id}/revoke")
    assert response.status_code == 303
    db.session.expire_all()
    assert _only_token().revoked_at is not None

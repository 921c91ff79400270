"""One throttling policy for every password check (web sign-in, API token creation, password
change), the shared sign-up and token budgets, and the real client address behind a proxy."""

from __future__ import annotations

import pytest

from app.extensions import db, limiter
from tests.conftest import login, make_test_app
from tests.factories import PASSWORD, UserFactory
from tests.integration.api_support import bearer

WRONG = "not the password at all"


def _make_throttled(tmp_path, **overrides):
    app = make_test_app(
        "sqlite",
        str(tmp_path),
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="6 per minute",
        LOGIN_ACCOUNT_ADDRESS_RATE_LIMIT="2 per minute;3 per hour",
        LOGIN_ACCOUNT_RATE_LIMIT="3 per hour",
        API_TOKEN_RATE_LIMIT="3 per minute",
        SIGNUP_RATE_LIMIT="2 per hour",
        **overrides,
    )
    limiter.reset()
    return app


def _dispose(app):
    limiter.reset()
    limiter.enabled = False  # the limiter is one object shared by every app in the process
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def throttled(tmp_path):
    """A separate app with small limits (the shared test app has rate limiting off)."""
    app = _make_throttled(tmp_path)
    try:
        with app.app_context():
            yield app
    finally:
        _dispose(app)


def _web(client, email, password, address):
    """A sign-in from a fresh browser (a signed-in one would just be redirected)."""
    return client.application.test_client().post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _api(client, email, password, address):
    return client.post(
        "/api/v1/auth/tokens",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _attack(client, email, addresses):
    """One wrong password from each address."""
    for address in addresses:
        assert _web(client, email, WRONG, address).status_code == 422


def _addresses(count, start=1):
    return [f"10.0.0.{n}" for n in range(start, start + count)]


def test_the_owner_signs_in_from_a_new_address_while_the_account_is_attacked(throttled):
    user, client = UserFactory(), throttled.test_client()
    _attack(client, user.email, _addresses(10))
    assert _web(client, user.email, PASSWORD, "192.168.1.11").status_code == 303


def test_the_owner_gets_a_token_from_a_new_address_while_the_account_is_attacked(throttled):
    user, client = UserFactory(), throttled.test_client()
    _attack(client, user.email, _addresses(10))
    assert _api(client, user.email, PASSWORD, "192.168.1.11").status_code == 201


def test_an_attacked_account_gives_each_address_one_guess(throttled):
    user, client = UserFactory(), throttled.test_client()
    _attack(client, user.email, _addresses(3))  # the account's budget is used up
    # An address that already failed for this account may not try again, right password or not.
    refused = _web(client, user.email, PASSWORD, "10.0.0.1")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # A new address gets one guess; after a failure it is refused too.
    assert _web(client, user.email, WRONG, "10.0.0.50").status_code == 422
    assert _web(client, user.email, WRONG, "10.0.0.50").status_code == 429
    # Other accounts are not affected.
    other = UserFactory()
    assert _web(client, other.email, PASSWORD, "10.0.0.1").status_code == 303


def test_failures_from_one_address_for_one_account_back_off(throttled):
    user, client = UserFactory(), throttled.test_client()
    for _ in range(2):
        assert _web(client, user.email, WRONG, "10.0.0.1").status_code == 422
    response = _web(client, user.email, PASSWORD, "10.0.0.1")
    assert response.status_code == 429
    assert b"Slow down" in response.data
    assert b"Please try again in a minute" in response.data
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # The same address may still sign in to other accounts, and others to this one.
    assert _web(client, UserFactory().email, PASSWORD, "10.0.0.1").status_code == 303
    assert _web(client, user.email, PASSWORD, "10.0.0.2").status_code == 303


def test_a_success_forgets_the_addresses_earlier_failures_for_the_account(throttled):
    user, client = UserFactory(), throttled.test_client()
    assert _web(client, user.email, WRONG, "10.0.0.1").status_code == 422
    assert _web(throttled.test_client(), user.email, PASSWORD, "10.0.0.1").status_code == 303
    for _ in range(2):
        assert _web(client, user.email, WRONG, "10.0.0.1").status_code == 422


def test_unknown_email_addresses_are_throttled_like_known_ones(throttled):
    client = throttled.test_client()
    for _ in range(2):
        assert _web(client, "nobody@example.com", WRONG, "10.0.0.1").status_code == 422
    assert _web(client, "nobody@example.com", WRONG, "10.0.0.1").status_code == 429


def test_every_password_check_counts_against_the_address(throttled):
    client = throttled.test_client()
    for n in range(6):
        assert _web(client, f"person{n}@example.com", WRONG, "10.0.0.1").status_code == 422
    assert _web(client, "person9@example.com", WRONG, "10.0.0.1").status_code == 429
    assert _web(client, "person9@example.com", WRONG, "10.0.0.2").status_code == 422


def test_token_creation_failures_count_against_the_web_sign_in(throttled):
    user, client = UserFactory(), throttled.test_client()
    for _ in range(2):
        response = _api(client, user.email, WRONG, "10.0.0.1")
        assert response.status_code == 401
    assert _web(client, user.email, PASSWORD, "10.0.0.1").status_code == 429


def test_token_creation_shares_the_accounts_budget_with_the_web_sign_in(throttled):
    user, client = UserFactory(), throttled.test_client()
    _attack(client, user.email, _addresses(3))
    response = _api(client, user.email, PASSWORD, "10.0.0.1")
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_the_current_password_on_the_settings_page_is_throttled(throttled):
    user = UserFactory()
    client = login(throttled.test_client(), user)
    data = {"new_password": "something new entirely", "confirm_password": "something new entirely"}
    for _ in range(2):
        response = client.post(
            "/settings/password",
            data={**data, "current_password": WRONG},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert response.status_code == 422
        assert "That is not your current password." in response.get_data(as_text=True)
    response = client.post(
        "/settings/password",
        data={**data, "current_password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 429
    # The failures were for this account: its sign-in from that address is held back too.
    assert _web(throttled.test_client(), user.email, PASSWORD, "10.0.0.1").status_code == 429


def test_the_current_password_over_the_api_is_throttled(throttled):
    user = UserFactory()
    headers = bearer(user)
    client = throttled.test_client()
    body = {"current_password": WRONG, "new_password": "something new entirely"}
    for _ in range(2):
        response = client.post("/api/v1/users/me/password", headers=headers, json=body)
        assert response.status_code == 422
    response = client.post(
        "/api/v1/users/me/password",
        headers=headers,
        json={**body, "current_password": PASSWORD},
    )
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"


def test_token_creation_on_the_settings_page_shares_the_apis_budget(throttled):
    user = UserFactory()
    client = login(throttled.test_client(), user)
    for name in ("one", "two"):
        assert client.post("/settings/tokens", data={"name": name, "scope": "read"}).status_code
    assert _api(client, user.email, PASSWORD, "127.0.0.1").status_code == 201
    response = client.post("/settings/tokens", data={"name": "four", "scope": "read"})
    assert response.status_code == 429
    assert client.get("/settings/tokens").status_code == 200  # viewing is not limited


def test_web_and_api_sign_up_share_one_budget(throttled):
    client = throttled.test_client()
    web = client.post(
        "/signup", data={"email": "a@example.com", "handle": "aaa", "password": "long password"}
    )
    assert web.status_code == 303
    api = client.post(
        "/api/v1/users",
        json={"email": "b@example.com", "handle": "bbb", "password": "long password"},
    )
    assert api.status_code == 201
    again = client.post(
        "/api/v1/users",
        json={"email": "c@example.com", "handle": "ccc", "password": "long password"},
    )
    assert again.status_code == 429
    web_again = throttled.test_client().post(
        "/signup", data={"email": "d@example.com", "handle": "ddd", "password": "long password"}
    )
    assert web_again.status_code == 429


# -- the client address behind a proxy ------------------------------------------------------


def _from_proxy(client, email, password, forwarded_for):
    return client.application.test_client().post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_behind_one_proxy_each_client_has_its_own_budget(tmp_path):
    app = _make_throttled(tmp_path, PROXY_FIX_X_FOR=1)
    try:
        with app.app_context():
            user, client = UserFactory(), app.test_client()
            for _ in range(2):
                assert _from_proxy(client, user.email, WRONG, "203.0.113.7").status_code == 422
            assert _from_proxy(client, user.email, PASSWORD, "203.0.113.7").status_code == 429
            # Another client behind the same proxy is not held back.
            assert _from_proxy(client, user.email, PASSWORD, "198.51.100.2").status_code == 303
            # A client cannot pick its address by sending its own X-Forwarded-For first:
            # only the hop our proxy added counts.
            spoofed = _from_proxy(client, user.email, PASSWORD, "198.51.100.9, 203.0.113.7")
            assert spoofed.status_code == 429
    finally:
        _dispose(app)


def test_without_a_configured_proxy_x_forwarded_for_is_ignored(throttled):
    user, client = UserFactory(), throttled.test_client()
    for n in range(2):
        assert _from_proxy(client, user.email, WRONG, f"203.0.113.{n}").status_code == 422
    assert _from_proxy(client, user.email, PASSWORD, "203.0.113.99").status_code == 429

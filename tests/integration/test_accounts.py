"""Accounts: joining, signing in and out, remember me, throttling, CSRF, passwords."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from app.accounts import passwords, services
from app.accounts.models import User
from app.errors import ValidationFailed
from app.extensions import db, limiter
from tests.conftest import make_test_app
from tests.factories import PASSWORD, UserFactory

GOOD_PASSWORD = "a long enough secret"
NOT_EMAIL_OR_HANDLE = "must not be your email address or handle"


def _user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def _signup(client, email="ada@example.com", handle="ada", password=GOOD_PASSWORD, **extra):
    return client.post(
        "/signup", data={"email": email, "handle": handle, "password": password, **extra}
    )


def _login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _signed_in_user_id(client) -> str | None:
    """The id of the account the client's session cookie signs in (None: nobody)."""
    with client.session_transaction() as session:
        key = session.get("_user_id")
    user = services.user_for_session(key)
    return str(user.id) if user is not None else None


# -- signing up ---------------------------------------------------------------------------------


def test_signup_page_shows_a_labelled_form(client):
    response = client.get("/signup")
    assert response.status_code == 200
    for field in ("email", "handle", "password"):
        assert f'<label class="label" for="{field}">'.encode() in response.data


def test_signup_creates_the_account_signs_in_and_hashes_the_password(client):
    response = _signup(client, email="  Ada@Example.COM ", handle="Ada_L")
    assert response.status_code == 303
    user = db.session.scalar(select(User))
    assert user.email == "ada@example.com"
    assert user.handle == "ada_l"
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in user.password_hash
    assert _signed_in_user_id(client) == str(user.id)


def test_signup_follows_a_safe_next(client):
    response = _signup(client, next="/orders")
    assert response.headers["Location"] == "/orders"


@pytest.mark.parametrize(
    ("email", "handle", "password", "message"),
    [
        ("not-an-email", "ada", GOOD_PASSWORD, "Enter a valid email address"),
        ("", "ada", GOOD_PASSWORD, "This field is required"),
        ("ada@example.com", "ad", GOOD_PASSWORD, "Use 3 to 30 characters"),
        ("ada@example.com", "a" * 31, GOOD_PASSWORD, "Use 3 to 30 characters"),
        ("ada@example.com", "ada-l", GOOD_PASSWORD, "Use 3 to 30 characters"),
        ("ada@example.com", "ada l", GOOD_PASSWORD, "Use 3 to 30 characters"),
        ("ada@example.com", "admin", GOOD_PASSWORD, "That handle is reserved"),
        ("ada@example.com", "Support", GOOD_PASSWORD, "That handle is reserved"),
        ("ada@example.com", "mutual", GOOD_PASSWORD, "That handle is reserved"),
        ("ada@example.com", "ada", "short pw", "Use at least 10 characters"),
        ("ada@example.com", "ada", "ADA@example.com", NOT_EMAIL_OR_HANDLE),
        (
            "ada@example.com",
            "adalovelace",
            "AdaLovelace",
            "must not be your email address or handle",
        ),
    ],
)
def test_signup_refuses_invalid_input_with_a_form_error(client, email, handle, password, message):
    response = _signup(client, email=email, handle=handle, password=password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _user_count() == 0
    assert _signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("email", "handle", "message"),
    [
        ("TAKEN@example.com", "fresh", "An account with this email address already exists"),
        ("fresh@example.com", "Taken", "That handle is taken"),
    ],
)
def test_signup_refuses_a_duplicate_email_or_handle_in_any_case(client, email, handle, message):
    UserFactory(email="taken@example.com", handle="taken")
    response = _signup(client, email=email, handle=handle)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _user_count() == 1


def test_register_reports_every_invalid_field_at_once(app):
    with pytest.raises(ValidationFailed) as caught:
        services.register("nope", "x", "short")
    assert set(caught.value.fields) == {"email", "handle", "password"}


# -- signing in and out -------------------------------------------------------------------------


def test_login_signs_in_records_last_login_and_redirects_home(client):
    user = UserFactory()
    assert user.last_login_at is None
    response = _login(client, user.email.upper())
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert _signed_in_user_id(client) == str(user.id)
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_without_remember_sets_no_remember_cookie(client):
    user = UserFactory()
    _login(client, user.email)
    assert client.get_cookie("remember_token") is None


def test_remember_me_sets_a_cookie_that_signs_in_a_new_session(app, client):
    user = UserFactory()
    _login(client, user.email, remember="y")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.http_only

    fresh = app.test_client()
    assert fresh.get("/settings").status_code == 302
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/settings").status_code == 200


def _anonymised(body: str, email: str) -> str:
    return re.sub(r'value="[^"]*csrf[^"]*"', "", body.replace(email, "EMAIL"))


def test_wrong_password_and_unknown_email_get_identical_answers(app):
    user = UserFactory(email="known@example.com")
    wrong = _login(app.test_client(), user.email, "not the password at all")
    unknown = _login(app.test_client(), "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 422
    assert "do not match an account" in wrong.get_data(as_text=True)
    assert _anonymised(wrong.get_data(as_text=True), "known@example.com") == _anonymised(
        unknown.get_data(as_text=True), "nobody@example.com"
    )


def test_login_for_an_unknown_email_still_spends_a_password_verification(client, monkeypatch):
    calls = []
    monkeypatch.setattr(passwords, "dummy_verify", lambda password: calls.append(password))
    response = _login(client, "nobody@example.com", "whatever it is")
    assert response.status_code == 422
    assert calls == ["whatever it is"]


def test_suspended_member_signs_in_and_is_told_why_writes_are_refused(client):
    user = UserFactory(is_suspended=True)
    response = _login(client, user.email)
    assert response.status_code == 303
    assert _signed_in_user_id(client) == str(user.id)
    page = client.get("/").get_data(as_text=True)
    assert "Your account is banned" in page


def test_suspended_member_with_a_wrong_password_gets_the_usual_answer(client):
    user = UserFactory(is_suspended=True)
    response = _login(client, user.email, "not the password at all")
    assert "suspended" not in response.get_data(as_text=True)
    assert _signed_in_user_id(client) is None


def test_a_session_of_a_member_suspended_later_still_reads(make_client):
    user = UserFactory()
    client = make_client(user)
    user.is_suspended = True
    db.session.commit()
    assert client.get("/settings").status_code == 200


def test_login_with_missing_fields_shows_field_errors(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("This field is required.") == 2


def test_login_upgrades_a_hash_made_with_weaker_parameters(client):
    old_hash = PasswordHasher(time_cost=1, memory_cost=512).hash(PASSWORD)
    user = UserFactory(password_hash=old_hash)
    assert _login(client, user.email).status_code == 303
    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert not passwords.needs_rehash(user.password_hash)
    assert passwords.verify_password(user.password_hash, PASSWORD)


def test_logout_signs_out_and_forgets_the_remember_cookie(client):
    user = UserFactory()
    _login(client, user.email, remember="y")
    response = client.post("/logout")
    assert response.status_code == 303
    assert _signed_in_user_id(client) is None
    assert client.get_cookie("remember_token") is None
    assert client.get("/settings").status_code == 302


def test_logout_is_not_a_get(client):
    assert client.get("/logout").status_code == 405


def test_signed_in_member_visiting_login_goes_home(make_client):
    client = make_client(UserFactory())
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# -- safe redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "http:/evil.example",
    ],
)
def test_login_refuses_to_redirect_off_site(client, target):
    user = UserFactory()
    response = _login(client, user.email, next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_follows_a_path_on_this_site(client):
    user = UserFactory()
    response = _login(client, user.email, next="/orders?tab=sales")
    assert response.headers["Location"] == "/orders?tab=sales"


def test_login_page_carries_next_from_the_query_but_not_an_external_one(client):
    assert b'value="/settings"' in client.get("/login?next=/settings").data
    assert b"evil.example" not in client.get("/login?next=https://evil.example/").data


def test_protected_page_sends_anonymous_visitors_to_login_and_back(client):
    user = UserFactory()
    response = client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"])
    assert b'value="/settings"' in page.data
    assert _login(client, user.email, next="/settings").headers["Location"] == "/settings"


# -- password change ----------------------------------------------------------------------------


def _change(client, current=PASSWORD, new="a brand new secret", confirm=None):
    return client.post(
        "/settings/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_change_password_replaces_the_hash(make_client, app):
    user = UserFactory()
    response = _change(make_client(user))
    assert response.status_code == 303
    db.session.refresh(user)
    assert passwords.verify_password(user.password_hash, "a brand new secret")
    assert not passwords.verify_password(user.password_hash, PASSWORD)
    assert _login(app.test_client(), user.email, PASSWORD).status_code == 422
    assert _login(app.test_client(), user.email, "a brand new secret").status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong current pw", "a brand new secret", None, "That is not your current password"),
        (PASSWORD, "too short", None, "Use at least 10 characters"),
        (PASSWORD, "a brand new secret", "something else!", "The two passwords differ"),
        (PASSWORD, PASSWORD, None, "different from your current one"),
    ],
)
def test_change_password_refuses_bad_input(make_client, current, new, confirm, message):
    user = UserFactory()
    before = user.password_hash
    response = _change(make_client(user), current, new, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before


def test_change_password_refuses_the_handle_as_password(make_client):
    user = UserFactory(handle="longhandle1")
    response = _change(make_client(user), new="LongHandle1")
    assert response.status_code == 422
    assert "must not be your email address or handle" in response.get_data(as_text=True)


# -- CSRF ---------------------------------------------------------------------------------------


def test_forms_refuse_a_post_without_a_csrf_token_when_csrf_is_on(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    user = UserFactory()
    refused = _login(client, user.email)
    assert refused.status_code == 400
    assert b"site-header" in refused.data
    assert _signed_in_user_id(client) is None

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = _login(client, user.email, csrf_token=token)
    assert accepted.status_code == 303
    assert _signed_in_user_id(client) == str(user.id)


def test_logout_needs_a_csrf_token_when_csrf_is_on(app, make_client):
    app.config["WTF_CSRF_ENABLED"] = True
    client = make_client(UserFactory())
    assert client.post("/logout").status_code == 400
    assert _signed_in_user_id(client) is not None


# -- throttling ---------------------------------------------------------------------------------


@pytest.fixture
def throttled_client(tmp_path):
    """A client of a separate app with rate limiting on (the shared test app has it off)."""
    throttled = make_test_app(
        "sqlite",
        str(tmp_path),
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="3 per minute",
        SIGNUP_RATE_LIMIT="2 per hour",
    )
    try:
        yield throttled.test_client()
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is one object shared by every app in the process
        with throttled.app_context():
            db.session.remove()
            db.engine.dispose()


def test_login_is_throttled_per_address_with_a_styled_429(throttled_client):
    for n in range(3):
        response = _login(throttled_client, f"person{n}@example.com", "wrong password!")
        assert response.status_code == 422
    response = _login(throttled_client, "person9@example.com", "wrong password!")
    assert response.status_code == 429
    assert b"Slow down" in response.data
    assert b"site-header" in response.data
    assert "Retry-After" in response.headers


def test_viewing_the_login_page_is_not_throttled(throttled_client):
    for _ in range(5):
        assert throttled_client.get("/login").status_code == 200


def test_signup_is_throttled_per_address(throttled_client):
    for n in range(2):
        assert _signup(throttled_client, email=f"p{n}@example.com", handle="x").status_code == 422
    assert _signup(throttled_client, email="p9@example.com", handle="x").status_code == 429

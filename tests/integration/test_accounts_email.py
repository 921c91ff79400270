"""Account email: password reset by mailed link, address confirmation, address change, and
no other mail to an address until it is confirmed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select, update

from app.accounts import services
from app.accounts.models import AccountToken, User
from app.db import utcnow
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import Notification
from app.transactions.events import DomainEvent
from tests.factories import PASSWORD, UserFactory
from tests.integration.api_support import bearer

NEW_PASSWORD = "a brand new passphrase"
SENT = b"If an account exists for that address, we sent a link to it."


@pytest.fixture
def outbox(app):
    """The emails sent (locmem backend), emptied for each test."""
    state = current_app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def _ask_reset(client, email, **kwargs):
    """Ask for a reset link and let the response be delivered (the mail leaves after it)."""
    response = client.post("/forgot-password", data={"email": email}, **kwargs)
    response.close()
    return response


def _link(message, path: str) -> str:
    match = re.search(rf"http://mutual\.test({path}/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def _token(message, path: str) -> str:
    return _link(message, path).rsplit("/", 1)[1]


def _signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def _login(client, email, password, remember=True):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def _copy_cookie(app, client, name):
    thief = app.test_client()
    thief.set_cookie(name, client.get_cookie(name).value)
    return thief


# -- password reset: no enumeration ---------------------------------------------------------


def test_a_reset_request_answers_the_same_for_known_and_unknown_addresses(app, client, outbox):
    user = UserFactory()
    known = _ask_reset(client, user.email)
    unknown = _ask_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert SENT in known.data
    assert known.data == unknown.data
    assert [message.to for message in outbox] == [[user.email]]


def test_a_reset_request_over_the_api_answers_the_same_for_known_and_unknown_addresses(
    client, outbox
):
    user = UserFactory()
    known = client.post("/api/v1/auth/password_reset", json={"email": user.email})
    known.close()
    unknown = client.post("/api/v1/auth/password_reset", json={"email": "nobody@example.com"})
    unknown.close()
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert [message.to for message in outbox] == [[user.email]]


def test_the_reset_mail_leaves_only_after_the_response_is_delivered(client, outbox):
    user = UserFactory()
    response = client.post("/forgot-password", data={"email": user.email.upper()})
    assert response.status_code == 200
    assert outbox == []  # the answer did not wait for the link or the mail
    assert db.session.scalars(select(AccountToken)).all() == []
    response.close()
    assert len(outbox) == 1
    assert outbox[0].subject == "Mutual: Reset your password"


def test_a_malformed_address_is_a_field_error_not_a_message_about_accounts(client, outbox):
    response = client.post("/forgot-password", data={"email": "not an address"})
    assert response.status_code == 422
    assert b"Enter a valid email address" in response.data
    api = client.post("/api/v1/auth/password_reset", json={"email": "not an address"})
    assert api.status_code == 422
    assert api.get_json()["error"]["fields"] == {
        "email": ["Enter a valid email address, like name@example.com."]
    }
    assert outbox == []


def test_a_suspended_account_gets_a_reset_link_too(client, outbox):
    # A suspended member still signs in (to read, finish transactions and appeal).
    user = UserFactory(is_suspended=True)
    response = _ask_reset(client, user.email)
    assert response.status_code == 200 and SENT in response.data
    assert len(outbox) == 1


def test_the_sign_in_page_links_to_the_reset_request(client):
    page = client.get("/login").data.decode()
    assert 'href="/forgot-password"' in page
    assert "Forgot your password?" in page


# -- password reset: the link ---------------------------------------------------------------


def test_a_reset_link_sets_the_password_signs_in_fresh_and_ends_every_other_session(
    app, client, outbox
):
    user = UserFactory()
    other = app.test_client()
    assert _login(other, user.email, PASSWORD).status_code == 303
    stolen = _copy_cookie(app, other, "remember_token")
    _ask_reset(app.test_client(), user.email)
    link = _link(outbox[0], "/reset-password")

    browser = app.test_client()
    form = browser.get(link)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert b"Choose a new password" in form.data
    done = browser.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert _signed_in(browser)
    assert not _signed_in(other)
    assert not _signed_in(_copy_cookie(app, stolen, "remember_token"))
    assert _login(app.test_client(), user.email, PASSWORD).status_code == 422
    assert _login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303


def test_a_reset_link_works_only_once(app, client, outbox):
    user = UserFactory()
    _ask_reset(client, user.email)
    link = _link(outbox[0], "/reset-password")
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert app.test_client().post(link, data=data).status_code == 303
    again = app.test_client().post(link, data={**data, "new_password": "yet another phrase"})
    assert again.status_code == 400
    assert b"This link does not work" in again.data
    assert app.test_client().get(link).status_code == 400
    assert _login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303


def test_an_expired_reset_link_is_refused(app, client, outbox):
    user = UserFactory()
    _ask_reset(client, user.email)
    link = _link(outbox[0], "/reset-password")
    row = db.session.scalar(select(AccountToken).where(AccountToken.user_id == user.id))
    assert row.expires_at - row.created_at == timedelta(minutes=60)
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert app.test_client().get(link).status_code == 400
    assert app.test_client().post(link, data=data).status_code == 400
    assert _login(app.test_client(), user.email, PASSWORD).status_code == 303


def test_a_wrong_reset_token_is_refused_on_the_page_and_in_the_api(client):
    UserFactory()
    page = client.get("/reset-password/not-a-real-token")
    assert page.status_code == 400
    assert b"Send me a new link" in page.data
    api = client.post(
        "/api/v1/auth/password_reset/confirm",
        json={"token": "not-a-real-token", "new_password": NEW_PASSWORD},
    )
    assert api.status_code == 400
    assert api.get_json()["error"]["code"] == "invalid_token"


def test_a_too_short_new_password_is_a_field_error_and_keeps_the_link_usable(app, client, outbox):
    user = UserFactory()
    _ask_reset(client, user.email)
    link = _link(outbox[0], "/reset-password")
    short = app.test_client().post(
        link, data={"new_password": "short", "confirm_password": "short"}
    )
    assert short.status_code == 422
    assert b"Use at least 10 characters." in short.data
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert app.test_client().post(link, data=data).status_code == 303
    assert user.id  # the link still worked after the refused attempt


def test_a_newer_reset_link_voids_the_older_one(app, client, outbox):
    user = UserFactory()
    _ask_reset(client, user.email)
    _ask_reset(client, user.email)
    first, second = (_link(message, "/reset-password") for message in outbox)
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert app.test_client().post(first, data=data).status_code == 400
    assert app.test_client().post(second, data=data).status_code == 303


def test_changing_the_password_voids_outstanding_reset_links(app, client, outbox):
    user = UserFactory()
    _ask_reset(client, user.email)
    link = _link(outbox[0], "/reset-password")
    services.change_password(user.id, PASSWORD, NEW_PASSWORD, address="127.0.0.1")
    assert app.test_client().get(link).status_code == 400


def test_a_password_reset_over_the_api_ends_web_sessions_and_works_once(app, client, outbox):
    user = UserFactory()
    browser = app.test_client()
    assert _login(browser, user.email, PASSWORD).status_code == 303
    client.post("/api/v1/auth/password_reset", json={"email": user.email}).close()
    token = _token(outbox[0], "/reset-password")
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/password_reset/confirm", json=body).status_code == 204
    assert not _signed_in(browser)
    again = client.post("/api/v1/auth/password_reset/confirm", json=body)
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "invalid_token"
    token_response = client.post(
        "/api/v1/auth/tokens", json={"email": user.email, "password": NEW_PASSWORD}
    )
    assert token_response.status_code == 201


def test_a_reset_confirms_an_unconfirmed_address(app, client, outbox):
    user = UserFactory(email_confirmed_at=None)
    _ask_reset(client, user.email)
    link = _link(outbox[0], "/reset-password")
    data = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert app.test_client().post(link, data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).is_email_confirmed


# -- confirming a new address ----------------------------------------------------------------


def _sign_up(client, email="newcomer@example.com"):
    response = client.post(
        "/signup", data={"email": email, "handle": "newcomer", "password": PASSWORD}
    )
    assert response.status_code == 303
    return db.session.scalar(select(User).where(User.email == email))


def test_a_new_account_gets_a_confirmation_link_and_a_banner_until_it_is_followed(
    app, client, outbox
):
    user = _sign_up(client)
    assert not user.is_email_confirmed
    assert [message.to for message in outbox] == [["newcomer@example.com"]]
    link = _link(outbox[0], "/confirm-email")
    page = client.get("/settings").data.decode()
    assert "Please confirm your email address" in page
    assert "Send the link again" in page

    # Opening the link only shows a button, so a mail scanner fetching it confirms nothing.
    shown = app.test_client().get(link)
    assert shown.status_code == 200 and b"newcomer@example.com" in shown.data
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_email_confirmed

    assert client.post(link).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).is_email_confirmed
    assert "Please confirm your email address" not in client.get("/settings").data.decode()
    assert client.post(link).status_code == 400  # once only


def test_sending_the_confirmation_again_voids_the_older_link(app, client, outbox):
    _sign_up(client)
    first = _link(outbox[0], "/confirm-email")
    response = client.post("/settings/email/confirmation", data={"next": "/listings"})
    assert response.status_code == 303 and response.location.endswith("/listings")
    second = _link(outbox[1], "/confirm-email")
    assert app.test_client().get(first).status_code == 400
    assert app.test_client().post(second).status_code == 303


def test_an_expired_confirmation_link_is_refused(app, client, outbox):
    user = _sign_up(client)
    link = _link(outbox[0], "/confirm-email")
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.post(link).status_code == 400
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_email_confirmed


def test_no_notification_email_goes_to_an_unconfirmed_address(app, outbox):
    user = UserFactory(email_confirmed_at=None)
    notifications.set_preferences(user.id, {"message": "email", "order_paid": "digest"})

    def notify(kind):
        event = DomainEvent(name="message.sent", subject_kind="order", subject_id=1, payload={})
        db.session.add(event)
        db.session.flush()
        return notifications.notify(
            [(user.id, kind, f"Something about {kind}")],
            event_id=event.id,
            event_name="message.sent",
            subject_kind="order",
            subject_id=1,
            link="/orders/1",
            now=utcnow(),
        )

    notify("message")
    notify("order_paid")
    db.session.commit()
    assert notifications.send_digests(utcnow()) == 0
    assert outbox == []
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    assert all(row.emailed_at is None for row in rows)

    db.session.get(User, user.id).email_confirmed_at = utcnow()
    db.session.commit()
    notify("message")
    assert notifications.send_digests(utcnow()) == 1
    assert [message.to for message in outbox] == [[user.email], [user.email]]


def test_confirming_over_the_api_and_the_private_profile_says_whether_it_is(client, outbox):
    client.post(
        "/api/v1/users",
        json={"email": "api.person@example.com", "handle": "apiperson", "password": PASSWORD},
    )
    user = db.session.scalar(select(User).where(User.handle == "apiperson"))
    headers = bearer(user)
    assert client.get("/api/v1/users/me", headers=headers).get_json()["email_confirmed"] is False
    resent = client.post("/api/v1/users/me/email/confirmation", headers=headers)
    assert resent.status_code == 202
    token = _token(outbox[-1], "/confirm-email")
    confirmed = client.post("/api/v1/auth/confirm_email", json={"token": token})
    assert confirmed.status_code == 200
    assert confirmed.get_json() == {"email": "api.person@example.com", "email_confirmed": True}
    assert client.get("/api/v1/users/me", headers=headers).get_json()["email_confirmed"] is True
    again = client.post("/api/v1/auth/confirm_email", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_token"


# -- changing the address --------------------------------------------------------------------


def test_an_email_change_is_confirmed_by_a_link_to_the_new_address(app, make_client, outbox):
    user = UserFactory(email="old@example.com")
    client = make_client(user)
    response = client.post(
        "/settings/email", data={"new_email": "New@Example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 303
    to_new, to_old = outbox
    assert to_new.to == ["new@example.com"] and "/confirm-email/" in to_new.body
    assert to_old.to == ["old@example.com"] and "/confirm-email/" not in to_old.body
    assert "new@example.com" in to_old.body
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.com"  # not until followed

    link = _link(to_new, "/confirm-email")
    assert b"new@example.com" in app.test_client().get(link).data
    assert client.post(link).status_code == 303
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.email == "new@example.com" and changed.is_email_confirmed
    assert _login(app.test_client(), "new@example.com", PASSWORD).status_code == 303
    assert client.post(link).status_code == 400


def test_an_email_change_needs_the_current_password_and_a_free_address(make_client, outbox):
    user = UserFactory()
    UserFactory(email="taken@example.com")
    client = make_client(user)
    wrong = client.post(
        "/settings/email", data={"new_email": "fresh@example.com", "current_password": "nope"}
    )
    assert wrong.status_code == 422
    assert b"That is not your current password." in wrong.data
    taken = client.post(
        "/settings/email", data={"new_email": "taken@example.com", "current_password": PASSWORD}
    )
    assert taken.status_code == 422
    assert b"An account with this email address already exists." in taken.data
    same = client.post(
        "/settings/email", data={"new_email": user.email, "current_password": PASSWORD}
    )
    assert same.status_code == 422
    assert outbox == []


def test_an_address_taken_after_the_change_was_asked_for_is_refused_at_the_link(
    app, make_client, outbox
):
    user = UserFactory()
    client = make_client(user)
    client.post(
        "/settings/email", data={"new_email": "wanted@example.com", "current_password": PASSWORD}
    )
    link = _link(outbox[0], "/confirm-email")
    UserFactory(email="wanted@example.com")
    assert client.post(link).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).email == user.email
    assert b"Another account took that address meanwhile." in client.get("/settings").data


def test_changing_the_password_voids_a_pending_email_change(app, make_client, outbox):
    user = UserFactory()
    client = make_client(user)
    client.post(
        "/settings/email", data={"new_email": "thief@example.com", "current_password": PASSWORD}
    )
    link = _link(outbox[0], "/confirm-email")
    services.change_password(user.id, PASSWORD, NEW_PASSWORD, address="127.0.0.1")
    assert app.test_client().post(link).status_code == 400


def test_an_email_change_over_the_api(client, outbox):
    user = UserFactory(email="before@example.com")
    headers = bearer(user)
    refused = client.post(
        "/api/v1/users/me/email",
        json={"new_email": "after@example.com", "current_password": "wrong one"},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "current_password": ["That is not your current password."]
    }
    asked = client.post(
        "/api/v1/users/me/email",
        json={"new_email": "after@example.com", "current_password": PASSWORD},
        headers=headers,
    )
    assert asked.status_code == 202
    token = _token(outbox[0], "/confirm-email")
    confirmed = client.post("/api/v1/auth/confirm_email", json={"token": token})
    assert confirmed.get_json() == {"email": "after@example.com", "email_confirmed": True}
    assert client.get("/api/v1/users/me", headers=headers).get_json()["email"] == (
        "after@example.com"
    )


def test_the_new_api_operations_are_documented_with_operation_ids(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    ids = {
        (path, method): operation.get("operationId")
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }
    assert ids[("/api/v1/auth/password_reset", "post")] == "requestPasswordReset"
    assert ids[("/api/v1/auth/password_reset/confirm", "post")] == "confirmPasswordReset"
    assert ids[("/api/v1/auth/confirm_email", "post")] == "confirmEmail"
    assert ids[("/api/v1/users/me/email", "post")] == "requestEmailChange"
    assert ids[("/api/v1/users/me/email/confirmation", "post")] == "resendEmailConfirmation"


# -- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def throttled(tmp_path):
    """A separate app with small mail budgets (the shared test app has rate limiting off)."""
    from app.extensions import limiter
    from tests.conftest import make_test_app

    app = make_test_app(
        "sqlite",
        str(tmp_path),
        RATELIMIT_ENABLED=True,
        ACCOUNT_MAIL_RATE_LIMIT="4 per hour",
        ACCOUNT_MAIL_RECIPIENT_RATE_LIMIT="2 per hour",
    )
    limiter.reset()
    try:
        with app.app_context():
            current_app.extensions["mailman"].outbox = []
            yield app
    finally:
        limiter.reset()
        limiter.enabled = False  # one limiter object is shared by every app in the process
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_reset_requests_are_limited_per_recipient_known_or_not(throttled):
    user, client = UserFactory(), throttled.test_client()
    outbox = current_app.extensions["mailman"].outbox
    for email in (user.email, "nobody@example.com"):
        for n in range(2):
            address = f"10.0.{n}.1"
            assert (
                _ask_reset(client, email, environ_base={"REMOTE_ADDR": address}).status_code == 200
            )
        refused = _ask_reset(client, email, environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert refused.status_code == 429  # the same for a known and an unknown address
        assert int(refused.headers["Retry-After"]) > 0
        assert b"Too many emails asked for" in refused.data
    assert len(outbox) == 2  # only the known address got mail, twice


def test_reset_requests_are_limited_per_client_address(throttled):
    client = throttled.test_client()
    here = {"REMOTE_ADDR": "10.0.0.7"}
    for n in range(4):
        assert _ask_reset(client, f"person{n}@example.com", environ_base=here).status_code == 200
    api = client.post(
        "/api/v1/auth/password_reset", json={"email": "other@example.com"}, environ_base=here
    )
    assert api.status_code == 429
    assert api.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in api.headers
    elsewhere = _ask_reset(client, "other@example.com", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert elsewhere.status_code == 200


def test_sending_the_confirmation_again_is_limited(throttled):
    from tests.conftest import login

    user = UserFactory(email_confirmed_at=None)
    client = login(throttled.test_client(), user)
    outbox = current_app.extensions["mailman"].outbox
    for _ in range(3):
        assert client.post("/settings/email/confirmation").status_code == 303
    assert len(outbox) == 2
    assert b"Too many emails asked for" in client.get("/settings").data
    api = client.post("/api/v1/users/me/email/confirmation", headers=bearer(user))
    assert api.status_code == 429


@pytest.mark.postgres_only
def test_two_browsers_using_one_reset_link_at_once_only_one_sets_the_password(app, outbox):
    from app.accounts.tokens import InvalidLink
    from tests.integration.support import at_once

    user = UserFactory()
    services.request_password_reset(user.email, address="127.0.0.1")
    token = _token(outbox[0], "/reset-password")
    passwords = [f"racing passphrase number {n}" for n in range(6)]
    outcomes = at_once(
        app,
        [lambda p=p: services.reset_password(token, p) and "ok" for p in passwords],
        on_error=lambda error: "used" if isinstance(error, InvalidLink) else repr(error),
    )
    assert sorted(outcomes) == ["ok"] + ["used"] * 5


@pytest.fixture
def mail_server_down(app):
    """The app sends through SMTP to a port where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailman = current_app.extensions["mailman"]
    saved = mailman.backend, mailman.server, mailman.port, mailman.use_tls
    mailman.backend, mailman.server, mailman.port, mailman.use_tls = (
        "smtp",
        "127.0.0.1",
        port,
        False,
    )
    try:
        yield
    finally:
        mailman.backend, mailman.server, mailman.port, mailman.use_tls = saved


def test_a_mail_server_that_is_down_neither_loses_a_sign_up_nor_answers_500(
    client, mail_server_down
):
    user = _sign_up(client)
    assert user is not None and not user.is_email_confirmed
    assert _signed_in(client)
    resent = client.post("/settings/email/confirmation")
    assert resent.status_code == 303
    assert b"We could not send the email just now." in client.get("/settings").data
    api = client.post("/api/v1/users/me/email/confirmation", headers=bearer(user))
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "mail_not_sent"
    change = client.post(
        "/settings/email", data={"new_email": "else@example.com", "current_password": PASSWORD}
    )
    assert change.status_code == 503
    assert b"We could not send the email just now." in change.data


def test_demo_accounts_count_as_confirmed_and_get_no_mail(app, outbox):
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "3", "--listings", "3", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    users = db.session.scalars(select(User)).all()
    assert len(users) == 3 and all(user.is_email_confirmed for user in users)
    assert outbox == []

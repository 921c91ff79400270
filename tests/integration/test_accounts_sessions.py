"""Signed-in sessions: cookies carry a revocable key that logout, "sign out everywhere" and
password changes revoke, copies of the cookies included."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import LoginSession
from app.db import utcnow
from app.extensions import db
from app.jobs.runner import DUE_JOBS, run_due
from tests.factories import PASSWORD, UserFactory
from tests.integration.api_support import bearer

NEW_PASSWORD = "a brand new passphrase"


def _login(client, user, remember=True):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303
    return response


def _copy_cookie(app, client, name):
    """A new browser holding a copy of `client`'s cookie `name` (what a thief would have)."""
    cookie = client.get_cookie(name)
    assert cookie is not None, name
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def _signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def _session_count(user) -> int:
    return db.session.scalar(
        select(func.count(LoginSession.id)).where(LoginSession.user_id == user.id)
    )


def test_the_remember_cookie_is_different_at_every_sign_in_and_holds_no_user_id(app):
    user = UserFactory()
    first, second = app.test_client(), app.test_client()
    _login(first, user)
    _login(second, user)
    one, two = first.get_cookie("remember_token").value, second.get_cookie("remember_token").value
    assert one != two
    assert not one.startswith(f"{user.id}|")


def test_a_remember_cookie_copied_before_logout_no_longer_signs_in(app, client):
    user = UserFactory()
    _login(client, user)
    thief = _copy_cookie(app, client, "remember_token")
    assert _signed_in(thief)
    assert client.post("/logout").status_code == 303
    thief = _copy_cookie(app, thief, "remember_token")  # a fresh browser with the stolen copy
    assert not _signed_in(thief)


def test_a_session_cookie_copied_before_logout_no_longer_signs_in(app, client):
    user = UserFactory()
    _login(client, user, remember=False)
    thief = _copy_cookie(app, client, "session")
    assert _signed_in(thief)
    client.post("/logout")
    assert not _signed_in(thief)


def test_logout_in_one_browser_keeps_the_others_signed_in(app):
    user = UserFactory()
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop, user)
    _login(phone, user)
    laptop.post("/logout")
    assert not _signed_in(laptop)
    assert _signed_in(phone)


def test_changing_the_password_signs_out_every_other_browser_and_keeps_this_one(app, client):
    user = UserFactory()
    _login(client, user)
    other = app.test_client()
    _login(other, user, remember=False)
    stolen_remember = _copy_cookie(app, client, "remember_token")
    stolen_session = _copy_cookie(app, client, "session")
    response = client.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    assert _signed_in(client)
    assert not _signed_in(other)
    assert not _signed_in(stolen_session)
    assert not _signed_in(_copy_cookie(app, stolen_remember, "remember_token"))
    # This browser's new remember cookie works (it had asked to be remembered).
    assert _signed_in(_copy_cookie(app, client, "remember_token"))
    assert _session_count(user) == 1


def test_changing_the_password_over_the_api_ends_every_web_session_and_keeps_tokens(app, client):
    user = UserFactory()
    _login(client, user)
    stolen = _copy_cookie(app, client, "remember_token")
    headers = bearer(user)
    response = client.post(
        "/api/v1/users/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    assert not _signed_in(client)
    assert not _signed_in(_copy_cookie(app, stolen, "remember_token"))
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200


def test_sign_out_everywhere_revokes_every_session_and_remember_cookie(app, client):
    user = UserFactory()
    _login(client, user)
    phone = app.test_client()
    _login(phone, user)
    stolen = _copy_cookie(app, phone, "remember_token")
    response = client.post("/settings/sessions/end")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert not _signed_in(client)
    assert not _signed_in(phone)
    assert not _signed_in(_copy_cookie(app, stolen, "remember_token"))
    assert _session_count(user) == 0
    # Signing in again works as usual.
    _login(client, user)
    assert _signed_in(client)


def test_sign_out_everywhere_leaves_other_members_signed_in(app, make_client):
    user, other = UserFactory(), UserFactory()
    mine, theirs = make_client(user), make_client(other)
    mine.post("/settings/sessions/end")
    assert _signed_in(theirs)


def test_sign_out_everywhere_over_the_api_ends_web_sessions_and_keeps_the_token(app, client):
    user = UserFactory()
    _login(client, user)
    headers = bearer(user)
    assert client.delete("/api/v1/users/me/sessions", headers=headers).status_code == 204
    assert not _signed_in(client)
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200


def test_sign_out_everywhere_over_the_api_needs_a_write_token(client):
    user = UserFactory()
    response = client.delete("/api/v1/users/me/sessions", headers=bearer(user, ["read"]))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"


def test_settings_offer_sign_out_everywhere_and_say_tokens_are_separate(make_client):
    page = make_client(UserFactory()).get("/settings").get_data(as_text=True)
    assert 'action="/settings/sessions/end"' in page
    assert "API tokens are separate keys and keep working" in page


def test_a_session_holding_a_bare_user_id_signs_in_nobody(app):
    """Cookies from before sessions had keys carried the user id; they no longer work."""
    user = UserFactory()
    old = app.test_client()
    with old.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not _signed_in(old)


def test_an_expired_session_signs_in_nobody(app, client):
    user = UserFactory()
    _login(client, user)
    db.session.execute(
        LoginSession.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert not _signed_in(client)
    assert not _signed_in(_copy_cookie(app, client, "remember_token"))


def test_a_due_job_deletes_expired_sessions_and_keeps_live_ones(app):
    user = UserFactory()
    expired = services.open_session(user.id).session_key
    live = services.open_session(user.id).session_key
    db.session.execute(
        LoginSession.__table__.update()
        .where(LoginSession.key_hash == services._hash_session_key(expired))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert DUE_JOBS["accounts.expired_sessions"] == (
        "app.accounts.services:delete_expired_sessions"
    )
    assert run_due()["accounts.expired_sessions"] == 1
    assert _session_count(user) == 1
    assert services.user_for_session(live).id == user.id
    assert run_due()["accounts.expired_sessions"] == 0


def test_sessions_store_only_a_hash_of_their_key(app):
    user = services.open_session(UserFactory().id)
    stored = db.session.scalars(select(LoginSession.key_hash)).one()
    assert user.session_key not in stored
    assert services.user_for_session(user.session_key).id == user.id


def test_end_all_sessions_is_the_service_a_password_reset_calls(app):
    user = UserFactory()
    keys = [services.open_session(user.id).session_key for _ in range(3)]
    assert services.end_all_sessions(user.id) == 3
    assert all(services.user_for_session(key) is None for key in keys)

"""Accounts: public profiles, profile settings and avatars."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, PngImagePlugin

from app.accounts import services
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.reviews.models import Feedback
from app.reviews.reputation import recompute_all
from tests.factories import ListingFactory, OrderFactory, UserFactory

# -- public profile -----------------------------------------------------------------------------


def _feedback(subject, author, subject_role, rating="positive", comment="", revealed=True):
    """A feedback row about `subject` in `subject_role`, written directly."""
    if subject_role == "seller":
        order = OrderFactory(buyer=author, listing=ListingFactory(seller=subject))
    else:
        order = OrderFactory(buyer=subject, listing=ListingFactory(seller=author))
    row = Feedback(
        subject_kind="order",
        subject_id=order.id,
        author_id=author.id,
        subject_user_id=subject.id,
        author_role="buyer" if subject_role == "seller" else "seller",
        subject_role=subject_role,
        rating=rating,
        comment=comment,
        title=order.title,
        amount_cents=order.total_cents,
        currency=order.currency,
        revealed_at=utcnow() if revealed else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_profile_shows_who_the_member_is(client):
    user = UserFactory(
        handle="grace", display_name="Grace Hopper", location="Arlington", bio="Ships & compilers"
    )
    page = client.get("/u/grace").get_data(as_text=True)
    assert "Grace Hopper" in page
    assert "@grace" in page
    assert "Arlington" in page
    assert "Ships &amp; compilers" in page
    assert f"Member since {user.created_at.strftime('%b')}" in page
    assert user.email not in page


def test_profile_lists_only_active_listings_of_the_member(client):
    user = UserFactory(handle="seller1")
    ListingFactory(seller=user, title="Blue teapot")
    ListingFactory(seller=user, title="Paused lamp", status="paused")
    ListingFactory(seller=user, title="Sold-out chair", quantity=0)
    ListingFactory(title="Somebody else's bike")
    page = client.get("/u/seller1").get_data(as_text=True)
    assert "Blue teapot" in page
    assert "Paused lamp" not in page
    assert "Sold-out chair" not in page
    assert "Somebody else&#39;s bike" not in page


def test_profile_shows_revealed_feedback_by_role_and_the_summary(client):
    user = UserFactory(handle="trader")
    _feedback(user, UserFactory(), "seller", "positive", comment="Fast and friendly seller")
    _feedback(user, UserFactory(), "seller", "negative", comment="Box arrived crushed")
    _feedback(user, UserFactory(), "buyer", "positive", comment="Paid at once, great buyer")
    _feedback(user, UserFactory(), "seller", "positive", comment="Still hidden", revealed=False)

    as_seller = client.get("/u/trader").get_data(as_text=True)
    assert "Fast and friendly seller" in as_seller
    assert "Box arrived crushed" in as_seller
    assert "Paid at once, great buyer" not in as_seller
    assert "Still hidden" not in as_seller
    assert "feedback-summary" in as_seller  # the reviews partial
    assert "As a seller" in as_seller and "As a buyer" in as_seller

    as_buyer = client.get("/u/trader?feedback=buyer").get_data(as_text=True)
    assert "Paid at once, great buyer" in as_buyer
    assert "Fast and friendly seller" not in as_buyer


def test_profile_header_shows_the_feedback_score(client):
    user = UserFactory(handle="scored")
    for _ in range(3):
        _feedback(user, UserFactory(), "seller", "positive")
    _feedback(user, UserFactory(), "buyer", "negative")
    recompute_all()  # rows written directly, past the services: the stored scores need a pass
    page = client.get("/u/scored").get_data(as_text=True)
    assert '<dd class="stat-value">2</dd>' in page  # 3 positive - 1 negative
    assert '<dd class="stat-value">75%</dd>' in page


def test_profile_of_a_new_member_says_there_is_nothing_yet(client):
    UserFactory(handle="newbie")
    page = client.get("/u/newbie").get_data(as_text=True)
    assert "has nothing for sale right now" in page
    assert "No feedback as a seller yet" in page


def test_profile_of_an_unknown_handle_is_a_404(client):
    assert client.get("/u/nobody").status_code == 404


def test_profile_redirects_to_the_canonical_handle(client):
    UserFactory(handle="ada")
    response = client.get("/u/ADA")
    assert response.status_code == 301
    assert response.headers["Location"] == "/u/ada"


def test_profile_offers_editing_only_to_its_owner(client, make_client):
    owner = UserFactory(handle="owner")
    assert b"Edit profile" in make_client(owner).get("/u/owner").data
    assert b"Edit profile" not in make_client(UserFactory()).get("/u/owner").data
    assert b"Edit profile" not in client.get("/u/owner").data


def test_get_user_by_handle_ignores_case_and_raises_not_found(app):
    user = UserFactory(handle="mixed")
    assert services.get_user_by_handle("@MiXeD").id == user.id
    with pytest.raises(NotFound):
        services.get_user_by_handle("missing")


# -- settings: access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/settings"),
        ("post", "/settings/profile"),
        ("post", "/settings/avatar"),
        ("post", "/settings/avatar/remove"),
        ("post", "/settings/password"),
    ],
)
def test_settings_need_a_signed_in_member(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_settings_page_shows_the_three_sections(make_client):
    page = make_client(UserFactory(display_name="Ada")).get("/settings").get_data(as_text=True)
    for section in ('id="settings-profile"', 'id="settings-avatar"', 'id="settings-password"'):
        assert section in page
    assert 'value="Ada"' in page


# -- settings: profile --------------------------------------------------------------------------


def test_update_profile_saves_trimmed_values_and_clears_blanks(make_client):
    user = UserFactory(location="Old town")
    response = make_client(user).post(
        "/settings/profile",
        data={"display_name": "  Ada   Lovelace ", "location": "", "bio": "Line one\nLine two"},
    )
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.display_name == "Ada Lovelace"
    assert user.location is None
    assert user.bio == "Line one\nLine two"


def test_update_profile_refuses_a_too_long_name_with_a_form_error(make_client):
    user = UserFactory()
    response = make_client(user).post(
        "/settings/profile", data={"display_name": "x" * 81, "location": "", "bio": ""}
    )
    assert response.status_code == 422
    assert "Keep it under 80 characters" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.display_name is None


def test_update_profile_refuses_unknown_fields(app):
    user = UserFactory()
    with pytest.raises(TypeError):
        services.update_profile(user.id, is_admin=True)


# -- avatars ------------------------------------------------------------------------------------


def _png(width=300, height=200, *, noise=False, comment=None) -> bytes:
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGBA", (width, height), (200, 60, 40, 255))
    info = None
    if comment:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", comment)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _upload(client, data: bytes, filename="me.png"):
    return client.post(
        "/settings/avatar",
        data={"avatar": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _avatar_file(app, user) -> str:
    return os.path.join(app.config["UPLOAD_DIR"], user.avatar_path)


def test_avatar_upload_stores_a_square_jpeg_without_metadata(app, make_client):
    user = UserFactory()
    response = _upload(make_client(user), _png(comment="secret-gps-here"))
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.avatar_path.startswith("avatars/")
    with open(_avatar_file(app, user), "rb") as stored:
        data = stored.read()
    assert b"secret-gps-here" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (256, 256)
        assert not image.getexif()


def test_avatar_is_served_to_anyone(app, client, make_client):
    user = UserFactory()
    _upload(make_client(user), _png())
    response = client.get(f"/avatars/{user.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff"


def test_profile_uses_the_uploaded_avatar(client, make_client):
    user = UserFactory(handle="pictured")
    _upload(make_client(user), _png())
    assert f'src="/avatars/{user.id}"'.encode() in client.get("/u/pictured").data


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"just some text, not an image", "notes.txt"),
        (b"just some text pretending", "photo.png"),
        (_png()[:60], "truncated.png"),
        (b"", "empty.png"),
    ],
)
def test_avatar_upload_refuses_what_is_not_an_image(make_client, data, filename):
    user = UserFactory()
    response = _upload(make_client(user), data, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "not an image we can read" in page or "is empty" in page or "Choose an image" in page
    db.session.refresh(user)
    assert user.avatar_path is None


def test_avatar_upload_refuses_a_file_over_the_size_limit(app, make_client):
    app.config["MAX_PHOTO_BYTES"] = 20 * 1024
    user = UserFactory()
    response = _upload(make_client(user), _png(200, 200, noise=True))
    assert response.status_code == 422
    assert "is too large: the limit is 20 KB." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.avatar_path is None


def test_avatar_upload_without_a_file_asks_for_one(make_client):
    response = make_client(UserFactory()).post("/settings/avatar", data={})
    assert response.status_code == 422
    assert "Choose an image to upload" in response.get_data(as_text=True)


def test_a_new_avatar_replaces_the_old_file(app, make_client):
    user = UserFactory()
    client = make_client(user)
    _upload(client, _png())
    db.session.refresh(user)
    first = _avatar_file(app, user)
    _upload(client, _png(120, 400))
    db.session.refresh(user)
    assert os.path.exists(_avatar_file(app, user))
    assert not os.path.exists(first)


def test_removing_the_avatar_deletes_the_file_and_the_url_404s(app, client, make_client):
    user = UserFactory()
    owner = make_client(user)
    _upload(owner, _png())
    db.session.refresh(user)
    path = _avatar_file(app, user)
    assert owner.post("/settings/avatar/remove").status_code == 303
    db.session.refresh(user)
    assert user.avatar_path is None
    assert not os.path.exists(path)
    assert client.get(f"/avatars/{user.id}").status_code == 404


def test_avatar_of_a_member_without_one_is_a_404(client):
    user = UserFactory()
    assert client.get(f"/avatars/{user.id}").status_code == 404
    assert client.get("/avatars/999999").status_code == 404


def test_set_avatar_refuses_a_decompression_bomb(app, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    user = UserFactory()
    with pytest.raises(ValidationFailed):
        services.set_avatar(user.id, io.BytesIO(_png(100, 100)))

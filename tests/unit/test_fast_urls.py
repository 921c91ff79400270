"""id_url and handle_url build exactly what url_for builds, for every endpoint the signed-in
pages build per row with them (app/templating.py)."""

from __future__ import annotations

import tempfile

from flask import url_for

from app import create_app
from app.templating import handle_url, id_url
from config import TestConfig

ID_ENDPOINTS = [
    ("orders.detail", "order_id", {}),
    ("lending.detail", "loan_id", {}),
    ("lending.act", "loan_id", {"action": "claim_damage"}),
    ("clubs.detail", "club_id", {}),
    ("clubs.members", "club_id", {}),
    ("deals.detail", "deal_id", {}),
    ("listings.detail", "listing_id", {}),
    ("listings.edit", "listing_id", {}),
    ("listings.pause", "listing_id", {}),
    ("listings.photo", "photo_id", {"size": "thumb"}),
    ("order_payments.refund", "order_id", {}),
    ("moderation.report_form", "target_id", {"kind": "feedback"}),
]


def _app():
    return create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", UPLOAD_DIR=tempfile.mkdtemp()
    )


def test_id_url_matches_url_for_on_the_signed_in_pages():
    app = _app()
    with app.test_request_context("/"):
        for endpoint, name, fixed in ID_ENDPOINTS:
            for value in (1, 7, 2063, 2**31 - 1):
                built = id_url(endpoint, name, value, **fixed)
                assert built == url_for(endpoint, **{name: value}, **fixed), endpoint


def test_handle_url_matches_url_for_also_for_a_handle_that_needs_quoting():
    app = _app()
    with app.test_request_context("/"):
        for handle in ("member1", "bob", "Ann_Lee", "a.b-c~d", "x y", "é", "50%", "a/b"):
            built = handle_url("profiles.profile", "handle", handle)
            assert built == url_for("profiles.profile", handle=handle), handle
        assert handle_url("profiles.profile", "handle", "bob") == "/u/bob"

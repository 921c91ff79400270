"""The moderation API: reports, the queue (moderators only), claim, act and the public log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db import utcnow
from app.extensions import db
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.moderation_support import moderator

DETAILS = "The photos are of a different item."


def _report(client, headers, listing, rule=1):
    return client.post(
        "/api/v1/reports",
        headers=headers,
        json={"kind": "listing", "target_id": listing.id, "rule": rule, "details": DETAILS},
    )


def test_rules_are_public_and_numbered(client):
    body = client.get("/api/v1/rules").json
    assert body["version"] == 1
    assert [r["number"] for r in body["rules"]] == list(range(1, 9))
    assert body["rules"][7]["title"] == "No harassment"


def test_report_then_see_it_with_its_outcome(client):
    reporter, listing, mod = UserFactory(), ListingFactory(), moderator()
    headers = bearer(reporter)
    created = _report(client, headers, listing)
    assert created.status_code == 201
    assert created.json["outcome"] is None and created.json["kind"] == "listing"
    again = _report(client, headers, listing)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reported"
    mod_headers = bearer(mod)
    case_id = created.json["case_id"]
    assert (
        client.post(f"/api/v1/moderation/cases/{case_id}/claim", headers=mod_headers).json["status"]
        == "claimed"
    )
    acted = client.post(
        f"/api/v1/moderation/cases/{case_id}/actions",
        headers=mod_headers,
        json={"action": "hide", "rule": 1, "reason": "Photos of another item."},
    )
    assert acted.status_code == 201 and acted.json["action"] == "hide"
    mine = client.get("/api/v1/reports", headers=headers).json["items"]
    assert mine[0]["outcome"] == "upheld" and mine[0]["content_state"] == "hidden"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "unauthorized"),
        ("member", 403, "not_a_moderator"),
        ("moderator", 200, None),
    ],
)
def test_only_moderators_see_the_queue(client, who, status, code):
    headers = (
        {} if who == "anonymous" else bearer(moderator() if who == "moderator" else UserFactory())
    )
    response = client.get("/api/v1/moderation/cases", headers=headers)
    assert response.status_code == status
    if code:
        assert response.json["error"]["code"] == code


def test_a_moderator_cannot_act_on_their_own_listing(client):
    mod = moderator()
    listing = ListingFactory(seller=mod)
    case_id = _report(client, bearer(UserFactory()), listing).json["case_id"]
    response = client.post(
        f"/api/v1/moderation/cases/{case_id}/actions",
        headers=bearer(mod),
        json={"action": "dismiss", "rule": 1, "reason": "Nothing wrong here."},
    )
    assert response.status_code == 403 and response.json["error"]["code"] == "own_case"


def test_suspend_needs_a_future_date_and_then_refuses_the_members_writes(client):
    member, mod = UserFactory(), moderator()
    case_id = client.post(
        "/api/v1/reports",
        headers=bearer(UserFactory()),
        json={"kind": "member", "target_id": member.id, "rule": 8, "details": "Insults me daily."},
    ).json["case_id"]
    url = f"/api/v1/moderation/cases/{case_id}/actions"
    body = {"action": "suspend", "rule": 8, "reason": "Insults in messages."}
    missing = client.post(url, headers=bearer(mod), json=body)
    assert missing.status_code == 422 and "suspended_until" in missing.json["error"]["fields"]
    until = (utcnow() + timedelta(days=3)).isoformat()
    assert (
        client.post(url, headers=bearer(mod), json={**body, "suspended_until": until}).status_code
        == 201
    )
    db.session.expire_all()
    refused = client.post(
        "/api/v1/orders",
        headers=bearer(member),
        json={"listing_id": ListingFactory().id, "quantity": 1},
    )
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "account_suspended"
    assert refused.json["error"]["suspended_until"]


def test_the_public_log_has_no_reporters_or_details(client):
    reporter = UserFactory(handle="whistleblower")
    listing = ListingFactory()
    case_id = _report(client, bearer(reporter), listing).json["case_id"]
    client.post(
        f"/api/v1/moderation/cases/{case_id}/actions",
        headers=bearer(moderator()),
        json={"action": "warn", "rule": 1, "reason": "Replace the photos."},
    )
    log = client.get("/api/v1/moderation/log")
    assert log.status_code == 200 and log.json["total"] == 1
    text = log.get_data(as_text=True)
    assert "Replace the photos." in text and listing.title in text
    assert "whistleblower" not in text and DETAILS not in text


def test_admins_publish_rules_with_their_feedback_grounds(client):
    body = {
        "rules": [
            {"title": "Be honest", "body": "Describe things as they are."},
            {"title": "Be civil", "feedback_grounds": "abuse, insults"},
        ],
        "note": "Two rules.",
    }
    refused = client.post("/api/v1/rules", headers=bearer(UserFactory()), json=body)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    admin = bearer(UserFactory(is_admin=True))
    published = client.post("/api/v1/rules", headers=admin, json=body)
    assert published.status_code == 201 and published.json["version"] == 2
    assert [r["feedback_grounds"] for r in published.json["rules"]] == ["", "abuse, insults"]
    assert client.get("/api/v1/rules").json["version"] == 2
    empty = client.post("/api/v1/rules", headers=admin, json={"rules": []})
    assert empty.status_code == 422 and "rules" in empty.json["error"]["fields"]
    untitled = client.post(
        "/api/v1/rules", headers=admin, json={"rules": [{"title": " ", "body": "Why"}]}
    )
    assert untitled.status_code == 422 and "rules.1.title" in untitled.json["error"]["fields"]
    assert client.get("/api/v1/rules/versions").json["items"][0]["version"] == 2

"""The moderation pages: who may see and do what, and a suspended member's writes refused
with the reason on the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.moderation import services
from app.moderation.models import ModerationAction, Report
from tests.factories import ListingFactory, UserFactory
from tests.integration.moderation_support import moderator

DETAILS = "The photos are of a different item."


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("member", 403), ("moderator", 200)]
)
def test_only_moderators_open_the_queue(make_client, who, status):
    user = {"anonymous": None, "member": UserFactory(), "moderator": moderator()}[who]
    assert make_client(user).get("/moderation").status_code == status


def test_the_report_form_links_the_rules_and_files_a_report(make_client):
    reporter, listing = UserFactory(), ListingFactory()
    client = make_client(reporter)
    form = client.get(f"/report/listing/{listing.id}").get_data(as_text=True)
    assert 'href="/rules"' in form and "8. No harassment" in form
    response = client.post(
        f"/report/listing/{listing.id}", data={"kind": "listing", "target_id": listing.id,
                                              "rule": 1, "details": DETAILS},
    )  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"].endswith("/reports/mine")
    assert db.session.scalar(select(Report)).details == DETAILS


def test_a_failed_report_keeps_the_draft(make_client):
    client = make_client(UserFactory())
    listing = ListingFactory()
    url = f"/report/listing/{listing.id}"
    response = client.post(url, data={"kind": "listing", "target_id": listing.id, "rule": 1,
                                      "details": "short"})  # fmt: skip
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "short" in page and "10 to 2000 characters" in page


def test_a_moderator_decides_from_the_case_page_and_not_their_own(make_client):
    mod = moderator()
    own = services.create_report(UserFactory().id, "listing", ListingFactory(seller=mod).id, 1,
                                 DETAILS)  # fmt: skip
    other = services.create_report(UserFactory().id, "listing", ListingFactory().id, 7, DETAILS)
    client = make_client(mod)
    page = client.get(f"/moderation/cases/{own.case_id}").get_data(as_text=True)
    assert "another moderator decides it" in page and "Record the decision" not in page
    dismiss = {"action": "dismiss", "rule": 1, "reason": "All fine here."}
    refused = client.post(f"/moderation/cases/{own.case_id}/act", data=dismiss)
    assert refused.status_code == 303
    assert db.session.scalars(select(ModerationAction)).all() == []
    done = client.post(f"/moderation/cases/{other.case_id}/act",
                       data={"action": "remove", "rule": 7, "reason": "Counterfeit."})  # fmt: skip
    assert done.status_code == 303
    assert db.session.scalar(select(ModerationAction)).action == "remove"


def test_a_suspended_member_reads_but_a_write_is_refused_with_the_reason(make_client):
    until = utcnow() + timedelta(days=5)
    member = UserFactory(is_suspended=True, suspended_until=until)
    listing = ListingFactory()
    client = make_client(member)
    assert client.get(f"/listings/{listing.id}").status_code == 200
    response = client.post(f"/report/listing/{listing.id}", data={
        "kind": "listing", "target_id": listing.id, "rule": 1, "details": DETAILS})  # fmt: skip
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"suspended until {until:%Y-%m-%d}" in page
    assert db.session.scalars(select(Report)).all() == []

"""The group-deal pages: the draft form (tier rows, percent fee, clear refusals that keep what
was typed), the deal page for each viewer (progress, the pledge with its most and current cost,
the buttons from the machines), pledging, changing and withdrawing, the pickup list, My deals,
a club's deals section and the home page. Strangers to a private club get a 404."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import render_template_string

from app.clubs import deals
from app.clubs.models import PRIVATE, GroupDeal
from app.db import utcnow
from app.extensions import db
from tests.conftest import login
from tests.factories import UserFactory
from tests.integration.deal_support import fresh, make_club, open_deal, pledges_of, settle


@pytest.fixture
def club(app):
    return make_club(members=3)


@pytest.fixture
def supplier(app):
    return UserFactory(handle="sam")


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _draft(**overrides) -> dict:
    values = {
        "title": "Organic oats, 1 kg bag",
        "unit": "bag",
        "supplier": "@sam",
        "tier1_quantity": "10",
        "tier1_price": "9.00",
        "tier2_quantity": "25",
        "tier2_price": "8.00",
        "min_quantity": "10",
        "deadline": (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "fulfilment": "pickup",
        "pickup_point": "Elm Street hall",
        "pickup_times": "Sat 10-12",
        "organizer_fee": "2.5",
    }
    values.update(overrides)
    return values


def test_the_organizer_drafts_a_deal_with_tiers_and_a_percent_fee(client, club, supplier):
    the_club, organizer, _ = club
    login(client, organizer)
    page = client.get(f"/clubs/{the_club.id}/deals/new")
    assert page.status_code == 200
    assert "Tier 6: unit price" in _text(page)
    answer = client.post(f"/clubs/{the_club.id}/deals/new", data=_draft())
    assert answer.status_code == 303
    deal = db.session.query(GroupDeal).one()
    assert answer.headers["Location"].endswith(f"/deals/{deal.id}")
    assert [(t.min_quantity, t.unit_price_cents) for t in deal.tiers] == [(10, 900), (25, 800)]
    assert deal.organizer_fee_bps == 250 and deal.supplier_id == supplier.id
    assert deal.state == "draft"
    shown = _text(client.get(f"/deals/{deal.id}"))
    assert "Send to the supplier" in shown and "2.5 %" in shown


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"tier2_price": "9.50"}, "must cost less per unit than the tier from 10"),
        ({"tier1_quantity": "12"}, "The first tier must start at or below the minimum"),
        ({"tier1_price": "nine"}, "Enter a price as a number"),
        ({"organizer_fee": "25"}, "At most 20 %"),
        ({"supplier": "@nobody"}, "Nobody here has the handle @nobody"),
        ({"deadline": "next week"}, "Pick a day and time"),
        ({"pickup_point": ""}, "Say where members pick it up"),
        (
            {"tier1_quantity": "", "tier1_price": "", "tier2_quantity": "", "tier2_price": ""},
            "Add at least one price tier",
        ),
    ],
)
def test_a_bad_draft_comes_back_with_its_reason_and_what_was_typed(
    client, club, supplier, change, field_error
):
    the_club, organizer, _ = club
    login(client, organizer)
    answer = client.post(f"/clubs/{the_club.id}/deals/new", data=_draft(**change))
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/deals/new")
    page = _text(client.get(f"/clubs/{the_club.id}/deals/new"))
    assert field_error in page
    assert 'value="Organic oats, 1 kg bag"' in page
    assert db.session.query(GroupDeal).count() == 0


def test_only_the_clubs_organizers_may_draft(client, club, supplier):
    the_club, _, members = club
    login(client, members[0])
    assert client.get(f"/clubs/{the_club.id}/deals/new").status_code == 403
    assert client.post(f"/clubs/{the_club.id}/deals/new", data=_draft()).status_code == 403


def test_a_member_pledges_changes_and_withdraws_and_sees_the_most_and_the_current_cost(
    client, club, supplier
):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier, organizer_fee_bps=500, member_limit=8)
    deals.pledge(deal.id, members[1].id, 8)
    deals.pledge(deal.id, members[2].id, 3)
    login(client, members[0])
    page = _text(client.get(f"/deals/{deal.id}"))
    assert "11 bags pledged by 2 members" in page
    assert "Price now: $9.00 per bag" in page
    assert "14 bags more bring everyone's price down to $8.00" in page
    answer = client.post(f"/deals/{deal.id}/pledge", data={"quantity": "4"})
    assert answer.status_code == 303
    page = _text(client.get(f"/deals/{deal.id}"))
    assert "Pledged: 4 bags" in page
    assert "$37.80" in page  # at most: 4 x 9.00 + 5 %
    assert "Change pledge" in page and "Withdraw pledge" in page
    client.post(f"/deals/{deal.id}/pledge", data={"quantity": "9"})
    page = _text(client.get(f"/deals/{deal.id}"))
    assert "at most 8 bags" in page and "Pledge changed" not in page  # over the member limit
    assert fresh(deal.id).pledged_quantity == 15
    mine = next(p for p in pledges_of(deal.id) if p.member_id == members[0].id)
    client.post(
        f"/deals/{deal.id}/pledges/{mine.id}/withdraw", data={"withdraw-note": "Changed my mind"}
    )
    assert fresh(deal.id).pledged_quantity == 11
    assert "Pledge withdrawn" in _text(client.get(f"/deals/{deal.id}"))


def test_the_supplier_accepts_from_the_deal_page(client, club, supplier):
    the_club, organizer, _ = club
    deal = deals.create_deal(the_club.id, organizer.id, **_terms(supplier))
    deals.deal_action(deal.id, "propose", organizer.id)
    login(client, supplier)
    page = _text(client.get(f"/deals/{deal.id}"))
    assert "Accept the terms" in page and "Decline the terms" in page
    client.post(f"/deals/{deal.id}/accept_terms")
    assert fresh(deal.id).state == "open"


def _terms(supplier) -> dict:
    from tests.integration.deal_support import terms

    return terms(supplier)


def test_after_the_deadline_the_roster_lists_everyone_and_prints(client, club, supplier):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier, min_quantity=10)
    for member, quantity in zip(members, (6, 5, 4), strict=True):
        deals.pledge(deal.id, member.id, quantity)
    settle(fresh(deal.id))
    login(client, organizer)
    page = _text(client.get(f"/deals/{deal.id}"))
    assert "Final price: $9.00 per bag" in page
    assert "Printable pickup list" in page
    roster = client.get(f"/deals/{deal.id}/roster")
    assert roster.status_code == 200
    text = _text(roster)
    assert text.count("roster-box") >= 3 and "15" in text
    login(client, members[0])
    assert client.get(f"/deals/{deal.id}/roster").status_code in (403, 404)


def test_my_deals_lists_what_needs_you(client, club, supplier):
    the_club, organizer, _ = club
    deal = deals.create_deal(the_club.id, organizer.id, **_terms(supplier))
    deals.deal_action(deal.id, "propose", organizer.id)
    login(client, supplier)
    page = _text(client.get("/deals"))
    assert "Needs you" in page and "Accept or decline" in page
    assert _text(client.get("/deals?tab=supplier")).count("Organic oats") >= 1


def test_the_club_section_and_the_home_page_show_open_deals(app, client, club, supplier):
    the_club, organizer, members = club
    open_deal(the_club, organizer, supplier)
    login(client, members[0])
    with app.test_request_context():
        from flask_login import login_user

        login_user(members[0])
        shown = render_template_string('{% include "deals/_club_deals.html" %}', club=the_club)
    assert "Open for pledges" in shown and "Organic oats" in shown
    assert "Organic oats" in _text(client.get("/"))


def test_a_private_clubs_deal_is_not_found_for_a_stranger(client, club, supplier):
    the_club, organizer, _ = club
    the_club.visibility = PRIVATE
    db.session.commit()
    deal = open_deal(the_club, organizer, supplier)
    login(client, UserFactory())
    assert client.get(f"/deals/{deal.id}").status_code == 404
    assert "Organic oats" not in _text(client.get("/"))


def test_a_member_writes_about_their_pledge_and_the_organizer_to_the_supplier(
    client, club, supplier
):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier)
    deals.pledge(deal.id, members[0].id, 2)
    login(client, members[0])
    answer = client.post(
        f"/deals/{deal.id}/messages?about=pledge", data={"body": "Can I pick up on Sunday?"}
    )
    assert answer.status_code == 303
    assert "Can I pick up on Sunday?" in _text(client.get(f"/deals/{deal.id}"))
    login(client, organizer)
    client.post(f"/deals/{deal.id}/messages?about=deal", data={"body": "Delivery on Friday?"})
    assert "Delivery on Friday?" in _text(client.get(f"/deals/{deal.id}"))
    login(client, supplier)
    assert "Delivery on Friday?" in _text(client.get(f"/deals/{deal.id}"))
    login(client, members[1])
    assert (
        client.post(f"/deals/{deal.id}/messages?about=pledge", data={"body": "Hi"}).status_code
        == 404
    )


def test_the_organizer_answers_a_members_pledge_thread(client, club, supplier):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier)
    mine = deals.pledge(deal.id, members[0].id, 2)
    login(client, members[0])
    client.post(f"/deals/{deal.id}/messages?about=pledge", data={"body": "Sunday pickup?"})
    login(client, organizer)
    page = _text(client.get(f"/deals/{deal.id}?pledge={mine.id}"))
    assert "Sunday pickup?" in page
    answer = client.post(
        f"/deals/{deal.id}/messages?about=pledge&pledge={mine.id}", data={"body": "Sure."}
    )
    assert answer.headers["Location"].endswith(f"/deals/{deal.id}?pledge={mine.id}#messages")
    login(client, members[0])
    assert "Sure." in _text(client.get(f"/deals/{deal.id}"))


def _inbox_links(client) -> list[str]:
    """The conversation links of the signed-in user's inbox, in its order."""
    return re.findall(r'class="inbox-link" href="([^"]+)"', _text(client.get("/messages")))


def test_the_inbox_opens_a_members_pledge_thread_not_the_deal_thread(client, club, supplier):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier)
    mine = deals.pledge(deal.id, members[0].id, 2)
    login(client, organizer)
    client.post(f"/deals/{deal.id}/messages?about=deal", data={"body": "Delivery on Friday?"})
    login(client, members[0])
    client.post(f"/deals/{deal.id}/messages?about=pledge", data={"body": "Sunday pickup?"})
    pledge_link = f"/deals/{deal.id}?pledge={mine.id}#messages"
    assert _inbox_links(client) == [pledge_link]  # the member's own thread
    for party in (organizer, supplier):
        login(client, party)
        links = _inbox_links(client)
        assert pledge_link in links and f"/deals/{deal.id}#messages" in links
        page = _text(client.get(pledge_link.split("#")[0]))
        start = page.index('id="messages"')
        thread = page[start : page.index("</section>", start)]
        assert "Sunday pickup?" in thread and "Delivery on Friday?" not in thread
        assert f"@{members[0].handle}" in thread
        answer = client.post(
            f"/deals/{deal.id}/messages?about=pledge&pledge={mine.id}",
            data={"body": f"Noted by @{party.handle}."},
        )
        assert answer.status_code == 303
    login(client, members[0])
    page = _text(client.get(f"/deals/{deal.id}"))
    assert f"Noted by @{organizer.handle}." in page and f"Noted by @{supplier.handle}." in page
    assert "Delivery on Friday?" not in page  # the organizer-supplier thread stays theirs

"""Content a moderator hid or removed (or reports hid pending review) is treated the same
everywhere: gone from every list and page for others, on its page with a notice for its owner
(and a club's members) and for moderators, back when restored; an owner's edit asks for a
re-review. Pages and the API agree."""

from __future__ import annotations

import pytest

from app.clubs import deals as deal_services
from app.clubs import services as clubs
from app.extensions import db
from app.listings import services as listings
from app.messaging.services import send_message
from app.moderation import services as moderation
from app.moderation.models import ModerationCase
from app.orders.services import place_order
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.deal_support import make_club, open_deal, terms
from tests.integration.moderation_support import moderator, trusted

REASON = "Photos of a different item."


def decide(kind: str, target_id: int, action: str = "hide") -> ModerationCase:
    """A report of the thing, then a moderator's action on its case (citing rule 1)."""
    case = db.session.scalar(
        db.select(ModerationCase).where(
            ModerationCase.target_kind == kind, ModerationCase.target_id == target_id
        )
    )
    if case is None:
        report = moderation.create_report(
            UserFactory().id, kind, target_id, 1, "This breaks the rules, see the photos."
        )
        case_id = report.case_id
    else:
        case_id = case.id
    moderation.act(case_id, moderator().id, action, 1, REASON)
    return db.session.get(ModerationCase, case_id)


def hide_by_reports(kind: str, target_id: int) -> None:
    """Two trusted members' reports: hidden pending review, no moderator yet."""
    for _ in range(2):
        moderation.create_report(
            trusted().id, kind, target_id, 1, "This breaks the rules, see the photos."
        )


# -- listings ---------------------------------------------------------------------------------


def _public_views_of_listing(make_client, client, listing, other) -> dict[str, bool]:
    """Whether each public list or page shows the listing (to a stranger)."""
    stranger = make_client(UserFactory())
    seller = listing.seller.handle
    api_search = client.get("/api/v1/listings", query_string={"q": "Quokka"}).json
    api_seller = client.get(f"/api/v1/users/{seller}/listings").json
    return {
        "service search": listing.id in [x.id for x in listings.search_listings(q="Quokka").items],
        "browse": listing.title in stranger.get("/listings?q=Quokka").text,
        "browse all": listing.title in stranger.get("/listings").text,
        "home": listing.title in client.get("/").text,
        "more from seller": listing.title in stranger.get(f"/listings/{other.id}").text,
        "profile": listing.title in stranger.get(f"/u/{seller}").text,
        "api search": listing.id in [x["id"] for x in api_search["items"]],
        "api seller's": listing.id in [x["id"] for x in api_seller["items"]],
        "page": stranger.get(f"/listings/{listing.id}").status_code == 200,
        "anonymous page": client.get(f"/listings/{listing.id}").status_code == 200,
        "api page": client.get(f"/api/v1/listings/{listing.id}").status_code == 200,
    }


@pytest.mark.parametrize("action", ["hide", "remove"])
def test_a_hidden_listing_leaves_every_list_and_page_for_others_and_comes_back(
    make_client, client, action
):
    listing = ListingFactory(title="Quokka desk lamp", quantity=3)
    other = ListingFactory(seller=listing.seller, title="Walnut stool")
    assert all(_public_views_of_listing(make_client, client, listing, other).values())

    case = decide("listing", listing.id, action)
    shown = _public_views_of_listing(make_client, client, listing, other)
    assert not any(shown.values()), shown
    page = make_client(UserFactory()).get(f"/listings/{listing.id}")
    word = "removed by a moderator" if action == "remove" else "hidden pending review"
    assert page.status_code == 404 and word in page.text
    assert listing.description not in page.text
    api = client.get(f"/api/v1/listings/{listing.id}")
    assert api.status_code == 404 and api.json["error"]["code"] == "listing_hidden"

    moderation.act(case.id, moderator().id, "restore", 1, "It was the right item after all.")
    assert all(_public_views_of_listing(make_client, client, listing, other).values())


def test_reports_alone_hide_a_listing_from_search_until_a_moderator_decides(client):
    listing = ListingFactory(title="Quokka pot", quantity=2)
    hide_by_reports("listing", listing.id)
    assert listings.search_listings(q="Quokka").total == 0
    assert client.get(f"/listings/{listing.id}").status_code == 404


def test_the_owner_sees_the_notice_with_the_rule_and_a_moderator_sees_the_page(make_client, client):
    listing = ListingFactory(title="Quokka chair")
    decide("listing", listing.id, "hide")
    rule = moderation.current_rule(1)

    own = make_client(listing.seller)
    page = own.get(f"/listings/{listing.id}")
    assert page.status_code == 200
    assert "Hidden by a moderator" in page.text
    assert f"rule 1 ({rule.title})" in page.text and REASON in page.text
    assert "Editing it asks the moderators for a re-review" in page.text
    mine = own.get("/my/listings").text
    assert "Quokka chair" in mine and f"under rule 1 ({rule.title})" in mine
    assert "Edit it to ask for a re-review" in mine

    api = client.get(f"/api/v1/listings/{listing.id}", headers=bearer(listing.seller)).json
    assert api["moderation"]["state"] == "hidden" and api["moderation"]["rule_number"] == 1
    assert api["moderation"]["reason"] == REASON
    my_api = client.get("/api/v1/users/me/listings", headers=bearer(listing.seller)).json
    assert [x["moderation"]["state"] for x in my_api["items"]] == ["hidden"]

    assert make_client(moderator()).get(f"/listings/{listing.id}").status_code == 200
    visible = ListingFactory()
    assert client.get(f"/api/v1/listings/{visible.id}").json["moderation"] is None


def test_reports_pending_review_tell_the_owner_which_rule_was_cited(make_client):
    listing = ListingFactory()
    hide_by_reports("listing", listing.id)
    page = make_client(listing.seller).get(f"/listings/{listing.id}").text
    assert "Hidden pending review" in page and "rule 1 (" in page


def test_an_edit_of_a_hidden_listing_through_the_page_asks_for_a_re_review(make_client):
    listing = ListingFactory(title="Quokka table")
    case = decide("listing", listing.id, "remove")
    own = make_client(listing.seller)
    form = own.get(f"/listings/{listing.id}/edit").text
    assert "csrf_token" in form  # the form renders for the owner of a removed listing
    listings.update_listing(listing.id, listing.seller_id, title="Quokka table, my own photos")
    db.session.refresh(case)
    assert case.needs_rereview and case.status == "open"
    assert "It was edited since" in own.get(f"/listings/{listing.id}").text


def test_nobody_buys_a_hidden_listing(app):
    listing = ListingFactory(quantity=3)
    decide("listing", listing.id)
    with pytest.raises(listings.ListingHidden):
        place_order(UserFactory().id, listing.id, 1)


# -- clubs ------------------------------------------------------------------------------------


def _club_seen(make_client, client, club, viewer) -> dict[str, bool]:
    web = make_client(viewer)
    headers = bearer(viewer)
    return {
        "clubs page": club.name in make_client(UserFactory()).get("/clubs").text,
        "club page": web.get(f"/clubs/{club.id}").status_code == 200,
        "members page": web.get(f"/clubs/{club.id}/members").status_code == 200,
        "api list": club.id in [c["id"] for c in client.get("/api/v1/clubs").json["items"]],
        "api club": client.get(f"/api/v1/clubs/{club.id}", headers=headers).status_code == 200,
        "invite link": client.get(f"/clubs/{club.id}/join/{club.invite_token}").status_code == 200,
    }


@pytest.mark.parametrize("action", ["hide", "remove"])
def test_a_hidden_club_is_gone_for_outsiders_and_members_see_the_notice(
    make_client, client, action
):
    club, organizer, (member,) = make_club(members=1, name="Quokka food co-op")
    stranger = UserFactory()
    assert all(_club_seen(make_client, client, club, stranger).values())

    case = decide("club", club.id, action)
    shown = _club_seen(make_client, client, club, stranger)
    assert not any(shown.values()), shown
    cited = f"rule 1 ({moderation.current_rule(1).title})"
    for person in (member, organizer):
        page = make_client(person).get(f"/clubs/{club.id}")
        assert page.status_code == 200 and cited in page.text
    assert "Editing it asks the moderators" in make_client(organizer).get(f"/clubs/{club.id}").text
    api = client.get(f"/api/v1/clubs/{club.id}", headers=bearer(member)).json
    assert api["moderation"]["state"] == ("removed" if action == "remove" else "hidden")
    mine = make_client(member).get("/clubs").text
    assert "Hidden by a moderator: only its members see it" in mine

    moderation.act(case.id, moderator().id, "restore", 1, "A fair club after all.")
    assert all(_club_seen(make_client, client, club, stranger).values())
    assert client.get(f"/api/v1/clubs/{club.id}").json["moderation"] is None


def test_an_edit_of_a_hidden_club_asks_for_a_re_review(app):
    club, organizer, _ = make_club(name="Quokka bulk buyers")
    case = decide("club", club.id)
    clubs.update_club(club.id, organizer.id, description="We buy oats together, nothing else.")
    db.session.refresh(case)
    assert case.needs_rereview and case.status == "open" and case.content_state == "hidden"


def test_hidden_club_messages_show_the_moderators_words_in_place_of_the_text(make_client, client):
    club, organizer, (writer, reader) = make_club(members=2)
    message = send_message("club", club.id, writer.id, "Buy my quokka pills, cheap!")
    send_message("club", club.id, organizer.id, "Welcome, everyone.")
    decide("message", message.id)

    page = make_client(reader).get(f"/clubs/{club.id}").text
    assert "quokka pills" not in page
    assert "This message is hidden pending review by a moderator." in page
    assert "Welcome, everyone." in page
    assert "quokka pills" in make_client(writer).get(f"/clubs/{club.id}").text
    inbox = make_client(reader).get("/messages").text
    assert "Welcome, everyone." in inbox  # the latest message is the visible one

    listed = client.get(f"/api/v1/clubs/{club.id}/messages", headers=bearer(reader)).json
    hidden = next(m for m in listed["items"] if m["id"] == message.id)
    assert hidden["body"] is None and hidden["moderation"] == "hidden"
    own = client.get(f"/api/v1/clubs/{club.id}/messages", headers=bearer(writer)).json
    assert next(m for m in own["items"] if m["id"] == message.id)["body"].startswith("Buy my")


def test_the_inbox_does_not_quote_a_hidden_latest_message(make_client):
    club, organizer, (writer,) = make_club(members=1)
    message = send_message("club", club.id, writer.id, "Buy my quokka pills, cheap!")
    decide("message", message.id)
    inbox = make_client(organizer).get("/messages").text
    assert "quokka pills" not in inbox and "Hidden by a moderator" in inbox


# -- group deals ------------------------------------------------------------------------------


def _deal_seen(make_client, client, deal, viewer) -> dict[str, bool]:
    web = make_client(viewer)
    headers = bearer(viewer)
    api_list = client.get(f"/api/v1/clubs/{deal.club_id}/deals", headers=headers).json
    return {
        "home": deal.title in client.get("/").text,
        "club page": deal.title in web.get(f"/clubs/{deal.club_id}").text,
        "deal page": web.get(f"/deals/{deal.id}").status_code == 200,
        "api club deals": deal.id in [d["id"] for d in api_list["items"]],
        "api deal": client.get(f"/api/v1/deals/{deal.id}", headers=headers).status_code == 200,
    }


@pytest.mark.parametrize("action", ["hide", "remove"])
def test_a_hidden_deal_is_gone_for_outsiders_and_club_members_see_the_notice(
    make_client, client, action
):
    club, organizer, (member,) = make_club(members=1)
    deal = open_deal(club, organizer, UserFactory(), title="Quokka oats, 1 kg bag")
    stranger = UserFactory()
    assert all(_deal_seen(make_client, client, deal, stranger).values())

    case = decide("deal", deal.id, action)
    shown = _deal_seen(make_client, client, deal, stranger)
    assert not any(shown.values()), shown
    seen_by_member = _deal_seen(make_client, client, deal, member)
    assert {k: v for k, v in seen_by_member.items() if k != "home"} == {
        "club page": True,
        "deal page": True,
        "api club deals": True,
        "api deal": True,
    }
    page = make_client(member).get(f"/deals/{deal.id}").text
    assert f"rule 1 ({moderation.current_rule(1).title})" in page
    club_page = make_client(member).get(f"/clubs/{club.id}").text
    assert "Hidden by a moderator: only the club's members see it" in club_page
    api = client.get(f"/api/v1/deals/{deal.id}", headers=bearer(member)).json
    assert api["moderation"]["state"] == ("removed" if action == "remove" else "hidden")
    assert api["can_pledge"] is False and api["why_not"] == deal_services.DealHidden.default_message
    with pytest.raises(deal_services.DealHidden):
        deal_services.pledge(deal.id, member.id, 1)

    moderation.act(case.id, moderator().id, "restore", 1, "The supplier is real.")
    assert all(_deal_seen(make_client, client, deal, stranger).values())


def test_a_hidden_club_takes_its_deals_off_the_home_page(client):
    club, organizer, _ = make_club()
    deal = open_deal(club, organizer, UserFactory(), title="Quokka rice, 5 kg")
    assert deal.title in client.get("/").text
    decide("club", club.id)
    assert deal.title not in client.get("/").text


def test_an_edit_of_a_hidden_draft_deal_asks_for_a_re_review(app):
    club, organizer, _ = make_club()
    supplier = UserFactory()
    deal = deal_services.create_deal(club.id, organizer.id, **terms(supplier))
    case = decide("deal", deal.id)
    deal_services.update_deal(deal.id, organizer.id, description="Oats from the hill farm.")
    db.session.refresh(case)
    assert case.needs_rereview and case.status == "open"


# -- member profiles --------------------------------------------------------------------------


def test_a_hidden_profile_shows_a_neutral_notice_instead_of_the_about_text(make_client, client):
    member = UserFactory(bio="Call me for quokka pills at 555-0100.")
    case = decide("member", member.id)
    page = make_client(UserFactory()).get(f"/u/{member.handle}").text
    assert "quokka pills" not in page and "Hidden by a moderator" in page
    assert client.get(f"/api/v1/users/{member.handle}").json["bio"] is None

    own = make_client(member).get(f"/u/{member.handle}").text
    assert "quokka pills" in own and f"rule 1 ({moderation.current_rule(1).title})" in own
    assert (
        "quokka" in client.get(f"/api/v1/users/{member.handle}", headers=bearer(member)).json["bio"]
    )

    from app.accounts.services import update_profile

    update_profile(member.id, bio="I sell bikes.")
    db.session.refresh(case)
    assert case.needs_rereview and case.status == "open"

    moderation.act(case.id, moderator().id, "restore", 1, "The about text is fine now.")
    assert "I sell bikes." in make_client(UserFactory()).get(f"/u/{member.handle}").text


def test_a_signed_in_page_reads_moderation_states_only_while_something_is_hidden(make_client):
    """The signed-in user's statement also asks whether anything is hidden (app/visibility.py):
    while nothing is, a page reads no moderation states; the request after a moderator hides a
    message reads them and leaves the message out (no answer is kept between requests)."""
    from sqlalchemy import event

    club, _organizer, (writer, reader) = make_club(members=2)
    message = send_message("club", club.id, writer.id, "Buy my quokka pills, cheap!")
    reader_client = make_client(reader)
    reader_client.get(f"/clubs/{club.id}")  # the first visit marks the messages read
    ran: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        ran.append(statement)

    def visit() -> str:
        ran.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            return reader_client.get(f"/clubs/{club.id}").text
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    def states_read() -> list[str]:
        return [s for s in ran if s.lstrip().startswith("SELECT moderation_cases.target_kind")]

    assert "quokka pills" in visit()
    assert states_read() == []
    assert any("EXISTS (SELECT moderation_cases.id" in s for s in ran)

    decide("message", message.id)
    page = visit()
    assert "quokka pills" not in page
    assert "This message is hidden pending review by a moderator." in page
    assert len(states_read()) == 1

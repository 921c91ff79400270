"""The deal page (as organizer, supplier and member) and the deal's API answers run a fixed
number of SQL statements, however many pledges the deal has (no N+1): each is counted on a
deal with a few pledges, then on one with three times as many in the same state."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.clubs import deal_pages as pages
from app.clubs import deals
from app.extensions import db
from app.messaging.services import send_message
from app.reviews import services as reviews
from app.transactions import events
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.deal_support import fresh, join, make_club, open_deal, settle


class Market:
    """One club, its organizer and a supplier; deals with as many pledges as asked for, taken
    to a stage of their life through the services."""

    def __init__(self) -> None:
        self.club, self.organizer, _ = make_club()
        self.supplier = UserFactory()
        self.made = 0

    def deal(self, pledges: int, stage: str):
        self.made += 1
        deal = open_deal(self.club, self.organizer, self.supplier, title=f"Oats {self.made}")
        members, mine = [], []
        for _ in range(pledges):
            member = UserFactory()
            join(self.club, member)
            members.append(member)
            mine.append(deals.pledge(deal.id, member.id, 5).id)
        if stage in ("settled", "received"):
            settle(fresh(deal.id))
            paid = mine if stage == "received" else mine[:1]
            for pledge_id in paid:
                deals.pledge_action(pledge_id, "record_payment", self.organizer.id)
        if stage == "received":
            deals.deliver_all(deal.id, self.supplier.id)
            for member, pledge_id in zip(members, mine, strict=True):
                deals.pledge_action(pledge_id, "confirm_receipt", member.id)
            organizer_id = self.organizer.id
            reviews.leave_feedback(mine[0], members[0].id, "positive", "Smooth", kind="pledge",
                                   about=organizer_id)  # fmt: skip
            reviews.leave_feedback(mine[0], organizer_id, "positive", "Paid on time",
                                   kind="pledge", about=members[0].id)  # fmt: skip
        events.deliver_committed()
        return fresh(deal.id), members[0], mine[0]


@pytest.fixture
def market(app) -> Market:
    return Market()


@pytest.fixture
def count_queries(app):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)

    def count(call):
        statements.clear()
        response = call()
        return response, list(statements)

    yield count
    event.remove(db.engine, "before_cursor_execute", record)


# (name, viewer, path, ceiling, lists the pledges): viewer "member" is the deal's first member.
# The ceilings are the most any stage needs; a page marks the thread it shows read first, and
# reads once which of its messages a moderator hid (app/moderation), and once the disputes about
# its pledges once the deal's money moved (app/disputes).
VIEWS = [
    ("page as organizer", "organizer", "/deals/{deal}", 29, True),
    ("page as organizer, a pledge", "organizer", "/deals/{deal}?pledge={pledge}", 32, True),
    ("page as supplier", "supplier", "/deals/{deal}", 29, True),
    ("page as member", "member", "/deals/{deal}", 26, False),
    ("printable roster", "organizer", "/deals/{deal}/roster", 8, True),
    # One statement more than before: which things a moderator hid (a hidden deal's members
    # see its `moderation`; app/visibility.py).
    ("api deal as organizer", "organizer", "/api/v1/deals/{deal}", 9, False),
    ("api deal as member", "member", "/api/v1/deals/{deal}", 11, False),
    ("api roster", "supplier", "/api/v1/deals/{deal}/roster", 5, True),
]
# open: pledges being taken; settled: the price fixed, some paid at pickup (the pledges table
# has buttons); received: every pledge collected and confirmed, feedback open on each.
STAGES = ["open", "settled", "received"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    ("viewer", "path", "ceiling", "lists_pledges"),
    [v[1:] for v in VIEWS],
    ids=[v[0] for v in VIEWS],
)
def test_deal_views_run_a_fixed_number_of_statements(
    market, make_client, count_queries, stage, viewer, path, ceiling, lists_pledges
):
    few, before = _count(market, make_client, count_queries, 2, stage, viewer, path)
    many, after = _count(market, make_client, count_queries, 6, stage, viewer, path)
    if lists_pledges and stage != "open":  # the roster lists pledges once the price is fixed
        assert len(many.data) > len(few.data)  # more pledges shown
    assert len(after) <= len(before), _listed(before, after)
    assert len(after) <= ceiling, _listed(before, after)


def _count(market, make_client, count_queries, pledges: int, stage: str, viewer: str, path: str):
    """The answer and the statements of one view of a new deal with `pledges` pledges."""
    deal, member, pledge_id = market.deal(pledges, stage)
    user = {"organizer": market.organizer, "supplier": market.supplier, "member": member}
    url = path.format(deal=deal.id, pledge=pledge_id)
    is_api = url.startswith("/api/")
    client = make_client(None if is_api else user[viewer])
    headers = bearer(user[viewer], ("read",)) if is_api else {}
    client.get(url, headers=headers)  # the first use of a session or token writes
    if "?pledge=" in url or url == f"/deals/{deal.id}":
        # An unread message: the page marks it read (a commit) before it draws the pledges.
        _write_to(viewer, deal, member, pledge_id, thread="?pledge=" in url)
    response, statements = count_queries(lambda: client.get(url, headers=headers))
    assert response.status_code == 200, (url, response.status_code)
    return response, statements


def _write_to(viewer: str, deal, member, pledge_id: int, *, thread: bool) -> None:
    """A message the viewer has not read yet, in the thread their page shows."""
    if viewer == "member":
        send_message("pledge", pledge_id, deal.organizer_id, "See you at pickup.")
    elif thread:
        send_message("pledge", pledge_id, member.id, "Can I come on Sunday?")
    else:
        other = deal.supplier_id if viewer == "organizer" else deal.organizer_id
        send_message("deal", deal.id, other, "Delivery on Friday?")


def _listed(before: list[str], after: list[str]) -> str:
    """Both runs' statements, shortened, for the failure message."""

    def short(statements: list[str]) -> str:
        return "\n".join(" ".join(s.split())[:200] for s in statements)

    return f"{len(before)} statements:\n{short(before)}\n\n{len(after)} statements:\n{short(after)}"


@pytest.mark.parametrize("stage", STAGES)
def test_the_pledges_table_offers_what_the_machine_allows(market, stage):
    """roster_actions (one decision for the whole table) agrees with pledge_actions, pledge by
    pledge, for the organizer and the supplier; a member gets no table."""
    deal, member, _pledge_id = market.deal(3, stage)
    pledges = pages.deal_pledges(deal.id)
    for user in (market.organizer, market.supplier):
        table = pages.roster_actions(deal, pledges, user.id)
        assert table == {p.id: pages.pledge_actions(p, user.id) for p in pledges}
    assert not any(pages.roster_actions(deal, pledges, member.id).values())
    if stage == "settled":  # paid in person, or not yet: something to do for each
        assert all(pages.roster_actions(deal, pledges, market.organizer.id).values())


@pytest.mark.parametrize("viewer", ["organizer", "member"])
def test_the_api_list_of_deals_runs_a_fixed_number_of_statements(
    market, make_client, count_queries, viewer
):
    """GET /api/v1/deals builds every deal's view (its tiers, the caller's pledge, its history)
    from a few statements for the whole page, not a few per deal."""
    member = UserFactory()
    join(market.club, member)
    user = {"organizer": market.organizer, "member": member}[viewer]
    headers = bearer(user, ("read",))
    client = make_client(None)

    def listed():
        deal, _first, _pledge = market.deal(1, "open")
        deals.pledge(deal.id, member.id, 2)
        client.get("/api/v1/deals", headers=headers)  # the first use of a token writes
        return count_queries(lambda: client.get("/api/v1/deals", headers=headers))

    for _ in range(2):
        few, before = listed()
    for _ in range(4):
        many, after = listed()
    assert few.status_code == many.status_code == 200
    assert (few.get_json()["total"], many.get_json()["total"]) == (2, 6)
    pledged = [(item["my_pledge"] or {}).get("quantity") for item in many.get_json()["items"]]
    assert pledged == ([2] * 6 if viewer == "member" else [None] * 6)
    assert len(after) <= len(before), _listed(before, after)
    assert len(after) <= 12, _listed(before, after)

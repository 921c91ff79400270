"""The club pages and lists run a fixed number of SQL statements, however many clubs and
members they show (no N+1): each is counted, then counted again after the data doubled."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.clubs import services as clubs
from app.extensions import db
from app.messaging.services import send_message
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.club_support import club_of, organizer, rated


class Clubs:
    """Clubs that grow: each batch adds clubs (some run by alice), members, requests and
    messages, all through the services."""

    def __init__(self) -> None:
        self.alice = organizer("alice")
        rated(self.alice, 3, role="organizer")
        self.home = club_of(self.alice, name="Home club", join_policy="approval")
        self.batches = 0

    def grow(self) -> None:
        self.batches += 1
        n = self.batches
        for i in range(3):
            owner = organizer()
            rated(owner, 2, role="organizer")
            other = club_of(owner, name=f"Club {n}-{i}")
            clubs.join_club(other.id, self.alice.id)
        for _ in range(4):
            member = UserFactory()
            clubs.join_club(self.home.id, member.id, invite_token=self.home.invite_token)
            send_message("club", self.home.id, member.id, f"Hello from batch {n}")
        clubs.join_club(self.home.id, UserFactory().id, message=f"Batch {n} asks")


@pytest.fixture
def market(app) -> Clubs:
    market = Clubs()
    market.grow()
    return market


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


# Each page and answer reads once which things a moderator hid or removed (app/visibility.py:
# a hidden club is only for its members, a hidden deal leaves the lists).
PAGES = [
    ("browse", "/clubs", 7),
    # The club page with its deals section (app/clubs/deal_pages.py club_deals): the deals with
    # their tiers and people, whatever their number.
    ("club page", "/clubs/{home}", 13),
    ("members page", "/clubs/{home}/members", 7),
    ("api clubs", "/api/v1/clubs", 7),
    ("api my clubs", "/api/v1/clubs?mine=true", 6),
    ("api members", "/api/v1/clubs/{home}/members", 6),
    ("api requests", "/api/v1/clubs/{home}/members?status=pending", 7),
]


@pytest.mark.parametrize(("path", "ceiling"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_club_pages_run_a_fixed_number_of_statements(
    market, make_client, count_queries, path, ceiling
):
    url = path.format(home=market.home.id)
    is_api = url.startswith("/api/")
    client = make_client(None if is_api else market.alice)
    headers = bearer(market.alice, ("read",)) if is_api else {}
    client.get(url, headers=headers)  # the first use of a session or token writes
    first, before = count_queries(lambda: client.get(url, headers=headers))
    market.grow()
    client.get(url, headers=headers)  # the club page marks new messages read once
    second, after = count_queries(lambda: client.get(url, headers=headers))
    assert first.status_code == second.status_code == 200
    assert len(second.data) > len(first.data)  # more rows shown
    assert len(after) <= len(before), "\n---\n".join(after)
    assert len(after) <= ceiling, f"{len(after)} statements:\n" + "\n---\n".join(after)

"""Feedback on any kind of transaction: a three-party kind registered only here (an organizer, a
member and a supplier) rates pair by pair, with its own detail ratings, window and role names,
all declared in its one entry of the kind registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.notifications.models import Notification
from app.reviews import services
from app.reviews.models import Feedback
from app.reviews.reputation import load_events
from app.reviews.views import feedback_details
from app.transactions.events import CONSUMERS, DomainEvent, deliver_committed, record_event
from app.transactions.machine import Machine, State
from app.transactions.registry import (
    OPEN_FEEDBACK,
    FeedbackRules,
    Rateable,
    RatingPair,
    TransactionKind,
    register_kind,
    unregister_kind,
)
from tests.factories import UserFactory
from tests.integration.api_support import bearer

KIND = "testdeal"
OPENS_ON = ("testdeal.closed",)
PAIRS = (
    RatingPair("member", "organizer", (("communication", "Organisation"),)),
    RatingPair("organizer", "member", (("speed", "Paid on time"),)),
    RatingPair("member", "supplier", (("described", "As described"), ("speed", "Delivery"))),
    RatingPair("organizer", "supplier", (("communication", "Communication"),)),
    RatingPair("supplier", "organizer", ()),
    # The supplier does not rate members: a member's rating of the supplier has no answer.
)


class Deals:
    """The test kind's transactions, kept in memory: {id: Rateable}."""

    def __init__(self) -> None:
        self.rows: dict[int, Rateable] = {}

    def load(self, ids: Sequence[int], lock: bool) -> dict[int, Rateable]:
        return {i: self.rows[i] for i in ids if i in self.rows}

    def add(self, deal_id: int, parties: dict[int, str], opens_at=None) -> Rateable:
        self.rows[deal_id] = Rateable(
            kind=KIND,
            id=deal_id,
            parties=parties,
            title=f"Group deal {deal_id}",
            amount_cents=4200,
            currency="EUR",
            opens_at=opens_at,
            path=f"/deals/{deal_id}",
            payload={"title": f"Group deal {deal_id}", "path": f"/deals/{deal_id}"},
        )
        return self.rows[deal_id]

    def open(self, deal_id: int, at=None) -> None:
        deal = self.rows[deal_id]
        self.add(deal_id, deal.parties, at or utcnow() - timedelta(hours=1))


def _kind(registry: Deals) -> TransactionKind:
    rateable = registry.rows.get
    return TransactionKind(
        name=KIND,
        model=Rateable,
        machine=Machine(
            noun="deal",
            roles=("organizer", "member", "supplier"),
            states=(State("open", "Open"), State("closed", "Closed", "done")),
            rules={},
            final=frozenset({"closed"}),
        ),
        load=lambda deal_id, _lock: rateable(deal_id),
        parties=lambda deal: deal.parties,
        amount=lambda deal: deal.amount_cents,
        currency=lambda deal: deal.currency,
        feedback_opens=lambda deal: deal.opens_at is not None,
        url=lambda deal: ("main.index", {}),
        feedback=FeedbackRules(
            load=registry.load,
            pairs=PAIRS,
            roles={"organizer": "organiser", "member": "club member", "supplier": "supplier"},
            noun="deal",
            not_open="You can rate each other once the deal is fulfilled.",
            opens_on=OPENS_ON,
        ),
    )


@pytest.fixture
def deals(app):
    registry = Deals()
    register_kind(_kind(registry))
    yield registry
    unregister_kind(KIND)
    assert OPEN_FEEDBACK not in CONSUMERS.get(OPENS_ON[0], [])


@pytest.fixture
def people(app):
    return {role: UserFactory() for role in ("organizer", "member", "supplier")}


@pytest.fixture
def deal(deals, people):
    deal = deals.add(7, {user.id: role for role, user in people.items()})
    deals.open(7)
    return deal


def rate(people, author, rated=None, rating="positive", **details):
    return services.leave_feedback(
        7,
        people[author].id,
        rating,
        "" if rating == "positive" else "Late",
        kind=KIND,
        about=people[rated].id if rated else None,
        **details,
    )


# -- unique per (transaction, author, person rated) --------------------------------------------


def test_one_author_rates_each_other_party_once_on_the_same_transaction(deal, people):
    first = rate(people, "member", "organizer")
    second = rate(people, "member", "supplier")
    assert (first.subject_kind, first.subject_id, second.subject_id) == (KIND, 7, 7)
    assert {first.subject_user_id, second.subject_user_id} == {
        people["organizer"].id,
        people["supplier"].id,
    }
    assert (first.subject_role, second.subject_role) == ("organizer", "supplier")
    assert (second.title, second.amount_cents, second.currency) == ("Group deal 7", 4200, "EUR")
    assert first.order_id is None
    with pytest.raises(Conflict, match="already left feedback for this deal"):
        rate(people, "member", "organizer")
    assert db.session.scalar(select(db.func.count(Feedback.id))) == 2


def test_an_author_who_rates_several_must_say_whom(deal, people):
    with pytest.raises(ValidationFailed) as error:
        rate(people, "member")
    assert error.value.fields == {"about": ["Choose whom you are rating."]}


def test_nobody_rates_a_party_the_kind_does_not_pair_them_with_or_a_stranger(deal, people):
    with pytest.raises(ValidationFailed, match="cannot rate them"):
        rate(people, "supplier", "member")
    stranger = UserFactory()
    with pytest.raises(ValidationFailed):
        services.leave_feedback(7, people["member"].id, "positive", kind=KIND, about=stranger.id)
    with pytest.raises(NotFound):
        services.leave_feedback(7, stranger.id, "positive", kind=KIND, about=people["member"].id)
    with pytest.raises(NotFound):
        services.leave_feedback(8, people["member"].id, "positive", kind=KIND)


def test_the_database_holds_one_feedback_per_transaction_author_and_person_rated(deal, people):
    from sqlalchemy.exc import IntegrityError

    kept = rate(people, "member", "organizer")
    copy = {c.key: getattr(kept, c.key) for c in Feedback.__table__.columns if c.key not in ("id",)}
    db.session.add(Feedback(**copy))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# -- double-blind per pair ---------------------------------------------------------------------


def test_each_pair_is_revealed_when_both_of_it_have_rated(deal, people):
    member_on_organizer = rate(people, "member", "organizer")
    organizer_on_supplier = rate(people, "organizer", "supplier")
    assert member_on_organizer.revealed_at is None and organizer_on_supplier.revealed_at is None

    supplier_on_organizer = rate(people, "supplier", "organizer")
    db.session.expire_all()
    assert supplier_on_organizer.revealed_at is not None
    assert db.session.get(Feedback, organizer_on_supplier.id).revealed_at is not None
    # The organizer <-> member pair is still blind.
    assert db.session.get(Feedback, member_on_organizer.id).revealed_at is None

    view = services.feedback_view(7, people["organizer"].id, kind=KIND)
    pairs = {p.other.id: p for p in view.pairs}
    assert set(pairs) == {people["member"].id, people["supplier"].id}
    assert pairs[people["member"].id].theirs is None  # hidden from the person rated
    assert pairs[people["member"].id].can_leave is True
    assert pairs[people["supplier"].id].theirs.id == supplier_on_organizer.id
    assert pairs[people["supplier"].id].mine.id == organizer_on_supplier.id

    rate(people, "organizer", "member")
    db.session.expire_all()
    assert db.session.get(Feedback, member_on_organizer.id).revealed_at is not None


def test_a_rating_the_kind_allows_one_way_only_has_nothing_to_wait_for(deal, people):
    assert rate(people, "member", "supplier").revealed_at is not None


def test_a_closed_window_reveals_the_hidden_feedback_of_the_kind(deals, deal, people):
    hidden = rate(people, "member", "organizer")
    deals.open(7, utcnow() - timedelta(days=31))
    assert services.reveal_expired(utcnow()) == 1
    db.session.expire_all()
    assert db.session.get(Feedback, hidden.id).revealed_at is not None
    revealed = db.session.scalar(select(DomainEvent).where(DomainEvent.subject_kind == KIND))
    assert revealed.name == "feedback.revealed"
    assert revealed.payload["revealed"] == [[people["member"].id, people["organizer"].id]]


# -- details per role pair ---------------------------------------------------------------------


def test_detail_ratings_are_those_of_the_pair_of_roles(deal, people):
    with pytest.raises(ValidationFailed) as error:
        rate(people, "member", "organizer", described=5)
    assert error.value.fields == {"described": ["This rating does not apply to a organizer."]}
    on_supplier = rate(people, "member", "supplier", described=5, speed=3)
    on_organizer = rate(people, "member", "organizer", communication=4)
    assert feedback_details(on_supplier) == [("As described", 5), ("Delivery", 3)]
    assert feedback_details(on_organizer) == [("Organisation", 4)]
    view = services.feedback_view(7, people["organizer"].id, kind=KIND)
    assert {p.other_role: p.detail_fields for p in view.pairs} == {
        "member": (("speed", "Paid on time"),),
        "supplier": (("communication", "Communication"),),
    }


# -- the window opens when the kind says -------------------------------------------------------


def test_nobody_rates_before_the_kind_opens_the_window(deals, people):
    deals.add(7, {user.id: role for role, user in people.items()})
    with pytest.raises(Conflict, match="once the deal is fulfilled"):
        rate(people, "member", "organizer")
    assert services.feedback_view(7, people["member"].id, kind=KIND).can_leave is False
    deals.open(7)
    assert rate(people, "member", "organizer").id is not None


def test_the_kinds_opening_event_asks_every_rater_for_feedback(deals, people):
    deals.add(7, {user.id: role for role, user in people.items()})
    deals.open(7)
    record_event("testdeal.closed", subject_kind=KIND, subject_id=7, actor_id=None)
    db.session.commit()
    deliver_committed()
    due = db.session.scalar(select(DomainEvent).where(DomainEvent.name == "feedback.due"))
    ids = {role: user.id for role, user in people.items()}
    assert sorted(map(tuple, due.payload["raters"])) == sorted(
        (ids[pair.author_role], ids[pair.subject_role]) for pair in PAIRS
    )
    # One notice per rater, naming everyone they rate.
    asked = dict(
        db.session.execute(
            select(Notification.user_id, Notification.text).where(
                Notification.kind == "feedback_due"
            )
        ).all()
    )
    assert set(asked) == set(ids.values())
    handle = {role: f"@{user.handle}" for role, user in people.items()}
    assert asked[ids["organizer"]] == (
        f"“Group deal 7” is complete. How did it go with {handle['member']} and "
        f"{handle['supplier']}? Leave feedback."
    )
    assert f"How did it go with {handle['organizer']}?" in asked[ids["supplier"]]


def test_a_window_closes_feedback_window_days_after_the_kind_opened_it(deals, people):
    opened = utcnow() - timedelta(days=29, hours=23)
    deals.add(7, {user.id: role for role, user in people.items()}, opened)
    view = services.feedback_view(7, people["member"].id, kind=KIND)
    assert view.window_closes_at == opened + timedelta(days=30)
    deals.open(7, utcnow() - timedelta(days=30, minutes=1))
    with pytest.raises(Conflict, match="feedback window for this deal closed"):
        rate(people, "member", "organizer")


# -- reputation, profiles and the API ----------------------------------------------------------


def test_the_reputation_adapter_labels_each_rating_with_its_kind_and_id(deal, people):
    rate(people, "member", "supplier")
    (event,) = load_events()
    assert event.transaction == "testdeal:7"
    assert (event.rater_role, event.ratee_role) == ("member", "supplier")


def test_profile_and_api_list_feedback_in_the_kinds_roles_by_its_names(deal, people, client):
    rate(people, "member", "supplier", described=4)
    supplier = people["supplier"]
    page = client.get(f"/u/{supplier.handle}?feedback=supplier").get_data(as_text=True)
    assert "As a supplier" in page and "As a seller" in page  # the kind's role, and the usual
    assert "As described" in page and "Group deal 7" in page
    assert "as club member" in page  # the author's role, named by the kind

    listed = client.get(
        f"/api/v1/users/{supplier.handle}/feedback",
        query_string={"role": "supplier"},
        headers=bearer(people["member"]),
    ).json["items"]
    assert [(f["subject_kind"], f["subject_id"], f["order_id"]) for f in listed] == [
        (KIND, 7, None)
    ]
    assert (listed[0]["described"], listed[0]["subject_role"]) == (4, "supplier")

"""Recorded domain events: written with the change, consumed after commit, each consumer once,
retried by the due job until it succeeds, so nothing is lost when a process dies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.jobs.runner import run_due
from app.transactions import events
from app.transactions.events import DomainEvent, EventDelivery, record_event

HERE = "tests.integration.test_transactions_events"
CALLS: list[tuple[str, int]] = []
FAILURES_LEFT: dict[str, int] = {}


def steady(event: DomainEvent) -> None:
    CALLS.append(("steady", event.id))


def flaky(event: DomainEvent) -> None:
    CALLS.append(("flaky", event.id))
    if FAILURES_LEFT.get("flaky", 0) > 0:
        FAILURES_LEFT["flaky"] -= 1
        raise RuntimeError("mail server down")


def writes_then_fails(event: DomainEvent) -> None:
    record_event("test.echo", subject_kind="test", subject_id=event.subject_id, actor_id=None)
    raise RuntimeError("after writing")


@pytest.fixture
def consumers(app):
    """steady and flaky follow 'test.happened'; the table is restored afterwards."""
    CALLS.clear()
    FAILURES_LEFT.clear()
    added = [("test.happened", f"{HERE}:steady"), ("test.happened", f"{HERE}:flaky")]
    for name, path in added:
        events.register_consumer(name, path)
    yield
    for name, path in added:
        events.unregister_consumer(name, path)
    events.CONSUMERS.pop("test.happened", None)


def _happened(subject_id: int = 1) -> int:
    event = record_event(
        "test.happened", subject_kind="test", subject_id=subject_id, actor_id=None, payload={}
    )
    return event.id


def _deliveries(event_id: int) -> dict[str, EventDelivery]:
    db.session.expire_all()
    rows = db.session.scalars(select(EventDelivery).where(EventDelivery.event_id == event_id))
    return {row.consumer.rpartition(":")[2]: row for row in rows}


def test_placing_an_order_records_order_placed_with_the_order(order):
    recorded = db.session.scalars(
        select(DomainEvent).where(DomainEvent.subject_id == order.id)
    ).all()
    assert [e.name for e in recorded] == ["order.placed"]
    assert recorded[0].payload["seller_id"] == order.seller_id
    assert recorded[0].payload["path"] == f"/orders/{order.id}"
    assert recorded[0].actor_id == order.buyer_id


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(consumers):
    _happened()
    db.session.rollback()
    assert db.session.scalar(select(func.count(DomainEvent.id))) == 0
    assert db.session.scalar(select(func.count(EventDelivery.id))) == 0
    assert events.deliver_committed() == 0


def test_consumers_run_after_the_commit_and_not_before(consumers):
    event_id = _happened()
    assert events.deliver_committed() == 0  # not committed yet: nothing runs
    assert CALLS == []
    db.session.commit()
    assert events.deliver_committed() == 2
    assert sorted(CALLS) == [("flaky", event_id), ("steady", event_id)]
    assert {r.status for r in _deliveries(event_id).values()} == {"delivered"}


def test_an_event_committed_by_a_process_that_died_is_delivered_by_the_due_job(consumers):
    event_id = _happened()
    db.session.commit()
    db.session.remove()  # the process dies between the commit and the consumers
    assert CALLS == []
    results = run_due()
    assert results["events.deliver"] == 2
    assert sorted(CALLS) == [("flaky", event_id), ("steady", event_id)]


def test_a_failing_consumer_is_retried_with_backoff_and_the_others_are_not_rerun(consumers):
    FAILURES_LEFT["flaky"] = 2
    event_id = _happened()
    db.session.commit()
    start = utcnow()
    events.deliver_committed()
    rows = _deliveries(event_id)
    assert rows["steady"].status == "delivered"
    assert rows["flaky"].status == "pending"
    assert rows["flaky"].attempts == 1
    assert "mail server down" in rows["flaky"].last_error

    assert events.deliver_due(start) == 0  # too early: backing off
    assert events.deliver_due(start + timedelta(seconds=31)) == 0  # fails a second time
    assert _deliveries(event_id)["flaky"].attempts == 2
    # The second wait is longer than the first.
    assert events.deliver_due(start + timedelta(seconds=61)) == 0
    assert _deliveries(event_id)["flaky"].attempts == 2
    assert events.deliver_due(start + timedelta(minutes=5)) == 1
    rows = _deliveries(event_id)
    assert rows["flaky"].status == "delivered"
    assert rows["flaky"].last_error is None
    assert CALLS.count(("steady", event_id)) == 1
    assert CALLS.count(("flaky", event_id)) == 3


def test_each_consumer_runs_once_per_event_however_often_delivery_runs(consumers):
    event_id = _happened()
    db.session.commit()
    events.deliver_committed()
    run_due()
    run_due(utcnow() + timedelta(days=1))
    assert sorted(CALLS) == [("flaky", event_id), ("steady", event_id)]


def test_the_database_refuses_a_second_delivery_of_an_event_to_one_consumer(consumers):
    event_id = _happened()
    db.session.commit()
    db.session.add(EventDelivery(event_id=event_id, consumer=f"{HERE}:steady"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_failed_consumer_leaves_none_of_its_writes_behind(app):
    events.register_consumer("test.happened", f"{HERE}:writes_then_fails")
    try:
        event_id = _happened()
        db.session.commit()
        events.deliver_committed()
    finally:
        events.unregister_consumer("test.happened", f"{HERE}:writes_then_fails")
    names = db.session.scalars(select(DomainEvent.name)).all()
    assert names == ["test.happened"]  # the echo the consumer recorded was rolled back
    assert _deliveries(event_id)["writes_then_fails"].status == "pending"


def test_a_request_delivers_the_events_it_committed_before_answering(
    consumers, order, make_client, buyer
):
    events.register_consumer("message.sent", f"{HERE}:steady")
    try:
        response = make_client(buyer).post(
            f"/orders/{order.id}/messages", data={"body": "Cash on pick-up?"}
        )
    finally:
        events.unregister_consumer("message.sent", f"{HERE}:steady")
    assert response.status_code in (302, 303)
    sent = db.session.scalar(select(DomainEvent).where(DomainEvent.name == "message.sent"))
    assert list(CALLS) == [("steady", sent.id)]
    assert {r.status for r in _deliveries(sent.id).values()} == {"delivered"}


def test_every_order_step_records_order_action_in_the_same_unit_of_work(order, buyer, seller):
    from app.orders.services import transition

    transition(order.id, "mark_paid", seller.id)
    transition(order.id, "ship", seller.id, "Tracking 123")
    transition(order.id, "confirm_delivery", buyer.id)
    recorded = db.session.scalars(
        select(DomainEvent)
        .where(DomainEvent.subject_kind == "order", DomainEvent.subject_id == order.id)
        .order_by(DomainEvent.id)
    ).all()
    assert [(e.name, e.payload.get("to_state")) for e in recorded] == [
        ("order.placed", None),
        ("order.mark_paid", "paid"),
        ("order.ship", "shipped"),
        ("order.confirm_delivery", "delivered"),
        ("order.complete", "completed"),
    ]
    assert recorded[2].payload["note"] == "Tracking 123"
    assert [e.actor_id for e in recorded] == [buyer.id, seller.id, seller.id, buyer.id, None]
    events.deliver_committed()  # the completion opens the feedback window
    assert db.session.scalar(select(DomainEvent.name).order_by(DomainEvent.id.desc())) == (
        "feedback.due"
    )


def test_a_refused_step_records_no_event(order, buyer):
    from app.errors import Forbidden
    from app.orders.services import transition

    with pytest.raises(Forbidden):
        transition(order.id, "mark_paid", buyer.id)
    db.session.rollback()
    assert db.session.scalars(select(DomainEvent.name)).all() == ["order.placed"]

"""Recorded domain events: an outbox in the database, consumed after commit.

A service records what happened with `record_event(...)` in the same database transaction as
the change itself, so the event exists exactly when the change does. `CONSUMERS` maps each event
name to the consumers that follow it ("module:function" paths, loaded when first needed, so the
platform never imports the packages that follow it). Recording an event also writes one delivery
row per consumer; after the commit the request (or the job that made the change) runs them, and
the `events.deliver` due job runs whatever is still pending: a consumer that failed, or events
whose process died between the commit and the consumers. Each consumer runs once per event: its
writes commit together with its delivery row being marked delivered. With Celery on (REDIS_URL,
app/jobs/celery_app.py) the request hands its committed events to a worker instead of running
their consumers itself (`app.extensions[HAND_OFF]`).

A consumer is `fn(event: DomainEvent) -> None`. It adds rows to `db.session` and never commits
(the delivery commits them); it raises to be retried later with backoff.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

logger = logging.getLogger(__name__)

NOTIFY = "app.notifications.consumers:notify"

# Event name -> its consumers, in the order they run. One table: who follows what. (Feedback
# adds the events that open each kind's feedback window: `feedback.opens_on` of its registry entry.)
CONSUMERS: dict[str, list[str]] = {
    "order.placed": [NOTIFY],
    "order.mark_paid": [NOTIFY],
    "order.payment_received": [NOTIFY],
    "order.ship": [NOTIFY],
    "order.confirm_delivery": [NOTIFY],
    "order.cancel": [NOTIFY],
    "order.refunded": [NOTIFY],
    "order.dispute": [NOTIFY],
    "order.resolve": [NOTIFY],
    "loan.requested": [NOTIFY],
    "loan.approve": [NOTIFY],
    "loan.decline": [NOTIFY],
    "loan.expire": [NOTIFY],
    "loan.cancel": [NOTIFY],
    "loan.lapse": [NOTIFY],
    "loan.deposit_moved": [NOTIFY],
    "loan.payment_failed": [NOTIFY],
    "loan.confirm_handover": [NOTIFY],
    "loan.start": [NOTIFY],
    "loan.confirm_with_code": [NOTIFY],
    "loan.due_soon": [NOTIFY],
    "loan.overdue": [NOTIFY],
    "loan.mark_returned": [NOTIFY],
    "loan.confirm_return": [NOTIFY],
    "loan.auto_complete": [NOTIFY],
    "loan.claim_damage": [NOTIFY],
    "loan.accept_claim": [NOTIFY],
    "loan.auto_accept": [NOTIFY],
    "loan.dispute_claim": [NOTIFY],
    "loan.dispute_fee": [NOTIFY],
    "loan.withdraw_claim": [NOTIFY],
    "loan.resolve": [NOTIFY],
    "loan.kept_charge_failed": [NOTIFY],
    "club.join_requested": [NOTIFY],
    "club.approve": [NOTIFY],
    "club.decline": [NOTIFY],
    "club.remove": [NOTIFY],
    "club.promote": [NOTIFY],
    "club.demote": [NOTIFY],
    "club.make_organizer": [NOTIFY],
    "deal.propose": [NOTIFY],
    "deal.accept_terms": [NOTIFY],
    "deal.decline_terms": [NOTIFY],
    "deal.tip": [NOTIFY],
    "deal.fail": [NOTIFY],
    "deal.cancel": [NOTIFY],
    "deal.close": [NOTIFY],
    "deal.settle": [NOTIFY],
    "deal.deadline_soon": [NOTIFY],
    "pledge.charge": [NOTIFY],
    "pledge.charge_failed": [NOTIFY],
    "pledge.bill_in_person": [NOTIFY],
    "pledge.record_payment": [NOTIFY],
    "pledge.drop": [NOTIFY],
    "pledge.mark_no_show": [NOTIFY],
    "pledge.mark_delivered": [NOTIFY],
    "pledge.report_problem": [NOTIFY],
    "message.sent": [NOTIFY],
    "feedback.due": [NOTIFY],
    "feedback.revealed": [NOTIFY],
    "dispute.answered": [NOTIFY],
    "refund.proposed": [NOTIFY],
    "refund.accepted": [NOTIFY],
    "refund.declined": [NOTIFY],
    # A card network's dispute: app/disputes opens one on the payment's transaction.
    "payment.disputed": ["app.disputes.services:open_chargeback"],
}

PENDING, DELIVERED = "pending", "delivered"
# Retry after 30 s, 1, 2, 4 ... minutes, at most every hour; a consumer is retried until it works.
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
# A claimed delivery whose process died is tried again after this long.
LEASE_SECONDS = 300
BATCH = 200

_RECORDED = "events_recorded"
_COMMITTED = "events_committed"
# app.extensions key: a `fn(event_ids)` that has the events delivered elsewhere (a worker).
HAND_OFF = "mutual.events.hand_off"


class DomainEvent(db.Model):
    """Something that happened: `name` ("order.paid") to a subject (kind, id), by an actor."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deliveries: Mapped[list[EventDelivery]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<DomainEvent {self.id} {self.name} {self.subject_kind}:{self.subject_id}>"


class EventDelivery(db.Model):
    """One consumer's handling of one event: pending until it has succeeded once."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "consumer", name="uq_event_deliveries_event_consumer"),
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("domain_events.id"), index=True)
    consumer: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    event: Mapped[DomainEvent] = relationship(back_populates="deliveries")


def register_consumer(event_name: str, consumer: str) -> None:
    """Let `consumer` ("module:function") follow `event_name` from now on (idempotent)."""
    consumers = CONSUMERS.setdefault(event_name, [])
    if consumer not in consumers:
        consumers.append(consumer)


def unregister_consumer(event_name: str, consumer: str) -> None:
    """Stop `consumer` from following `event_name` (pending deliveries stay pending)."""
    consumers = CONSUMERS.get(event_name, [])
    if consumer in consumers:
        consumers.remove(consumer)


def record_event(
    name: str,
    *,
    subject_kind: str,
    subject_id: int,
    actor_id: int | None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> DomainEvent:
    """Record that `name` happened, in the caller's unit of work (flushed, not committed), with
    a pending delivery for each of its consumers."""
    now = now or utcnow()
    recorded = DomainEvent(
        name=name,
        subject_kind=subject_kind,
        subject_id=subject_id,
        actor_id=actor_id,
        payload=dict(payload or {}),
        created_at=now,
    )
    recorded.deliveries = [
        EventDelivery(consumer=consumer, status=PENDING, attempts=0, next_attempt_at=now)
        for consumer in CONSUMERS.get(name, ())
    ]
    db.session.add(recorded)
    db.session.flush()
    db.session.info.setdefault(_RECORDED, []).append(recorded.id)
    return recorded


# The ids of events recorded in the current transaction move to "committed" when it commits and
# are forgotten when it rolls back; `deliver_committed()` then runs their consumers.
@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    recorded = session.info.pop(_RECORDED, None)
    if recorded:
        session.info.setdefault(_COMMITTED, []).extend(recorded)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_RECORDED, None)


def _load(path: str) -> Callable[[DomainEvent], None]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try after `attempts` tries (exponential, capped)."""
    seconds = FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


def _run_one(delivery_id: int, now: datetime) -> bool:
    """Claim one due delivery, run its consumer, record the outcome. True when it succeeded."""
    claimed = db.session.execute(
        update(EventDelivery)
        .where(
            EventDelivery.id == delivery_id,
            EventDelivery.status == PENDING,
            EventDelivery.next_attempt_at <= now,
        )
        # The claim is a lease: another process retries only once it has run out.
        .values(
            attempts=EventDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    delivery = db.session.get(EventDelivery, delivery_id, populate_existing=True)
    try:
        _load(delivery.consumer)(delivery.event)
        delivery.status = DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        logger.exception("event %s: consumer %s failed", delivery.event_id, delivery.consumer)
        delivery = db.session.get(EventDelivery, delivery_id, populate_existing=True)
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.last_error = f"{type(error).__name__}: {error}"[:1000]
        db.session.commit()
        return False
    return True


def deliver(event_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Run the due deliveries (of these events only, when given); returns how many succeeded."""
    now = now or utcnow()
    query = select(EventDelivery.id).where(
        EventDelivery.status == PENDING, EventDelivery.next_attempt_at <= now
    )
    if event_ids is not None:
        event_ids = list(event_ids)
        if not event_ids:
            return 0
        query = query.where(EventDelivery.event_id.in_(event_ids))
    due = list(db.session.scalars(query.order_by(EventDelivery.event_id, EventDelivery.id)))
    return sum(_run_one(delivery_id, now) for delivery_id in due)


def deliver_committed() -> int:
    """Run the consumers of the events this session has committed (and of the events those
    consumers recorded in turn). Returns how many deliveries succeeded."""
    delivered = 0
    while committed := db.session.info.pop(_COMMITTED, None):
        delivered += deliver(committed)
    return delivered


def take_committed() -> list[int]:
    """Forget and return the ids of the events this session has committed, for whoever delivers
    them instead (their deliveries stay pending until then, so the due job is the safety net)."""
    return db.session.info.pop(_COMMITTED, None) or []


def deliver_due(now: datetime) -> int:
    """The due job: every pending delivery whose time has come, in batches until none is left."""
    delivered = 0
    while True:
        batch_ids = list(
            db.session.scalars(
                select(EventDelivery.id)
                .where(EventDelivery.status == PENDING, EventDelivery.next_attempt_at <= now)
                .order_by(EventDelivery.event_id, EventDelivery.id)
                .limit(BATCH)
            )
        )
        if not batch_ids:
            break
        delivered += sum(_run_one(delivery_id, now) for delivery_id in batch_ids)
    delivered += deliver_committed()
    return delivered


def init_app(app: Flask) -> None:
    """Run the consumers of a request's events once its view has committed them, or hand the
    events to a worker when one is configured."""

    @app.after_request
    def _deliver_after_request(response):
        if db.session.info.get(_COMMITTED):
            hand_off = app.extensions.get(HAND_OFF)
            try:
                if hand_off is not None:
                    hand_off(take_committed())
                else:
                    deliver_committed()
            except Exception:  # the change is committed; the due job retries the consumers
                logger.exception("delivering events after the request failed")
                db.session.rollback()
        return response

"""Notifications: who hears of what, the unread count, reading, preferences and digests."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.sql import Select

from app.accounts.models import User
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.notifications import email
from app.notifications.models import (
    CHANNELS,
    Notification,
    NotificationDigest,
    NotificationPreference,
)
from app.pagination import Page

logger = logging.getLogger(__name__)

# The kinds a person chooses a channel for, in the order the settings page shows them.
KINDS: dict[str, str] = {
    "order_placed": "New orders of your listings",
    "order_paid": "Payments",
    "order_shipped": "Shipping",
    "order_delivered": "Delivery confirmed",
    "order_cancelled": "Cancelled orders",
    "order_refunded": "Refunds",
    "loan_requested": "Requests to borrow your things",
    "loan_answered": "Answers to your loan requests",
    "loan_handover": "Handovers of loans",
    "loan_due": "Due dates and late returns",
    "loan_returned": "Returns of loans",
    "loan_claim": "Damage claims",
    "loan_cancelled": "Cancelled loans",
    "dispute": "Disputes: answers and decisions",
    "club_request": "Requests to join your clubs",
    "club_membership": "Your club memberships (answers, roles, removals)",
    "deal_terms": "Group deal terms (organizer and supplier)",
    "deal_news": "Group deals: tipped, closed, failed, reminders",
    "deal_payment": "Group deal payments",
    "deal_delivery": "Group deal deliveries and problems",
    "message": "Messages",
    "feedback_due": "Feedback to give",
    "feedback_received": "Feedback received",
    "moderation": "Moderation: outcomes of your reports, actions about you",
}
CHANNEL_LABELS = {
    "app": "In the app only",
    "email": "Also by email",
    "digest": "In a daily email digest",
}
DEFAULT_CHANNEL = "app"
DIGEST_INTERVAL = timedelta(days=1)
TEXT_MAX = 300
MAX_PAGE = 100_000


def unread_count_query(user_id: int) -> Select:
    """The count of unread_count, to run alone or beside other counts in one statement."""
    return select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )


def unread_count(user_id: int) -> int:
    """How many of this person's notifications are unread (one indexed count)."""
    return db.session.scalar(unread_count_query(user_id)) or 0


def notifications_for(
    user_id: int, *, unread_only: bool = False, page: int = 1, per_page: int = 20
) -> Page[Notification]:
    """One page of the person's notifications, newest first (only the unread ones, if asked)."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), MAX_PAGE)  # past the last page is empty, never an overflow
    items = list(
        db.session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def get_notification_for(notification_id: int, user_id: int) -> Notification:
    """The notification, if it is this person's; NotFound otherwise (never a hint)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("We could not find that notification.")
    return notification


def mark_read(notification_id: int, user_id: int) -> Notification:
    """Mark one of the person's notifications as read (reading it twice changes nothing)."""
    notification = get_notification_for(notification_id, user_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the person as read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def preferences_for(user_id: int) -> dict[str, str]:
    """{kind: channel} for every kind, the default where the person chose nothing."""
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user_id
            )
        ).all()
    )
    return {kind: chosen.get(kind, DEFAULT_CHANNEL) for kind in KINDS}


def set_preferences(user_id: int, choices: dict[str, str]) -> dict[str, str]:
    """Choose the channel of some kinds ({kind: 'app' | 'email' | 'digest'}); the others stay.
    Raises ValidationFailed for an unknown kind or channel. Returns every kind's channel."""
    errors: dict[str, list[str]] = {}
    for kind, channel in choices.items():
        if kind not in KINDS:
            errors[kind] = [f"Unknown kind; one of: {', '.join(KINDS)}."]
        elif channel not in CHANNELS:
            errors[kind] = [f"Choose one of: {', '.join(CHANNELS)}."]
    if errors:
        raise ValidationFailed("Some choices are not valid.", fields=errors)
    existing = {
        pref.kind: pref
        for pref in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    for kind, channel in choices.items():
        if kind in existing:
            existing[kind].channel = channel
        else:
            db.session.add(NotificationPreference(user_id=user_id, kind=kind, channel=channel))
    db.session.commit()
    return preferences_for(user_id)


def notify(
    recipients: list[tuple[int, str, str]],
    *,
    event_id: int,
    event_name: str,
    subject_kind: str,
    subject_id: int,
    link: str,
    now: datetime,
) -> list[Notification]:
    """Add a notification for each (user_id, kind, text) and email those who asked for it.
    Runs inside an event delivery: adds rows and sends mail, never commits."""
    notifications = [
        Notification(
            user_id=user_id,
            event_id=event_id,
            kind=kind,
            event_name=event_name,
            subject_kind=subject_kind,
            subject_id=subject_id,
            text=text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…",
            link=link,
            created_at=now,
        )
        for user_id, kind, text in recipients
    ]
    if not notifications:
        return []
    db.session.add_all(notifications)
    db.session.flush()
    users = {n.user_id for n in notifications}
    emailed = set(
        db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.kind).where(
                NotificationPreference.user_id.in_(users),
                NotificationPreference.channel == "email",
            )
        ).all()
    )
    for notification in notifications:
        if (notification.user_id, notification.kind) in emailed:
            user = db.session.get(User, notification.user_id)
            if email.send_notification(user, notification):
                notification.emailed_at = utcnow()
    return notifications


def send_digests(now: datetime) -> int:
    """The due job: email each person who chose the digest for some kind their unread, not yet
    emailed notifications of those kinds, at most once a day. Returns how many digests it sent."""
    waiting = db.session.scalars(
        select(Notification)
        .join(
            NotificationPreference,
            (NotificationPreference.user_id == Notification.user_id)
            & (NotificationPreference.kind == Notification.kind),
        )
        .where(
            NotificationPreference.channel == "digest",
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
        )
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    )
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for notification in waiting:
        by_user[notification.user_id].append(notification)
    if not by_user:
        return 0
    last_sent = dict(
        db.session.execute(
            select(NotificationDigest.user_id, func.max(NotificationDigest.sent_at))
            .where(NotificationDigest.user_id.in_(list(by_user)))
            .group_by(NotificationDigest.user_id)
        ).all()
    )
    sent = 0
    for user_id, notifications in by_user.items():
        previous = last_sent.get(user_id)
        if previous is not None and now - previous < DIGEST_INTERVAL:
            continue
        if not email.send_digest(db.session.get(User, user_id), notifications):
            continue  # not confirmed yet: the digest waits for the confirmation
        for notification in notifications:
            notification.emailed_at = now
        db.session.add(NotificationDigest(user_id=user_id, sent_at=now, count=len(notifications)))
        db.session.commit()
        sent += 1
    if sent:
        logger.info("sent %s notification digests", sent)
    return sent

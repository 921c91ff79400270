"""Conversations on any subject: send, read, unread counts and the inbox.

A conversation is about one subject (kind, id) and starts with its first message; its people
come from the subject (app/messaging/subjects.py), so this module never imports a kind.
Unread means: sent by somebody else after the reader's marker (the last message they read).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, contains_eager, joinedload
from sqlalchemy.sql import Select

from app.accounts.models import User
from app.accounts.suspension import ensure_not_suspended
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.messaging.models import Conversation, ConversationParticipant, Message
from app.messaging.subjects import Subject, describe, subject_for, subject_had_activity
from app.pagination import Page
from app.transactions.events import record_event
from app.trust import levels as trust

logger = logging.getLogger(__name__)

MAX_BODY_LENGTH = 2000
TITLE_LENGTH = 120
LATEST_MESSAGES = 50  # how many messages a conversation shows at once through the API


@dataclass
class InboxEntry:
    """One row of an inbox: a conversation, its latest message and how many are unread."""

    conversation: Conversation
    last_message: Message
    unread: int
    subject: Subject | None = None  # None when its kind no longer describes it to the viewer
    participants: list[User] = field(default_factory=list)


@dataclass
class ConversationView:
    """A conversation with a window of its messages (oldest first), as one participant sees it."""

    conversation: Conversation
    participants: list[User]
    messages: list[Message]
    has_more: bool  # older messages exist before the first one shown
    unread: int
    subject: Subject | None = None


# -- sending -------------------------------------------------------------------------------


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write a message first.", fields={"body": ["Write a message."]})
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationFailed(
            f"Messages can be at most {MAX_BODY_LENGTH} characters (this one has {len(body)}).",
            fields={"body": [f"At most {MAX_BODY_LENGTH} characters."]},
        )
    return body


def _find(subject_kind: str, subject_id: int) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(
            Conversation.subject_kind == subject_kind, Conversation.subject_id == subject_id
        )
    )


def _join(conversation: Conversation, user_ids: tuple[int, ...]) -> None:
    """Add the subject's people who are not in the conversation yet (a club grows)."""
    present = {p.user_id for p in conversation.participants}
    for user_id in user_ids:
        if user_id not in present:
            conversation.participants.append(ConversationParticipant(user_id=user_id))


def send_message(subject_kind: str, subject_id: int, sender_id: int, body: str) -> Message:
    """Send a message about a subject to everyone in it; its first message starts the
    conversation. Raises NotFound (not the sender's subject), ValidationFailed (the body)."""
    ensure_not_suspended(sender_id)
    body = _clean_body(body)
    subject = subject_for(subject_kind, subject_id, sender_id)
    trust.check_daily_messages(sender_id, partial(_sent_since, sender_id))  # new accounts
    for attempt in range(2):
        conversation = _find(subject_kind, subject_id)
        if conversation is None:
            conversation = Conversation(
                subject_kind=subject_kind,
                subject_id=subject_id,
                title=subject.title[:TITLE_LENGTH],
            )
            db.session.add(conversation)
        _join(conversation, subject.participant_ids)
        try:
            db.session.flush()
        except IntegrityError:
            # Somebody started the same conversation at this very moment: use theirs.
            db.session.rollback()
            logger.info("conversation about %s %s began twice at once", subject_kind, subject_id)
            if attempt:
                raise
            continue
        break
    return _post(conversation, sender_id, body)


def leave_conversation(subject_kind: str, subject_id: int, user_id: int) -> bool:
    """Take a person out of the conversation about a group subject they left (a club): its
    messages no longer reach them and it leaves their inbox; if they come back, the subject
    includes them again and they rejoin it. In the caller's unit of work (flushed, not
    committed); False when they were not in it."""
    result = db.session.execute(
        delete(ConversationParticipant)
        .where(
            ConversationParticipant.user_id == user_id,
            ConversationParticipant.conversation_id.in_(
                select(Conversation.id).where(
                    Conversation.subject_kind == subject_kind,
                    Conversation.subject_id == subject_id,
                )
            ),
        )
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


def send_to_conversation(conversation_id: int, sender_id: int, body: str) -> Message:
    """Send a message in a conversation the sender takes part in. Raises NotFound,
    ValidationFailed."""
    body = _clean_body(body)
    conversation = _participants_of(conversation_id, sender_id)[0].conversation
    return _post(conversation, sender_id, body)


def _post(conversation: Conversation, sender_id: int, body: str) -> Message:
    """Write the message: the one place a message is created."""
    now = utcnow()
    # Claim the conversation first: on PostgreSQL its row lock makes concurrent senders take
    # message ids in commit order, so a reader's marker never skips a message still in flight.
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_message_at=now)
        .execution_options(synchronize_session="evaluate")
    )
    message = Message(conversation_id=conversation.id, sender_id=sender_id, body=body)
    message.created_at = now
    db.session.add(message)
    subject_had_activity(conversation.subject_kind, conversation.subject_id, now)
    db.session.flush()
    recipients = sorted(p.user_id for p in conversation.participants if p.user_id != sender_id)
    record_event(
        "message.sent",
        subject_kind=conversation.subject_kind,
        subject_id=conversation.subject_id,
        actor_id=sender_id,
        payload={
            "title": conversation.title,
            "path": f"/messages/{conversation.id}",
            "conversation_id": conversation.id,
            "message_id": message.id,
            "recipient_ids": recipients,
            "excerpt": body[:140],
        },
        now=now,
    )
    db.session.commit()
    logger.info("message %s in conversation %s", message.id, conversation.id)
    return message


# -- reading -------------------------------------------------------------------------------


def _latest_id(conversation_id):
    return (
        select(func.max(Message.id))
        .where(Message.conversation_id == conversation_id)
        .scalar_subquery()
    )


def _mark_read(conversation_id: int, user_id: int, up_to=None) -> bool:
    """Move the reader's marker up to `up_to` (default: the latest message), never backwards;
    commits when it moved."""
    up_to = _latest_id(conversation_id) if up_to is None else up_to
    result = db.session.execute(
        update(ConversationParticipant)
        .where(
            ConversationParticipant.conversation_id == conversation_id,
            ConversationParticipant.user_id == user_id,
            or_(
                ConversationParticipant.last_read_message_id.is_(None),
                ConversationParticipant.last_read_message_id < up_to,
            ),
        )
        .values(last_read_message_id=up_to, last_read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        db.session.commit()
        return True
    return False


def _note_read_times(messages: list[Message], markers: list[ConversationParticipant], viewer_id):
    """Set each message's read_at as the viewer sees it: for their own, when everybody else had
    read it (the latest of their reads); for others', when the viewer read it."""
    seen = {p.user_id: (p.last_read_message_id or 0, p.last_read_at) for p in markers}
    for message in messages:
        if message.sender_id == viewer_id:
            others = [mark for user_id, mark in seen.items() if user_id != viewer_id]
            done = others and all(up_to >= message.id for up_to, _at in others)
            message.read_at = (
                max((at for _up_to, at in others if at), default=None) if done else None
            )
        else:
            up_to, at = seen.get(viewer_id, (0, None))
            message.read_at = at if up_to >= message.id else None


def _markers_about(subject_kind: str, subject_id: int):
    """The participants of the conversation about a subject, and its latest message id."""
    latest = (
        select(func.max(Message.id))
        .where(Message.conversation_id == Conversation.id)
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(ConversationParticipant, latest)
        .join(ConversationParticipant.conversation)
        .where(Conversation.subject_kind == subject_kind, Conversation.subject_id == subject_id)
        .options(contains_eager(ConversationParticipant.conversation))
    ).all()
    return [p for p, _latest in rows], (rows[0][1] if rows else None)


def thread(subject_kind: str, subject_id: int, viewer_id: int) -> list[Message]:
    """The messages about a subject, oldest first; reading them marks them read for the viewer.
    Raises NotFound for anyone the subject does not include."""
    subject = subject_for(subject_kind, subject_id, viewer_id)
    markers, latest = _markers_about(subject_kind, subject_id)
    if not markers:
        return []
    mine = next((p for p in markers if p.user_id == viewer_id), None)
    if mine is None:  # joined the subject after the conversation began
        _join(markers[0].conversation, subject.participant_ids)
        db.session.commit()
        markers, latest = _markers_about(subject_kind, subject_id)
        mine = next(p for p in markers if p.user_id == viewer_id)
    # Mark what exists now, then show it: every message marked read is on the page.
    is_behind = latest is not None and (mine.last_read_message_id or 0) < latest
    if is_behind and _mark_read(mine.conversation_id, viewer_id, latest):
        markers, _latest = _markers_about(subject_kind, subject_id)
    conversation_id = markers[0].conversation_id
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id)
            .options(joinedload(Message.sender))
        )
    )
    _note_read_times(messages, markers, viewer_id)
    return messages


def _participants_of(conversation_id: int, viewer_id: int) -> list[ConversationParticipant]:
    """Everyone in the conversation, users loaded; NotFound unless the viewer is one of them."""
    people = list(
        db.session.scalars(
            select(ConversationParticipant)
            .where(ConversationParticipant.conversation_id == conversation_id)
            .options(
                joinedload(ConversationParticipant.user),
                joinedload(ConversationParticipant.conversation),
            )
            .order_by(ConversationParticipant.joined_at, ConversationParticipant.user_id)
        )
    )
    if viewer_id not in {p.user_id for p in people}:
        raise NotFound("We could not find that conversation.")
    return people


def conversation_view(
    conversation_id: int,
    viewer_id: int,
    *,
    limit: int = LATEST_MESSAGES,
    before_id: int | None = None,
) -> ConversationView:
    """A conversation with its latest `limit` messages (older than `before_id`, if given),
    oldest first. Reading does not mark anything read: mark_read does. Raises NotFound."""
    people = _participants_of(conversation_id, viewer_id)
    conversation = people[0].conversation
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    window = list(
        db.session.scalars(
            query.order_by(Message.id.desc()).limit(limit + 1).options(joinedload(Message.sender))
        )
    )
    messages = list(reversed(window[:limit]))
    _note_read_times(messages, people, viewer_id)
    subject = describe(conversation.subject_kind, [conversation.subject_id], viewer_id)
    return ConversationView(
        conversation=conversation,
        participants=[p.user for p in people],
        messages=messages,
        has_more=len(window) > limit,
        unread=_unread_in(conversation_id, viewer_id),
        subject=subject.get(conversation.subject_id),
    )


def mark_read(conversation_id: int, viewer_id: int) -> ConversationView:
    """Mark the whole conversation read for the viewer; answers it as they now see it."""
    _participants_of(conversation_id, viewer_id)
    _mark_read(conversation_id, viewer_id)
    return conversation_view(conversation_id, viewer_id)


# -- unread counts -------------------------------------------------------------------------


def _unread_condition(user_id: int):
    return and_(
        Message.conversation_id == ConversationParticipant.conversation_id,
        ConversationParticipant.user_id == user_id,
        Message.sender_id != user_id,
        Message.id > func.coalesce(ConversationParticipant.last_read_message_id, 0),
    )


def _unread_in(conversation_id: int, user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Message.id))
            .join(ConversationParticipant, _unread_condition(user_id))
            .where(Message.conversation_id == conversation_id)
        )
        or 0
    )


def unread_count_query(user_id: int) -> Select:
    """The count of unread_count, to run alone or beside other counts in one statement."""
    return select(func.count(Message.id)).join(ConversationParticipant, _unread_condition(user_id))


def unread_count(user_id: int) -> int:
    """How many messages in all of this user's conversations they have not read yet."""
    return db.session.scalar(unread_count_query(user_id)) or 0


def unread_by_subject(user_id: int, subject_kind: str, subject_ids: list[int]) -> dict[int, int]:
    """Unread messages for this user per subject of one kind ({subject_id: n}), e.g. for a page
    of orders."""
    if not subject_ids:
        return {}
    rows = db.session.execute(
        select(Conversation.subject_id, func.count(Message.id))
        .join(ConversationParticipant, _unread_condition(user_id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.subject_kind == subject_kind, Conversation.subject_id.in_(subject_ids))
        .group_by(Conversation.subject_id)
    )
    return {subject_id: count for subject_id, count in rows}


# -- the inbox -----------------------------------------------------------------------------


def inbox(
    user_id: int,
    page: int = 1,
    per_page: int = 20,
    *,
    subject_kind: str | None = None,
    with_participants: bool = False,
) -> Page[InboxEntry]:
    """One page of the user's conversations (optionally about one kind of subject), latest
    activity first, each with its latest message and the user's unread count. A fixed number
    of statements however long the inbox: one for the page (its total by a window function),
    one per kind of subject on it, and one for the people when asked."""
    me = aliased(ConversationParticipant)
    latest = aliased(Message)
    unread = (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.sender_id != user_id,
            Message.id > func.coalesce(me.last_read_message_id, 0),
        )
        .correlate(Conversation, me)
        .scalar_subquery()
    )
    latest_id = (
        select(func.max(Message.id))
        .where(Message.conversation_id == Conversation.id)
        .correlate(Conversation)
        .scalar_subquery()
    )
    query = (
        select(Conversation, latest, unread.label("unread"), func.count().over().label("total"))
        .join(me, and_(me.conversation_id == Conversation.id, me.user_id == user_id))
        .join(latest, latest.id == latest_id)
        .options(joinedload(latest.sender))
    )
    if subject_kind is not None:
        query = query.where(Conversation.subject_kind == subject_kind)
    rows = db.session.execute(
        query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if rows:
        total = rows[0].total
    else:  # past the last page: the window had no rows to count
        total = (
            db.session.scalar(
                select(func.count()).select_from(
                    query.with_only_columns(Conversation.id).subquery()
                )
            )
            or 0
        )
    entries = [InboxEntry(conversation=c, last_message=m, unread=n) for c, m, n, _total in rows]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.conversation.subject_kind].append(entry.conversation.subject_id)
    subjects = {kind: describe(kind, ids, user_id) for kind, ids in by_kind.items()}
    for entry in entries:
        c = entry.conversation
        entry.subject = subjects[c.subject_kind].get(c.subject_id)
    if with_participants and entries:
        people: dict[int, list[User]] = defaultdict(list)
        for participant in db.session.scalars(
            select(ConversationParticipant)
            .where(
                ConversationParticipant.conversation_id.in_([e.conversation.id for e in entries])
            )
            .options(joinedload(ConversationParticipant.user))
            .order_by(ConversationParticipant.joined_at, ConversationParticipant.user_id)
        ):
            people[participant.conversation_id].append(participant.user)
        for entry in entries:
            entry.participants = people[entry.conversation.id]
    return Page(items=entries, page=page, per_page=per_page, total=total)


def _sent_since(sender_id: int, since: datetime) -> tuple[int, datetime | None]:
    """How many messages the member sent since `since`, and when the oldest of them was (the
    daily allowance of a new account, app/trust/levels.py)."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Message.created_at)).where(
            Message.sender_id == sender_id, Message.created_at >= since
        )
    ).one()
    return count, oldest

"""Reviews: two-way, double-blind feedback between the parties of any kind of transaction, and
reputation summaries.

Each kind declares in its registry entry (`feedback`, app/transactions/registry.py) which
roles rate which, the detail ratings of each pair and when its feedback window opens. A
feedback is unique per (transaction, author, person rated). Double-blind per pair: a feedback
stays hidden (revealed_at NULL) until the person rated has rated its author back, or the
transaction's feedback window has closed (a rating the kind allows in one direction only has
nothing to wait for). Until then only its author may see it; the person rated learns nothing
about it, not even that it exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.accounts.suspension import ensure_not_suspended
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.reviews import reputation
from app.reviews.kinds import FeedbackKind, Rateable, RatingPair, feedback_kind
from app.reviews.models import RATINGS, Feedback
from app.transactions.events import DomainEvent, record_event

logger = logging.getLogger(__name__)

COMMENT_MAX = 1000
REPLY_MAX = 500
DETAIL_RANGE = range(1, 6)
ALREADY_REPLIED = "You have already replied to this feedback."


def already_left(noun: str) -> str:
    return f"You have already left feedback for this {noun}."


@dataclass
class PairFeedback:
    """The viewer and one other party: what each wrote about the other, and what may be done."""

    other: User
    other_role: str
    mine: Feedback | None  # the viewer's feedback about `other`
    theirs: Feedback | None  # other's feedback about the viewer: None until revealed
    can_leave: bool
    is_waiting_for_other: bool
    can_reply: bool  # the viewer may reply to `theirs`
    detail_fields: tuple[tuple[str, str], ...]  # (slot, label) of the ratings the viewer gives


@dataclass
class FeedbackView:
    """What one party of a transaction may see and do about its feedback, pair by pair.

    The pair attributes (can_leave, mine, theirs, ...) answer for the first pair: a two-party
    transaction such as an order has exactly one.
    """

    kind: str
    subject_id: int
    window_closes_at: datetime | None
    viewer_role: str | None = None
    pairs: list[PairFeedback] = field(default_factory=list)
    path: str = ""  # the transaction's page
    form_path: str = ""  # where its feedback form posts ("": /feedback/<kind>/<id>)
    noun: str = "transaction"  # what pages call it: "order"
    not_open: str = ""  # why nobody can rate yet, while the window is not open

    def _first(self, name: str, default=None):
        return getattr(self.pairs[0], name) if self.pairs else default

    can_leave = property(lambda self: self._first("can_leave", False))
    mine = property(lambda self: self._first("mine"))
    theirs = property(lambda self: self._first("theirs"))
    is_waiting_for_other = property(lambda self: self._first("is_waiting_for_other", False))
    can_reply = property(lambda self: self._first("can_reply", False))
    other = property(lambda self: self._first("other"))
    detail_fields = property(lambda self: self._first("detail_fields", ()))

    @property
    def subject_role(self) -> str | None:
        """The role of the party the viewer rates (of the first pair)."""
        return self._first("other_role")


def _window_days() -> timedelta:
    return timedelta(days=current_app.config["FEEDBACK_WINDOW_DAYS"])


def window_closes_at(opened_at: datetime | None) -> datetime | None:
    """When a feedback window that opened at `opened_at` closes (None while not open)."""
    return None if opened_at is None else opened_at + _window_days()


def _clean_details(
    pair: RatingPair, described: int | None, communication: int | None, speed: int | None
) -> dict[str, int | None]:
    given = {"described": described, "communication": communication, "speed": speed}
    allowed = {name for name, _label in pair.details}
    errors: dict[str, list[str]] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in allowed:
            errors[name] = [f"This rating does not apply to a {pair.subject_role}."]
        elif isinstance(value, bool) or not isinstance(value, int) or value not in DETAIL_RANGE:
            errors[name] = ["Choose a rating from 1 to 5, or skip it."]
    if errors:
        raise ValidationFailed("Detailed ratings go from 1 to 5.", fields=errors)
    return given


def _clean_feedback(rating: str, comment: str | None) -> tuple[str, str]:
    comment = (comment or "").strip()
    errors: dict[str, list[str]] = {}
    if rating not in RATINGS:
        errors["rating"] = ["Choose positive, neutral or negative."]
    elif rating != "positive" and not comment:
        errors["comment"] = ["Please say in a few words what went wrong."]
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"Keep the comment to {COMMENT_MAX} characters or fewer."]
    if errors:
        message = next(iter(errors.values()))[0]
        raise ValidationFailed(message, fields=errors)
    return rating, comment


def _feedback_by(kind: str, subject_id: int, author_id: int, rated_id: int) -> Feedback | None:
    return db.session.scalar(
        select(Feedback).where(
            Feedback.subject_kind == kind,
            Feedback.subject_id == subject_id,
            Feedback.author_id == author_id,
            Feedback.subject_user_id == rated_id,
        )
    )


def _whom(
    registered: FeedbackKind, rateable: Rateable, author_id: int, about: int | None
) -> tuple[int, RatingPair]:
    """The person the author rates (and how): `about`, or the only one the author may rate."""
    targets = registered.rated_by(rateable, author_id)
    if about is not None:
        targets = [target for target in targets if target[0] == about]
    if len(targets) == 1:
        return targets[0]
    message = (
        "Choose whom you are rating."
        if targets
        else f"You cannot rate them on this {registered.noun}."
    )
    raise ValidationFailed(message, fields={"about": [message]})


def leave_feedback(
    subject_id: int,
    author_id: int,
    rating: str,
    comment: str = "",
    described: int | None = None,
    communication: int | None = None,
    speed: int | None = None,
    *,
    kind: str = "order",
    about: int | None = None,
    now: datetime | None = None,
) -> Feedback:
    """Rate another party of a transaction (`kind`, `subject_id`), once per person rated, within
    the feedback window. `about` is the person rated; it may be left out when the author rates
    only one person there (both sides of an order). `now`: when it is written, for seeding a
    history; default the present.

    Raises NotFound (not a party), Conflict (window not open or closed, already rated),
    ValidationFailed (bad rating, comment, details or person rated).
    """
    ensure_not_suspended(author_id)
    registered = feedback_kind(kind)
    # The kind locks the transaction's row (FOR UPDATE on PostgreSQL): of two parties rating
    # each other at once, the second always sees the first and reveals both.
    rateable = registered.load([subject_id], True).get(subject_id)
    author_role = rateable.parties.get(author_id) if rateable is not None else None
    if rateable is None or author_role is None:
        raise NotFound(registered.not_found)
    if rateable.opens_at is None:
        raise Conflict(registered.not_open)
    now = now or utcnow()
    closes_at = window_closes_at(rateable.opens_at)
    if now >= closes_at:
        raise Conflict(
            f"The feedback window for this {registered.noun} closed on {closes_at:%b %-d, %Y}."
        )
    rated_id, pair = _whom(registered, rateable, author_id, about)
    if _feedback_by(kind, subject_id, author_id, rated_id) is not None:
        raise Conflict(already_left(registered.noun))
    rating, comment = _clean_feedback(rating, comment)
    details = _clean_details(pair, described, communication, speed)

    feedback = Feedback(
        subject_kind=kind,
        subject_id=subject_id,
        author_id=author_id,
        subject_user_id=rated_id,
        author_role=author_role,
        subject_role=pair.subject_role,
        rating=rating,
        comment=comment,
        detail_described=details["described"],
        detail_communication=details["communication"],
        detail_speed=details["speed"],
        title=rateable.title[:120],
        amount_cents=rateable.amount_cents,
        currency=rateable.currency,
        created_at=now,
    )
    try:
        db.session.add(feedback)
        db.session.flush()
        other = _feedback_by(kind, subject_id, rated_id, author_id)
        if other is not None or registered.pair(pair.subject_role, author_role) is None:
            # The second rating of the pair lifts the blind for both, in this unit of work (a
            # rating nobody can answer has nothing to wait for).
            feedback.revealed_at = now
            revealed = [feedback]
            if other is not None and other.revealed_at is None:
                other.revealed_at = now
                revealed.append(other)
            _record_reveals(registered, {subject_id: rateable}, revealed, now)
        db.session.commit()
    except IntegrityError:
        # Two submissions from the same author raced past the check: the UNIQUE constraint won.
        db.session.rollback()
        raise Conflict(already_left(registered.noun)) from None
    logger.info(
        "feedback %s left on %s %s by user %s (revealed=%s)",
        feedback.id,
        kind,
        subject_id,
        author_id,
        feedback.is_revealed,
    )
    if feedback.is_revealed:
        # Both ratings of the pair count from now on: the two parties' scores move at once.
        reputation.refresh_after_reveal([feedback.author_id, feedback.subject_user_id])
    return feedback


def reply_to_feedback(feedback_id: int, author_id: int, text: str) -> Feedback:
    """The person rated answers a revealed feedback, once.

    Raises NotFound (missing, or hidden from this user), Forbidden (not the person rated),
    Conflict (already replied), ValidationFailed (empty or too long).
    """
    ensure_not_suspended(author_id)
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or (not feedback.is_revealed and author_id != feedback.author_id):
        raise NotFound("Feedback not found.")
    if author_id != feedback.subject_user_id:
        raise Forbidden("Only the person who was rated can reply.")
    if feedback.reply is not None:
        raise Conflict(ALREADY_REPLIED)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write a reply first.", fields={"reply": ["Write a reply first."]})
    if len(text) > REPLY_MAX:
        message = f"Keep the reply to {REPLY_MAX} characters or fewer."
        raise ValidationFailed(message, fields={"reply": [message]})
    # Conditional update: of two replies sent at once, only one finds reply still NULL.
    result = db.session.execute(
        update(Feedback)
        .where(Feedback.id == feedback.id, Feedback.reply.is_(None))
        .values(reply=text, reply_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(ALREADY_REPLIED)
    db.session.commit()
    db.session.refresh(feedback)
    return feedback


def _load_one(registered: FeedbackKind, subject_id: int) -> Rateable | None:
    return registered.load([subject_id], False).get(subject_id)


def transaction_path(kind: str, subject_id: int) -> str:
    """The page of a transaction (NotFound for an unknown kind or transaction)."""
    registered = feedback_kind(kind)
    rateable = _load_one(registered, subject_id)
    if rateable is None:
        raise NotFound(registered.not_found)
    return rateable.path


def window_of(kind: str, subject_id: int) -> datetime | None:
    """When the feedback window of a transaction closes (None while it is not open)."""
    rateable = _load_one(feedback_kind(kind), subject_id)
    return window_closes_at(rateable.opens_at) if rateable is not None else None


def feedback_view(subject_id: int, viewer_id: int | None, *, kind: str = "order") -> FeedbackView:
    """What `viewer_id` may see and do about the feedback of a transaction (nothing if not a
    party), pair by pair: one pair per other party the viewer rates or is rated by."""
    views = feedback_views([subject_id], viewer_id, kind=kind)
    if subject_id not in views:
        raise NotFound(feedback_kind(kind).not_found)
    return views[subject_id]


def feedback_views(
    subject_ids: Iterable[int], viewer_id: int | None, *, kind: str = "order"
) -> dict[int, FeedbackView]:
    """feedback_view for many transactions of one kind at once (a deal's pledges), in a fixed
    number of statements however many there are; a transaction that does not exist is left
    out."""
    registered = feedback_kind(kind)
    ids = list(dict.fromkeys(subject_ids))
    rateables = registered.load(ids, False) if ids else {}
    views: dict[int, FeedbackView] = {}
    wanted: dict[int, list[tuple[int, str]]] = {}
    for subject_id in ids:
        rateable = rateables.get(subject_id)
        if rateable is None:
            continue
        role = rateable.parties.get(viewer_id) if viewer_id is not None else None
        views[subject_id] = FeedbackView(
            kind,
            subject_id,
            window_closes_at(rateable.opens_at),
            role,
            path=rateable.path,
            form_path=rateable.form_path,
            noun=registered.noun,
            not_open=registered.not_open,
        )
        if role is not None:
            wanted[subject_id] = [
                (user_id, other_role)
                for user_id, other_role in rateable.parties.items()
                if user_id != viewer_id
                and (registered.pair(role, other_role) or registered.pair(other_role, role))
            ]
    if not wanted:
        return views
    written = {
        (feedback.subject_id, feedback.author_id, feedback.subject_user_id): feedback
        for feedback in db.session.scalars(
            select(Feedback).where(
                Feedback.subject_kind == kind,
                Feedback.subject_id.in_(list(wanted)),
                or_(Feedback.author_id == viewer_id, Feedback.subject_user_id == viewer_id),
            )
        )
    }
    other_ids = {user_id for others in wanted.values() for user_id, _role in others}
    people = {
        user.id: user for user in db.session.scalars(select(User).where(User.id.in_(other_ids)))
    }
    now = utcnow()
    for subject_id, others in wanted.items():
        view = views[subject_id]
        is_open = view.window_closes_at is not None and now < view.window_closes_at
        for other_id, other_role in others:
            pair = registered.pair(view.viewer_role, other_role)
            mine = written.get((subject_id, viewer_id, other_id))
            hidden_or_theirs = written.get((subject_id, other_id, viewer_id))
            theirs = hidden_or_theirs if hidden_or_theirs and hidden_or_theirs.is_revealed else None
            view.pairs.append(
                PairFeedback(
                    other=people.get(other_id),
                    other_role=other_role,
                    mine=mine,
                    theirs=theirs,
                    can_leave=is_open and pair is not None and mine is None,
                    is_waiting_for_other=mine is not None and not mine.is_revealed,
                    can_reply=theirs is not None and theirs.reply is None,
                    detail_fields=pair.details if pair is not None else (),
                )
            )
    return views


def received_feedback(user_id: int, role: str | None = None, limit: int = 20) -> list[Feedback]:
    """Revealed feedback about this user (optionally only in one role), newest first."""
    query = select(Feedback).where(
        Feedback.subject_user_id == user_id, Feedback.revealed_at.is_not(None)
    )
    if role is not None:
        query = query.where(Feedback.subject_role == role)
    query = query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(limit)
    return list(db.session.scalars(query.options(selectinload(Feedback.author))))


def withhold_feedback(feedback_id: int, is_withheld: bool) -> int | None:
    """A moderator hid or removed the feedback (or it was restored): it stops (or starts
    again) counting in reputation. In the caller's unit of work; returns the person rated
    when anything changed, whose scores the caller refreshes after its commit."""
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.is_withheld == is_withheld:
        return None
    feedback.is_withheld = is_withheld
    return feedback.subject_user_id


def reputation_summary(user_id: int) -> dict:
    """The engine's scores of a user: {"overall": block, "roles": {role: block}}.

    A block has feedback_score, percent_positive (12 months, None without data), positive,
    neutral, negative, trust (0..1, None when never rated), confidence (0..1), flags and
    explanation ([{"name", "impact", "description"}]). Seller and buyer are always present;
    other roles appear once the user has been rated in them.
    """
    return reputation.summary(user_id)


def reveal_expired(now: datetime) -> int:
    """Reveal every hidden feedback whose transaction's window has closed; returns how many."""
    cutoff = now - _window_days()
    hidden: dict[str, set[int]] = {}
    for kind, subject_id in db.session.execute(
        select(Feedback.subject_kind, Feedback.subject_id)
        .where(Feedback.revealed_at.is_(None))
        .distinct()
    ):
        hidden.setdefault(kind, set()).add(subject_id)
    revealed = 0
    for kind, ids in sorted(hidden.items()):
        # The kind says when each window opened (an order: when it was completed).
        closed = [
            rateable.id
            for rateable in feedback_kind(kind).load(sorted(ids), False).values()
            if rateable.opens_at is not None and rateable.opens_at <= cutoff
        ]
        if closed:
            revealed += db.session.execute(
                update(Feedback)
                .where(
                    Feedback.revealed_at.is_(None),
                    Feedback.subject_kind == kind,
                    Feedback.subject_id.in_(closed),
                )
                .values(revealed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
    rows = []
    if revealed:
        rows = list(
            db.session.scalars(
                select(Feedback)
                .where(Feedback.revealed_at == now)
                .order_by(Feedback.subject_kind, Feedback.subject_id, Feedback.id)
            )
        )
        by_kind: dict[str, list[Feedback]] = {}
        for row in rows:
            by_kind.setdefault(row.subject_kind, []).append(row)
        for kind, feedback in by_kind.items():
            registered = feedback_kind(kind)
            rateables = registered.load(sorted({f.subject_id for f in feedback}), False)
            _record_reveals(registered, rateables, feedback, now)
    db.session.commit()
    if revealed:
        logger.info("revealed %s feedback after their window closed", revealed)
        parties = {user_id for row in rows for user_id in (row.author_id, row.subject_user_id)}
        reputation.refresh_after_reveal(parties, now)
    return revealed


def _record_reveals(
    registered: FeedbackKind,
    rateables: dict[int, Rateable],
    revealed: Iterable[Feedback],
    now: datetime,
) -> None:
    """Record `feedback.revealed` for each transaction with feedback its subjects may now see:
    its payload's `revealed` lists [author, person rated] of each."""
    pairs: dict[int, list[list[int]]] = {}
    for feedback in revealed:
        pairs.setdefault(feedback.subject_id, []).append(
            [feedback.author_id, feedback.subject_user_id]
        )
    for subject_id in sorted(pairs):
        rateable = rateables.get(subject_id)
        if rateable is None:
            continue
        order = list(rateable.parties)  # the kind's order of its parties, for the notices
        record_event(
            "feedback.revealed",
            subject_kind=registered.kind,
            subject_id=subject_id,
            actor_id=None,
            payload={"title": rateable.title}
            | rateable.payload
            | {
                "path": f"{rateable.path}#feedback",
                "revealed": sorted(pairs[subject_id], key=lambda p: order.index(p[1])),
            },
            now=now,
        )


def open_feedback_window(event: DomainEvent) -> None:
    """Event consumer (of the events each kind says open its window, e.g. order.complete):
    record `feedback.due` for the parties, with who rates whom and when the window closes."""
    registered = feedback_kind(event.subject_kind)
    rateable = _load_one(registered, event.subject_id)
    if rateable is None or rateable.opens_at is None:
        return
    raters = [
        [author_id, rated_id]
        for author_id in rateable.parties
        for rated_id, _pair in registered.rated_by(rateable, author_id)
    ]
    record_event(
        "feedback.due",
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        actor_id=None,
        payload={"title": rateable.title}
        | rateable.payload
        | event.payload
        | {
            "path": f"{rateable.path}#feedback",
            "closes_at": window_closes_at(rateable.opens_at).isoformat(),
            "raters": raters,
        },
    )

"""The adapter between revealed feedback and the reputation engine (`reputation/`).

Every score Mutual shows comes from the engine: this module turns REVEALED feedback rows into
`RatingEvent`s, runs `reputation.compute` over all of them and stores what it returns
(ReputationScore per user and role, one ReputationSnapshot per user, role and day for the
chart). Hidden feedback never reaches the engine, so double-blind holds in the scores too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, func, insert, select, text

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.reviews.badges import (
    Badge,
    RoleStanding,
    TrustChart,
    confidence_level,
    earned_badges,
    trust_chart,
)
from app.reviews.models import Feedback, ReputationRun, ReputationScore, ReputationSnapshot
from reputation import (
    FLAG_NEW,
    FLAG_RING,
    FLAG_SYBIL,
    FLAG_SYBIL_PRAISE,
    EngineConfig,
    RatingEvent,
    ReputationEngine,
    Score,
    compute,
)

logger = logging.getLogger(__name__)

OVERALL = "overall"
PHASES = ("load", "score", "store")
# Roles shown first, in this order; any other role a user was rated in follows.
MAIN_ROLES = ("seller", "buyer")
ENGINE_CONFIG = EngineConfig()
_PASS_LOCK = 4_741_200  # pg_advisory_xact_lock key: one reputation pass at a time
_CHUNK = 5_000
FLAG_LABELS = {
    FLAG_NEW: "New account",
    FLAG_SYBIL: "Suspected fake account",
    FLAG_SYBIL_PRAISE: "Praised by suspected fake accounts",
    FLAG_RING: "Mutual-praise ring",
}

_EVENT_COLUMNS = (
    Feedback.author_id,
    Feedback.subject_user_id,
    Feedback.author_role,
    Feedback.subject_role,
    Feedback.rating,
    Feedback.created_at,
    Feedback.amount_cents,
    Feedback.subject_kind,
    Feedback.subject_id,
)


@dataclass(frozen=True)
class RecomputeSummary:
    """What one full pass did."""

    events: int
    users: int
    scores: int
    snapshots: int
    duration_ms: int
    computed_at: datetime


def feedback_event(
    author_id: int,
    subject_id: int,
    author_role: str,
    subject_role: str,
    rating: str,
    created_at: datetime,
    amount_cents: int | None,
    kind: str,
    transaction_id: int,
) -> RatingEvent:
    """One revealed feedback row as the engine's rating event, labelled with its transaction
    as "kind:id" ("order:12"): the engine counts one rating per rater, ratee and transaction."""
    return RatingEvent.from_label(
        rating,
        author_id,
        subject_id,
        created_at,
        rater_role=author_role,
        ratee_role=subject_role,
        amount_cents=amount_cents,
        transaction=f"{kind}:{transaction_id}",
    )


def load_events(subject_ids: Iterable[int] | None = None) -> list[RatingEvent]:
    """Every revealed feedback (optionally only about these users) as rating events."""
    query = select(*_EVENT_COLUMNS).where(Feedback.revealed_at.is_not(None))
    if subject_ids is not None:
        query = query.where(Feedback.subject_user_id.in_(list(subject_ids)))
    return [feedback_event(*row) for row in db.session.execute(query)]


def _lock_pass() -> None:
    # Two passes at once would each delete and re-insert every row; on PostgreSQL the second
    # waits here, then loads (and so sees) everything the first one wrote. SQLite serialises
    # writers anyway.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PASS_LOCK})


def _counts_json(score: Score) -> dict[str, list[int]]:
    return {str(c.months): [c.positive, c.neutral, c.negative] for c in score.counts}


def _score_row(score: Score, computed_at: datetime) -> dict:
    return {
        "user_id": score.user,
        "role": score.role or OVERALL,
        "trust": round(score.trust, 6),
        "confidence": round(score.confidence, 6),
        "feedback_score": score.feedback_score,
        "percent_positive": score.percent_positive,
        "positive": score.positive,
        "neutral": score.neutral,
        "negative": score.negative,
        "counts": _counts_json(score),
        "flags": sorted(score.flags),
        "explanation": [
            {"name": f.name, "impact": round(f.impact, 4), "description": f.description}
            for f in score.explanation
        ],
        "computed_at": computed_at,
    }


def _insert_chunks(model: type, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK):
        db.session.execute(insert(model), rows[start : start + _CHUNK])


def recompute_all(
    now: datetime | None = None, progress: Callable[[str], None] | None = None
) -> RecomputeSummary:
    """Score every user from every revealed feedback and store the scores and today's snapshot.

    `progress(phase)` is called after each of PHASES. Commits.
    """
    started = time.perf_counter()
    now = now or utcnow()
    report = progress or (lambda _phase: None)
    _lock_pass()
    events = load_events()
    report("load")
    table = compute(events, ENGINE_CONFIG, now=now)
    scores = [*table, *table.role_scores()]
    report("score")
    rows = [_score_row(score, now) for score in scores]
    snapshots = _store(rows, now.date())
    duration_ms = round((time.perf_counter() - started) * 1000)
    users = len({row["user_id"] for row in rows})
    db.session.add(
        ReputationRun(events=len(events), users=users, duration_ms=duration_ms, computed_at=now)
    )
    db.session.commit()
    report("store")
    logger.info(
        "reputation pass: %s events, %s users, %s scores in %s ms",
        len(events),
        users,
        len(rows),
        duration_ms,
    )
    return RecomputeSummary(len(events), users, len(rows), snapshots, duration_ms, now)


def _store(rows: list[dict], day: date, user_ids: list[int] | None = None) -> int:
    """Replace the stored scores (all, or those of `user_ids`) and that day's snapshots."""
    snapshots = [
        {
            "user_id": row["user_id"],
            "role": row["role"],
            "day": day,
            "trust": row["trust"],
            "confidence": row["confidence"],
            "feedback_score": row["feedback_score"],
        }
        for row in rows
        if row["positive"] + row["neutral"] + row["negative"] > 0
    ]
    old_scores = delete(ReputationScore)
    old_snapshots = delete(ReputationSnapshot).where(ReputationSnapshot.day == day)
    if user_ids is not None:
        old_scores = old_scores.where(ReputationScore.user_id.in_(user_ids))
        old_snapshots = old_snapshots.where(ReputationSnapshot.user_id.in_(user_ids))
    db.session.execute(old_scores)
    _insert_chunks(ReputationScore, rows)
    db.session.execute(old_snapshots)
    _insert_chunks(ReputationSnapshot, snapshots)
    return len(snapshots)


def refresh_users(user_ids: Iterable[int], now: datetime | None = None) -> int:
    """Score everybody, but store only these users' scores: exact and fast for one reveal.

    The engine itself takes milliseconds; writing every member's rows does not. Everyone
    else's scores (which a new rating moves only slightly, through rater credibility) are
    rewritten by the next full pass, which the due job runs since feedback was revealed.
    Returns how many score rows were written. Commits.
    """
    now = now or utcnow()
    ids = sorted(set(user_ids))
    _lock_pass()
    events = load_events()
    table = compute(events, ENGINE_CONFIG, now=now)
    wanted = set(ids)
    known = [user_id for user_id in ids if user_id in table.user_index]
    roles = sorted({(e.ratee, e.ratee_role) for e in events if e.ratee in wanted})
    scores = [table.get(user_id) for user_id in known]
    scores += [table.get(user_id, role) for user_id, role in roles]
    rows = [_score_row(score, now) for score in scores]
    _store(rows, now.date(), ids)
    db.session.commit()
    return len(rows)


def update_counts(user_ids: Iterable[int], now: datetime | None = None) -> int:
    """Bring the feedback counts of these users up to date at once, without a full pass.

    The incremental engine over their own received ratings gives exact counts; trust,
    confidence and explanation keep their last full pass until the periodic job runs. Commits.
    """
    now = now or utcnow()
    ids = sorted(set(user_ids))
    events = load_events(ids) if ids else []
    engine = ReputationEngine(ENGINE_CONFIG, events)
    roles = {(e.ratee, e.ratee_role) for e in events}
    stored = {
        (row.user_id, row.role): row
        for row in db.session.scalars(
            select(ReputationScore).where(ReputationScore.user_id.in_(ids))
        )
    }
    wanted = {(user_id, None) for user_id in ids} | roles
    for user_id, role in sorted(wanted, key=lambda k: (k[0], k[1] or "")):
        fb = engine.feedback(user_id, role, now)
        row = stored.get((user_id, role or OVERALL))
        if row is None:
            # No full pass has seen this user yet: a newcomer's trust until the next one.
            row = ReputationScore(
                user_id=user_id,
                role=role or OVERALL,
                trust=(ENGINE_CONFIG.prior_goodness + 1) / 2,
                confidence=0.0,
                flags=[],
                explanation=[
                    {
                        "name": "not scored yet",
                        "impact": 0.0,
                        "description": "Counts are up to date; trust is worked out in the "
                        "next reputation pass.",
                    }
                ],
                computed_at=now,
            )
            db.session.add(row)
        row.feedback_score = fb.feedback_score
        row.percent_positive = fb.percent_positive
        row.positive, row.neutral, row.negative = fb.positive, fb.neutral, fb.negative
        row.counts = {str(c.months): [c.positive, c.neutral, c.negative] for c in fb.counts}
    db.session.commit()
    return len(wanted)


def revealed_count() -> int:
    """How many feedback rows are revealed (what a full pass has to read)."""
    return db.session.scalar(
        select(func.count(Feedback.id)).where(Feedback.revealed_at.is_not(None))
    )


def refresh_after_reveal(user_ids: Iterable[int], now: datetime | None = None) -> None:
    """Make the scores of users whose feedback was just revealed fresh at once.

    Up to REPUTATION_SYNC_LIMIT revealed ratings the engine scores everybody and these users'
    scores are stored at once; above it only their counts are updated. Either way the due
    job's next full pass rewrites every score. Never raises: the feedback is already
    committed, and the due job repairs a failed refresh.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    try:
        if revealed_count() <= current_app.config["REPUTATION_SYNC_LIMIT"]:
            refresh_users(ids, now)
        else:
            update_counts(ids, now)
    except Exception:
        db.session.rollback()
        logger.exception("reputation refresh after reveal failed for users %s", ids)


def last_pass_at() -> datetime | None:
    """When the last full pass ran (None if never)."""
    return db.session.scalar(select(func.max(ReputationRun.computed_at)))


def is_recompute_due(now: datetime) -> bool:
    """A pass is due when feedback was revealed since the last one, or it is too old."""
    last = last_pass_at()
    if last is None:
        return bool(db.session.scalar(select(exists().where(Feedback.revealed_at.is_not(None)))))
    if now - last >= timedelta(minutes=current_app.config["REPUTATION_RECOMPUTE_MINUTES"]):
        return True
    # With reveals arriving all the time a pass would start at every tick; space them out.
    if now - last < timedelta(seconds=current_app.config["REPUTATION_MIN_GAP_SECONDS"]):
        return False
    return bool(db.session.scalar(select(exists().where(Feedback.revealed_at > last))))


def recompute_due(now: datetime) -> int:
    """The due job: run a full pass if one is due; returns how many users were scored."""
    if not is_recompute_due(now):
        return 0
    return recompute_all(now).users


def backfill_history(days: int, now: datetime | None = None) -> int:
    """Fill in daily snapshots for the last `days` days, as the engine would have scored them.

    The engine ignores events after its `now`, so each past day is scored exactly. Commits.
    """
    now = now or utcnow()
    events = load_events()
    written = 0
    for back in range(days, 0, -1):
        moment = now - timedelta(days=back)
        table = compute(events, ENGINE_CONFIG, now=moment)
        day = moment.date()
        rows = [
            {
                "user_id": s.user,
                "role": s.role or OVERALL,
                "day": day,
                "trust": round(s.trust, 6),
                "confidence": round(s.confidence, 6),
                "feedback_score": s.feedback_score,
            }
            for s in (*table, *table.role_scores())
            if s.positive + s.neutral + s.negative > 0
        ]
        db.session.execute(delete(ReputationSnapshot).where(ReputationSnapshot.day == day))
        _insert_chunks(ReputationSnapshot, rows)
        written += len(rows)
    db.session.commit()
    return written


# -- reading -----------------------------------------------------------------------------------


def scores_of(user_id: int) -> dict[str, ReputationScore]:
    """The stored scores of one user, by role ("overall" included when rated or rating)."""
    rows = db.session.scalars(select(ReputationScore).where(ReputationScore.user_id == user_id))
    return {row.role: row for row in rows}


def _block(row: ReputationScore | None) -> dict:
    rated = row is not None and row.ratings > 0
    percent = row.percent_positive if rated else None
    return {
        "feedback_score": row.feedback_score if rated else 0,
        "percent_positive": None if percent is None else round(percent, 1),
        "positive": row.positive if rated else 0,
        "neutral": row.neutral if rated else 0,
        "negative": row.negative if rated else 0,
        "trust": row.trust if rated else None,
        "confidence": row.confidence if rated else 0.0,
        "flags": list(row.flags) if row is not None else [],
        "explanation": list(row.explanation) if rated else [],
    }


def _ordered_roles(scores: dict[str, ReputationScore]) -> list[str]:
    others = sorted(r for r, row in scores.items() if r != OVERALL and r not in MAIN_ROLES)
    return [*MAIN_ROLES, *(r for r in others if scores[r].ratings > 0)]


def summary(user_id: int) -> dict:
    """{"overall": block, "roles": {role: block}}: the engine's stored numbers for one user."""
    return _summary_of(scores_of(user_id))


def _summary_of(scores: dict[str, ReputationScore]) -> dict:
    return {
        "overall": _block(scores.get(OVERALL)),
        "roles": {role: _block(scores.get(role)) for role in _ordered_roles(scores)},
    }


def trust_history(user_id: int, role: str = OVERALL, days: int = 365) -> list[tuple[date, float]]:
    """(day, trust) of one user and role over the last `days` days, oldest first."""
    since = utcnow().date() - timedelta(days=days)
    rows = db.session.execute(
        select(ReputationSnapshot.day, ReputationSnapshot.trust)
        .where(
            ReputationSnapshot.user_id == user_id,
            ReputationSnapshot.role == role,
            ReputationSnapshot.day >= since,
        )
        .order_by(ReputationSnapshot.day)
    )
    return [(day, trust) for day, trust in rows]


@dataclass(frozen=True)
class RoleReputation:
    role: str
    score: ReputationScore
    confidence_level: str


@dataclass(frozen=True)
class ProfileReputation:
    """Everything the profile's reputation card shows."""

    overall: ReputationScore | None  # None: never rated
    confidence_level: str
    roles: list[RoleReputation]
    badges: list[Badge]
    chart: TrustChart | None
    summary: dict  # what summary(user_id) answers, from the same rows (one read per page)

    @property
    def is_rated(self) -> bool:
        return self.overall is not None

    @property
    def factors(self) -> list[dict]:
        """The overall explanation, biggest impact first, with impact in points out of 100."""
        return format_explanation(self.overall.explanation) if self.overall else []


def _standing(row: ReputationScore) -> RoleStanding:
    positive, neutral, negative = row.window(12)
    return RoleStanding(
        ratings_12m=positive + neutral + negative,
        percent_positive=row.percent_positive,
        trust=row.trust,
        confidence=row.confidence,
        flags=frozenset(row.flags or ()),
    )


def profile_reputation(user: User, now: datetime | None = None) -> ProfileReputation:
    """The reputation card of a profile: trust, roles, badges and chart, from stored scores."""
    now = now or utcnow()
    scores = scores_of(user.id)
    overall = scores.get(OVERALL)
    if overall is not None and overall.ratings == 0:
        overall = None
    rated_roles = [r for r in _ordered_roles(scores) if r in scores and scores[r].ratings > 0]
    # Role rows carry the user's flags (the engine flags people, not roles).
    standings = {role: _standing(scores[role]) for role in rated_roles}
    age_days = (now - user.created_at).total_seconds() / 86_400
    return ProfileReputation(
        overall=overall,
        confidence_level=confidence_level(overall.confidence) if overall else "low",
        roles=[
            RoleReputation(role, scores[role], confidence_level(scores[role].confidence))
            for role in rated_roles
        ],
        badges=earned_badges(standings, age_days),
        chart=trust_chart(trust_history(user.id)) if overall is not None else None,
        summary=_summary_of(scores),
    )


def format_explanation(explanation: list[dict]) -> list[dict]:
    """Explanation factors for a page: a label, the impact in points out of 100, and whether
    the factor is a warning note (a flag) rather than a part of the score; notes last."""
    factors = [
        {
            **factor,
            "label": FLAG_LABELS.get(factor["name"], factor["name"].capitalize()),
            "points": round(factor["impact"] * 100, 1),
            "is_note": factor["name"] in FLAG_LABELS,
        }
        for factor in explanation
    ]
    return sorted(factors, key=lambda f: (f["is_note"], -abs(f["impact"])))

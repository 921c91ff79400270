"""The adapter between revealed feedback and the reputation engine (`reputation/`).

Every score Mutual shows comes from the engine: this module feeds REVEALED feedback rows to
`reputation.compute` (as arrays, through `reputation_io`) and stores what it returns
(ReputationScore per user and role, one overall ReputationSnapshot per user and day for the
chart). Hidden feedback never reaches the engine, so double-blind holds in the scores too.
A stored score keeps the numbers its explanation is rendered from; `explanation_of` renders
the words with the engine's own `reputation.explain`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import delete, exists, func, insert, select, text

from app import jobs
from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.reviews.badges import (
    Badge,
    RoleStanding,
    TrustChart,
    confidence_level,
    earned_badges,
    effective_ratings,
    trust_chart,
)
from app.reviews.models import Feedback, ReputationRun, ReputationScore, ReputationSnapshot
from app.reviews.reputation_io import (
    OVERALL,
    counted,
    load_arrays,
    score_rows,
    snapshot_rows,
    store_all,
    store_rows,
    stored_figures,
)
from reputation import (
    FIGURES,
    FLAG_NEW,
    FLAG_RING,
    FLAG_SYBIL,
    FLAG_SYBIL_PRAISE,
    EngineConfig,
    RatingEvent,
    RoleShare,
    compute,
    explain,
)

logger = logging.getLogger(__name__)

PHASES = ("load", "score", "store")
# Roles shown first, in this order; any other role a user was rated in follows.
MAIN_ROLES = ("seller", "buyer")
ENGINE_CONFIG = EngineConfig()
_PASS_LOCK = 4_741_200  # pg_advisory_xact_lock key: one reputation pass at a time
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
    """Every counted feedback (revealed, not withheld by a moderator), optionally only about
    these users, as rating events."""
    query = select(*_EVENT_COLUMNS).where(counted())
    if subject_ids is not None:
        query = query.where(Feedback.subject_user_id.in_(list(subject_ids)))
    return [feedback_event(*row) for row in db.session.execute(query)]


def _lock_pass() -> None:
    # Two passes at once would each delete and re-insert every row; on PostgreSQL the second
    # waits here, then loads (and so sees) everything the first one wrote. SQLite serialises
    # writers anyway.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PASS_LOCK})


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
    events = load_arrays()
    report("load")
    table = compute(events, ENGINE_CONFIG, now=now)
    columns = table.columns()
    report("score")
    snapshots = store_all(table, columns, now)
    duration_ms = round((time.perf_counter() - started) * 1000)
    users = int(table.has_data.sum())
    db.session.add(
        ReputationRun(events=len(events), users=users, duration_ms=duration_ms, computed_at=now)
    )
    db.session.commit()
    report("store")
    logger.info(
        "reputation pass: %s events, %s users, %s scores in %s ms",
        len(events),
        users,
        len(columns),
        duration_ms,
    )
    return RecomputeSummary(len(events), users, len(columns), snapshots, duration_ms, now)


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
    table = compute(load_arrays(), ENGINE_CONFIG, now=now)
    columns = table.columns()
    wanted = np.isin(np.asarray(table.users, dtype=np.int64), ids)
    rows = score_rows(table, columns, now, keep=wanted[columns.user])
    store_rows(rows, now.date(), ids)
    db.session.commit()
    return len(rows)


def update_counts(user_ids: Iterable[int], now: datetime | None = None) -> int:
    """Bring the feedback counts of these users up to date at once, without a full pass.

    The engine over their own received ratings gives exact counts (counts depend on nothing
    else); trust, confidence and explanation keep their last full pass until the periodic job
    runs. Reads only these users' ratings, through the subject index. Commits.
    """
    now = now or utcnow()
    ids = sorted(set(user_ids))
    fresh: dict[tuple[int, str], dict] = {}
    events = load_arrays(ids) if ids else None
    if events is not None and len(events):
        table = compute(events, ENGINE_CONFIG, now=now)
        columns = table.columns()
        mine = np.isin(np.asarray(table.users, dtype=np.int64)[columns.user], ids)
        fresh = {(r["user_id"], r["role"]): r for r in score_rows(table, columns, now, mine)}
    stored = {
        (row.user_id, row.role): row
        for row in db.session.scalars(
            select(ReputationScore).where(ReputationScore.user_id.in_(ids))
        )
    }
    zero = {"feedback_score": 0, "percent_positive": None, "positive": 0, "neutral": 0}
    zero |= {"negative": 0, "counts": {m: [0, 0, 0] for m in ("1", "6", "12")}}
    wanted = sorted({*fresh, *((user_id, OVERALL) for user_id in ids)})
    for key in wanted:
        row = stored.get(key)
        if row is None:
            # No full pass has seen this user yet: a newcomer's trust until the next one.
            row = ReputationScore(
                user_id=key[0],
                role=key[1],
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
        values = fresh.get(key, zero)
        for name in ("feedback_score", "percent_positive", "positive", "neutral", "negative"):
            setattr(row, name, values[name])
        row.counts = values["counts"]
    db.session.commit()
    return len(wanted)


def revealed_count(at_most: int | None = None) -> int:
    """How many feedback rows are revealed (what a full pass has to read), counting no
    further than `at_most + 1` when given: a reveal only asks "more than the limit?", and
    counting a million rows for that took most of its time."""
    revealed = select(Feedback.id).where(counted())
    if at_most is not None:
        revealed = revealed.limit(at_most + 1)
    return db.session.scalar(select(func.count()).select_from(revealed.subquery()))


def refresh_after_reveal(user_ids: Iterable[int], now: datetime | None = None) -> None:
    """Have the scores of users whose feedback was just revealed refreshed: on a Celery worker
    when there is one (REDIS_URL), else here and now (refresh_now)."""
    ids = sorted(set(user_ids))
    if ids:
        jobs.later("reputation.refresh", ids, now.isoformat() if now else None)


def refresh_now(user_ids: Iterable[int], now: datetime | str | None = None) -> None:
    """Make the scores of users whose feedback was just revealed fresh at once.

    Up to REPUTATION_SYNC_LIMIT revealed ratings the engine scores everybody and these users'
    scores are stored at once; above it only their counts are updated. Either way the due
    job's next full pass rewrites every score. Never raises: the feedback is already
    committed, and the due job repairs a failed refresh.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    try:
        limit = current_app.config["REPUTATION_SYNC_LIMIT"]
        if revealed_count(at_most=limit) <= limit:
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
    events = load_arrays()
    written = 0
    for back in range(days, 0, -1):
        moment = now - timedelta(days=back)
        table = compute(events, ENGINE_CONFIG, now=moment)
        day = moment.date()
        rows = snapshot_rows(score_rows(table, table.columns(), moment), day)
        db.session.execute(delete(ReputationSnapshot).where(ReputationSnapshot.day == day))
        if rows:
            db.session.execute(insert(ReputationSnapshot), rows)
        written += len(rows)
    db.session.commit()
    return written


# -- reading -----------------------------------------------------------------------------------


def scores_of(user_id: int) -> dict[str, ReputationScore]:
    """The stored scores of one user, by role ("overall" included when rated or rating)."""
    rows = db.session.scalars(select(ReputationScore).where(ReputationScore.user_id == user_id))
    return {row.role: row for row in rows}


def explanation_of(row: ReputationScore, scores: dict[str, ReputationScore]) -> list[dict]:
    """The "why this score" factors of a stored score, rendered from its stored figures by the
    engine's `reputation.explain` ({"name", "impact", "description"}, in the engine's order).

    `scores` are the same user's stored rows: an overall score made of role scores is
    explained by them. A row without figures (written by a counts-only update) keeps the
    factors it was stored with.
    """
    data = row.explanation
    if not isinstance(data, dict):
        return list(data or [])
    figures, roles = stored_figures(data), None
    if data.get("roles"):
        role_figures = {
            role: stored_figures(other.explanation)
            for role, other in sorted(scores.items())
            if role != OVERALL and isinstance(other.explanation, dict)
        }
        if len(role_figures) == 1:
            # Rated in one role only: that role's own steps (as the engine explains it).
            figures = next(iter(role_figures.values()))
        else:
            evidence = FIGURES.index("evidence")
            roles = [
                RoleShare(role, scores[role].trust, int(sum(f[:3])), f[evidence])
                for role, f in role_figures.items()
            ]
    factors = explain(
        figures,
        ENGINE_CONFIG,
        flags=frozenset(row.flags or ()),
        age_days=data.get("age_days", 0.0),
        roles=roles,
    )
    return [{"name": f.name, "impact": f.impact, "description": f.description} for f in factors]


def _block(row: ReputationScore | None, scores: dict[str, ReputationScore]) -> dict:
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
        "confidence_level": confidence_level(row.confidence) if rated else None,
        "effective_ratings": round(effective_ratings(row.confidence), 1) if rated else 0.0,
        "flags": list(row.flags) if row is not None else [],
        "explanation": [
            {k: f[k] for k in ("name", "impact", "description", "points")}
            for f in format_explanation(explanation_of(row, scores))
        ]
        if rated
        else [],
    }


def _ordered_roles(scores: dict[str, ReputationScore]) -> list[str]:
    others = sorted(r for r, row in scores.items() if r != OVERALL and r not in MAIN_ROLES)
    return [*MAIN_ROLES, *(r for r in others if scores[r].ratings > 0)]


def summary(user_id: int) -> dict:
    """{"overall": block, "roles": {role: block}}: the engine's stored numbers for one user."""
    return _summary_of(scores_of(user_id))


def _summary_of(scores: dict[str, ReputationScore]) -> dict:
    return {
        "overall": _block(scores.get(OVERALL), scores),
        "roles": {role: _block(scores.get(role), scores) for role in _ordered_roles(scores)},
    }


def trust_history(
    user_id: int, role: str = OVERALL, days: int = 365, joined: date | None = None
) -> list[tuple[date, float]]:
    """(day, trust) of one user and role over the last `days` days, oldest first.

    Never before `joined`: a chart of a member must not start before they did.
    """
    since = utcnow().date() - timedelta(days=days)
    if joined is not None:
        since = max(since, joined)
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
    explanation: list[dict]  # the overall score's factors (explanation_of)

    @property
    def is_rated(self) -> bool:
        return self.overall is not None

    @property
    def evidence(self) -> float:
        """The overall score's evidence in full ratings."""
        return effective_ratings(self.overall.confidence) if self.overall else 0.0

    @property
    def factors(self) -> list[dict]:
        """The overall explanation in the engine's order, with whole points out of 100."""
        return format_explanation(self.explanation) if self.overall else []


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
        chart=trust_chart(trust_history(user.id, joined=user.created_at.date()))
        if overall is not None
        else None,
        summary=_summary_of(scores),
        explanation=explanation_of(overall, scores) if overall is not None else [],
    )


def format_explanation(explanation: list[dict]) -> list[dict]:
    """Explanation factors for a page, in the engine's order: a label, the impact in whole
    points out of 100, and whether the factor is a warning note (a flag); notes last.

    Points are differences of the running score rounded to whole points, so 50 plus the
    points shown is exactly the score shown, and each step's points match the running figure
    its description quotes.
    """
    start = ENGINE_CONFIG.prior_goodness / 2 + 0.5
    running, shown = start, round(start * 100)
    factors = []
    for factor in explanation:
        is_note = factor["name"] in FLAG_LABELS
        points = 0
        if not is_note:
            running += factor["impact"]
            points, shown = round(running * 100) - shown, round(running * 100)
        factors.append(
            {
                **factor,
                "label": FLAG_LABELS.get(factor["name"], factor["name"].capitalize()),
                "points": points,
                "is_note": is_note,
            }
        )
    return sorted(factors, key=lambda f: f["is_note"])

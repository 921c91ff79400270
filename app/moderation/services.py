"""Reports, the moderator queue and moderators' actions.

Reports about the same thing are grouped in one case. Each report weighs by its reporter:
    weight = (0.1 + 0.9 * trust) * accuracy * 2
where `trust` is the reporter's overall reputation trust (0..1, app/reviews; 0 when never
rated) and
`accuracy` = (upheld + 1) / (upheld + dismissed + 2) of their past decided reports (a new
reporter: 1/2, so the factor is 1). A fully trusted reporter with no record weighs 1.0; a new,
unrated account 0.1. When the open reports of a case weigh 1.8 (HIDE_WEIGHT_MILLI) or more,
from at least two reporters, the thing is hidden until a moderator decides: two trusted
members (trust 0.9 or more) are enough, eighteen new accounts would be needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.accounts.models import User
from app.accounts.suspension import ensure_not_suspended
from app.db import utcnow
from app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.moderation.models import (
    ACTIONS,
    TARGET_KINDS,
    ModerationAction,
    ModerationCase,
    Report,
    Rule,
)
from app.moderation.rules import current_rule, feedback_rules
from app.moderation.targets import Target, find_target
from app.pagination import Page
from app.reviews import reputation
from app.reviews import services as reviews
from app.transactions.events import record_event

REPORTS_PER_DAY = 10  # reports one member may file in 24 hours
OPEN_REPORTS_MAX = 20  # undecided reports one member may have at once
HIDE_WEIGHT_MILLI = 1800
HIDE_MIN_REPORTERS = 2
DETAILS_MIN, DETAILS_MAX, REASON_MAX = 10, 2000, 500
# hide/remove apply (to a member: what their profile says about them, its "about" text)
CONTENT_KINDS = ("listing", "member", "feedback", "message", "club", "deal")
MAX_SUSPENSION = timedelta(days=365)


class ReportLimitReached(DomainError):
    code, status, default_message = (
        "report_limit",
        429,
        f"You can file {REPORTS_PER_DAY} reports a day and have {OPEN_REPORTS_MAX} waiting "
        "for a decision. Please wait for the moderators.",
    )


class AlreadyReported(Conflict):
    code, default_message = (
        "already_reported",
        "You have already reported this; a moderator will look at it.",
    )


class CannotReportYourself(Conflict):
    code, default_message = "cannot_report_own", "You cannot report yourself or your own things."


class NotAModerator(Forbidden):
    code, default_message = "not_a_moderator", "Only moderators work the moderation queue."


class OwnCase(Forbidden):
    code, default_message = (
        "own_case",
        "You cannot moderate a case about yourself or a transaction of yours; another "
        "moderator will.",
    )


class CaseClaimed(Conflict):
    code, default_message = "case_claimed", "Another moderator has claimed this case."


class CaseClosed(Conflict):
    code, default_message = "case_closed", "This case has been decided."


# -- reporting -----------------------------------------------------------------------------


def report_weight_milli(reporter_id: int) -> int:
    """How much a report by this member counts towards hiding, in thousandths (module doc)."""
    overall = reputation.scores_of(reporter_id).get(reputation.OVERALL)
    trust = overall.trust if overall is not None and overall.ratings > 0 else 0.0
    decided = dict(
        db.session.execute(
            select(Report.outcome, func.count())
            .where(Report.reporter_id == reporter_id, Report.outcome.is_not(None))
            .group_by(Report.outcome)
        ).all()
    )
    upheld, dismissed = decided.get("upheld", 0), decided.get("dismissed", 0)
    accuracy = (upheld + 1) / (upheld + dismissed + 2)
    return round((0.1 + 0.9 * min(max(trust, 0.0), 1.0)) * accuracy * 2 * 1000)


def _check_limits(reporter_id: int, now: datetime) -> None:
    today = db.session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.reporter_id == reporter_id, Report.created_at > now - timedelta(days=1))
    )
    waiting = db.session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.reporter_id == reporter_id, Report.outcome.is_(None))
    )
    if today >= REPORTS_PER_DAY or waiting >= OPEN_REPORTS_MAX:
        raise ReportLimitReached()


def _case_for(target: Target, now: datetime) -> ModerationCase:
    case = db.session.scalar(
        select(ModerationCase).where(
            ModerationCase.target_kind == target.kind, ModerationCase.target_id == target.id
        )
    )
    if case is None:
        case = ModerationCase(
            target_kind=target.kind,
            target_id=target.id,
            target_user_id=target.owner_id,
            title=target.title[:120],
            opened_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:  # another report opened it at the same moment
            return _case_for(target, now)
    elif case.status == "closed":  # reported again after a decision: a new round
        case.status, case.opened_at, case.closed_at = "open", now, None
        case.claimed_by_id = case.claimed_at = None
    return case


def create_report(
    reporter_id: int, kind: str, target_id: int, rule_number: int, details: str
) -> Report:
    """Report a thing under a rule (grouped into the thing's case). Raises AccountSuspended,
    NotFound, ValidationFailed, CannotReportYourself, AlreadyReported, ReportLimitReached."""
    ensure_not_suspended(reporter_id)
    if kind not in TARGET_KINDS:
        raise ValidationFailed(fields={"kind": [f"One of: {', '.join(TARGET_KINDS)}."]})
    details = (details or "").strip()
    if not DETAILS_MIN <= len(details) <= DETAILS_MAX:
        raise ValidationFailed(
            fields={"details": [f"Say what happened in {DETAILS_MIN} to {DETAILS_MAX} characters."]}
        )
    rule = current_rule(rule_number)
    target = find_target(kind, target_id)
    if reporter_id == target.owner_id:
        raise CannotReportYourself()
    now = utcnow()
    _check_limits(reporter_id, now)
    case = _case_for(target, now)
    if any(r.reporter_id == reporter_id for r in case.open_reports):
        raise AlreadyReported()
    report = Report(
        case=case,
        reporter_id=reporter_id,
        rule_id=rule.id,
        details=details,
        weight_milli=report_weight_milli(reporter_id),
        created_at=now,
    )
    db.session.add(report)
    db.session.flush()
    _maybe_hide(case)
    db.session.commit()
    return report


def _maybe_hide(case: ModerationCase) -> None:
    """Hide reported content once its open reports weigh enough (module doc)."""
    if case.target_kind not in CONTENT_KINDS or case.content_state != "visible":
        return
    reports = case.open_reports
    weight = sum(r.weight_milli for r in reports)
    if weight >= HIDE_WEIGHT_MILLI and len({r.reporter_id for r in reports}) >= HIDE_MIN_REPORTERS:
        case.content_state, case.is_auto_hidden = "hidden", True


def reports_of(reporter_id: int, page: int = 1, per_page: int = 20) -> Page[Report]:
    """The member's reports, newest first, with their case's outcome."""
    total = db.session.scalar(
        select(func.count()).select_from(Report).where(Report.reporter_id == reporter_id)
    )
    items = list(
        db.session.scalars(
            select(Report)
            .where(Report.reporter_id == reporter_id)
            .options(
                selectinload(Report.case), selectinload(Report.rule), selectinload(Report.action)
            )
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


# -- content state -------------------------------------------------------------------------


def content_state(kind: str, target_id: int) -> str:
    """visible, hidden (pending review or by a moderator) or removed."""
    state = db.session.scalar(
        select(ModerationCase.content_state).where(
            ModerationCase.target_kind == kind, ModerationCase.target_id == target_id
        )
    )
    return state or "visible"


def hidden_ids(kind: str, target_ids: list[int]) -> set[int]:
    """Which of these things are hidden or removed (one query, for lists)."""
    if not target_ids:
        return set()
    return set(
        db.session.scalars(
            select(ModerationCase.target_id).where(
                ModerationCase.target_kind == kind,
                ModerationCase.target_id.in_(target_ids),
                ModerationCase.content_state != "visible",
            )
        )
    )


def hidden_content() -> dict[tuple[str, int], str]:
    """{(kind, id): hidden or removed} of every thing not visible (few: moderators keep the
    list short). Read once per request (app/moderation/hooks.py)."""
    rows = db.session.execute(
        select(
            ModerationCase.target_kind, ModerationCase.target_id, ModerationCase.content_state
        ).where(ModerationCase.content_state != "visible")
    )
    return {(kind, target_id): state for kind, target_id, state in rows}


def anything_hidden() -> ColumnElement[bool]:
    """True while any thing is hidden or removed (visibility.anything_hidden)."""
    return select(ModerationCase.id).where(ModerationCase.content_state != "visible").exists()


def shown_condition(kind: str, id_column) -> ColumnElement[bool]:
    """For a query of `kind`: NOT EXISTS a case that hid or removed the row (the unique
    (target_kind, target_id) index answers it, whatever the number of rows)."""
    return ~(
        select(ModerationCase.id)
        .where(
            ModerationCase.target_kind == kind,
            ModerationCase.target_id == id_column,
            ModerationCase.content_state != "visible",
        )
        .exists()
    )


@dataclass(frozen=True)
class ContentNotice:
    """What the owner of hidden or removed content is told on its page and in their lists."""

    state: str  # hidden or removed
    is_pending_review: bool  # hidden by the reports' weight: no moderator has decided yet
    rule_number: int | None
    rule_title: str | None
    reason: str | None  # the moderator's public reason (none while pending review)
    needs_rereview: bool  # edited since: a moderator looks again


def content_notices(kind: str, target_ids: list[int]) -> dict[int, ContentNotice]:
    """{id: notice} for those of the things that are hidden or removed (at most three
    statements for a whole list; one when nothing is hidden)."""
    if not target_ids:
        return {}
    cases = list(
        db.session.scalars(
            select(ModerationCase).where(
                ModerationCase.target_kind == kind,
                ModerationCase.target_id.in_(target_ids),
                ModerationCase.content_state != "visible",
            )
        )
    )
    if not cases:
        return {}
    decided: dict[int, tuple[Rule, str]] = {}  # case id -> its latest hide or remove
    for action, rule in db.session.execute(
        select(ModerationAction, Rule)
        .join(Rule, Rule.id == ModerationAction.rule_id)
        .where(
            ModerationAction.case_id.in_([c.id for c in cases if not c.is_auto_hidden]),
            ModerationAction.action.in_(("hide", "remove")),
        )
        .order_by(ModerationAction.id)
    ):
        decided[action.case_id] = (rule, action.reason)
    cited: dict[int, Rule] = {}  # case id -> the rule its open reports cite first
    for case_id, rule in db.session.execute(
        select(Report.case_id, Rule)
        .join(Rule, Rule.id == Report.rule_id)
        .where(
            Report.case_id.in_([c.id for c in cases if c.is_auto_hidden]),
            Report.outcome.is_(None),
        )
        .order_by(Report.id)
    ):
        cited.setdefault(case_id, rule)
    notices = {}
    for case in cases:
        rule, reason = decided.get(case.id, (cited.get(case.id), None))
        notices[case.target_id] = ContentNotice(
            state=case.content_state,
            is_pending_review=case.is_auto_hidden,
            rule_number=rule.number if rule is not None else None,
            rule_title=rule.title if rule is not None else None,
            reason=reason,
            needs_rereview=case.needs_rereview,
        )
    return notices


def content_notice(kind: str, target_id: int) -> ContentNotice | None:
    """The notice for one hidden or removed thing; None while it is visible."""
    return content_notices(kind, [target_id]).get(target_id)


def content_edited(kind: str, target_id: int) -> None:
    """The owner changed hidden or removed content: open its case for a re-review (in the
    caller's unit of work)."""
    case = db.session.scalar(
        select(ModerationCase).where(
            ModerationCase.target_kind == kind, ModerationCase.target_id == target_id
        )
    )
    if case is not None and case.content_state != "visible":
        case.needs_rereview = True
        if case.status == "closed":
            case.status, case.opened_at, case.closed_at = "open", utcnow(), None
            case.claimed_by_id = case.claimed_at = None


# -- the queue -----------------------------------------------------------------------------


def _moderator(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_moderator:
        raise NotAModerator()
    return user


@dataclass(frozen=True)
class QueueFilter:
    rule_number: int | None = None
    kind: str | None = None
    older_than_hours: int | None = None
    status: str = "waiting"  # waiting (open or claimed), open, claimed, closed


def queue(moderator_id: int, filters: QueueFilter, page: int = 1, per_page: int = 20) -> Page:
    """Cases for moderators, oldest first: filtered by a cited rule number, kind and age."""
    _moderator(moderator_id)
    query = select(ModerationCase)
    if filters.status == "waiting":
        query = query.where(ModerationCase.status != "closed")
    elif filters.status in ("open", "claimed", "closed"):
        query = query.where(ModerationCase.status == filters.status)
    if filters.kind:
        query = query.where(ModerationCase.target_kind == filters.kind)
    if filters.older_than_hours:
        since = utcnow() - timedelta(hours=filters.older_than_hours)
        query = query.where(ModerationCase.opened_at <= since)
    if filters.rule_number:
        query = query.where(
            ModerationCase.id.in_(
                select(Report.case_id)
                .join(Rule, Rule.id == Report.rule_id)
                .where(Rule.number == filters.rule_number, Report.outcome.is_(None))
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(
        db.session.scalars(
            query.options(
                selectinload(ModerationCase.reports).selectinload(Report.rule),
                selectinload(ModerationCase.target_user),
                selectinload(ModerationCase.claimed_by),
            )
            .order_by(
                ModerationCase.needs_rereview.desc(), ModerationCase.opened_at, ModerationCase.id
            )
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def parties_of(case: ModerationCase) -> frozenset[int]:
    try:
        return find_target(case.target_kind, case.target_id).parties | {case.target_user_id}
    except NotFound:
        return frozenset({case.target_user_id})


def get_case(case_id: int, moderator_id: int) -> ModerationCase:
    """A case with its reports (moderators only; also those who cannot act on it)."""
    _moderator(moderator_id)
    case = db.session.get(ModerationCase, case_id)
    if case is None:
        raise NotFound("No such case.")
    return case


def can_act(case: ModerationCase, moderator_id: int) -> bool:
    return moderator_id not in parties_of(case)


def _for_acting(case_id: int, moderator_id: int) -> ModerationCase:
    _moderator(moderator_id)
    case = db.session.get(ModerationCase, case_id, with_for_update=True)
    if case is None:
        raise NotFound("No such case.")
    if moderator_id in parties_of(case):
        raise OwnCase()
    return case


def claim_case(case_id: int, moderator_id: int) -> ModerationCase:
    """Take a case so no one else works it. Raises NotAModerator, NotFound, OwnCase,
    CaseClaimed, CaseClosed."""
    case = _for_acting(case_id, moderator_id)
    if case.status == "closed":
        raise CaseClosed()
    if case.status == "claimed" and case.claimed_by_id != moderator_id:
        raise CaseClaimed()
    case.status, case.claimed_by_id, case.claimed_at = "claimed", moderator_id, utcnow()
    db.session.commit()
    return case


ACTION_LABELS = {
    "warn": "Warned",
    "hide": "Hid",
    "remove": "Removed",
    "suspend": "Suspended",
    "ban": "Banned",
    "restore": "Restored",
    "dismiss": "Dismissed the reports on",
    "uphold": "Upheld, on appeal,",
    "overturn": "Overturned, on appeal,",
    "decide": "Decided",
}


def act(
    case_id: int,
    moderator_id: int,
    action: str,
    rule_number: int,
    reason: str,
    *,
    suspended_until: datetime | None = None,
) -> ModerationAction:
    """Decide a case: warn, hide, remove, suspend until a date, ban, restore or dismiss, citing
    a rule and a public reason. Recorded in the append-only log; reporters and the member are
    told. Raises NotAModerator, NotFound, OwnCase, CaseClaimed, ValidationFailed."""
    case = _for_acting(case_id, moderator_id)
    if case.status == "claimed" and case.claimed_by_id != moderator_id:
        raise CaseClaimed()
    errors: dict[str, list[str]] = {}
    if action not in ACTIONS:
        errors["action"] = [f"One of: {', '.join(ACTIONS)}."]
    elif action in ("hide", "remove") and case.target_kind not in CONTENT_KINDS:
        errors["action"] = ["This is warned, suspended or banned, not hidden."]
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= REASON_MAX:
        errors["reason"] = [f"Give the reason in 5 to {REASON_MAX} characters (it is public)."]
    now = utcnow()
    if action == "suspend":
        if suspended_until is None or suspended_until <= now:
            errors["suspended_until"] = ["Choose a date in the future."]
        elif suspended_until > now + MAX_SUSPENSION:
            errors["suspended_until"] = ["At most a year; ban for longer."]
    else:
        suspended_until = None
    if errors:
        raise ValidationFailed(fields=errors)
    rule = current_rule(rule_number)
    if case.target_kind == "feedback" and action in ("hide", "remove"):
        allowed = feedback_rules()
        if rule.id not in {r.id for r in allowed}:
            numbers = " or ".join(f"{r.number} ({r.title})" for r in allowed)
            raise ValidationFailed(
                fields={"rule": [f"Feedback is hidden only under a feedback rule: {numbers}."]}
            )
    member = db.session.get(User, case.target_user_id)
    rescore: int | None = None
    if action in ("hide", "remove"):
        rescore = set_content_state(case, "hidden" if action == "hide" else "removed")
    elif action in ("restore", "dismiss"):
        rescore = set_content_state(case, "visible")
        if action == "restore" and case.target_kind == "member":
            member.is_suspended, member.suspended_until = False, None
    elif action == "suspend":
        member.is_suspended, member.suspended_until = True, suspended_until
    elif action == "ban":
        member.is_suspended, member.suspended_until = True, None
    record = ModerationAction(
        case_id=case.id,
        moderator_id=moderator_id,
        action=action,
        rule_id=rule.id,
        reason=reason,
        target_kind=case.target_kind,
        target_id=case.target_id,
        target_user_id=case.target_user_id,
        suspended_until=suspended_until,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    outcome = "dismissed" if action in ("restore", "dismiss") else "upheld"
    reporter_ids = []
    for report in case.open_reports:
        report.outcome, report.resolved_at, report.action_id = outcome, now, record.id
        reporter_ids.append(report.reporter_id)
    case.status, case.closed_at, case.needs_rereview = "closed", now, False
    record_event(
        "moderation.acted",
        subject_kind="moderation_case",
        subject_id=case.id,
        actor_id=moderator_id,
        payload={
            "action": action,
            "outcome": outcome,
            "kind": case.target_kind,
            "title": case.title,
            "rule_number": rule.number,
            "rule_title": rule.title,
            "reason": reason,
            "member_id": case.target_user_id,
            "reporter_ids": sorted(set(reporter_ids)),
            "suspended_until": suspended_until.isoformat() if suspended_until else None,
        },
        now=now,
    )
    db.session.commit()
    if rescore is not None:
        reputation.refresh_after_reveal([rescore], now)
    return record


def set_content_state(case: ModerationCase, state: str) -> int | None:
    """Show, hide or remove the case's content by a moderator's decision (in the caller's unit
    of work). Feedback hidden or removed stops counting in reputation: returns the member whose
    scores to refresh after the commit, if any."""
    case.content_state, case.is_auto_hidden = state, False
    if case.target_kind == "feedback":
        return reviews.withhold_feedback(case.target_id, state != "visible")
    return None


def _log_loading():
    """What a public log entry shows, loaded with it: rule, people, case, the appeal against it
    and, for an appeal's decision, the action appealed."""
    return (
        selectinload(ModerationAction.rule),
        selectinload(ModerationAction.target_user),
        selectinload(ModerationAction.moderator),
        selectinload(ModerationAction.case),
        selectinload(ModerationAction.appeal),
        selectinload(ModerationAction.appealed_action).options(
            selectinload(ModerationAction.moderator),
            selectinload(ModerationAction.target_user),
            selectinload(ModerationAction.case),
        ),
    )


def public_log(page: int = 1, per_page: int = 50) -> Page[ModerationAction]:
    """Every action, newest first: for the public log (shown without reporters or bodies)."""
    total = db.session.scalar(select(func.count()).select_from(ModerationAction))
    items = list(
        db.session.scalars(
            select(ModerationAction)
            .options(*_log_loading())
            .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def log_entry(action_id: int) -> ModerationAction:
    """One entry of the public log. Raises NotFound."""
    action = db.session.scalar(
        select(ModerationAction).where(ModerationAction.id == action_id).options(*_log_loading())
    )
    if action is None:
        raise NotFound("There is no such entry in the moderation log.")
    return action


def log_subject(action: ModerationAction) -> str:
    """What the log says the action was about: never a message body or a reporter."""
    if action.appealed_action_id is not None:
        appealed = action.appealed_action
        return (
            f"@{appealed.moderator.handle}'s action “{ACTION_LABELS[appealed.action].lower()} "
            f"{log_subject(appealed)}”"
        )
    if action.dispute_id is not None:
        from app.transactions.registry import find_kind

        kind = find_kind(action.target_kind)
        noun = kind.machine.noun if kind is not None else action.target_kind
        return f"the dispute about {noun} #{action.target_id}"
    if action.target_kind == "member":
        return f"the account @{action.target_user.handle}"
    if action.target_kind == "message":
        return f"a message by @{action.target_user.handle}"
    if action.target_kind == "feedback":
        return f"feedback by @{action.target_user.handle}"
    noun = {"listing": "the listing", "club": "the club", "deal": "the group deal"}[
        action.target_kind
    ]
    return f"{noun} “{action.case.title}” of @{action.target_user.handle}"


@dataclass(frozen=True)
class HiddenNotice:
    """What stands in the place of hidden content."""

    text: str
    rule_number: int | None = None
    rule_title: str | None = None
    reason: str | None = None


PENDING_NOTICE = "Hidden pending review by a moderator."


def hidden_notice(kind: str, target_id: int) -> HiddenNotice | None:
    """Why this thing is hidden ("Hidden by a moderator: breaks rule 5, Feedback is about the
    transaction"), or None when it is visible."""
    case = db.session.scalar(
        select(ModerationCase).where(
            ModerationCase.target_kind == kind, ModerationCase.target_id == target_id
        )
    )
    if case is None or case.content_state == "visible":
        return None
    if case.is_auto_hidden:
        return HiddenNotice(PENDING_NOTICE)
    decided = db.session.scalar(
        select(ModerationAction)
        .where(ModerationAction.case_id == case.id, ModerationAction.action.in_(("hide", "remove")))
        .options(selectinload(ModerationAction.rule))
        .order_by(ModerationAction.id.desc())
        .limit(1)
    )
    if decided is None:
        return HiddenNotice(PENDING_NOTICE)
    verb = "Hidden" if case.content_state == "hidden" else "Removed"
    rule = decided.rule
    return HiddenNotice(
        f"{verb} by a moderator: breaks rule {rule.number}, {rule.title}.",
        rule.number,
        rule.title,
        decided.reason,
    )


def actions_of(case_id: int) -> list[ModerationAction]:
    """The case's actions, oldest first."""
    return list(
        db.session.scalars(
            select(ModerationAction)
            .where(ModerationAction.case_id == case_id)
            .options(selectinload(ModerationAction.rule), selectinload(ModerationAction.moderator))
            .order_by(ModerationAction.id)
        )
    )

"""Appeals: a sanctioned member (warned, content hidden or removed, suspended, banned) appeals
each action once, with a statement; a moderator other than the one who acted, and not a party
to the case, upholds or overturns it. The decision is itself a ModerationAction citing a rule
and a public reason (the log shows it; the statement stays private). Overturning undoes the
sanction: the content is shown again, the suspension or ban lifted.

A suspended or banned member may still appeal: nothing here calls ensure_not_suspended.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.moderation.models import (
    APPEAL_DECISIONS,
    APPEAL_STATES,
    APPEALABLE,
    Appeal,
    ModerationAction,
    ModerationCase,
)
from app.moderation.rules import current_rule
from app.moderation.services import (
    ACTION_LABELS,
    REASON_MAX,
    OwnCase,
    _moderator,
    log_subject,
    parties_of,
    set_content_state,
)
from app.pagination import Page
from app.reviews import reputation
from app.transactions.events import record_event

STATEMENT_MIN, STATEMENT_MAX = 10, 2000


class AppealAlreadyMade(Conflict):
    code, default_message = (
        "appeal_already_made",
        "You have already appealed this action: each action is appealed once.",
    )


class NotAppealable(Conflict):
    code, default_message = (
        "not_appealable",
        "Only a sanction (a warning, hidden or removed content, a suspension or a ban) can be "
        "appealed.",
    )


class OwnAction(Forbidden):
    code, default_message = (
        "own_action",
        "You took this action: another moderator decides the appeal.",
    )


class AppealDecided(Conflict):
    code, default_message = "appeal_decided", "This appeal has been decided."


@dataclass(frozen=True)
class Sanction:
    """One action against the member, with their appeal of it (if any)."""

    action: ModerationAction
    appeal: Appeal | None

    @property
    def can_appeal(self) -> bool:
        return self.appeal is None


def _sanction_actions():
    return select(ModerationAction).options(
        selectinload(ModerationAction.rule),
        selectinload(ModerationAction.target_user),
        selectinload(ModerationAction.appeal),
    )


def sanctions_of(user_id: int) -> list[Sanction]:
    """The member's sanctions, newest first, each with its appeal and decision."""
    actions = list(
        db.session.scalars(
            _sanction_actions()
            .where(
                ModerationAction.target_user_id == user_id,
                ModerationAction.action.in_(APPEALABLE),
            )
            .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        )
    )
    appeals = {
        appeal.action_id: appeal
        for appeal in db.session.scalars(
            select(Appeal)
            .where(Appeal.action_id.in_([a.id for a in actions]))
            .options(selectinload(Appeal.decision).selectinload(ModerationAction.rule))
        )
    }
    return [Sanction(action, appeals.get(action.id)) for action in actions]


def appeals_of(user_id: int) -> list[Appeal]:
    """The member's appeals, newest first."""
    return list(
        db.session.scalars(
            select(Appeal)
            .where(Appeal.appellant_id == user_id)
            .options(
                selectinload(Appeal.action).selectinload(ModerationAction.rule),
                selectinload(Appeal.action).selectinload(ModerationAction.appeal),
                selectinload(Appeal.decision).selectinload(ModerationAction.rule),
            )
            .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        )
    )


def create_appeal(user_id: int, action_id: int, statement: str) -> Appeal:
    """Appeal a sanction against you, once, with a statement (only moderators read it).
    Raises NotFound (no such action against you), NotAppealable, ValidationFailed,
    AppealAlreadyMade. Open to suspended and banned members."""
    action = db.session.get(ModerationAction, action_id)
    if action is None or action.target_user_id != user_id:
        raise NotFound("No such moderation action about you.")
    if action.action not in APPEALABLE:
        raise NotAppealable()
    statement = (statement or "").strip()
    if not STATEMENT_MIN <= len(statement) <= STATEMENT_MAX:
        raise ValidationFailed(
            fields={
                "statement": [
                    f"Say why the action was wrong in {STATEMENT_MIN} to {STATEMENT_MAX} "
                    "characters."
                ]
            }
        )
    if db.session.scalar(select(Appeal.id).where(Appeal.action_id == action_id)) is not None:
        raise AppealAlreadyMade()
    appeal = Appeal(
        action_id=action_id, appellant_id=user_id, statement=statement, created_at=utcnow()
    )
    try:
        with db.session.begin_nested():
            db.session.add(appeal)
    except IntegrityError:  # the same appeal posted twice at once
        raise AppealAlreadyMade() from None
    db.session.commit()
    return appeal


@dataclass(frozen=True)
class AppealFilter:
    status: str = "pending"  # pending, upheld, overturned or all
    action: str | None = None  # only appeals of this kind of action


def appeals_queue(
    moderator_id: int, filters: AppealFilter, page: int = 1, per_page: int = 20
) -> Page[Appeal]:
    """Appeals for moderators, oldest first, by status and kind of action appealed."""
    _moderator(moderator_id)
    query = select(Appeal).join(ModerationAction, ModerationAction.id == Appeal.action_id)
    if filters.status in APPEAL_STATES:
        query = query.where(Appeal.status == filters.status)
    if filters.action:
        query = query.where(ModerationAction.action == filters.action)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(
        db.session.scalars(
            query.options(
                selectinload(Appeal.action).selectinload(ModerationAction.rule),
                selectinload(Appeal.action).selectinload(ModerationAction.moderator),
                selectinload(Appeal.action).selectinload(ModerationAction.target_user),
                selectinload(Appeal.action).selectinload(ModerationAction.appeal),
                selectinload(Appeal.appellant),
                selectinload(Appeal.decision).selectinload(ModerationAction.moderator),
            )
            .order_by(Appeal.created_at, Appeal.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def pending_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.status == "pending")
    )


def get_appeal(appeal_id: int, moderator_id: int) -> Appeal:
    """An appeal with its action (moderators only, also those who cannot decide it)."""
    _moderator(moderator_id)
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound("No such appeal.")
    return appeal


def refusal(appeal: Appeal, moderator_id: int) -> str | None:
    """Why this moderator may not decide the appeal (None: they may)."""
    if appeal.action.moderator_id == moderator_id:
        return OwnAction.default_message
    case = db.session.get(ModerationCase, appeal.action.case_id)
    if moderator_id == appeal.appellant_id or moderator_id in parties_of(case):
        return OwnCase.default_message
    return None


def _undo(action: ModerationAction, case: ModerationCase) -> int | None:
    """Lift the sanction `action` imposed, unless a later action has replaced it; returns the
    member whose reputation to refresh (hidden feedback shown again)."""
    if action.action in ("hide", "remove"):
        latest = db.session.scalar(
            select(ModerationAction.id)
            .where(
                ModerationAction.case_id == case.id,
                ModerationAction.action.in_(("hide", "remove", "restore", "dismiss")),
            )
            .order_by(ModerationAction.id.desc())
            .limit(1)
        )
        if latest == action.id:
            return set_content_state(case, "visible")
    elif action.action in ("suspend", "ban"):
        latest = db.session.scalar(
            select(ModerationAction.id)
            .where(
                ModerationAction.target_user_id == action.target_user_id,
                ModerationAction.action.in_(("suspend", "ban")),
            )
            .order_by(ModerationAction.id.desc())
            .limit(1)
        )
        if latest == action.id:
            member = db.session.get(User, action.target_user_id)
            member.is_suspended, member.suspended_until = False, None
    return None


def decide_appeal(
    appeal_id: int, moderator_id: int, decision: str, rule_number: int, reason: str
) -> ModerationAction:
    """Uphold or overturn an appeal, citing a rule and a public reason; overturning undoes the
    sanction. Recorded as a new action in the log; the member and the moderator who acted are
    told. Raises NotAModerator, NotFound, OwnAction, OwnCase, AppealDecided, ValidationFailed."""
    _moderator(moderator_id)
    appeal = db.session.get(Appeal, appeal_id, with_for_update=True)
    if appeal is None:
        raise NotFound("No such appeal.")
    action = appeal.action
    if action.moderator_id == moderator_id:
        raise OwnAction()
    case = db.session.get(ModerationCase, action.case_id, with_for_update=True)
    if moderator_id == appeal.appellant_id or moderator_id in parties_of(case):
        raise OwnCase()
    if not appeal.is_pending:
        raise AppealDecided()
    errors: dict[str, list[str]] = {}
    if decision not in APPEAL_DECISIONS:
        errors["decision"] = [f"One of: {', '.join(APPEAL_DECISIONS)}."]
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= REASON_MAX:
        errors["reason"] = [f"Give the reason in 5 to {REASON_MAX} characters (it is public)."]
    if errors:
        raise ValidationFailed(fields=errors)
    rule = current_rule(rule_number)
    now = utcnow()
    rescore = _undo(action, case) if decision == "overturn" else None
    record = ModerationAction(
        case_id=case.id,
        moderator_id=moderator_id,
        action=decision,
        rule_id=rule.id,
        reason=reason,
        target_kind=action.target_kind,
        target_id=action.target_id,
        target_user_id=action.target_user_id,
        appealed_action_id=action.id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    appeal.status = "upheld" if decision == "uphold" else "overturned"
    appeal.decision_id, appeal.decided_at = record.id, now
    record_event(
        "moderation.appeal_decided",
        subject_kind="moderation_case",
        subject_id=case.id,
        actor_id=moderator_id,
        payload={
            "appeal_id": appeal.id,
            "decision": decision,
            "appealed": f"{ACTION_LABELS[action.action].lower()} {log_subject(action)}",
            "rule_number": rule.number,
            "rule_title": rule.title,
            "reason": reason,
            "member_id": appeal.appellant_id,
            "acted_by_id": action.moderator_id,
        },
        now=now,
    )
    db.session.commit()
    if rescore is not None:
        reputation.refresh_after_reveal([rescore], now)
    return record

"""Rules kept as versions, cases (one per reported thing) with their reports, and the
append-only log of moderators' actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.accounts.models import User
from app.db import utcnow
from app.errors import Conflict
from app.extensions import db

TARGET_KINDS = ("listing", "member", "feedback", "message", "club", "deal")
ACTIONS = ("warn", "hide", "remove", "suspend", "ban", "restore", "dismiss")
# A moderator's decision on a dispute (app/disputes): no case, the dispute instead.
DECIDE = "decide"
# A second moderator's decision on an appeal: recorded in the same log as the action appealed.
APPEAL_DECISIONS = ("uphold", "overturn")
LOGGED_ACTIONS = ACTIONS + APPEAL_DECISIONS + (DECIDE,)
APPEALABLE = ("warn", "hide", "remove", "suspend", "ban")  # sanctions a member may appeal
APPEAL_STATES = ("pending", "upheld", "overturned")
CASE_STATES = ("open", "claimed", "closed")
CONTENT_STATES = ("visible", "hidden", "removed")


class RuleSet(db.Model):
    """One version of the community rules: every edit adds a version, none is ever changed."""

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")  # what changed, in a line
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rules: Mapped[list[Rule]] = relationship(
        back_populates="rule_set", order_by="Rule.number", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship()


class Rule(db.Model):
    """Rule `number` of one version. Reports and actions cite the row, so the words they cited
    stay readable after the rules change."""

    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("rule_set_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text, default="")
    # What feedback may be hidden for under this rule ("abuse, harassment"); "" when none.
    feedback_grounds: Mapped[str] = mapped_column(String(120), default="", server_default="")

    rule_set: Mapped[RuleSet] = relationship(back_populates="rules")


class ModerationCase(db.Model):
    """Everything reported about one thing (a listing, member, feedback, message, club or
    deal): its reports, whether the thing is hidden, who works on it and how it ended."""

    __tablename__ = "moderation_cases"
    __table_args__ = (
        UniqueConstraint("target_kind", "target_id"),
        CheckConstraint(
            "target_kind IN ('listing', 'member', 'feedback', 'message', 'club', 'deal')",
            name="target_kind_known",
        ),
        CheckConstraint("status IN ('open', 'claimed', 'closed')", name="status_known"),
        CheckConstraint(
            "content_state IN ('visible', 'hidden', 'removed')", name="content_state_known"
        ),
        Index("ix_moderation_cases_status_opened", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int]
    # The member answerable for the thing (its seller, author, sender, organizer; the member).
    target_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))  # what it is, for the queue
    status: Mapped[str] = mapped_column(String(10), default="open")
    content_state: Mapped[str] = mapped_column(String(10), default="visible")
    # Hidden by the reporters' weight rather than by a moderator (until one decides).
    is_auto_hidden: Mapped[bool] = mapped_column(default=False)
    # The owner changed the thing while it was hidden or removed: look at it again.
    needs_rereview: Mapped[bool] = mapped_column(default=False)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)  # first report of this round
    closed_at: Mapped[datetime | None]

    reports: Mapped[list[Report]] = relationship(
        back_populates="case", order_by="Report.id", cascade="all, delete-orphan"
    )
    target_user: Mapped[User] = relationship(foreign_keys=[target_user_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])

    @property
    def open_reports(self) -> list[Report]:
        return [report for report in self.reports if report.outcome is None]

    @property
    def is_hidden(self) -> bool:
        return self.content_state != "visible"


class Report(db.Model):
    """One member's report of a thing under a rule, with details. Private: only the reporter
    and moderators ever see who reported."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'dismissed')", name="outcome_known"
        ),
        CheckConstraint("weight_milli >= 0", name="weight_not_negative"),
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    details: Mapped[str] = mapped_column(Text)
    # How much this report counts towards hiding the thing, in thousandths (see services).
    weight_milli: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(10))  # upheld or dismissed, once decided
    resolved_at: Mapped[datetime | None]
    action_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_actions.id"))

    case: Mapped[ModerationCase] = relationship(back_populates="reports")
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    rule: Mapped[Rule] = relationship()
    action: Mapped[ModerationAction | None] = relationship()


class ModerationAction(db.Model):
    """What a moderator did, citing a rule and a reason. Append-only: rows are never updated
    or deleted (refused below for the ORM, and by a trigger on PostgreSQL). `reason` is public:
    it appears in the moderation log."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        CheckConstraint(
            "action IN ('warn', 'hide', 'remove', 'suspend', 'ban', 'restore', 'dismiss', "
            "'uphold', 'overturn', 'decide')",
            name="action_known",
        ),
        CheckConstraint(
            "(action IN ('uphold', 'overturn')) = (appealed_action_id IS NOT NULL)",
            name="appeal_decision_cites_action",
        ),
        CheckConstraint(
            "(action = 'decide') = (dispute_id IS NOT NULL)", name="dispute_for_decide"
        ),
        CheckConstraint("case_id IS NOT NULL OR dispute_id IS NOT NULL", name="case_or_dispute"),
        CheckConstraint(
            "(action = 'suspend') = (suspended_until IS NOT NULL)", name="until_for_suspend"
        ),
        Index("ix_moderation_actions_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_cases.id"), index=True)
    # A dispute decision: target_kind/target_id name the transaction (an order, a loan).
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"), index=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(10))
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    reason: Mapped[str] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int]
    target_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    suspended_until: Mapped[datetime | None]
    # For an appeal's decision (uphold or overturn): the action appealed.
    appealed_action_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_actions.id"))
    # Public words on what a decision did with the money ("$12.00 to the lender, ..."): amounts
    # only, never evidence.
    detail: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    moderator: Mapped[User] = relationship(foreign_keys=[moderator_id])
    target_user: Mapped[User] = relationship(foreign_keys=[target_user_id])
    rule: Mapped[Rule] = relationship()
    case: Mapped[ModerationCase | None] = relationship(foreign_keys=[case_id])
    appealed_action: Mapped[ModerationAction | None] = relationship(
        remote_side=[id], foreign_keys=[appealed_action_id]
    )
    # The member's appeal against this action, if any (read-only: appeals own the row).
    appeal: Mapped[Appeal | None] = relationship(
        primaryjoin="Appeal.action_id == ModerationAction.id",
        foreign_keys="Appeal.action_id",
        viewonly=True,
        uselist=False,
    )

    @property
    def appeal_status(self) -> str:
        """ "none", or the appeal's status: "pending", "upheld", "overturned"."""
        if self.action not in APPEALABLE or self.appeal is None:
            return "none"
        return self.appeal.status

    @property
    def appeal_decision_id(self) -> int | None:
        if self.action not in APPEALABLE or self.appeal is None:
            return None
        return self.appeal.decision_id


class Appeal(db.Model):
    """A sanctioned member's one appeal against one action, with their statement (private:
    only they and moderators read it), decided by a moderator other than the one who acted.
    The decision is itself a ModerationAction (uphold or overturn) in the public log."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'upheld', 'overturned')", name="status_known"),
        CheckConstraint(
            "(status = 'pending') = (decision_id IS NULL)", name="decided_with_decision"
        ),
        Index("ix_appeals_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # UNIQUE: each action is appealed once.
    action_id: Mapped[int] = mapped_column(ForeignKey("moderation_actions.id"), unique=True)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_actions.id"), unique=True
    )
    decided_at: Mapped[datetime | None]

    action: Mapped[ModerationAction] = relationship(foreign_keys=[action_id])
    decision: Mapped[ModerationAction | None] = relationship(foreign_keys=[decision_id])
    appellant: Mapped[User] = relationship(foreign_keys=[appellant_id])

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


class AuditLogImmutable(Conflict):
    code, default_message = (
        "audit_log_immutable",
        "Moderation actions are kept as they were: they cannot be changed or deleted.",
    )


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_actions(session: Session, _context, _instances) -> None:
    for instance in list(session.dirty) + list(session.deleted):
        if isinstance(instance, ModerationAction) and (
            instance in session.deleted or session.is_modified(instance)
        ):
            raise AuditLogImmutable()


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes_to_actions(state) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is ModerationAction for mapper in state.all_mappers
    ):
        raise AuditLogImmutable()


# The same rule in the database itself, for anything that bypasses the ORM: the migration
# installs these on PostgreSQL (test schemas made by create_all go without, so they can be wiped).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION moderation_actions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_actions is append-only';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER moderation_actions_append_only
BEFORE UPDATE OR DELETE ON moderation_actions
FOR EACH ROW EXECUTE FUNCTION moderation_actions_append_only()
"""

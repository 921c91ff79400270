"""Community rules, reports, the moderator queue and the public moderation log."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from app.api.core import (
    Id,
    PageArgs,
    Text,
    api_blueprint,
    api_user_id,
    link,
    links,
    list_schema,
    page_of,
    token_optional,
    token_required,
    write_limit,
)
from app.api.schemas import LONG_TEXT, SHORT_TEXT, UserBriefOut
from app.api.schemas import rule as stated
from app.moderation import rules as rulebook
from app.moderation import services
from app.moderation.models import ACTIONS, CASE_STATES, CONTENT_STATES, DECIDE, TARGET_KINDS

bp = api_blueprint(
    "moderation",
    __name__,
    "The community rules, reports (grouped into one case per reported thing), the moderator "
    "queue (moderators only; nobody moderates their own case) and the public moderation log.",
)


# -- schemas -------------------------------------------------------------------------------


class CommunityRuleOut(ma.Schema):
    number = fields.Integer()
    title = fields.String()
    body = fields.String()


class RuleSetOut(ma.Schema):
    version = fields.Integer()
    note = fields.String()
    published_at = fields.DateTime(attribute="created_at")
    rules = fields.List(fields.Nested(CommunityRuleOut))


class RuleVersionList(ma.Schema):
    items = fields.List(fields.Nested(RuleSetOut), required=True)


class ReportIn(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(TARGET_KINDS))
    target_id = Id(required=True)
    rule = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, rulebook.MAX_RULES),
        metadata={"description": "the number of a rule in force (GET /rules)"},
    )
    details = Text(
        required=True,
        validate=validate.Length(max=LONG_TEXT),
        **stated(minLength=services.DETAILS_MIN, maxLength=services.DETAILS_MAX),
    )


class ReportOut(ma.Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    kind = fields.String(attribute="case.target_kind")
    target_id = fields.Integer(attribute="case.target_id")
    title = fields.String(attribute="case.title")
    rule = fields.Nested(CommunityRuleOut)
    details = fields.String()
    created_at = fields.DateTime()
    outcome = fields.String(
        allow_none=True, metadata={"description": "upheld or dismissed; null while waiting"}
    )
    action = fields.String(attribute="action.action", allow_none=True)
    reason = fields.String(attribute="action.reason", allow_none=True)
    content_state = fields.String(
        attribute="case.content_state", validate=validate.OneOf(CONTENT_STATES)
    )


ReportList = list_schema(ReportOut, "ReportList")


class QueueArgs(PageArgs):
    rule = fields.Integer(validate=validate.Range(1, rulebook.MAX_RULES))
    kind = fields.String(validate=validate.OneOf(TARGET_KINDS))
    older_than_hours = fields.Integer(validate=validate.Range(1, 24 * 366))
    status = fields.String(
        load_default="waiting", validate=validate.OneOf(("waiting", *CASE_STATES))
    )


class CaseReportOut(ma.Schema):
    id = fields.Integer()
    reporter = fields.Nested(UserBriefOut)
    rule = fields.Nested(CommunityRuleOut)
    details = fields.String()
    weight = fields.Method("_weight", metadata={"description": "how much it counts to hide"})
    created_at = fields.DateTime()
    outcome = fields.String(allow_none=True)

    def _weight(self, report) -> float:
        return report.weight_milli / 1000


class CaseOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(attribute="target_kind")
    target_id = fields.Integer()
    title = fields.String()
    member = fields.Nested(UserBriefOut, attribute="target_user")
    status = fields.String(validate=validate.OneOf(CASE_STATES))
    content_state = fields.String(validate=validate.OneOf(CONTENT_STATES))
    is_auto_hidden = fields.Boolean()
    needs_rereview = fields.Boolean()
    claimed_by = fields.Nested(UserBriefOut, allow_none=True)
    opened_at = fields.DateTime()
    reports = fields.List(fields.Nested(CaseReportOut))


CaseList = list_schema(CaseOut, "ModerationCaseList")


class ActIn(ma.Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    rule = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, rulebook.MAX_RULES)
    )
    reason = Text(
        required=True,
        validate=validate.Length(max=SHORT_TEXT),
        **stated(minLength=5, maxLength=services.REASON_MAX),
    )
    suspended_until = fields.AwareDateTime(
        allow_none=True, metadata={"description": "required for suspend: a future time"}
    )


class LogEntryOut(ma.Schema):
    """A public log entry: no reporters, no message text."""

    id = fields.Integer()
    created_at = fields.DateTime()
    action = fields.String(validate=validate.OneOf((*ACTIONS, DECIDE)))
    moderator = fields.Nested(UserBriefOut)
    member = fields.Nested(UserBriefOut, attribute="target_user")
    kind = fields.String(attribute="target_kind")
    subject = fields.Method("_subject")
    rule = fields.Nested(CommunityRuleOut)
    reason = fields.String()
    suspended_until = fields.DateTime(allow_none=True)
    detail = fields.String(
        metadata={"description": "a dispute decision: where the money went (amounts only)"}
    )

    def _subject(self, action) -> str:
        return services.log_subject(action)


LogList = list_schema(LogEntryOut, "ModerationLog")


# -- operations ----------------------------------------------------------------------------


@bp.route("/rules", methods=["GET"])
@bp.doc(operationId="getRules")
@bp.response(200, RuleSetOut)
def rules():
    """The community rules in force: their version and numbered rules."""
    return rulebook.current_rules()


@bp.route("/rules/versions", methods=["GET"])
@bp.doc(operationId="listRuleVersions")
@bp.response(200, RuleVersionList)
def rule_versions():
    """Every version of the rules, newest first."""
    return {"items": rulebook.rule_versions()}


@bp.route("/reports", methods=["POST"])
@bp.doc(
    operationId="createReport",
    **links(201, ListMyReports=link("listMyReports")),
)
@token_required("write")
@write_limit()
@bp.arguments(ReportIn)
@bp.response(201, ReportOut)
def create_report(data):
    """Report a listing, member, feedback, message, club or deal under a rule (at most
    10 a day and 20 waiting; 429 report_limit). Reports about the same thing are grouped in
    one case; enough weight from trusted reporters hides it until a moderator decides. Errors:
    already_reported, cannot_report_own, account_suspended (with suspended_until)."""
    return services.create_report(
        api_user_id(), data["kind"], data["target_id"], data["rule"], data["details"]
    )


@bp.route("/reports", methods=["GET"])
@bp.doc(operationId="listMyReports")
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ReportList)
def my_reports(args):
    """Your reports, newest first, with their outcome."""
    page = services.reports_of(api_user_id(), args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/moderation/cases", methods=["GET"])
@bp.doc(
    operationId="listModerationCases",
    **links(
        200,
        ClaimCase=link("claimModerationCase", case_id="$response.body#/items/0/id"),
    ),
)
@token_required("read")
@bp.arguments(QueueArgs, location="query")
@bp.response(200, CaseList)
def queue(args):
    """The moderator queue, oldest first (moderators only: 403 not_a_moderator), filtered by
    a cited rule number, kind and age."""
    filters = services.QueueFilter(
        rule_number=args.get("rule"),
        kind=args.get("kind"),
        older_than_hours=args.get("older_than_hours"),
        status=args["status"],
    )
    page = services.queue(api_user_id(), filters, args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/moderation/cases/<id:case_id>", methods=["GET"])
@bp.doc(operationId="getModerationCase")
@token_required("read")
@bp.response(200, CaseOut)
def case(case_id: int):
    """A case with its reports (moderators only)."""
    return services.get_case(case_id, api_user_id())


@bp.route("/moderation/cases/<id:case_id>/claim", methods=["POST"])
@bp.doc(
    operationId="claimModerationCase",
    **links(200, Act=link("actOnModerationCase", case_id="$response.body#/id")),
)
@token_required("write")
@write_limit()
@bp.response(200, CaseOut)
def claim(case_id: int):
    """Claim a case (moderators only; 403 own_case for a case about you or your transaction,
    409 case_claimed or case_closed)."""
    return services.claim_case(case_id, api_user_id())


@bp.route("/moderation/cases/<id:case_id>/actions", methods=["POST"])
@bp.doc(operationId="actOnModerationCase", **links(201, Log=link("listModerationLog")))
@token_required("write")
@write_limit()
@bp.arguments(ActIn)
@bp.response(201, LogEntryOut)
def act(data, case_id: int):
    """Decide a case: warn, hide, remove, suspend (until suspended_until), ban, restore or
    dismiss, citing a rule and a public reason. Recorded in the append-only log."""
    return services.act(
        case_id,
        api_user_id(),
        data["action"],
        data["rule"],
        data["reason"],
        suspended_until=data.get("suspended_until"),
    )


@bp.route("/moderation/log", methods=["GET"])
@bp.doc(operationId="listModerationLog")
@token_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, LogList)
def log(args):
    """The public moderation log, newest first: who did what under which rule and why,
    without reporters or message text."""
    page = services.public_log(args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)

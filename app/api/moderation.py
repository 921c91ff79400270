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
from app.moderation import appeals, services
from app.moderation import rules as rulebook
from app.moderation.models import (
    APPEAL_DECISIONS,
    APPEAL_STATES,
    APPEALABLE,
    CASE_STATES,
    CONTENT_STATES,
    LOGGED_ACTIONS,
    TARGET_KINDS,
)

bp = api_blueprint(
    "moderation",
    __name__,
    "The community rules, reports (grouped into one case per reported thing), the moderator "
    "queue (moderators only; nobody moderates their own case), appeals (each sanction once, "
    "decided by another moderator) and the public moderation log.",
)


# -- schemas -------------------------------------------------------------------------------


class CommunityRuleOut(ma.Schema):
    number = fields.Integer()
    title = fields.String()
    body = fields.String()
    feedback_grounds = fields.String(
        metadata={
            "description": "what feedback may be hidden for under this rule "
            '("abuse, harassment"); empty when feedback may not be hidden under it'
        }
    )


class RuleSetOut(ma.Schema):
    version = fields.Integer()
    note = fields.String()
    published_at = fields.DateTime(attribute="created_at")
    rules = fields.List(fields.Nested(CommunityRuleOut))


class RuleVersionList(ma.Schema):
    items = fields.List(fields.Nested(RuleSetOut), required=True)


class RuleIn(ma.Schema):
    title = Text(
        required=True,
        validate=validate.Length(max=rulebook.TITLE_MAX),
        **stated(minLength=1, maxLength=rulebook.TITLE_MAX),
    )
    body = Text(load_default="", validate=validate.Length(max=rulebook.BODY_MAX))
    feedback_grounds = Text(
        load_default="",
        validate=validate.Length(max=rulebook.GROUNDS_MAX),
        metadata={"description": "what feedback may be hidden for under it; empty: none"},
    )


class PublishRulesIn(ma.Schema):
    rules = fields.List(
        fields.Nested(RuleIn),
        required=True,
        validate=validate.Length(min=1, max=rulebook.MAX_RULES),
        metadata={"description": "the whole list, in order: they are numbered from 1"},
    )
    note = Text(load_default="", validate=validate.Length(max=rulebook.NOTE_MAX))


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
    action = fields.String(
        required=True,
        validate=validate.OneOf(services.ACTIONS),
        metadata={"description": "feedback is hidden or removed only under a feedback rule"},
    )
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
    action = fields.String(validate=validate.OneOf(LOGGED_ACTIONS))
    moderator = fields.Nested(UserBriefOut)
    member = fields.Nested(UserBriefOut, attribute="target_user")
    kind = fields.String(attribute="target_kind")
    subject = fields.Method("_subject")
    rule = fields.Nested(CommunityRuleOut)
    reason = fields.String()
    suspended_until = fields.DateTime(allow_none=True)
    appealed_action_id = fields.Integer(
        allow_none=True,
        metadata={"description": "for uphold and overturn: the action decided on appeal"},
    )
    appeal_status = fields.String(
        validate=validate.OneOf(("none", *APPEAL_STATES)),
        metadata={"description": "whether the member appealed this action, and the outcome"},
    )
    appeal_decision_id = fields.Integer(
        allow_none=True,
        metadata={"description": "the log entry that decided the appeal (uphold or overturn)"},
    )
    detail = fields.String(
        metadata={"description": "a dispute decision: where the money went (amounts only)"}
    )

    def _subject(self, action) -> str:
        return services.log_subject(action)


LogList = list_schema(LogEntryOut, "ModerationLog")


class AppealIn(ma.Schema):
    statement = Text(
        required=True,
        validate=validate.Length(max=LONG_TEXT),
        **stated(minLength=appeals.STATEMENT_MIN, maxLength=appeals.STATEMENT_MAX),
    )


class AppealOut(ma.Schema):
    id = fields.Integer()
    action = fields.Nested(LogEntryOut, metadata={"description": "the action appealed"})
    appellant = fields.Nested(UserBriefOut)
    statement = fields.String(metadata={"description": "private: the member and moderators"})
    status = fields.String(validate=validate.OneOf(APPEAL_STATES))
    created_at = fields.DateTime()
    decision = fields.Nested(LogEntryOut, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


AppealList = list_schema(AppealOut, "AppealList")


class SanctionOut(ma.Schema):
    action = fields.Nested(LogEntryOut)
    appeal = fields.Nested(AppealOut, allow_none=True)
    can_appeal = fields.Boolean()


class SanctionList(ma.Schema):
    items = fields.List(fields.Nested(SanctionOut), required=True)


class AppealArgs(PageArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(("all", *APPEAL_STATES)))
    action = fields.String(validate=validate.OneOf(APPEALABLE))


class DecideAppealIn(ma.Schema):
    decision = fields.String(required=True, validate=validate.OneOf(APPEAL_DECISIONS))
    rule = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, rulebook.MAX_RULES)
    )
    reason = Text(
        required=True,
        validate=validate.Length(max=SHORT_TEXT),
        **stated(minLength=5, maxLength=services.REASON_MAX),
    )


# -- operations ----------------------------------------------------------------------------


@bp.route("/rules", methods=["GET"])
@bp.doc(operationId="getRules")
@bp.response(200, RuleSetOut)
def rules():
    """The community rules in force: their version and numbered rules."""
    return rulebook.current_rules()


@bp.route("/rules", methods=["POST"])
@bp.doc(operationId="publishRules", **links(201, Versions=link("listRuleVersions")))
@token_required("write")
@write_limit()
@bp.arguments(PublishRulesIn)
@bp.response(201, RuleSetOut)
def publish_rules(data):
    """Publish a new version of the rules (admins only: 403 forbidden). The old versions stay
    readable; reports and actions keep citing the words they were made under."""
    rows = [(r["title"], r["body"], r["feedback_grounds"]) for r in data["rules"]]
    return rulebook.publish_rules(api_user_id(), rows, data["note"])


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
@bp.doc(
    operationId="listModerationLog",
    **links(
        200,
        Entry=link("getModerationLogEntry", action_id="$response.body#/items/0/id"),
    ),
)
@token_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, LogList)
def log(args):
    """The public moderation log, newest first: who did what under which rule and why,
    without reporters or message text."""
    page = services.public_log(args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/moderation/log/<int:action_id>", methods=["GET"])
@bp.doc(
    operationId="getModerationLogEntry",
    **links(
        200,
        AppealedAction=link(
            "getModerationLogEntry", action_id="$response.body#/appealed_action_id"
        ),
        AppealDecision=link(
            "getModerationLogEntry", action_id="$response.body#/appeal_decision_id"
        ),
    ),
)
@token_optional
@bp.response(200, LogEntryOut)
def log_entry(action_id: int):
    """One entry of the public moderation log (404 not_found): for an appealed action its
    appeal's status and decision, for an appeal's decision the action appealed."""
    return services.log_entry(action_id)


# -- appeals -------------------------------------------------------------------------------


@bp.route("/moderation/sanctions", methods=["GET"])
@bp.doc(
    operationId="listMySanctions",
    **links(
        200,
        Appeal=link("createAppeal", action_id="$response.body#/items/0/action/id"),
    ),
)
@token_required("read")
@bp.response(200, SanctionList)
def my_sanctions():
    """Every moderator action about you (warn, hide, remove, suspend, ban), newest first, with
    your appeal of it and whether you may still appeal."""
    return {"items": appeals.sanctions_of(api_user_id())}


@bp.route("/moderation/actions/<id:action_id>/appeal", methods=["POST"])
@bp.doc(operationId="createAppeal", **links(201, ListMyAppeals=link("listMyAppeals")))
@token_required("write")
@write_limit()
@bp.arguments(AppealIn)
@bp.response(201, AppealOut)
def create_appeal(data, action_id: int):
    """Appeal an action about you, once, with a statement only moderators read; open to
    suspended and banned members. Errors: 404 not_found (no such action about you), 409
    appeal_already_made, 409 not_appealable (restore, dismiss and decisions are not
    sanctions)."""
    return appeals.create_appeal(api_user_id(), action_id, data["statement"])


@bp.route("/appeals", methods=["GET"])
@bp.doc(operationId="listMyAppeals")
@token_required("read")
@bp.response(200, AppealList)
def my_appeals():
    """Your appeals, newest first, with their decision."""
    found = appeals.appeals_of(api_user_id())
    return page_of(found, 1, max(len(found), 1), len(found))


@bp.route("/moderation/appeals", methods=["GET"])
@bp.doc(
    operationId="listAppeals",
    **links(200, Decide=link("decideAppeal", appeal_id="$response.body#/items/0/id")),
)
@token_required("read")
@bp.arguments(AppealArgs, location="query")
@bp.response(200, AppealList)
def appeal_queue(args):
    """Appeals, oldest first (moderators only: 403 not_a_moderator), by status (pending by
    default) and kind of action appealed."""
    filters = appeals.AppealFilter(status=args["status"], action=args.get("action"))
    page = appeals.appeals_queue(api_user_id(), filters, args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/moderation/appeals/<id:appeal_id>/decision", methods=["POST"])
@bp.doc(operationId="decideAppeal", **links(201, Log=link("listModerationLog")))
@token_required("write")
@write_limit()
@bp.arguments(DecideAppealIn)
@bp.response(201, LogEntryOut)
def decide_appeal(data, appeal_id: int):
    """Uphold or overturn an appeal, citing a rule and a public reason; overturning undoes the
    action (content shown again, suspension or ban lifted). Moderators only, and never the one
    who acted (403 own_action) nor a party to the case (403 own_case); 409 appeal_decided."""
    return appeals.decide_appeal(
        appeal_id, api_user_id(), data["decision"], data["rule"], data["reason"]
    )

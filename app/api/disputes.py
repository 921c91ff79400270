"""Disputes about any transaction (an order, a loan's damage claim, a pledge): open one with a
reason and photos, answer it, list yours, and (moderators) decide it."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request, send_from_directory
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app.api.core import (
    MAX_ID,
    PageArgs,
    Text,
    api_blueprint,
    api_user_id,
    link,
    page_of,
    token_required,
    write_limit,
)
from app.api.schemas import UserBriefOut
from app.disputes import refunds, services
from app.disputes.models import OFFER_STATUSES, SOURCES, STATUSES
from app.moderation import rules as rulebook
from app.money import MAX_CENTS

bp = api_blueprint(
    "disputes",
    __name__,
    "Disputes about a transaction (keyed by its kind and id): a party opens one with a reason "
    "and photos, the other side answers once, and a moderator who takes no part decides how "
    "the money at stake is divided; the decision is carried out through the ledger and the "
    "payment provider exactly once, and appears in the public moderation log.",
)

DISPUTE_ID = "$response.body#/id"
ERRORS = {
    403: "`forbidden`: not your side to do that; `not_a_moderator`; `own_dispute`: a "
    "moderator cannot decide a dispute about their own transaction; `own_offer`: the other "
    "side answers your refund offer",
    404: "`not_found`: no such dispute or transaction, or you take no part in it",
    409: "`already_disputed`, `nothing_at_stake`, `already_answered`, `dispute_decided`, "
    "`offer_closed`, `conflict` (a dispute is open: no more offers), `refund_window_closed`: "
    "too long after completion (`REFUND_WINDOW_DAYS`), `invalid_transition`: not possible in "
    "the transaction's state",
    422: "`validation_failed`: a field is wrong (`fields` says which)",
}


def _answers(errors: tuple[int, ...], status: int | None = None, **targets: dict) -> dict:
    responses: dict = {
        code: {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in errors
    }
    if status is not None and targets:
        responses[status] = {"links": targets}
    return {"responses": responses}


# -- schemas -------------------------------------------------------------------------------


class DisputePhotoOut(ma.Schema):
    id = fields.Integer()
    side = fields.String(metadata={"description": "opener or respondent"})
    thumb_url = fields.Method("_thumb")
    full_url = fields.Method("_full")

    def _thumb(self, photo) -> str:
        return f"/api/v1/disputes/{photo.dispute_id}/photos/{photo.id}/thumb"

    def _full(self, photo) -> str:
        return f"/api/v1/disputes/{photo.dispute_id}/photos/{photo.id}/full"


class DisputeOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(attribute="subject_kind")
    subject_id = fields.Integer()
    source = fields.String(validate=validate.OneOf(SOURCES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    opened_by = fields.Nested(UserBriefOut, allow_none=True)
    opener_role = fields.String()
    respondent = fields.Nested(UserBriefOut)
    reason = fields.String()
    stake_cents = fields.Integer()
    currency = fields.String()
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    awarded_cents = fields.Integer(
        allow_none=True, metadata={"description": "to the seller or lender, once decided"}
    )
    refunded_cents = fields.Integer(
        allow_none=True, metadata={"description": "back to the buyer or borrower, once decided"}
    )
    decision_reason = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(DisputePhotoOut))


DisputeList = ma.Schema.from_dict(
    {
        "items": fields.List(fields.Nested(DisputeOut), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
    },
    name="DisputeList",
)


class DisputeIn(ma.Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(("order", "loan", "pledge")),
        metadata={"description": "the kind of transaction (loans: the borrower disputes a claim)"},
    )
    subject_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID))
    reason = Text(required=True, validate=validate.Length(min=1, max=services.REASON_MAX))
    photos = Upload(metadata={"description": "an evidence photo (repeat for more)"})


class AnswerIn(ma.Schema):
    answer = Text(required=True, validate=validate.Length(min=1, max=services.REASON_MAX))
    photos = Upload(metadata={"description": "an evidence photo (repeat for more)"})


class DecisionIn(ma.Schema):
    awarded_cents = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, MAX_CENTS),
        metadata={
            "description": "what goes to the seller or lender (0: a full refund to the payer; "
            "the stake: all to the payee); the rest goes back to the payer"
        },
    )
    rule = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, rulebook.MAX_RULES)
    )
    reason = Text(
        required=True,
        validate=validate.Length(min=5, max=services.DECISION_REASON_MAX),
        metadata={"description": "public: it appears in the moderation log"},
    )


class DisputeListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(("waiting", "decided")))


# -- operations ----------------------------------------------------------------------------


@bp.route("/disputes", methods=["POST"])
@bp.doc(
    operationId="createDispute",
    **_answers(
        (403, 404, 409, 422),
        201,
        GetDispute=link("getDispute", dispute_id=DISPUTE_ID),
        AnswerDispute=link("answerDispute", dispute_id=DISPUTE_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(DisputeIn, location="files")
@bp.response(201, DisputeOut)
def create(data):
    """Open a dispute about a transaction of yours (multipart or form: `kind`, `subject_id`,
    `reason`, `photos` repeatable). A loan: the borrower disputes the lender's damage claim.
    The other side is told and can answer; a moderator decides."""
    return services.open_dispute(
        data["kind"],
        data["subject_id"],
        api_user_id(),
        data["reason"],
        [photo for photo in request.files.getlist("photos") if photo.filename],
    )


@bp.route("/disputes", methods=["GET"])
@bp.doc(
    operationId="listDisputes",
    **_answers((), 200, GetDispute=link("getDispute", dispute_id="$response.body#/items/0/id")),
)
@token_required("read")
@bp.arguments(DisputeListArgs, location="query")
@bp.response(200, DisputeList)
def mine(args):
    """The disputes you opened or answer, newest first. With `status` (moderators only): the
    dispute queue, waiting ones oldest first, or the decided ones."""
    if args.get("status"):
        page = services.queue(api_user_id(), args["status"], args["page"], args["per_page"])
    else:
        page = services.disputes_of(api_user_id(), args["page"], args["per_page"])
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/disputes/<id:dispute_id>", methods=["GET"])
@bp.doc(operationId="getDispute", **_answers((404,)))
@token_required("read")
@bp.response(200, DisputeOut)
def get(dispute_id: int):
    """A dispute with its reason, evidence photos, answer and decision: for its parties and
    moderators."""
    return services.get_dispute(dispute_id, api_user_id())


@bp.route("/disputes/<id:dispute_id>/answer", methods=["POST"])
@bp.doc(
    operationId="answerDispute",
    **_answers((403, 404, 409, 422), 200, GetDispute=link("getDispute", dispute_id=DISPUTE_ID)),
)
@token_required("write")
@write_limit()
@bp.arguments(AnswerIn, location="files")
@bp.response(200, DisputeOut)
def answer(data, dispute_id: int):
    """The other side answers once (form or multipart: `answer`, `photos` repeatable), before
    the decision."""
    return services.answer_dispute(
        dispute_id,
        api_user_id(),
        data["answer"],
        [photo for photo in request.files.getlist("photos") if photo.filename],
    )


@bp.route("/disputes/<id:dispute_id>/decision", methods=["POST"])
@bp.doc(
    operationId="decideDispute",
    **_answers((403, 404, 409, 422), 200, GetDispute=link("getDispute", dispute_id=DISPUTE_ID)),
)
@token_required("write")
@write_limit()
@bp.arguments(DecisionIn)
@bp.response(200, DisputeOut)
def decide(data, dispute_id: int):
    """Moderators who take no part in the transaction: divide the stake (`awarded_cents` to
    the seller or lender, the rest back to the payer), citing a rule with a public reason. The
    money moves at once, exactly once; the decision appears in the moderation log."""
    return services.decide_dispute(
        dispute_id, api_user_id(), data["awarded_cents"], data["rule"], data["reason"]
    )


@bp.route("/disputes/<id:dispute_id>/photos/<id:photo_id>/<any(full, thumb):size>")
@bp.doc(
    operationId="getDisputePhoto",
    responses={
        200: {
            "description": "the photo (JPEG)",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_answers((404,))["responses"],
    },
)
@token_required("read")
def photo(dispute_id: int, photo_id: int, size: str):
    """An evidence photo, for the dispute's parties and moderators."""
    found = services.photo_for(dispute_id, photo_id, api_user_id())
    path = found.thumb_path if size == "thumb" else found.image_path
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"], path, mimetype="image/jpeg", max_age=3600
    )
    response.cache_control.private = True
    return response


# -- refunds agreed between the parties -----------------------------------------------------

OFFER_ID = "$response.body#/id"


class RefundOfferOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(attribute="subject_kind")
    subject_id = fields.Integer()
    proposer = fields.Nested(UserBriefOut)
    proposer_role = fields.String()
    refund_cents = fields.Integer(metadata={"description": "back to the buyer or borrower"})
    stake_cents = fields.Integer(metadata={"description": "what the offer divides"})
    currency = fields.String()
    note = fields.String()
    status = fields.String(validate=validate.OneOf(OFFER_STATUSES))
    created_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


class RefundOfferList(ma.Schema):
    items = fields.List(fields.Nested(RefundOfferOut), required=True)


class RefundOfferIn(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("order", "loan", "pledge")))
    subject_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ID))
    refund_cents = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, MAX_CENTS),
        metadata={"description": "what goes back to the payer; the rest goes to the payee"},
    )
    note = Text(load_default="", validate=validate.Length(max=refunds.NOTE_MAX))


class RefundOfferAnswerIn(ma.Schema):
    accept = fields.Boolean(required=True, metadata={"description": "true accepts, false declines"})


class RefundOfferListArgs(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("order", "loan", "pledge")))
    subject_id = fields.Integer(required=True, validate=validate.Range(1, MAX_ID))


@bp.route("/refunds", methods=["POST"])
@bp.doc(
    operationId="proposeRefund",
    **_answers(
        (403, 404, 409, 422),
        201,
        RespondToRefund=link("respondToRefund", offer_id=OFFER_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(RefundOfferIn)
@bp.response(201, RefundOfferOut)
def propose(data):
    """Propose (or counter: it replaces the open offer) a refund on an order while its money is
    held, or another amount for a loan's damage claim. The other side accepts or declines; if
    you cannot agree, open a dispute (createDispute)."""
    return refunds.propose_refund(
        data["kind"], data["subject_id"], api_user_id(), data["refund_cents"], data["note"]
    )


@bp.route("/refunds", methods=["GET"])
@bp.doc(
    operationId="listRefundOffers",
    **_answers(
        (404,),
        200,
        RespondToRefund=link("respondToRefund", offer_id="$response.body#/items/0/id"),
    ),
)
@token_required("read")
@bp.arguments(RefundOfferListArgs, location="query")
@bp.response(200, RefundOfferList)
def offers(args):
    """The refund offers about one of your transactions, oldest first."""
    return {"items": refunds.offers_about(args["kind"], args["subject_id"], api_user_id())}


@bp.route("/refunds/<id:offer_id>/answer", methods=["POST"])
@bp.doc(operationId="respondToRefund", **_answers((403, 404, 409, 422)))
@token_required("write")
@write_limit()
@bp.arguments(RefundOfferAnswerIn)
@bp.response(200, RefundOfferOut)
def respond(data, offer_id: int):
    """Accept (the refund is carried out at once, exactly once, like a moderator's decision)
    or decline the other side's open offer."""
    return refunds.respond_to_refund(offer_id, api_user_id(), data["accept"])

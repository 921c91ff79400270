"""Payments: paying an order by card, refunds by the seller, and your statement. Every resource
is one call of a service the web pages call too (app.orders.money, app.payments.services)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from app.api.core import (
    MAX_ID,
    MAX_PER_PAGE,
    PageArgs,
    Text,
    api_blueprint,
    api_user_id,
    token_required,
    write_limit,
)
from app.api.schemas import SHORT_TEXT
from app.errors import ValidationFailed
from app.orders import money as order_money
from app.payments import services

bp = api_blueprint("payments", __name__, "Paying by card, refunds and your statement.")

REASON_MAX = order_money.REASON_MAX


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


# -- schemas -------------------------------------------------------------------------------


class PaymentStartOut(ma.Schema):
    payment_id = _int(required=True)
    provider = fields.String(required=True, metadata={"description": "stripe"})
    status = fields.String(
        required=True,
        metadata={"description": "created, requires_action or processing (ours, not Stripe's)"},
    )
    amount_cents = _int(required=True)
    currency = fields.String(required=True)
    client_secret = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "confirm the PaymentIntent with it (Stripe.js, mobile SDKs)"},
    )
    publishable_key = fields.String(
        required=True, allow_none=True, metadata={"description": "the site's Stripe pk_..."}
    )


class RefundIn(ma.Schema):
    # Only types and sizes here: refund_order judges the amount and the reason, so the web
    # form and the API refuse the same input in the same words.
    amount_cents = _int(
        required=True,
        validate=validate.Range(-MAX_ID, MAX_ID),
        metadata={"description": "how much to give back: at least 1, at most what is held."},
    )
    reason = Text(
        load_default="",
        validate=validate.Length(max=SHORT_TEXT),
        metadata={
            "description": f"optional, at most {REASON_MAX} characters; the buyer sees it.",
            "maxLength": REASON_MAX,
        },
    )


class RefundOut(ma.Schema):
    operation_key = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "refund"})
    status = fields.String(
        required=True,
        metadata={
            "description": "succeeded, or pending: recorded and retried until the payment "
            "service answers"
        },
    )
    amount_cents = _int(required=True)
    currency = fields.String(required=True)


class StatementArgs(PageArgs):
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PER_PAGE))


class StatementEntryOut(ma.Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "description": "order_funded, refund_paid, order_released, payout_paid (the last "
            "two only for card payments)"
        },
    )
    description = fields.String(required=True, metadata={"description": "as you read it"})
    amount_cents = _int(
        required=True,
        metadata={
            "description": "signed from your side: negative left you, positive came to you, "
            "0 for money that is not yours (a card payment held for your sale)"
        },
    )
    currency = fields.String(required=True)
    subject_type = fields.String(required=True, allow_none=True)
    subject_id = _int(required=True, allow_none=True)
    transaction_id = _int(required=True)


class StatementTotalsOut(ma.Schema):
    paid = _int(required=True, metadata={"description": "you paid, as a buyer"})
    refunded = _int(required=True, metadata={"description": "given back to you, as a buyer"})
    received_in_person = _int(
        required=True, metadata={"description": "buyers paid you in person, as a seller"}
    )
    given_back_in_person = _int(
        required=True, metadata={"description": "you gave back in person, as a seller"}
    )
    earned = _int(
        required=True,
        metadata={"description": "card sales credited to you after the platform fee"},
    )
    paid_out = _int(required=True, metadata={"description": "sent to your bank account"})


class StatementOut(ma.Schema):
    user_id = _int(required=True)
    balances = fields.Dict(
        keys=fields.String(),
        values=_int(),
        required=True,
        metadata={"description": "currency -> what is owed to you and not paid out yet"},
    )
    totals = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(StatementTotalsOut),
        required=True,
        metadata={"description": "currency -> paid, refunded to you, earned, paid out"},
    )
    page = _int(required=True)
    per_page = _int(required=True)
    total = _int(required=True, metadata={"description": "entries on all pages"})
    entries = fields.List(fields.Nested(StatementEntryOut), required=True)


# -- resources -----------------------------------------------------------------------------


@bp.route("/orders/<id:order_id>/payment", methods=["POST"])
@bp.doc(operationId="startOrderPayment")
@token_required("write")
@write_limit()
@bp.response(200, PaymentStartOut)
def start_payment(order_id: int):
    """Open (or reopen) the card payment of your order awaiting payment; confirm it on the
    client with Stripe.js or a mobile SDK using `client_secret` and `publishable_key`. The order
    becomes `paid` when the payment succeeds. 409 `nothing_to_pay` for a free order, 409
    `payment_in_person` where payment is settled in person, 409 `invalid_transition` once the
    order is no longer awaiting payment, 403 for the seller, 404 for anyone else."""
    return order_money.start_order_payment(order_id, api_user_id())


@bp.route("/orders/<id:order_id>/refunds", methods=["POST"])
@bp.doc(operationId="createRefund")
@token_required("write")
@write_limit()
@bp.arguments(RefundIn)
@bp.response(201, RefundOut)
def refund(data, order_id: int):
    """The seller gives part or all of the held payment back to the buyer while the order is
    paid, shipped or delivered. 409 `not_refundable` in any other state, 422 with
    `fields.amount_cents` for more than is still held, 403 for the buyer, 404 for anyone else."""
    try:
        return order_money.refund_order(
            order_id, api_user_id(), data["amount_cents"], data["reason"]
        )
    except ValidationFailed as error:
        # The service names the web form's field; the API's is amount_cents.
        if "amount" in error.fields:
            error.fields["amount_cents"] = error.fields.pop("amount")
        raise


@bp.route("/me/statement", methods=["GET"])
@bp.doc(operationId="getStatement")
@token_required("read")
@bp.arguments(StatementArgs, location="query")
@bp.response(200, StatementOut)
def statement(args):
    """Your statement, newest first: what you paid and got back, what you earned and were paid
    out, each entry one ledger transaction with its signed amount for you."""
    return services.statement_for(api_user_id(), args["page"], args["per_page"])

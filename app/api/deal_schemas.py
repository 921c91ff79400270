"""Schemas of the group-deal API (app/api/deals.py): deals with their tiers and progress,
pledges, the roster. Inputs check types and sizes; the rules are the services' (app/clubs)."""

from __future__ import annotations

import copy

import marshmallow as ma
from flask import url_for
from marshmallow import fields, validate

from app.api.core import Id, PageArgs, PatchIn, Text, list_schema
from app.api.schemas import LONG_TEXT, SHORT_TEXT, ModerationOf, UserBriefOut
from app.clubs import states
from app.clubs import tiers as tier_math
from app.clubs.models import FULFILMENTS
from app.money import MAX_CENTS
from app.transactions.machine import MAX_NOTE_LENGTH

MAX_UNITS = 1_000_000
# Taken on routes of their own: quantity changes (PATCH /pledges/{id}), withdrawing (DELETE),
# pledging again (POST /deals/{id}/pledges).
PLEDGE_ACTIONS = [
    a
    for a in states.PLEDGE_MACHINE.user_actions
    if a not in ("change_quantity", "withdraw", "renew")
] + ["retry_charge"]
DEAL_ACTIONS = list(states.DEAL_MACHINE.user_actions)
DEAL_ROLES = ["member", "organizer", "supplier"]


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


def _when(**kwargs) -> fields.DateTime:
    return fields.DateTime(allow_none=True, **kwargs)


class TierSchema(ma.Schema):
    min_quantity = _int(
        required=True,
        validate=validate.Range(1, MAX_UNITS),
        metadata={"description": "from this many units in all"},
    )
    unit_price_cents = _int(
        required=True,
        validate=validate.Range(1, MAX_CENTS),
        metadata={"description": "every unit costs this"},
    )


class ProgressOut(ma.Schema):
    total = _int(metadata={"description": "units pledged in all"})
    current_unit_price_cents = _int(
        allow_none=True, metadata={"description": "the price now; null under the first tier"}
    )
    current_tier_min = _int(allow_none=True)
    next_tier_min = _int(allow_none=True, metadata={"description": "null: best tier reached"})
    next_unit_price_cents = _int(allow_none=True)
    units_to_next = _int()
    units_to_tip = _int(metadata={"description": "0 once the minimum is reached"})
    units_left = _int(allow_none=True, metadata={"description": "under the cap; null: no cap"})
    is_tipped = fields.Boolean()


class RuleOut(ma.Schema):
    title = fields.String()
    text = fields.String()


class EventOut(ma.Schema):
    action = fields.String()
    to_state = fields.String()
    actor_id = _int(allow_none=True, attribute="actor.id")
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class PledgeOut(ma.Schema):
    id = _int(dump_only=True)
    deal_id = _int()
    member = fields.Nested(UserBriefOut)
    quantity = _int()
    state = fields.String(metadata={"enum": list(states.PLEDGE_MACHINE.state_names)})
    state_label = fields.Function(lambda p: states.PLEDGE_MACHINE.state(p.state).label)
    actions = fields.List(
        fields.String(),
        metadata={
            "description": "what the caller may do now: POST /pledges/{id}/{action}; a "
            "member changes the quantity with PATCH and withdraws with DELETE"
        },
    )
    payment_method = fields.String(metadata={"description": "card, or in_person at pickup"})
    most_cents = _int(metadata={"description": "the most it can cost: the first tier's price"})
    now_cents = _int(allow_none=True, metadata={"description": "at today's price"})
    unit_price_cents = _int(allow_none=True, metadata={"description": "fixed at the deadline"})
    goods_cents = _int()
    fee_cents = _int(metadata={"description": "the organizer's fee"})
    shipping_cents = _int()
    amount_cents = _int(metadata={"description": "goods + fee + shipping, once fixed"})
    grace_until = _when(metadata={"description": "a declined card can be fixed until then"})
    failure_note = fields.String(allow_none=True)
    problem_note = fields.String(allow_none=True)
    pledged_at = fields.DateTime()
    withdrawn_at = _when()
    paid_at = _when()
    delivered_at = _when()
    received_at = _when()
    dropped_at = _when()
    url = fields.Function(
        lambda p: url_for("deals.detail", deal_id=p.deal_id, _external=True),
        metadata={"description": "the deal's page"},
    )


class DealOut(ma.Schema):
    id = _int(dump_only=True)
    moderation = ModerationOf("deal")
    club_id = _int()
    state = fields.String(metadata={"enum": list(states.DEAL_MACHINE.state_names)})
    state_label = fields.Function(lambda d: states.DEAL_MACHINE.state(d.state).label)
    actions = fields.List(
        fields.String(),
        metadata={"description": "what the caller may do now: POST /deals/{id}/{action}"},
    )
    role = fields.String(
        allow_none=True, metadata={"description": "organizer, supplier, or null (a member)"}
    )
    title = fields.String()
    description = fields.String()
    unit = fields.String()
    currency = fields.String()
    tiers = fields.List(fields.Nested(TierSchema))
    min_quantity = _int(metadata={"description": "the total that tips the deal"})
    cap_quantity = _int(allow_none=True)
    member_limit = _int(allow_none=True)
    deadline = fields.DateTime()
    fulfilment = fields.String(metadata={"enum": list(FULFILMENTS)})
    pickup_point = fields.String()
    pickup_times = fields.String()
    shipping_cents = _int()
    organizer_fee_bps = _int(metadata={"description": "of the goods; 500 = 5 %"})
    pledged_quantity = _int()
    pledge_count = _int()
    progress = fields.Nested(ProgressOut)
    final_unit_price_cents = _int(allow_none=True, metadata={"description": "fixed at close"})
    can_pledge = fields.Boolean()
    why_not = fields.String(metadata={"description": "why the caller cannot pledge now"})
    my_pledge = fields.Nested(PledgeOut, allow_none=True)
    rules = fields.List(fields.Nested(RuleOut))
    organizer = fields.Nested(UserBriefOut)
    supplier = fields.Nested(UserBriefOut)
    supplier_note = fields.String(allow_none=True)
    cancel_note = fields.String(allow_none=True)
    events = fields.List(fields.Nested(EventOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    proposed_at = _when()
    opened_at = _when()
    tipped_at = _when()
    closed_at = _when()
    settled_at = _when()
    fulfilled_at = _when()
    completed_at = _when()
    failed_at = _when()
    cancelled_at = _when()
    url = fields.Function(
        lambda d: url_for("deals.detail", deal_id=d.id, _external=True),
        metadata={"description": "the deal's page"},
    )


DealList = list_schema(DealOut, "DealList")
PledgeList = list_schema(PledgeOut, "PledgeList")


class DealIn(ma.Schema):
    supplier_id = Id(required=True, metadata={"description": "another member, not you"})
    title = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    description = Text(load_default="", validate=validate.Length(max=LONG_TEXT))
    unit = Text(load_default="item", validate=validate.Length(max=SHORT_TEXT))
    tiers = fields.List(
        fields.Nested(TierSchema),
        required=True,
        validate=validate.Length(1, tier_math.MAX_TIERS),
        metadata={"description": "each next tier: more units, a lower price"},
    )
    min_quantity = _int(required=True, validate=validate.Range(1, MAX_UNITS))
    cap_quantity = _int(load_default=None, allow_none=True, validate=validate.Range(1, MAX_UNITS))
    member_limit = _int(load_default=None, allow_none=True, validate=validate.Range(1, MAX_UNITS))
    deadline = fields.AwareDateTime(required=True, metadata={"description": "pledges close"})
    fulfilment = fields.String(load_default="pickup", validate=validate.OneOf(FULFILMENTS))
    pickup_point = Text(load_default="", validate=validate.Length(max=SHORT_TEXT))
    pickup_times = Text(load_default="", validate=validate.Length(max=SHORT_TEXT))
    shipping_cents = _int(load_default=0, validate=validate.Range(0, MAX_CENTS))
    organizer_fee_bps = _int(
        load_default=0,
        validate=validate.Range(0, tier_math.MAX_FEE_BPS),
        metadata={"description": "500 = 5 %"},
    )


def _optional(field: fields.Field) -> fields.Field:
    """The same field (type, checks, description), neither required nor defaulted."""
    field = copy.deepcopy(field)
    field.required = False
    field.load_default = ma.missing
    return field


# PATCH /deals/{id}: the draft's terms as in DealIn, every one optional; what is sent replaces
# the draft's value (`tiers` as a whole list; null clears `cap_quantity` or `member_limit`),
# the rest stays. The service checks the merged terms as a whole, like a new draft.
DealPatchIn = PatchIn.from_dict(
    {name: _optional(field) for name, field in DealIn._declared_fields.items()},
    name="DealPatchIn",
)


class DealListArgs(PageArgs):
    role = fields.String(
        validate=validate.OneOf(DEAL_ROLES),
        metadata={"description": "member (you pledged), organizer or supplier; all if left out"},
    )


class DealActionIn(ma.Schema):
    note = Text(
        allow_none=True,
        validate=validate.Length(max=LONG_TEXT),
        metadata={"description": "for decline_terms and cancel", "maxLength": MAX_NOTE_LENGTH},
    )


class PledgeIn(ma.Schema):
    quantity = _int(required=True, validate=validate.Range(1, MAX_UNITS))


class PledgeActionIn(DealActionIn):
    pass


class RosterRowOut(ma.Schema):
    member = fields.Nested(UserBriefOut)
    quantity = _int()
    amount_cents = _int()
    paid = fields.Boolean()
    collected = fields.Boolean()
    state = fields.String()


class RosterOut(ma.Schema):
    deal_id = _int()
    currency = fields.String()
    final_unit_price_cents = _int(allow_none=True)
    rows = fields.List(fields.Nested(RosterRowOut))
    total_quantity = _int()
    total_amount_cents = _int()

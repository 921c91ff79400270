"""Trust levels: your level, why, what the next one asks and the privileges each opens
(app/trust/levels.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from app.api.core import api_blueprint, api_user_id, token_required
from app.trust import levels as trust

bp = api_blueprint("trust", __name__, "Trust levels and the privileges they open.")


class RequirementOut(ma.Schema):
    key = fields.String(
        metadata={
            "description": "account_age_days, completed_transactions, positive_ratings or "
            "percent_positive"
        }
    )
    label = fields.String()
    need = fields.Float()
    have = fields.Float(allow_none=True, metadata={"description": "null: no ratings yet"})
    is_met = fields.Boolean()


class LevelOut(ma.Schema):
    level = fields.Integer()
    name = fields.String()
    requirements = fields.List(fields.Nested(RequirementOut))


class PrivilegeRowOut(ma.Schema):
    key = fields.String()
    label = fields.String()
    by_level = fields.List(fields.String(), metadata={"description": "levels 0 to 3, in order"})


class TrustOut(ma.Schema):
    level = fields.Integer(metadata={"description": "0 New, 1 Basic, 2 Member, 3 Regular"})
    name = fields.String()
    is_staff = fields.Boolean(metadata={"description": "moderators and admins pass every gate"})
    account_age_days = fields.Integer(attribute="age_days")
    completed_transactions = fields.Integer(attribute="completed")
    positive_ratings = fields.Integer(attribute="positive")
    percent_positive = fields.Float(allow_none=True, metadata={"description": "12 months"})
    reasons = fields.List(fields.String())
    next_level = fields.Integer(allow_none=True, metadata={"description": "null at level 3"})
    next_requirements = fields.List(fields.Nested(RequirementOut))
    levels = fields.Method("_levels")
    privileges = fields.Method("_privileges")

    def _levels(self, standing: trust.Standing) -> list[dict]:
        return [
            LevelOut().dump(
                {
                    "level": level,
                    "name": trust.LEVEL_NAMES[level],
                    "requirements": trust.all_requirements(standing.levels, level),
                }
            )
            for level in (trust.BASIC, trust.MEMBER, trust.REGULAR)
        ]

    def _privileges(self, _standing: trust.Standing) -> list[dict]:
        return PrivilegeRowOut(many=True).dump(trust.privileges())


@bp.route("/me/trust", methods=["GET"])
@bp.doc(
    operationId="getMyTrustLevel",
    responses={
        401: {
            "description": "`unauthorized`: send a token",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    },
)
@token_required("read")
@bp.response(200, TrustOut)
def my_trust():
    """Your trust level (computed from your account's age, completed orders, loans and
    pledges, and your reputation), why, what the next level asks with your numbers, and what
    each level allows. Gates refuse with 403 `trust_level_required` (and `level_required`) or
    429 `daily_limit_reached` (with Retry-After)."""
    return trust.standing(api_user_id())

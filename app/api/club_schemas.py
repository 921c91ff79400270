"""Marshmallow schemas of the clubs API (app/api/clubs.py): separate input (…In) and output
(…Out) schemas. Inputs check types and sizes; the rules stay in app/clubs/services.py, whose
limits the document states."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from app.api.core import PageArgs, PatchIn, Text, list_schema
from app.api.schemas import LONG_TEXT, SHORT_TEXT, ModerationOf, UserBriefOut, rule
from app.clubs import services as clubs
from app.clubs.models import JOIN_POLICIES, MEMBER_ROLES, MEMBER_STATUSES, VISIBILITIES

CLUB_ACTIONS = ("join", "request", "withdraw", "leave", "edit", "rotate_invite")


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


class OrganizerReputationOut(ma.Schema):
    feedback_score = _int()
    percent_positive = fields.Float(allow_none=True, metadata={"description": "12 months"})
    positive = _int()
    neutral = _int()
    negative = _int()
    ratings = _int()


class MyMembershipOut(ma.Schema):
    role = fields.String(validate=validate.OneOf(MEMBER_ROLES))
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))
    requested_at = fields.DateTime(allow_none=True)
    joined_at = fields.DateTime(allow_none=True)


class ClubOut(ma.Schema):
    id = _int(dump_only=True)
    moderation = ModerationOf("club")
    name = fields.String()
    description = fields.String()
    area = fields.String()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    join_policy = fields.String(validate=validate.OneOf(JOIN_POLICIES))
    member_count = _int(metadata={"description": "active members"})
    organizer = fields.Nested(UserBriefOut)
    organizer_reputation = fields.Nested(
        OrganizerReputationOut,
        allow_none=True,
        metadata={"description": "the organizer's ratings as organizer (null: none yet)"},
    )
    membership = fields.Nested(
        MyMembershipOut, allow_none=True, metadata={"description": "your place (null: none)"}
    )
    actions = fields.List(
        fields.String(validate=validate.OneOf(CLUB_ACTIONS)),
        metadata={"description": "what you may do with the club now"},
    )
    invite_url = fields.String(
        allow_none=True,
        metadata={"description": "the invite link, for its organizers only (else null)"},
    )
    page_url = fields.String(metadata={"description": "its page on the web"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ClubListArgs(PageArgs):
    q = Text(
        load_default="",
        validate=validate.Length(max=clubs.SEARCH_MAX),
        metadata={"description": "words in the club's name or area"},
    )
    mine = fields.Boolean(
        load_default=False,
        metadata={"description": "your clubs (and requests) instead of public ones; needs a token"},
    )


NAME = {
    "validate": validate.Length(max=SHORT_TEXT),
    **rule(minLength=clubs.NAME_MIN, maxLength=clubs.NAME_MAX),
}


class ClubIn(ma.Schema):
    name = Text(required=True, **NAME)
    description = Text(
        load_default="",
        validate=validate.Length(max=LONG_TEXT),
        **rule(maxLength=clubs.DESCRIPTION_MAX),
    )
    area = Text(
        load_default="", validate=validate.Length(max=SHORT_TEXT), **rule(maxLength=clubs.AREA_MAX)
    )
    visibility = fields.String(load_default="public", validate=validate.OneOf(VISIBILITIES))
    join_policy = fields.String(load_default="open", validate=validate.OneOf(JOIN_POLICIES))


class ClubPatchIn(PatchIn):
    name = Text(**NAME)
    description = Text(
        validate=validate.Length(max=LONG_TEXT), **rule(maxLength=clubs.DESCRIPTION_MAX)
    )
    area = Text(validate=validate.Length(max=SHORT_TEXT), **rule(maxLength=clubs.AREA_MAX))
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    join_policy = fields.String(validate=validate.OneOf(JOIN_POLICIES))


class JoinIn(ma.Schema):
    message = Text(
        load_default="",
        validate=validate.Length(max=SHORT_TEXT),
        metadata={
            "description": "to the organizers, with a request to join",
            "maxLength": clubs.MESSAGE_MAX,
        },
    )
    invite_token = Text(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the token of the club's invite link: joins at once"},
    )


class MemberOut(ma.Schema):
    user = fields.Nested(UserBriefOut)
    role = fields.String(validate=validate.OneOf(MEMBER_ROLES))
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))
    message = fields.String(metadata={"description": "with a request to join"})
    requested_at = fields.DateTime(allow_none=True)
    joined_at = fields.DateTime(allow_none=True)
    actions = fields.List(
        fields.String(validate=validate.OneOf(clubs.MEMBER_ACTIONS)),
        metadata={"description": "what you may do to this place now"},
    )


class MemberListArgs(PageArgs):
    status = fields.String(
        load_default="active",
        validate=validate.OneOf(("active", "pending")),
        metadata={"description": "pending: requests to join (organizers only)"},
    )


class MemberActionIn(ma.Schema):
    note = Text(
        load_default="",
        validate=validate.Length(max=SHORT_TEXT),
        **rule(maxLength=clubs.NOTE_MAX),
    )


class InviteOut(ma.Schema):
    invite_url = fields.String()


class PrivilegeOut(ma.Schema):
    rule = fields.String(metadata={"description": "the rule for starting a club"})
    is_met = fields.Boolean()
    min_positive = _int()
    min_percent = _int()
    positive = _int(metadata={"description": "positive ratings you received"})
    percent_positive = fields.Float(allow_none=True, metadata={"description": "12 months"})
    is_admin = fields.Boolean(metadata={"description": "staff (admins, moderators) are exempt"})
    level = _int(metadata={"description": "your trust level (GET /me/trust explains it)"})
    level_required = _int(metadata={"description": "the trust level starting a club takes"})
    missing = fields.List(
        fields.String(), metadata={"description": "what that level still asks, with your numbers"}
    )


ClubList = list_schema(ClubOut, "ClubList")
MemberList = list_schema(MemberOut, "ClubMemberList")

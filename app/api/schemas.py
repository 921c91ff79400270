"""Marshmallow schemas of the API: separate input (…In) and output (…Out) schemas per resource.

Inputs check types and sizes only (a string is a string, an id an integer, floats refused); the
marketplace's rules stay in the services. Outputs are what clients may rely on: ids, money in
integer minor units with a currency code, ISO 8601 UTC times.
"""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app.api.core import Id, PageArgs, Text, list_schema
from app.api.models import SCOPES
from app.listings.models import Condition
from app.orders import states

LONG_TEXT = 20_000  # generous bounds that stop silly payloads; the services set the real limits
SHORT_TEXT = 1_000


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


def _when(**kwargs) -> fields.DateTime:
    return fields.DateTime(allow_none=True, **kwargs)


# -- users ---------------------------------------------------------------------------------


class UserBriefOut(ma.Schema):
    id = _int(dump_only=True)
    handle = fields.String()
    name = fields.String()


class UserPublicOut(UserBriefOut):
    display_name = fields.String(allow_none=True)
    bio = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    avatar_url = fields.Method("_avatar_url", allow_none=True)
    profile_url = fields.Method("_profile_url")
    created_at = fields.DateTime()

    def _avatar_url(self, user) -> str | None:
        if not user.avatar_path:
            return None
        return url_for("accounts.avatar", user_id=user.id, _external=True)

    def _profile_url(self, user) -> str:
        return url_for("accounts.profile", handle=user.handle, _external=True)


class UserPrivateOut(UserPublicOut):
    email = fields.String()
    email_confirmed = fields.Boolean(
        attribute="is_email_confirmed",
        metadata={"description": "false until the link mailed to the address is opened"},
    )
    last_login_at = _when()


class SignupIn(ma.Schema):
    email = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    handle = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))


class ProfileIn(ma.Schema):
    display_name = Text(allow_none=True, validate=validate.Length(max=SHORT_TEXT))
    bio = Text(allow_none=True, validate=validate.Length(max=LONG_TEXT))
    location = Text(allow_none=True, validate=validate.Length(max=SHORT_TEXT))


class PasswordIn(ma.Schema):
    current_password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))
    new_password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))


class EmailChangeIn(ma.Schema):
    new_email = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    current_password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))


class PasswordResetIn(ma.Schema):
    email = Text(required=True, validate=validate.Length(max=SHORT_TEXT))


class PasswordResetConfirmIn(ma.Schema):
    token = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    new_password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))


class ConfirmEmailIn(ma.Schema):
    token = Text(required=True, validate=validate.Length(max=SHORT_TEXT))


class ConfirmedEmailOut(ma.Schema):
    email = fields.String(required=True, metadata={"description": "the account's address now"})
    email_confirmed = fields.Boolean(required=True, attribute="is_email_confirmed")


class NoticeOut(ma.Schema):
    message = fields.String(required=True, metadata={"description": "what happened, in words"})


class AvatarIn(ma.Schema):
    avatar = Upload(required=True)


class ReputationFactorOut(ma.Schema):
    name = fields.String(required=True)
    impact = fields.Float(required=True, metadata={"description": "its share of the trust"})
    description = fields.String(required=True)


class ReputationBlockOut(ma.Schema):
    feedback_score = _int(required=True)
    percent_positive = fields.Float(required=True, allow_none=True)
    positive = _int(required=True)
    neutral = _int(required=True)
    negative = _int(required=True)
    trust = fields.Float(allow_none=True, metadata={"description": "0..1; null: never rated"})
    confidence = fields.Float(allow_none=True, metadata={"description": "0..1"})
    flags = fields.List(fields.String(), metadata={"description": "e.g. new_account"})
    explanation = fields.List(
        fields.Nested(ReputationFactorOut), metadata={"description": "why this score"}
    )


class ReputationOut(ma.Schema):
    overall = fields.Nested(ReputationBlockOut, required=True)
    roles = fields.Dict(keys=fields.String(), values=fields.Nested(ReputationBlockOut))


# -- tokens --------------------------------------------------------------------------------


class TokenOut(ma.Schema):
    id = _int(dump_only=True)
    name = fields.String()
    display_prefix = fields.String(metadata={"description": "the token's first characters"})
    scopes = fields.List(fields.String(), attribute="scope_list")
    created_at = fields.DateTime()
    last_used_at = _when()


class NewTokenOut(TokenOut):
    token = fields.String(
        required=True, metadata={"description": "the token itself: shown this once only"}
    )


class TokenCreateIn(ma.Schema):
    email = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))
    name = Text(validate=validate.Length(max=SHORT_TEXT))
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={"description": "default: read and write"},
    )


# -- listings ------------------------------------------------------------------------------


class CategoryOut(ma.Schema):
    slug = fields.String()
    name = fields.String()


class PhotoOut(ma.Schema):
    id = _int(dump_only=True)
    position = _int()
    width = _int()
    height = _int()
    url = fields.Method("_url")
    thumb_url = fields.Method("_thumb_url")

    def _url(self, photo) -> str:
        return url_for("listings.photo", photo_id=photo.id, size="full", _external=True)

    def _thumb_url(self, photo) -> str:
        return url_for("listings.photo", photo_id=photo.id, size="thumb", _external=True)


class ListingOut(ma.Schema):
    id = _int(dump_only=True)
    title = fields.String()
    description = fields.String()
    category = fields.Function(lambda listing: listing.category.slug)
    condition = fields.String()
    condition_label = fields.String()
    price_cents = _int()
    currency = fields.String()
    quantity = _int()
    status = fields.String()
    is_buyable = fields.Boolean()
    seller = fields.Nested(UserBriefOut)
    photos = fields.List(fields.Nested(PhotoOut))
    url = fields.Function(
        lambda listing: url_for("listings.detail", listing_id=listing.id, _external=True)
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


CONDITIONS = [c.value for c in Condition]
SORTS = ["relevance", "newest", "price_asc", "price_desc"]
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Use a three-letter currency code, like USD.")


class ListingSearchArgs(PageArgs):
    q = Text(validate=validate.Length(max=SHORT_TEXT))
    category = Text(validate=validate.Length(max=100))
    min_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    max_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))


class ListingIn(ma.Schema):
    title = Text(required=True, validate=validate.Length(max=SHORT_TEXT))
    description = Text(load_default="", validate=validate.Length(max=LONG_TEXT))
    category = Text(required=True, validate=validate.Length(max=100))
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    price_cents = _int(required=True)
    currency = fields.String(validate=CURRENCY, metadata={"description": "default: the site's"})
    quantity = _int(load_default=1)


class ListingPatchIn(ma.Schema):
    title = Text(validate=validate.Length(max=SHORT_TEXT))
    description = Text(validate=validate.Length(max=LONG_TEXT))
    category = Text(validate=validate.Length(max=100))
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    price_cents = _int()
    quantity = _int()
    status = fields.String(
        validate=validate.OneOf(["active", "paused"]),
        metadata={"description": "pause or resume; DELETE removes a listing"},
    )


class MyListingsArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["active", "paused", "sold_out"]))


class PhotosIn(ma.Schema):
    photos = Upload(required=True, metadata={"description": "one image (repeat for more)"})


# -- orders --------------------------------------------------------------------------------

USER_ACTIONS = list(
    dict.fromkeys(
        action for (_state, action), rule in states.TRANSITIONS.items() if rule.actor != "system"
    )
)


class OrderEventOut(ma.Schema):
    action = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    actor = fields.Function(
        lambda event: event.actor.handle if event.actor else None,
        allow_none=True,
        metadata={"description": "handle, or null for the system"},
    )
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class OrderOut(ma.Schema):
    id = _int(dump_only=True)
    state = fields.String()
    state_label = fields.Function(lambda order: states.STATE_LABELS.get(order.state, order.state))
    actions = fields.List(
        fields.String(),
        metadata={"description": "what the calling user may do now: POST /orders/{id}/{action}"},
    )
    role = fields.String(metadata={"description": "the caller's side: buyer or seller"})
    listing_id = _int()
    title = fields.String()
    quantity = _int()
    unit_price_cents = _int()
    total_cents = _int()
    currency = fields.String()
    buyer = fields.Nested(UserBriefOut)
    seller = fields.Nested(UserBriefOut)
    shipping_note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    paid_at = _when()
    shipped_at = _when()
    delivered_at = _when()
    completed_at = _when()
    cancelled_at = _when()
    auto_complete_at = _when()
    events = fields.List(fields.Nested(OrderEventOut))


class OrderIn(ma.Schema):
    listing_id = Id(required=True)
    quantity = _int(load_default=1)


class OrderListArgs(PageArgs):
    role = fields.String(validate=validate.OneOf(["buyer", "seller"]))
    state = fields.String(validate=validate.OneOf(states.STATES))


class ActionIn(ma.Schema):
    note = Text(
        allow_none=True,
        validate=validate.Length(max=LONG_TEXT),
        metadata={"description": "for ship: tracking number or how it was handed over"},
    )


# -- feedback ------------------------------------------------------------------------------


class FeedbackOut(ma.Schema):
    id = _int(dump_only=True)
    order_id = _int()
    rating = fields.String()
    comment = fields.String()
    described = _int(attribute="detail_described", allow_none=True)
    communication = _int(attribute="detail_communication", allow_none=True)
    speed = _int(attribute="detail_speed", allow_none=True)
    author = fields.Nested(UserBriefOut)
    subject = fields.Nested(UserBriefOut)
    author_role = fields.String()
    subject_role = fields.String()
    created_at = fields.DateTime()
    is_revealed = fields.Boolean()
    revealed_at = _when()
    reply = fields.String(allow_none=True)
    reply_at = _when()


class OrderFeedbackOut(ma.Schema):
    can_leave = fields.Boolean()
    is_waiting_for_other = fields.Boolean()
    window_closes_at = _when()
    mine = fields.Nested(FeedbackOut, allow_none=True)
    theirs = fields.Nested(
        FeedbackOut,
        allow_none=True,
        metadata={"description": "the other side's feedback: null until revealed"},
    )
    can_reply = fields.Boolean()
    detail_ratings = fields.Function(
        lambda view: [name for name, _label in view.detail_fields],
        metadata={
            "description": "the optional 1-5 ratings you may give",
            "type": "array",
            "items": {"type": "string"},
        },
    )


class FeedbackIn(ma.Schema):
    rating = fields.String(
        required=True, validate=validate.OneOf(["positive", "neutral", "negative"])
    )
    comment = Text(load_default="", validate=validate.Length(max=LONG_TEXT))
    described = _int(allow_none=True)
    communication = _int(allow_none=True)
    speed = _int(allow_none=True)


class ReplyIn(ma.Schema):
    reply = Text(required=True, validate=validate.Length(max=LONG_TEXT))


class ReceivedFeedbackArgs(PageArgs):
    role = fields.String(validate=validate.OneOf(["buyer", "seller"]))


# -- messages ------------------------------------------------------------------------------


class MessageOut(ma.Schema):
    id = _int(dump_only=True)
    order_id = _int()
    sender = fields.Nested(UserBriefOut)
    body = fields.String()
    created_at = fields.DateTime()
    read_at = _when()


class MessageIn(ma.Schema):
    body = Text(required=True, validate=validate.Length(max=LONG_TEXT))


class ConversationOut(ma.Schema):
    order_id = fields.Function(lambda c: c.order.id)
    title = fields.Function(lambda c: c.order.title)
    state = fields.Function(lambda c: c.order.state)
    unread = _int()
    last_message = fields.Nested(MessageOut)


ListingList = list_schema(ListingOut, "ListingList")
OrderList = list_schema(OrderOut, "OrderList")
FeedbackList = list_schema(FeedbackOut, "FeedbackList")
MessageList = list_schema(MessageOut, "MessageList")
ConversationList = list_schema(ConversationOut, "ConversationList")
TokenList = list_schema(TokenOut, "TokenList")
CategoryList = list_schema(CategoryOut, "CategoryList")

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

from app.accounts import services as accounts
from app.api.core import Id, PageArgs, PatchIn, Text, list_schema
from app.api.models import SCOPES
from app.api.services import NAME_MAX_LENGTH
from app.inputs import MAX_ID
from app.listings import services as listings
from app.listings.models import Condition
from app.messaging.services import MAX_BODY_LENGTH
from app.money import MAX_CENTS
from app.orders import states
from app.orders.conversation import KIND as ORDER
from app.orders.services import MAX_NOTE_LENGTH
from app.reviews.services import COMMENT_MAX, REPLY_MAX

LONG_TEXT = 20_000  # generous bounds that stop silly payloads; the services set the real limits
SHORT_TEXT = 1_000


def rule(**constraints) -> dict:
    """The service's rule, stated in the document (the service checks it, with its message)."""
    return {"metadata": constraints}


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
        return url_for("profiles.profile", handle=user.handle, _external=True)


class UserPrivateOut(UserPublicOut):
    email = fields.String()
    email_confirmed = fields.Boolean(
        attribute="is_email_confirmed",
        metadata={"description": "false until the link mailed to the address is opened"},
    )
    last_login_at = _when()


PASSWORD_RULE = rule(minLength=accounts.PASSWORD_MIN_LENGTH, maxLength=accounts.PASSWORD_MAX_LENGTH)


class SignupIn(ma.Schema):
    email = Text(
        required=True,
        validate=validate.Length(max=SHORT_TEXT),
        **rule(maxLength=accounts.EMAIL_MAX_LENGTH, format="email"),
    )
    handle = Text(
        required=True,
        validate=validate.Length(max=SHORT_TEXT),
        **rule(
            minLength=accounts.HANDLE_MIN_LENGTH,
            maxLength=accounts.HANDLE_MAX_LENGTH,
            description="letters, digits and _ (stored in lower case)",
        ),
    )
    password = Text(
        required=True, strip=False, validate=validate.Length(max=SHORT_TEXT), **PASSWORD_RULE
    )


class ProfileIn(PatchIn):
    display_name = Text(
        allow_none=True,
        validate=validate.Length(max=SHORT_TEXT),
        **rule(maxLength=accounts.DISPLAY_NAME_MAX_LENGTH),
    )
    bio = Text(
        allow_none=True,
        validate=validate.Length(max=LONG_TEXT),
        **rule(maxLength=accounts.BIO_MAX_LENGTH),
    )
    location = Text(
        allow_none=True,
        validate=validate.Length(max=SHORT_TEXT),
        **rule(maxLength=accounts.LOCATION_MAX_LENGTH),
    )


class PasswordIn(ma.Schema):
    current_password = Text(required=True, strip=False, validate=validate.Length(max=SHORT_TEXT))
    new_password = Text(
        required=True, strip=False, validate=validate.Length(max=SHORT_TEXT), **PASSWORD_RULE
    )


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
    points = _int(
        required=True,
        metadata={"description": "the step in whole points out of 100, as the profile shows"},
    )


class ReputationBlockOut(ma.Schema):
    feedback_score = _int(required=True)
    percent_positive = fields.Float(required=True, allow_none=True)
    positive = _int(required=True)
    neutral = _int(required=True)
    negative = _int(required=True)
    trust = fields.Float(allow_none=True, metadata={"description": "0..1; null: never rated"})
    confidence = fields.Float(allow_none=True, metadata={"description": "0..1"})
    confidence_level = fields.String(
        allow_none=True, metadata={"description": "low, medium or high; null: never rated"}
    )
    effective_ratings = fields.Float(
        metadata={"description": "the evidence behind the trust, in full ratings"}
    )
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
    name = Text(validate=validate.Length(max=SHORT_TEXT), **rule(maxLength=NAME_MAX_LENGTH))
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
CATEGORY_RULE = rule(enum=[slug for slug, _name in listings.CATEGORIES])
TITLE_RULE = rule(minLength=listings.TITLE_MIN, maxLength=listings.TITLE_MAX)
DESCRIPTION_RULE = rule(maxLength=listings.DESCRIPTION_MAX)
PRICE_RULE = rule(minimum=0, maximum=MAX_CENTS, description="in minor units (cents)")
SORTS = ["relevance", "newest", "price_asc", "price_desc"]
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Use a three-letter currency code, like USD.")


class ListingSearchArgs(PageArgs):
    q = Text(validate=validate.Length(max=SHORT_TEXT))
    category = Text(validate=validate.Length(max=100), **CATEGORY_RULE)
    min_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    max_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))


class ListingIn(ma.Schema):
    title = Text(required=True, validate=validate.Length(max=SHORT_TEXT), **TITLE_RULE)
    description = Text(load_default="", validate=validate.Length(max=LONG_TEXT), **DESCRIPTION_RULE)
    category = Text(required=True, validate=validate.Length(max=100), **CATEGORY_RULE)
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    price_cents = _int(required=True, **PRICE_RULE)
    currency = fields.String(validate=CURRENCY, metadata={"description": "default: the site's"})
    quantity = _int(load_default=1, **rule(minimum=1, maximum=listings.QUANTITY_MAX))


class ListingPatchIn(PatchIn):
    title = Text(validate=validate.Length(max=SHORT_TEXT), **TITLE_RULE)
    description = Text(validate=validate.Length(max=LONG_TEXT), **DESCRIPTION_RULE)
    category = Text(validate=validate.Length(max=100), **CATEGORY_RULE)
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    price_cents = _int(**PRICE_RULE)
    quantity = _int(**rule(minimum=0, maximum=listings.QUANTITY_MAX))
    status = fields.String(
        validate=validate.OneOf(["active", "paused"]),
        metadata={"description": "pause or resume; DELETE removes a listing"},
    )


class MyListingsArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["active", "paused", "sold_out"]))


class PhotosIn(ma.Schema):
    photos = Upload(required=True, metadata={"description": "one image (repeat for more)"})


# -- orders --------------------------------------------------------------------------------

USER_ACTIONS = list(states.USER_ACTIONS)


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
    is_free = fields.Boolean(
        metadata={"description": "a giveaway (total 0): placed straight into paid, no payment"}
    )
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
    quantity = _int(load_default=1, **rule(minimum=1, maximum=listings.QUANTITY_MAX))


class OrderListArgs(PageArgs):
    role = fields.String(validate=validate.OneOf(["buyer", "seller"]))
    state = fields.String(validate=validate.OneOf(states.STATES))


class ActionIn(ma.Schema):
    note = Text(
        allow_none=True,
        validate=validate.Length(max=LONG_TEXT),
        metadata={
            "description": "for ship: tracking number or how it was handed over",
            "maxLength": MAX_NOTE_LENGTH,
        },
    )


# -- feedback ------------------------------------------------------------------------------


class FeedbackOut(ma.Schema):
    id = _int(dump_only=True)
    order_id = _int(
        allow_none=True, metadata={"description": "the order rated; null for other kinds"}
    )
    subject_kind = fields.String(metadata={"description": "the kind of transaction: order, ..."})
    subject_id = _int(metadata={"description": "the id of the transaction rated"})
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
    comment = Text(
        load_default="", validate=validate.Length(max=LONG_TEXT), **rule(maxLength=COMMENT_MAX)
    )
    described = _int(allow_none=True, **rule(minimum=1, maximum=5))
    communication = _int(allow_none=True, **rule(minimum=1, maximum=5))
    speed = _int(allow_none=True, **rule(minimum=1, maximum=5))


class ReplyIn(ma.Schema):
    reply = Text(
        required=True, validate=validate.Length(max=LONG_TEXT), **rule(maxLength=REPLY_MAX)
    )


class ReceivedFeedbackArgs(PageArgs):
    role = fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={"description": "only feedback received in this role (buyer, seller, ...)"},
    )


# -- messages ------------------------------------------------------------------------------


class _SubjectIdOf(fields.Integer):
    """The id of a message's or conversation's subject when it is of `kind`, else null."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(strict=True, allow_none=True, dump_only=True, **kwargs)
        self.kind = kind

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        conversation = getattr(obj, "conversation", obj)
        return conversation.subject_id if conversation.subject_kind == self.kind else None


class MessageOut(ma.Schema):
    id = _int(dump_only=True)
    conversation_id = _int(dump_only=True)
    order_id = _SubjectIdOf(ORDER, metadata={"description": "null unless about an order"})
    sender = fields.Nested(UserBriefOut)
    body = fields.String()
    created_at = fields.DateTime()
    read_at = _when(
        metadata={
            "description": "yours: when all others had read it; others': when you read it; "
            "null while unread"
        }
    )


class MessageIn(ma.Schema):
    body = Text(
        required=True, validate=validate.Length(max=LONG_TEXT), **rule(maxLength=MAX_BODY_LENGTH)
    )


class ConversationOut(ma.Schema):
    """A conversation about an order, as /messages has always listed them."""

    order_id = _SubjectIdOf(ORDER)
    title = fields.String(attribute="conversation.title")
    state = fields.Function(lambda c: c.subject.state if c.subject else None)
    unread = _int()
    last_message = fields.Nested(MessageOut)


class SubjectOut(ma.Schema):
    kind = fields.String(metadata={"description": "order, ... (what the conversation is about)"})
    id = _int()
    state = fields.String(allow_none=True)
    label = fields.String(metadata={"description": "how you stand in it, e.g. Purchase or Sale"})
    page_url = fields.Method("_page_url", metadata={"description": "its page on the web"})

    def _page_url(self, subject) -> str:
        return url_for(subject.endpoint, **subject.url_values, _external=True)


class ConversationBaseOut(ma.Schema):
    id = _int(attribute="conversation.id", dump_only=True)
    subject_kind = fields.String(attribute="conversation.subject_kind")
    subject_id = _int(attribute="conversation.subject_id")
    title = fields.String(attribute="conversation.title")
    subject = fields.Nested(SubjectOut, allow_none=True)
    participants = fields.List(fields.Nested(UserBriefOut))
    unread = _int(metadata={"description": "messages from others you have not read"})
    created_at = fields.DateTime(attribute="conversation.created_at")
    last_message_at = _when(attribute="conversation.last_message_at")


class ConversationSummaryOut(ConversationBaseOut):
    last_message = fields.Nested(MessageOut)


class ConversationDetailOut(ConversationBaseOut):
    messages = fields.List(
        fields.Nested(MessageOut), metadata={"description": "the latest ones, oldest first"}
    )
    has_more = fields.Boolean(metadata={"description": "older messages exist (use before_id)"})


class ConversationArgs(ma.Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    before_id = fields.Integer(
        validate=validate.Range(1, MAX_ID),
        metadata={"description": "only messages older than this one"},
    )


ListingList = list_schema(ListingOut, "ListingList")
OrderList = list_schema(OrderOut, "OrderList")
FeedbackList = list_schema(FeedbackOut, "FeedbackList")
MessageList = list_schema(MessageOut, "MessageList")
ConversationList = list_schema(ConversationOut, "ConversationList")
ConversationSummaryList = list_schema(ConversationSummaryOut, "ConversationSummaryList")
TokenList = list_schema(TokenOut, "TokenList")
CategoryList = list_schema(CategoryOut, "CategoryList")

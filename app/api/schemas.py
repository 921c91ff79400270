"""Marshmallow schemas of the API: separate input (…In) and output (…Out) schemas per resource.

Inputs check types and sizes only (a string is a string, an id an integer, floats refused); the
marketplace's rules stay in the services. Outputs are what clients may rely on: ids, money in
integer minor units with a currency code, ISO 8601 UTC times.
"""

from __future__ import annotations

import marshmallow as ma
from flask import g, url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app import visibility
from app.accounts import services as accounts
from app.api.core import Id, PageArgs, PatchIn, Text, list_schema
from app.api.models import SCOPES
from app.api.services import NAME_MAX_LENGTH
from app.inputs import MAX_ID
from app.lending import states as loan_states
from app.lending.services import STATE_GROUPS as LOAN_STATE_GROUPS
from app.listings import availability, offers
from app.listings import services as listings
from app.listings.models import Condition
from app.messaging.services import MAX_BODY_LENGTH
from app.moderation.hooks import is_hidden_content
from app.moderation.services import PENDING_NOTICE, hidden_notice
from app.money import MAX_CENTS
from app.orders import states
from app.orders.conversation import KIND as ORDER
from app.orders.services import MAX_NOTE_LENGTH
from app.pagination import MAX_PAGE, last_numbered_page
from app.reviews.services import COMMENT_MAX, REPLY_MAX

MAX_WINDOW_DAYS = 366  # the widest availability window one call answers
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


class ProfileBio(fields.String):
    """The member's "about" text; null for others once a moderator hid or removed it."""

    def _serialize(self, value, attr, obj, **kwargs):
        if visibility.state("member", obj.id) != visibility.VISIBLE:
            viewer = g.get("api_user")
            if viewer is None or (viewer.id != obj.id and not viewer.is_moderator):
                return None
        return super()._serialize(value, attr, obj, **kwargs)


class UserPublicOut(UserBriefOut):
    display_name = fields.String(allow_none=True)
    bio = ProfileBio(
        allow_none=True, metadata={"description": "null when a moderator hid or removed it"}
    )
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
    trust_level = fields.Method(
        "_trust_level", metadata={"type": "integer", "description": "GET /me/trust explains it"}
    )

    def _trust_level(self, user) -> int:
        from app.trust.levels import standing

        return standing(user.id).level


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


OFFER_MONEY = rule(minimum=0, maximum=MAX_CENTS, description="in minor units (cents)")
DAYS_RULE = rule(minimum=1, maximum=offers.MAX_LOAN_DAYS)


class LoanOfferOut(ma.Schema):
    fee_per_day_cents = _int(metadata={"description": "0: free to borrow"})
    fee_per_week_cents = _int(
        allow_none=True, metadata={"description": "the price of 7 days together, or null"}
    )
    deposit_cents = _int(metadata={"description": "refundable"})
    min_days = _int()
    max_days = _int()
    pickup_area = fields.String()
    pickup_notes = fields.String()
    late_fee_per_day_cents = _int()
    late_fee_cap_cents = _int(
        metadata={"description": "the most lateness can cost (never more than the deposit)"}
    )
    is_free = fields.Function(lambda offer: offer.fee_per_day_cents == 0)


class LoanOfferIn(ma.Schema):
    """Loan terms. On create, a term left out takes its default; on update, its current value."""

    fee_per_day_cents = _int(**OFFER_MONEY)
    fee_per_week_cents = _int(
        allow_none=True,
        metadata={
            "minimum": 1,
            "maximum": MAX_CENTS,
            "description": "optional: below 7 x fee_per_day_cents; null for none",
        },
    )
    deposit_cents = _int(**OFFER_MONEY)
    min_days = _int(**DAYS_RULE)
    max_days = _int(**DAYS_RULE)
    pickup_area = Text(
        validate=validate.Length(max=SHORT_TEXT),
        metadata={"maxLength": offers.PICKUP_AREA_MAX, "description": "needed to lend"},
    )
    pickup_notes = Text(
        validate=validate.Length(max=LONG_TEXT), metadata={"maxLength": offers.PICKUP_NOTES_MAX}
    )
    late_fee_per_day_cents = _int(**OFFER_MONEY)
    late_fee_cap_cents = _int(
        allow_none=True,
        metadata={
            "minimum": 0,
            "maximum": MAX_CENTS,
            "description": "at most the deposit; null: the whole deposit",
        },
    )


class ActiveLoanOffer(fields.Nested):
    """A listing's loan terms while it is offered for loan; null otherwise."""

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        offer = nested_obj if nested_obj is not None and nested_obj.active else None
        return super()._serialize(offer, attr, obj, **kwargs)


class ModerationNoticeOut(ma.Schema):
    """What a moderator did with content its owner (or a club's members) still see."""

    state = fields.String(metadata={"enum": ["hidden", "removed"]})
    is_pending_review = fields.Boolean(
        metadata={"description": "hidden by members' reports until a moderator decides"}
    )
    rule_number = _int(allow_none=True)
    rule_title = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "the moderator's reason"})
    needs_rereview = fields.Boolean(
        metadata={"description": "edited since it was hidden: a moderator looks again"}
    )


class ModerationOf(fields.Nested):
    """null while the thing is visible; else why a moderator hid or removed it (only its
    owners and moderators get such a thing at all: others get 404 or do not see it listed).
    Reads the request's list of hidden things; one look-up more per hidden thing only."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, kind: str, **kwargs):
        self.kind = kind
        kwargs.setdefault(
            "metadata",
            {"description": "null unless a moderator hid or removed it (or reports hid it)"},
        )
        super().__init__(ModerationNoticeOut, allow_none=True, dump_only=True, **kwargs)

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        from app.moderation.services import content_notice

        notice = None
        if visibility.state(self.kind, obj.id) != visibility.VISIBLE:
            notice = content_notice(self.kind, obj.id)
        return super()._serialize(notice, attr, obj, **kwargs)


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
    for_sale = fields.Boolean(metadata={"description": "offered for sale at price_cents"})
    is_buyable = fields.Boolean()
    is_lendable = fields.Boolean()
    loan_offer = ActiveLoanOffer(
        LoanOfferOut,
        allow_none=True,
        metadata={"description": "the loan terms while it is offered for loan, else null"},
    )
    seller = fields.Nested(UserBriefOut)
    photos = fields.List(fields.Nested(PhotoOut))
    url = fields.Function(
        lambda listing: url_for("listings.detail", listing_id=listing.id, _external=True)
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    moderation = ModerationOf("listing")


CONDITIONS = [c.value for c in Condition]
CATEGORY_RULE = rule(enum=[slug for slug, _name in listings.CATEGORIES])
TITLE_RULE = rule(minLength=listings.TITLE_MIN, maxLength=listings.TITLE_MAX)
DESCRIPTION_RULE = rule(maxLength=listings.DESCRIPTION_MAX)
PRICE_RULE = rule(minimum=0, maximum=MAX_CENTS, description="in minor units (cents)")
SORTS = ["relevance", "newest", "price_asc", "price_desc"]
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Use a three-letter currency code, like USD.")


class ListingSearchArgs(PageArgs):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(1, MAX_PAGE),
        metadata={
            "description": "numbered pages reach the first 1,000 results (page * per_page "
            "within 1,000 + per_page); past them follow `next` (a `cursor`)"
        },
    )
    cursor = Text(
        validate=validate.Length(max=500),
        metadata={
            "description": "`next_cursor` of the page before (with the same query): the page "
            "after it, as deep as you go, at the cost of the first. Wins over `page`. One "
            "this list did not make answers 422 `invalid_cursor`"
        },
    )
    q = Text(validate=validate.Length(max=SHORT_TEXT))
    offer = fields.String(
        load_default="any",
        validate=validate.OneOf(list(listings.OFFERS)),
        metadata={"description": "any: to buy or to borrow; borrow: prices are fees per day"},
    )
    available_from = fields.Date(
        metadata={"description": "things to borrow free on every day from here (included)"}
    )
    available_to = fields.Date(metadata={"description": "... to here (included)"})
    category = Text(validate=validate.Length(max=100), **CATEGORY_RULE)
    min_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    max_price_cents = fields.Integer(validate=validate.Range(min=0, max=2**53))
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    sort = fields.String(
        load_default="relevance",
        validate=validate.OneOf(SORTS),
        metadata={
            "description": "relevance: best match first, when `q` matches at most 1,000 "
            "listings; a broader `q` comes newest first (narrow it to rank it)"
        },
    )

    @ma.validates_schema
    def _numbered_pages_end(self, data, **_kwargs):
        last = last_numbered_page(data.get("per_page", 24))
        if not data.get("cursor") and data.get("page", 1) > last:
            raise ma.ValidationError(
                f"Pages past {last} (at this per_page) are reached with `cursor`: follow `next`.",
                field_name="page",
            )


class ListingIn(ma.Schema):
    title = Text(required=True, validate=validate.Length(max=SHORT_TEXT), **TITLE_RULE)
    description = Text(load_default="", validate=validate.Length(max=LONG_TEXT), **DESCRIPTION_RULE)
    category = Text(required=True, validate=validate.Length(max=100), **CATEGORY_RULE)
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    price_cents = _int(
        metadata={**PRICE_RULE["metadata"], "description": "in minor units; needed for sale"}
    )
    currency = fields.String(validate=CURRENCY, metadata={"description": "default: the site's"})
    quantity = _int(load_default=1, **rule(minimum=1, maximum=listings.QUANTITY_MAX))
    for_sale = fields.Boolean(load_default=True, metadata={"description": "offer it for sale"})
    loan_offer = fields.Nested(
        LoanOfferIn,
        allow_none=True,
        load_default=None,
        metadata={"description": "offer it for loan on these terms (null: not lent)"},
    )

    @ma.validates_schema(skip_on_field_errors=False)
    def _price_when_for_sale(self, data, **_kwargs):
        """A missing field is named with the others (the service says the same)."""
        if data.get("for_sale", True) and "price_cents" not in data:
            raise ma.ValidationError("Enter a price.", field_name="price_cents")


class ListingPatchIn(PatchIn):
    title = Text(validate=validate.Length(max=SHORT_TEXT), **TITLE_RULE)
    description = Text(validate=validate.Length(max=LONG_TEXT), **DESCRIPTION_RULE)
    category = Text(validate=validate.Length(max=100), **CATEGORY_RULE)
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    price_cents = _int(**PRICE_RULE)
    quantity = _int(**rule(minimum=0, maximum=listings.QUANTITY_MAX))
    for_sale = fields.Boolean(metadata={"description": "offer it for sale (a price is needed)"})
    loan_offer = fields.Nested(
        LoanOfferIn,
        allow_none=True,
        metadata={"description": "lend it on these terms (over the current ones); null: stop"},
    )
    status = fields.String(
        validate=validate.OneOf(["active", "paused"]),
        metadata={"description": "pause or resume; DELETE removes a listing"},
    )


class BlockoutOut(ma.Schema):
    id = _int(dump_only=True)
    starts_on = fields.Date()
    ends_on = fields.Date(metadata={"description": "included"})
    note = fields.String()
    created_at = fields.DateTime()


class BlockoutIn(ma.Schema):
    starts_on = fields.Date(required=True, metadata={"description": "from today on"})
    ends_on = fields.Date(required=True, metadata={"description": "included"})
    note = Text(
        load_default="",
        validate=validate.Length(max=SHORT_TEXT),
        metadata={"maxLength": availability.NOTE_MAX, "description": "only you see it"},
    )


BlockoutList = list_schema(BlockoutOut, "BlockoutList")


class BusyOut(ma.Schema):
    starts_on = fields.Date()
    ends_on = fields.Date(metadata={"description": "included"})
    reason = fields.String(
        metadata={
            "enum": ["blocked", "booked", "taken"],
            "description": "the lender sees blocked or booked; everybody else taken",
        }
    )


class AvailabilityArgs(ma.Schema):
    from_ = fields.Date(required=True, data_key="from", metadata={"description": "first day"})
    to = fields.Date(
        required=True,
        metadata={"description": f"last day (included), at most {MAX_WINDOW_DAYS} days on"},
    )


class AvailabilityOut(ma.Schema):
    listing_id = _int()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    busy = fields.List(
        fields.Nested(BusyOut),
        metadata={"description": "taken ranges touching the window, in date order"},
    )


class LoanQuoteArgs(ma.Schema):
    start = fields.Date(required=True, metadata={"description": "first day of the loan"})
    end = fields.Date(required=True, metadata={"description": "last day (included)"})


class DepositPlanOut(ma.Schema):
    method = fields.String(
        metadata={
            "enum": ["none", "in_person", "hold", "saved_card"],
            "description": "how the deposit is secured for these days",
        }
    )
    summary = fields.String(metadata={"description": "what happens, for these days"})
    rule = fields.String(metadata={"description": "the general rule"})


class LoanQuoteOut(ma.Schema):
    listing_id = _int()
    starts_on = fields.Date()
    ends_on = fields.Date()
    days = _int()
    fee_cents = _int()
    deposit_cents = _int(metadata={"description": "refundable"})
    due_cents = _int(metadata={"description": "fee plus deposit"})
    late_fee_per_day_cents = _int()
    late_fee_cap_cents = _int()
    currency = fields.String()
    is_free = fields.Boolean()
    available = fields.Boolean(metadata={"description": "every day is free to borrow"})
    busy = fields.List(fields.Nested(BusyOut), metadata={"description": "what is taken"})
    deposit = fields.Nested(DepositPlanOut)


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


# -- loans -------------------------------------------------------------------------------

# Taken on their own routes: a claim has a body of its own (POST /loans/{id}/claim).
LOAN_ACTIONS = [a for a in loan_states.MACHINE.user_actions if a != "claim_damage"]
LOAN_ROLES = list(loan_states.MACHINE.roles)


class LoanEventOut(OrderEventOut):
    pass


class ClaimPhotoOut(ma.Schema):
    id = _int(dump_only=True)
    position = _int()
    width = _int()
    height = _int()
    url = fields.Method("_url", metadata={"description": "the photo (your token reads it)"})
    thumb_url = fields.Method("_thumb_url")

    def _url(self, photo) -> str:
        return self._photo_url(photo, "full")

    def _thumb_url(self, photo) -> str:
        return self._photo_url(photo, "thumb")

    def _photo_url(self, photo, size: str) -> str:
        # `photo.loan_id`: the API hands out claims' photos with their loan (app/api/loans.py).
        return url_for(
            "api_loans.claim_photo",
            loan_id=photo.loan_id,
            photo_id=photo.id,
            size=size,
            _external=True,
        )


class DamageClaimOut(ma.Schema):
    amount_cents = _int(metadata={"description": "what the lender claims of the deposit"})
    description = fields.String()
    answer = fields.String(
        allow_none=True, metadata={"description": "null until answered; accepted or disputed"}
    )
    answer_note = fields.String(allow_none=True)
    answered_at = _when()
    awarded_cents = _int(
        allow_none=True, metadata={"description": "what the lender finally received of it"}
    )
    created_at = fields.DateTime()
    photos = fields.List(fields.Nested(ClaimPhotoOut))


class LoanOut(ma.Schema):
    id = _int(dump_only=True)
    state = fields.String(metadata={"enum": list(loan_states.MACHINE.state_names)})
    state_label = fields.Function(lambda loan: loan_states.MACHINE.state(loan.state).label)
    actions = fields.List(
        fields.String(),
        metadata={
            "description": "what the calling user may do now: POST /loans/{id}/{action} "
            "(claim_damage: POST /loans/{id}/claim)"
        },
    )
    role = fields.String(metadata={"description": "the caller's side: lender or borrower"})
    listing_id = _int()
    title = fields.String()
    starts_on = fields.Date(metadata={"description": "the first day"})
    ends_on = fields.Date(metadata={"description": "the last day: due back by its end"})
    days = _int()
    fee_cents = _int(metadata={"description": "for all the days"})
    deposit_cents = _int(metadata={"description": "refundable"})
    late_fee_per_day_cents = _int()
    late_fee_cap_cents = _int()
    currency = fields.String()
    pickup_area = fields.String()
    request_message = fields.String()
    deposit_method = fields.String(
        metadata={
            "description": "how the deposit is secured: hold (a card hold), saved_card "
            "(charged only if a late fee or claim is upheld), in_person, or none"
        }
    )
    lender = fields.Nested(UserBriefOut)
    borrower = fields.Nested(UserBriefOut)
    handover_code = fields.Method(
        "_handover_code",
        allow_none=True,
        metadata={
            "description": "the lender's code the borrower types to confirm the handover "
            "(confirm_with_code); shown to the lender only, null for the borrower",
            "type": "string",
        },
    )
    lender_handover_at = _when()
    borrower_handover_at = _when()
    expires_at = _when(metadata={"description": "an unanswered request expires then"})
    late_days = _int(metadata={"description": "whole days past ends_on when it came back"})
    late_fee_cents = _int(metadata={"description": "kept from the deposit for lateness"})
    is_overdue = fields.Boolean(metadata={"description": "on loan past its last day"})
    claim_window_closes_at = _when(
        metadata={"description": "returned: the lender may claim for damage until then"}
    )
    claim = fields.Nested(DamageClaimOut, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    approved_at = _when()
    handed_over_at = _when()
    returned_at = _when()
    completed_at = _when()
    declined_at = _when()
    cancelled_at = _when()
    expired_at = _when()
    claimed_at = _when()
    disputed_at = _when()
    resolved_at = _when()
    events = fields.List(fields.Nested(LoanEventOut))
    url = fields.Function(
        lambda loan: url_for("lending.detail", loan_id=loan.id, _external=True),
        metadata={"description": "the loan's page"},
    )

    def _handover_code(self, loan) -> str | None:
        return loan.handover_code if loan.role == "lender" else None


class LoanIn(ma.Schema):
    listing_id = Id(required=True)
    starts_on = fields.Date(required=True, metadata={"description": "the first day"})
    ends_on = fields.Date(
        required=True, metadata={"description": "the last day (included): due back by its end"}
    )
    message = Text(
        load_default="",
        validate=validate.Length(max=LONG_TEXT),
        metadata={"description": "to the lender"},
    )


class LoanListArgs(PageArgs):
    role = fields.String(validate=validate.OneOf(LOAN_ROLES))
    state_group = fields.String(
        validate=validate.OneOf(list(LOAN_STATE_GROUPS)),
        metadata={
            "description": "requested; upcoming (approved, by first day); on_loan (by due "
            "day); returned (returned, claimed or disputed); open (not over); closed (over)"
        },
    )


class LoanActionIn(ma.Schema):
    note = Text(
        allow_none=True,
        validate=validate.Length(max=LONG_TEXT),
        metadata={
            "description": "for decline, cancel, mark_returned, dispute_claim and dispute_fee",
            "maxLength": MAX_NOTE_LENGTH,
        },
    )
    code = Text(
        allow_none=True,
        validate=validate.Length(max=SHORT_TEXT),
        metadata={"description": "for confirm_with_code: the lender's handover code"},
    )


class LoanClaimIn(ma.Schema):
    amount_cents = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=MAX_CENTS),
        metadata={"description": "at most the deposit, less any late fee"},
    )
    description = Text(required=True, validate=validate.Length(max=LONG_TEXT))
    photos = Upload(metadata={"description": "a photo of the damage (repeat for more)"})


# -- feedback ------------------------------------------------------------------------------


class FeedbackOut(ma.Schema):
    id = _int(dump_only=True)
    order_id = _int(
        allow_none=True, metadata={"description": "the order rated; null for other kinds"}
    )
    subject_kind = fields.String(metadata={"description": "the kind of transaction: order, ..."})
    subject_id = _int(metadata={"description": "the id of the transaction rated"})
    rating = fields.String()
    comment = fields.Method(
        "_comment", metadata={"description": "empty while the feedback is hidden", "type": "string"}
    )
    hidden = fields.Method(
        "_hidden",
        metadata={
            "description": "hidden by a moderator (or pending review): the reason stands in "
            "the comment's place",
            "type": "boolean",
        },
    )
    hidden_reason = fields.Method(
        "_hidden_reason",
        metadata={
            "description": "why it is hidden, e.g. 'Hidden by a moderator: breaks rule 5, "
            "Feedback is about the transaction.'; null when shown",
            "type": "string",
            "nullable": True,
        },
    )
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

    def _hidden(self, feedback) -> bool:
        return is_hidden_content("feedback", feedback.id)

    def _comment(self, feedback) -> str:
        return "" if self._hidden(feedback) else feedback.comment

    def _hidden_reason(self, feedback) -> str | None:
        if not self._hidden(feedback):
            return None
        notice = hidden_notice("feedback", feedback.id)
        if notice is None:
            return PENDING_NOTICE
        return f"{notice.text} {notice.reason}" if notice.reason else notice.text


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


class MessageBody(fields.String):
    """A message's text; null for everyone but its sender once a moderator hid or removed it
    (the pages show "hidden by a moderator" in its place: macros/transaction.html)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if visibility.state("message", obj.id) != visibility.VISIBLE:
            viewer = g.get("api_user")
            if viewer is None or viewer.id != obj.sender_id:
                return None
        return super()._serialize(value, attr, obj, **kwargs)


def _message_state(message) -> str:
    return visibility.state("message", message.id)


class MessageOut(ma.Schema):
    id = _int(dump_only=True)
    conversation_id = _int(dump_only=True)
    order_id = _SubjectIdOf(ORDER, metadata={"description": "null unless about an order"})
    sender = fields.Nested(UserBriefOut)
    body = MessageBody(
        allow_none=True,
        metadata={"description": "null to all but its sender when moderation is not visible"},
    )
    moderation = fields.Function(
        _message_state,
        metadata={
            "enum": ["visible", "hidden", "removed"],
            "description": "hidden (pending review, or by a moderator) or removed: no body",
        },
    )
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


ListingList = list_schema(ListingOut, "ListingList", capped=True)
# Search pages on by cursor (`next_cursor`); a member's lists page by number.
ListingSearchList = list_schema(ListingOut, "ListingSearchList", capped=True, keyset=True)
OrderList = list_schema(OrderOut, "OrderList")
LoanList = list_schema(LoanOut, "LoanList")
FeedbackList = list_schema(FeedbackOut, "FeedbackList")
MessageList = list_schema(MessageOut, "MessageList")
ConversationList = list_schema(ConversationOut, "ConversationList")
ConversationSummaryList = list_schema(ConversationSummaryOut, "ConversationSummaryList")
TokenList = list_schema(TokenOut, "TokenList")
CategoryList = list_schema(CategoryOut, "CategoryList")

"""People: sign up, my account (profile, password, picture), public profiles and reputation."""

from __future__ import annotations

from flask import g, request

from app.accounts import services as accounts
from app.accounts.throttle import signup_limit
from app.api.core import (
    api_blueprint,
    api_user_id,
    capped_page_of,
    link,
    links,
    paginate,
    token_optional,
    token_required,
    write_limit,
)
from app.api.schemas import (
    AvatarIn,
    EmailChangeIn,
    FeedbackList,
    ListingList,
    MyListingsArgs,
    NoticeOut,
    PageArgs,
    PasswordIn,
    ProfileIn,
    ReceivedFeedbackArgs,
    ReputationOut,
    SignupIn,
    UserPrivateOut,
    UserPublicOut,
)
from app.listings import services as listings
from app.reviews import services as reviews

bp = api_blueprint("users", __name__, "Accounts and public profiles.")

RECEIVED_FEEDBACK_MAX = 1000
LISTINGS_MAX = 1000


@bp.route("/users", methods=["POST"])
@bp.doc(
    operationId="createUser",
    **links(
        201,
        GetUser=link("getUser", handle="$response.body#/handle"),
        GetReputation=link("getUserReputation", handle="$response.body#/handle"),
    ),
)
@signup_limit()
@bp.arguments(SignupIn)
@bp.response(201, UserPublicOut)
def sign_up(data):
    """Open an account (then create a token with POST /auth/tokens)."""
    return accounts.register(data["email"], data["handle"], data["password"])


@bp.route("/users/me", methods=["GET"])
@bp.doc(operationId="getMe")
@token_required("read")
@bp.response(200, UserPrivateOut)
def me():
    """Your own account, with your email address."""
    return g.api_user


@bp.route("/users/me", methods=["PATCH"])
@bp.doc(operationId="updateMe")
@token_required("write")
@write_limit()
@bp.arguments(ProfileIn)
@bp.response(200, UserPrivateOut)
def update_me(data):
    """Change your display name, bio or location (null or "" clears)."""
    return accounts.update_profile(api_user_id(), **data)


@bp.route("/users/me/password", methods=["POST"])
@bp.doc(operationId="changePassword")
@token_required("write")
@write_limit()
@bp.arguments(PasswordIn)
@bp.response(204)
def change_password(data):
    """Change your password. Signs you out of the web everywhere; tokens keep working (revoke
    them separately). 429 after too many wrong current passwords."""
    accounts.change_password(
        api_user_id(),
        data["current_password"],
        data["new_password"],
        address=request.remote_addr or "unknown",
    )


@bp.route("/users/me/email", methods=["POST"])
@token_required("write")
@write_limit()
@bp.arguments(EmailChangeIn)
@bp.response(202, NoticeOut)
@bp.doc(operationId="requestEmailChange")
def change_email(data):
    """Move your account to a new address: needs your current password (the sign-in limits
    apply). We mail a link to the new address (confirm it with POST /auth/confirm_email) and a
    notice to the old one; the address changes only then."""
    accounts.request_email_change(
        api_user_id(),
        data["current_password"],
        data["new_email"],
        address=request.remote_addr or "unknown",
    )
    return {"message": "We sent a link to the new address. It changes when you open it."}


@bp.route("/users/me/email/confirmation", methods=["POST"])
@token_required("write")
@write_limit()
@bp.response(202, NoticeOut)
@bp.doc(operationId="resendEmailConfirmation")
def resend_confirmation():
    """Mail a new confirmation link to your address (until it is confirmed, we send it no
    other email). 429 with Retry-After after a few."""
    sent = accounts.resend_confirmation(api_user_id(), address=request.remote_addr or "unknown")
    if not sent:
        return {"message": "Your address is confirmed already."}
    return {"message": "We sent a new link to your address."}


@bp.route("/users/me/sessions", methods=["DELETE"])
@bp.doc(operationId="signOutEverywhere")
@token_required("write")
@write_limit()
@bp.response(204)
def sign_out_everywhere():
    """Sign out of the web on every device (session and remember-me cookies). Tokens keep
    working; revoke them with DELETE /auth/tokens/{id}."""
    accounts.end_all_sessions(api_user_id())


@bp.route("/users/me/avatar", methods=["PUT"])
@bp.doc(operationId="setAvatar")
@token_required("write")
@write_limit()
@bp.arguments(AvatarIn, location="files")
@bp.response(200, UserPrivateOut)
def set_avatar(files):
    """Upload your picture (multipart field `avatar`; cropped to a square)."""
    return accounts.set_avatar(api_user_id(), files["avatar"])


@bp.route("/users/me/avatar", methods=["DELETE"])
@bp.doc(operationId="removeAvatar")
@token_required("write")
@write_limit()
@bp.response(200, UserPrivateOut)
def remove_avatar():
    """Go back to the initial-letter picture."""
    return accounts.remove_avatar(api_user_id())


@bp.route("/users/me/listings", methods=["GET"])
@bp.doc(operationId="listMyListings")
@token_required("read")
@bp.arguments(MyListingsArgs, location="query")
@bp.response(200, ListingList)
def my_listings(args):
    """Every listing you can still manage (active, sold out, paused), newest first."""
    found = listings.listings_of_seller(
        api_user_id(), args.get("status"), page=args["page"], per_page=args["per_page"]
    )
    return capped_page_of(found)


@bp.route("/users/<handle:handle>", methods=["GET"])
@bp.doc(operationId="getUser")
@token_optional
@bp.response(200, UserPublicOut)
def profile(handle: str):
    """A member's public profile."""
    return accounts.get_user_by_handle(handle)


@bp.route("/users/<handle:handle>/reputation", methods=["GET"])
@bp.doc(operationId="getUserReputation")
@token_optional
@bp.response(200, ReputationOut)
def reputation(handle: str):
    """Feedback score, percent positive and counts, overall and per role."""
    return reviews.reputation_summary(accounts.get_user_by_handle(handle).id)


@bp.route("/users/<handle:handle>/feedback", methods=["GET"])
@bp.doc(operationId="listUserFeedback")
@token_optional
@bp.arguments(ReceivedFeedbackArgs, location="query")
@bp.response(200, FeedbackList)
def received_feedback(args, handle: str):
    """Revealed feedback the member received, newest first (optionally in one role)."""
    user = accounts.get_user_by_handle(handle)
    items = reviews.received_feedback(user.id, args.get("role"), limit=RECEIVED_FEEDBACK_MAX)
    return paginate(items, args["page"], args["per_page"])


@bp.route("/users/<handle:handle>/listings", methods=["GET"])
@bp.doc(operationId="listUserListings")
@token_optional
@bp.arguments(PageArgs, location="query")
@bp.response(200, ListingList)
def listings_of(args, handle: str):
    """A member's listings that can be bought now, newest first."""
    user = accounts.get_user_by_handle(handle)
    items = listings.active_listings_of(user.id, limit=LISTINGS_MAX)
    return paginate(items, args["page"], args["per_page"])

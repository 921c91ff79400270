"""Personal access tokens over the API: create with email and password, list, revoke."""

from __future__ import annotations

from flask import request

from app.accounts import services as accounts
from app.api import services
from app.api.core import (
    PageArgs,
    api_blueprint,
    api_user_id,
    paginate,
    token_creation_limit,
    token_required,
    write_limit,
)
from app.api.schemas import (
    ConfirmedEmailOut,
    ConfirmEmailIn,
    NewTokenOut,
    NoticeOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    TokenCreateIn,
    TokenList,
)

bp = api_blueprint(
    "auth",
    __name__,
    "Personal access tokens (Authorization: Bearer mut_...), password reset and email "
    "confirmation by mailed link.",
)


@bp.route("/auth/tokens", methods=["POST"])
@bp.doc(operationId="createToken")
@token_creation_limit()
@bp.arguments(TokenCreateIn)
@bp.response(201, NewTokenOut)
def create_token(data):
    """Sign in with email and password and get a new token (shown once: keep it safe).

    The password check shares the web sign-in's limits (per address, per account and per both):
    429 with Retry-After when one is used up."""
    token, raw = services.create_token_with_password(
        data["email"],
        data["password"],
        data.get("name"),
        data.get("scopes"),
        address=request.remote_addr or "unknown",
    )
    return {**_token_fields(token), "token": raw}


@bp.route("/auth/tokens", methods=["GET"])
@bp.doc(operationId="listTokens")
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, TokenList)
def list_tokens(args):
    """Your tokens that still work, newest first (never the secrets)."""
    return paginate(services.tokens_of(api_user_id()), args["page"], args["per_page"])


@bp.route("/auth/tokens/<id:token_id>", methods=["DELETE"])
@bp.doc(operationId="revokeToken")
@token_required("write")
@write_limit()
@bp.response(204)
def revoke_token(token_id: int):
    """Revoke one of your tokens; it stops working at once."""
    services.revoke_token(token_id, api_user_id())


def _token_fields(token) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "display_prefix": token.display_prefix,
        "scope_list": token.scope_list,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }


RESET_REQUESTED = (
    "If an account exists for that address, we sent a link to it to choose a new password."
)


@bp.route("/auth/password_reset", methods=["POST"])
@bp.arguments(PasswordResetIn)
@bp.response(202, NoticeOut)
@bp.doc(operationId="requestPasswordReset")
def request_password_reset(data):
    """Mail a link to reset the password. The answer is the same whether or not an account
    has the address (no enumeration); 429 with Retry-After when too many links were asked for
    from this client or for this address. The link's token goes to /auth/password_reset/confirm."""
    accounts.request_password_reset(data["email"], address=request.remote_addr or "unknown")
    return {"message": RESET_REQUESTED}


@bp.route("/auth/password_reset/confirm", methods=["POST"])
@bp.arguments(PasswordResetConfirmIn)
@bp.response(204)
@bp.doc(operationId="confirmPasswordReset")
def confirm_password_reset(data):
    """Set a new password with the token from a reset link (it works once, for
    PASSWORD_RESET_MINUTES). Signs the account out of the web everywhere; tokens keep working.
    400 `invalid_token` for a used, expired or unknown token."""
    accounts.reset_password(data["token"], data["new_password"])


@bp.route("/auth/confirm_email", methods=["POST"])
@bp.arguments(ConfirmEmailIn)
@bp.response(200, ConfirmedEmailOut)
@bp.doc(operationId="confirmEmail")
def confirm_email(data):
    """Confirm an address with the token from a mailed link: the sign-up address, or the new
    address of a requested change (the account moves to it now). Works once."""
    return accounts.confirm_email(data["token"])

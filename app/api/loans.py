"""Loans: ask to borrow, list what I borrow and lend, look at one, move it through its states,
claim for damage with photos, and talk and rate as on the loan's page."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request, send_from_directory

from app.api.core import (
    PageArgs,
    api_blueprint,
    api_user_id,
    link,
    links,
    page_of,
    paginate,
    token_required,
    write_limit,
)
from app.api.schemas import (
    LOAN_ACTIONS,
    FeedbackIn,
    FeedbackOut,
    LoanActionIn,
    LoanClaimIn,
    LoanIn,
    LoanList,
    LoanListArgs,
    LoanOut,
    MessageIn,
    MessageList,
    MessageOut,
    OrderFeedbackOut,
)
from app.errors import NotFound, ValidationFailed
from app.lending import pages
from app.lending import services as loans
from app.lending.models import DamageClaim, DamageClaimPhoto, Loan
from app.messaging import services as messaging
from app.reviews import services as reviews

bp = api_blueprint(
    "loans", __name__, "Borrowing and lending: requests, handovers, returns, deposits and claims."
)

KIND = pages.KIND
LOAN_ID = "$response.body#/id"
# Which action: one of the loan's `actions` (what the caller may do now), chosen by the client.
NEXT_ACTION = link("takeLoanAction", loan_id=LOAN_ID)
CLAIM = link("createLoanClaim", loan_id=LOAN_ID)
ACTION_PATH = "any(" + ", ".join(LOAN_ACTIONS) + ")"
ERRORS = {
    403: "`forbidden`: your side of the loan may not take that step",
    404: "`not_found`: no such loan, or you are not one of its two parties",
    409: "`invalid_transition`: not possible in the loan's state; `conflict`: the days are "
    "taken, or the thing cannot be borrowed; `already_disputed`, `nothing_at_stake`, "
    "`refund_window_closed`: a dispute_claim or dispute_fee that cannot be opened",
    422: "`validation_failed`: a field is wrong (`fields` says which)",
}


# The claim service names its fields as the web form does; the API names them as its schema.
CLAIM_FIELDS = {"amount": "amount_cents"}


@contextmanager
def _claim_field_names():
    try:
        yield
    except ValidationFailed as error:
        error.fields = {CLAIM_FIELDS.get(name, name): msgs for name, msgs in error.fields.items()}
        raise


def _errors(*statuses: int) -> dict:
    """The documented refusals of an operation, with their codes."""
    return {
        status: {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _answers(errors: tuple[int, ...], status: int, **targets: dict) -> dict:
    """`responses` for @bp.doc: the refusals, and the links that follow from `status`."""
    return {"responses": {**_errors(*errors), **links(status, **targets)["responses"]}}


@dataclass
class PhotoView:
    photo: DamageClaimPhoto
    loan_id: int

    def __getattr__(self, name: str):
        return getattr(self.photo, name)


@dataclass
class ClaimView:
    claim: DamageClaim

    @property
    def photos(self) -> list[PhotoView]:
        return [PhotoView(photo, self.claim.loan_id) for photo in self.claim.photos]

    def __getattr__(self, name: str):
        return getattr(self.claim, name)


@dataclass
class LoanView:
    """A loan as one of its parties sees it: with their role and the actions open to them."""

    loan: Loan
    role: str | None
    actions: list[str]
    is_overdue: bool
    claim_window_closes_at: datetime | None

    @property
    def claim(self) -> ClaimView | None:
        return ClaimView(self.loan.claim) if self.loan.claim is not None else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loan, name)


def loan_view(loan: Loan, user_id: int) -> LoanView:
    return LoanView(
        loan=loan,
        role=loan.role_of(user_id),
        actions=loans.available_actions(loan, user_id),
        is_overdue=pages.is_overdue(loan),
        claim_window_closes_at=(
            pages.claim_window_closes_at(loan) if loan.state == "returned" else None
        ),
    )


@bp.route("/loans", methods=["POST"])
@bp.doc(
    operationId="createLoan",
    **_answers(
        (
            404,
            409,
            422,
        ),
        201,
        GetLoan=link("getLoan", loan_id=LOAN_ID),
        TakeFirstAction=NEXT_ACTION,
        SendMessage=link("sendLoanMessage", loan_id=LOAN_ID),
        ListMessages=link("listLoanMessages", loan_id=LOAN_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(LoanIn)
@bp.response(201, LoanOut)
def create(data):
    """Ask to borrow a listing for some days (`starts_on` to `ends_on`, both included), with a
    message to the lender. The loan waits in `requested` for the lender to approve or decline;
    unanswered it expires. Nothing is charged before approval. 409 when the days are taken or
    blocked out, for your own listing, or when it is not offered for loan."""
    loan = loans.request_loan(
        data["listing_id"], api_user_id(), data["starts_on"], data["ends_on"], data["message"]
    )
    return loan_view(loan, api_user_id())


@bp.route("/loans", methods=["GET"])
@bp.doc(operationId="listLoans")
@token_required("read")
@bp.arguments(LoanListArgs, location="query")
@bp.response(200, LoanList)
def index(args):
    """Your loans, latest activity first: as lender, as borrower (`role`) or both; all of
    them, or one `state_group` (`open`: not over; `closed`: over; `upcoming` by first day,
    `on_loan` by due day)."""
    user_id = api_user_id()
    found = loans.loans_of(
        user_id,
        args.get("role"),
        state_group=args.get("state_group"),
        page=args["page"],
        per_page=args["per_page"],
    )
    return page_of(
        [loan_view(loan, user_id) for loan in pages.with_details(found.items)],
        args["page"],
        args["per_page"],
        found.total,
    )


@bp.route("/loans/<id:loan_id>", methods=["GET"])
@bp.doc(
    operationId="getLoan",
    **_answers((404,), 200, TakeFirstAction=NEXT_ACTION, ClaimDamage=CLAIM),
)
@token_required("read")
@bp.response(200, LoanOut)
def detail(loan_id: int):
    """One of your loans, with `state` and the `actions` you may take now."""
    return loan_view(loans.get_loan_for(loan_id, api_user_id()), api_user_id())


@bp.route(f"/loans/<id:loan_id>/<{ACTION_PATH}:action>", methods=["POST"])
@bp.doc(
    operationId="takeLoanAction",
    **_answers(
        (
            403,
            404,
            409,
            422,
        ),
        200,
        TakeNextAction=NEXT_ACTION,
        ClaimDamage=CLAIM,
        GetFeedback=link("getLoanFeedback", loan_id=LOAN_ID),
        LeaveFeedback=link("createLoanFeedback", loan_id=LOAN_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(LoanActionIn, required=False)
@bp.response(200, LoanOut)
def act(data, loan_id: int, action: str):
    """Take one of the loan's `actions` (409 when it is not possible now); answers the loan.

    Lender: approve or decline (optional `note`) a request; confirm_handover; confirm_return
    (in good condition: the deposit goes back); withdraw_claim. Borrower: cancel a request (or,
    either party, an approved loan before the handover: the fee is refunded in full and the
    deposit released); confirm_handover, or confirm_with_code with the lender's `code`;
    accept_claim or dispute_claim (optional `note`; a moderator decides); dispute_fee once the
    thing is back, or within the refund window after completion (the `note` is the reason; a
    moderator decides how much of the fee goes back). Either:
    mark_returned. Claims for damage: POST /loans/{id}/claim."""
    loan = loans.act(loan_id, action, api_user_id(), note=data.get("note"), code=data.get("code"))
    return loan_view(loan, api_user_id())


@bp.route("/loans/<id:loan_id>/claim", methods=["POST"])
@bp.doc(
    operationId="createLoanClaim",
    **_answers(
        (
            403,
            404,
            409,
            422,
        ),
        201,
        TakeNextAction=NEXT_ACTION,
        GetLoan=link("getLoan", loan_id=LOAN_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(LoanClaimIn, location="files")
@bp.response(201, LoanOut)
def claim(data, loan_id: int):
    """The lender claims part or all of the deposit for damage after the return, within the
    claim window (multipart: `amount_cents`, `description`, `photos` repeatable). The
    borrower then accepts or disputes it."""
    with _claim_field_names():
        loan = loans.claim_damage(
            loan_id,
            api_user_id(),
            data["amount_cents"],
            data["description"],
            [photo for photo in request.files.getlist("photos") if photo.filename],
        )
    return loan_view(loan, api_user_id())


@bp.route("/loans/<id:loan_id>/claim/photos/<id:photo_id>/<any(full, thumb):size>")
@bp.doc(
    operationId="getLoanClaimPhoto",
    responses={
        200: {
            "description": "the photo (JPEG)",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_errors(404),
    },
)
@token_required("read")
def claim_photo(loan_id: int, photo_id: int, size: str):
    """A photo of the loan's damage claim, for its two parties."""
    photo = loans.claim_photo_for(photo_id, api_user_id())
    claim = loans.get_loan_for(loan_id, api_user_id()).claim
    if claim is None or photo.claim_id != claim.id:
        raise NotFound("That photo does not exist.")
    path = photo.thumb_path if size == "thumb" else photo.image_path
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"], path, mimetype="image/jpeg", max_age=3600
    )
    response.cache_control.private = True
    return response


# -- messages and feedback, as for orders ---------------------------------------------------


@bp.route("/loans/<id:loan_id>/messages", methods=["GET"])
@bp.doc(operationId="listLoanMessages", responses=_errors(404))
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, MessageList)
def messages(args, loan_id: int):
    """The loan's messages, oldest first; those sent to you are marked read."""
    items = messaging.thread(KIND, loan_id, api_user_id())
    return paginate(items, args["page"], args["per_page"])


@bp.route("/loans/<id:loan_id>/messages", methods=["POST"])
@bp.doc(operationId="sendLoanMessage", responses=_errors(404, 422))
@token_required("write")
@write_limit()
@bp.arguments(MessageIn)
@bp.response(201, MessageOut)
def send(data, loan_id: int):
    """Write to the other party of the loan."""
    return messaging.send_message(KIND, loan_id, api_user_id(), data["body"])


@bp.route("/loans/<id:loan_id>/feedback", methods=["GET"])
@bp.doc(operationId="getLoanFeedback", responses=_errors(404))
@token_required("read")
@bp.response(200, OrderFeedbackOut)
def feedback(loan_id: int):
    """Your feedback on the loan, whether you may still leave it, and the other side's once it
    is revealed (when both have rated, or the window has closed)."""
    user_id = api_user_id()
    loans.get_loan_for(loan_id, user_id)  # 404 for anyone but its lender and borrower
    return reviews.feedback_view(loan_id, user_id, kind=KIND)


@bp.route("/loans/<id:loan_id>/feedback", methods=["POST"])
@bp.doc(
    operationId="createLoanFeedback",
    **_answers(
        (
            404,
            409,
            422,
        ),
        201,
        GetFeedback=link("getLoanFeedback", loan_id="$request.path.loan_id"),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(FeedbackIn)
@bp.response(201, FeedbackOut)
def leave_feedback(data, loan_id: int):
    """Rate the other party once the loan is over, once (409 when not possible or done). The
    details: borrower rates lender on described, communication, speed (handover on time);
    lender rates borrower on described (returned in condition), speed (returned on time),
    communication."""
    return reviews.leave_feedback(loan_id, api_user_id(), kind=KIND, **data)

"""Loans over HTTP: ask to borrow, list my loans, show one, act on it, claim, talk. Thin: load
the form, call one service of app/lending/services.py, answer (a failed form goes back to its
page with what was typed: app/form_drafts.py)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from app.accounts.throttle import Throttled
from app.db import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.form_drafts import EXPIRED, form_refused, keep_failed_form, refilled_form
from app.lending import pages, services, states
from app.lending.forms import ClaimForm, HandoverCodeForm, RequestLoanForm
from app.messaging.forms import MessageForm
from app.messaging.services import send_message, unread_by_subject
from app.money import format_money, parse_money
from app.pagination import page_number

bp = Blueprint("lending", __name__)

TABS = {"borrowing": "borrower", "lending": "lender"}
SHOWS = {"current": "open", "past": "closed"}  # ?show= -> services.STATE_GROUPS
# The request form's fields by the names the service gives its refusals.
REQUEST_FIELDS = {"starts_on": "start", "ends_on": "end", "message": "message"}
CLAIM_FIELDS = {"amount_cents": "amount", "description": "description", "photos": "photos"}


def _to_loan(loan_id: int, anchor: str | None = None):
    return redirect(url_for("lending.detail", loan_id=loan_id, _anchor=anchor), code=303)


def _fields(error: ValidationFailed, names: dict[str, str], default: str) -> dict:
    """The service's field errors under the form's field names (the rest under `default`)."""
    if not error.fields:
        return {default: [error.message]}
    found: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        found.setdefault(names.get(name, default), []).extend(messages)
    return found


@bp.app_template_filter("day")
def _day(value) -> str:
    return pages.day(value)


@bp.app_template_global()
def borrow_form(listing) -> RequestLoanForm:
    """The listing page's request form (listings/_borrow.html), refilled after a refusal."""
    return refilled_form(
        pages.request_form_key(listing.id), lambda data: RequestLoanForm(formdata=data)
    )


@bp.post("/listings/<int:listing_id>/borrow")
@login_required
def request_loan(listing_id: int):
    form = RequestLoanForm()
    # Back to the listing with the days chosen, so its quote and this form show again.
    days = {name: request.form.get(name, "")[:40] for name in ("start", "end")}
    back = redirect(
        url_for("listings.detail", listing_id=listing_id, **days, _anchor="borrow"), 303
    )
    key = pages.request_form_key(listing_id)
    if form_refused(form, key):
        return back
    try:
        loan = services.request_loan(
            listing_id, current_user.id, form.start.data, form.end.data, form.message.data or ""
        )
    except ValidationFailed as error:
        # The days go back in the address: the listing's quote checks them with the same rule
        # and says what is wrong under them; the form keeps the rest (the message).
        fields = _fields(error, REQUEST_FIELDS, "start")
        if error.fields:
            fields = {name: errors for name, errors in fields.items() if name not in days}
        keep_failed_form(key, form, fields)
        return back
    except Conflict as error:  # the days were taken meanwhile, or it cannot be borrowed
        keep_failed_form(key, form, {"start": [error.message]})
        return back
    flash(
        f"Request sent to @{loan.lender.handle}. Nothing is charged until they approve it.",
        "success",
    )
    return _to_loan(loan.id)


@bp.get("/loans")
@login_required
def index():
    tab = request.args.get("tab", "borrowing")
    if tab not in TABS:
        tab = "borrowing"
    show = request.args.get("show", "current")
    if show not in SHOWS:
        show = "current"
    page = services.loans_of(
        current_user.id,
        TABS[tab],
        state_group=SHOWS[show],
        page=page_number(request.args.get("page")),
    )
    return render_template(
        "lending/index.html",
        tab=tab,
        show=show,
        page=page,
        counts=pages.loan_counts(current_user.id),
        needs_you=services.needs_you(current_user.id),
        due_next=pages.due_next(current_user.id),
        unread=unread_by_subject(current_user.id, pages.KIND, [loan.id for loan in page.items]),
        machine=states.MACHINE,
        today=utcnow().date(),
        needs_line=pages.needs_line,
    )


@bp.get("/loans/<int:loan_id>")
@login_required
def detail(loan_id: int):
    return pages.render_loan_page(loan_id)


@bp.post("/loans/<int:loan_id>/messages")
@login_required
def send(loan_id: int):
    form = MessageForm()
    back = _to_loan(loan_id, "messages")
    if form_refused(form, pages.message_form_key(loan_id)):
        return back
    try:
        send_message(pages.KIND, loan_id, current_user.id, form.body.data)
    except ValidationFailed as error:
        keep_failed_form(
            pages.message_form_key(loan_id), form, error.fields or {"body": [error.message]}
        )
    return back


@bp.post("/loans/<int:loan_id>/<action>")
@login_required
def act(loan_id: int, action: str):
    if action not in states.MACHINE.user_actions:
        raise NotFound(states.MACHINE.unknown_action)
    if action == "claim_damage":
        return _claim(loan_id)
    if action == "confirm_with_code":
        return _confirm_with_code(loan_id)
    loan = services.get_loan_for(loan_id, current_user.id)  # 404 for anyone but its parties
    role = loan.role_of(current_user.id)
    form = pages.action_form(action, loan, role, formdata=request.form)
    back = _to_loan(loan_id)
    key = pages.action_form_key(action, loan_id)
    if not form.validate():
        if "csrf_token" in form.errors:
            flash(EXPIRED, "error")
        else:  # the in-person confirmation box: say so under it
            keep_failed_form(key, form)
        return back
    try:
        loan = services.act(loan_id, action, current_user.id, note=form.note.data)
    except ValidationFailed as error:  # the note: show it again under the field
        keep_failed_form(key, form, error.fields or {"note": [error.message]})
        return back
    except Conflict as error:  # the loan moved on: explain, show it
        flash(error.message, "error")
        return back
    flash(_done(loan, action), "success")
    return back


def _confirm_with_code(loan_id: int):
    form = HandoverCodeForm()
    back = _to_loan(loan_id, "handover")
    key = pages.code_form_key(loan_id)
    if form_refused(form, key):
        return back
    try:
        loan = services.act(loan_id, "confirm_with_code", current_user.id, code=form.code.data)
    except ValidationFailed as error:
        keep_failed_form(key, form, error.fields or {"code": [error.message]})
        return back
    except Throttled as error:  # too many wrong codes for this loan
        keep_failed_form(key, form, {"code": [error.message]})
        return back
    except Conflict as error:
        flash(error.message, "error")
        return back
    flash(_done(loan, "confirm_with_code"), "success")
    return _to_loan(loan_id)


def _claim(loan_id: int):
    loan = services.get_loan_for(loan_id, current_user.id)
    form = ClaimForm()
    back = _to_loan(loan_id, "claim")
    key = pages.claim_form_key(loan_id)
    if form_refused(form, key):
        return back
    try:
        amount = parse_money(form.amount.data, loan.currency)
    except ValueError as error:
        message = str(error).replace("a price", "an amount").replace("price", "amount")
        keep_failed_form(key, form, {"amount": [message]})
        return back
    photos = [photo for photo in request.files.getlist(form.photos.name) if photo.filename]
    try:
        loan = services.claim_damage(
            loan_id, current_user.id, amount, form.description.data or "", photos
        )
    except ValidationFailed as error:
        keep_failed_form(key, form, _fields(error, CLAIM_FIELDS, "amount"))
        return back
    except Conflict as error:
        flash(error.message, "error")
        return _to_loan(loan_id)
    flash(
        f"Claim of {format_money(amount, loan.currency)} sent. @{loan.borrower.handle} can "
        "accept or dispute it.",
        "success",
    )
    return _to_loan(loan_id)


@bp.get("/loans/<int:loan_id>/claim/photos/<int:photo_id>/<size>")
@login_required
def claim_photo(loan_id: int, photo_id: int, size: str):
    """A photo of a damage claim, for the loan's parties only."""
    if size not in ("thumb", "full"):
        abort(404)
    photo = services.claim_photo_for(photo_id, current_user.id)
    claim = services.get_loan_for(loan_id, current_user.id).claim
    if claim is None or photo.claim_id != claim.id:
        abort(404)
    path = photo.thumb_path if size == "thumb" else photo.image_path
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"], path, mimetype="image/jpeg", max_age=3600
    )
    response.cache_control.private = True
    return response


def _done(loan, action: str) -> str:
    """What just happened, in a sentence."""
    other = loan.borrower if loan.role_of(current_user.id) == "lender" else loan.lender
    if action == "confirm_handover" and loan.state == states.APPROVED:
        return f"Handover confirmed. Waiting for @{other.handle} to confirm it too."
    words = {
        "approve": "Approved: the days are booked. Agree on the handover in the messages.",
        "decline": "Request declined.",
        "cancel": "Cancelled." if loan.approved_at else "Request withdrawn.",
        "confirm_handover": "Handed over: the loan has started.",
        "confirm_with_code": "Handed over: the loan has started. Enjoy!",
        "mark_returned": "Marked as returned.",
        "confirm_return": "Thanks! The loan is complete. You can leave feedback now.",
        "accept_claim": "Claim accepted. The loan is complete; you can leave feedback now.",
        "dispute_claim": "Claim disputed. A moderator decides; the deposit stays held until then.",
        "dispute_fee": "Fee disputed. A moderator decides how much of it goes back.",
        "withdraw_claim": "Claim withdrawn. The loan is complete; you can leave feedback now.",
    }
    return words.get(action, "Done.")

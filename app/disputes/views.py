"""Pages: open a dispute about a transaction, the dispute's page (both parties and moderators:
reason, evidence, answer, decision), the answer and the moderator's decision, your disputes, and
the moderators' dispute queue."""

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

from app.accounts.models import User
from app.disputes import refunds, services
from app.disputes.forms import (
    AnswerDisputeForm,
    DecideDisputeForm,
    OpenDisputeForm,
    ProposeRefundForm,
    RespondRefundForm,
)
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.form_drafts import REFUSED, carry_out, form_refused, keep_failed_form, refilled_form
from app.moderation import rules as rulebook
from app.money import parse_money
from app.pagination import page_number
from app.transactions.registry import find_kind, page_url

bp = Blueprint("disputes", __name__)


def _open_key(kind: str, subject_id: int) -> str:
    return f"dispute:{kind}:{subject_id}"


def _subject(kind: str, subject_id: int):
    registered = find_kind(kind)
    if registered is None or registered.disputes is None:
        abort(404)
    instance = registered.load(subject_id, False)
    if instance is None or registered.role_of(instance, current_user.id) is None:
        raise NotFound(registered.not_found)
    return registered, instance


@bp.get("/disputes/new/<kind>/<int:subject_id>")
@login_required
def new(kind: str, subject_id: int):
    registered, instance = _subject(kind, subject_id)
    existing = services.dispute_about(kind, subject_id)
    if existing is not None:
        return redirect(url_for("disputes.detail", dispute_id=existing.id), 303)
    form = refilled_form(_open_key(kind, subject_id), lambda data: OpenDisputeForm(formdata=data))
    stake = registered.disputes.stake(instance)
    return render_template(
        "disputes/new.html",
        form=form,
        kind=kind,
        subject_id=subject_id,
        noun=registered.machine.noun,
        subject_url=page_url(kind, instance),
        stake=stake,
        can_open=services.can_open(kind, instance, current_user.id),
        role=registered.role_of(instance, current_user.id),
        photos_max=services.PHOTOS_MAX,
    )


@bp.post("/disputes/new/<kind>/<int:subject_id>")
@login_required
def open_(kind: str, subject_id: int):
    _subject(kind, subject_id)
    form = OpenDisputeForm()
    key = _open_key(kind, subject_id)
    back = redirect(url_for("disputes.new", kind=kind, subject_id=subject_id), 303)
    if form_refused(form, key):
        return back
    photos = [photo for photo in request.files.getlist(form.photos.name) if photo.filename]
    try:
        dispute = services.open_dispute(
            kind, subject_id, current_user.id, form.reason.data or "", photos
        )
    except ValidationFailed as error:
        keep_failed_form(key, form, error.fields)
        return back
    except services.AlreadyDisputed:
        existing = services.dispute_about(kind, subject_id)
        return redirect(url_for("disputes.detail", dispute_id=existing.id), 303)
    except DomainError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
        return back
    flash("Dispute opened. The other side can answer; then a moderator decides.", "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute.id), 303)


def _decide_form(data, stake, *, posted: bool = False):
    form = DecideDisputeForm() if posted else DecideDisputeForm(formdata=data)
    form.rule.choices = [
        (r.number, f"{r.number}. {r.title}") for r in rulebook.current_rules().rules
    ]
    form.awarded.label.text = f"Amount to the {stake.payee_role}"
    return form


@bp.get("/disputes/<int:dispute_id>")
@login_required
def detail(dispute_id: int):
    dispute = services.get_dispute(dispute_id, current_user.id)
    subject = services.subject_of(dispute)
    can_decide = services.can_decide(dispute, current_user.id)
    is_moderator = bool(current_user.is_moderator)
    people = {role: db.session.get(User, uid) for uid, role in subject.parties.items()}
    return render_template(
        "disputes/detail.html",
        dispute=dispute,
        subject=subject,
        subject_url=page_url(dispute.subject_kind, subject.instance),
        role=subject.parties.get(current_user.id),
        payer=people.get(subject.stake.payer_role),
        payee=people.get(subject.stake.payee_role),
        can_answer=(
            dispute.respondent_id == current_user.id
            and dispute.answer is None
            and not dispute.is_decided
        ),
        answer_form=refilled_form(
            f"dispute-answer:{dispute_id}", lambda data: AnswerDisputeForm(formdata=data)
        ),
        can_decide=can_decide,
        is_party_moderator=is_moderator and current_user.id in subject.parties,
        decide_form=refilled_form(
            f"dispute-decide:{dispute_id}", lambda data: _decide_form(data, subject.stake)
        )
        if can_decide
        else None,
        photos_max=services.PHOTOS_MAX,
    )


@bp.post("/disputes/<int:dispute_id>/answer")
@login_required
def answer(dispute_id: int):
    services.get_dispute(dispute_id, current_user.id)
    form = AnswerDisputeForm()
    key = f"dispute-answer:{dispute_id}"
    back = redirect(url_for("disputes.detail", dispute_id=dispute_id), 303)
    if form_refused(form, key):
        return back
    photos = [photo for photo in request.files.getlist(form.photos.name) if photo.filename]
    answer = form.answer.data or ""
    done = carry_out(
        key, form, lambda: services.answer_dispute(dispute_id, current_user.id, answer, photos)
    )
    if done is REFUSED:
        return back
    flash("Your answer is with the dispute. A moderator decides next.", "success")
    return back


@bp.post("/disputes/<int:dispute_id>/decide")
@login_required
def decide(dispute_id: int):
    dispute = services.get_dispute(dispute_id, current_user.id)
    stake = services.subject_of(dispute).stake
    form = _decide_form(None, stake, posted=True)
    key = f"dispute-decide:{dispute_id}"
    back = redirect(url_for("disputes.detail", dispute_id=dispute_id), 303)
    if form_refused(form, key):
        return back
    awarded = _amount(key, form, "awarded", dispute.currency)
    if awarded is None:
        return back
    done = carry_out(
        key,
        form,
        lambda: services.decide_dispute(
            dispute_id, current_user.id, awarded, form.rule.data or 0, form.reason.data or ""
        ),
    )
    if done is REFUSED:
        return back
    flash("Decided: the money moves as decided, and the decision is in the public log.", "success")
    return back


@bp.get("/disputes/<int:dispute_id>/photos/<int:photo_id>/<any(full, thumb):size>")
@login_required
def photo(dispute_id: int, photo_id: int, size: str):
    """An evidence photo, for the dispute's parties and moderators only."""
    found = services.photo_for(dispute_id, photo_id, current_user.id)
    path = found.thumb_path if size == "thumb" else found.image_path
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"], path, mimetype="image/jpeg", max_age=3600
    )
    response.cache_control.private = True
    return response


@bp.get("/disputes")
@login_required
def mine():
    page = services.disputes_of(current_user.id, page_number(request.args.get("page")))
    return render_template("disputes/mine.html", page=page, nouns=_nouns())


@bp.get("/moderation/disputes")
@login_required
def queue():
    if not current_user.is_moderator:
        abort(403)
    status = "decided" if request.args.get("status") == "decided" else "waiting"
    page = services.queue(current_user.id, status, page_number(request.args.get("page")))
    return render_template(
        "disputes/queue.html",
        page=page,
        status=status,
        nouns=_nouns(),
        can_decide=lambda d: services.can_decide(d, current_user.id),
    )


def _nouns():
    return lambda kind: find_kind(kind).machine.noun if find_kind(kind) else kind


# -- refunds the parties agree on --------------------------------------------------------------


def _refund_key(kind: str, subject_id: int) -> str:
    return f"refund-offer:{kind}:{subject_id}"


@bp.get("/refunds/<kind>/<int:subject_id>")
@login_required
def refund(kind: str, subject_id: int):
    registered, instance = _subject(kind, subject_id)
    offers = refunds.offers_about(kind, subject_id, current_user.id)
    stake = registered.disputes.stake(instance)
    open_offer = next((offer for offer in offers if offer.status == "open"), None)
    form = refilled_form(
        _refund_key(kind, subject_id), lambda data: ProposeRefundForm(formdata=data)
    )
    form.amount.label.text = f"Amount back to the {stake.payer_role}"
    return render_template(
        "disputes/refund.html",
        kind=kind,
        subject_id=subject_id,
        noun=registered.machine.noun,
        subject_url=page_url(kind, instance),
        stake=stake,
        offers=offers,
        open_offer=open_offer,
        can_offer=refunds.can_offer(kind, instance, current_user.id)
        and services.dispute_about(kind, subject_id) is None,
        can_open_dispute=services.can_open(kind, instance, current_user.id),
        form=form,
        respond_form=RespondRefundForm(),
    )


@bp.post("/refunds/<kind>/<int:subject_id>")
@login_required
def propose_refund(kind: str, subject_id: int):
    registered, instance = _subject(kind, subject_id)
    form = ProposeRefundForm()
    key = _refund_key(kind, subject_id)
    back = redirect(url_for("disputes.refund", kind=kind, subject_id=subject_id), 303)
    if form_refused(form, key):
        return back
    currency = registered.disputes.stake(instance).currency
    amount = _amount(key, form, "amount", currency)
    if amount is None:
        return back
    note = form.note.data or ""
    done = carry_out(
        key, form, lambda: refunds.propose_refund(kind, subject_id, current_user.id, amount, note)
    )
    if done is REFUSED:
        return back
    flash("Offer sent. The other side can accept it, counter or decline.", "success")
    return back


@bp.post("/refunds/offers/<int:offer_id>/<any(accept, decline):answer>")
@login_required
def respond_to_refund(offer_id: int, answer: str):
    offer = refunds.get_offer(offer_id, current_user.id)
    back = redirect(
        url_for("disputes.refund", kind=offer.subject_kind, subject_id=offer.subject_id), 303
    )
    form = RespondRefundForm()
    key = f"refund-answer:{offer_id}"
    if form_refused(form, key):
        return back
    accepted = answer == "accept"
    done = carry_out(
        key, form, lambda: refunds.respond_to_refund(offer_id, current_user.id, accepted)
    )
    if done is REFUSED:
        return back
    if answer == "accept":
        flash("Agreed: the refund is carried out now.", "success")
    else:
        flash(
            "Offer declined. Make another, or open a dispute for a moderator to decide.", "success"
        )
    return back


def _amount(key: str, form, field: str, currency: str) -> int | None:
    """The money typed in `form[field]` in cents, or None with the error kept for the page."""
    try:
        return parse_money(form[field].data, currency)
    except ValueError as error:
        message = str(error).replace("a price", "an amount").replace("price", "amount")
        keep_failed_form(key, form, {field: [message]})
        return None

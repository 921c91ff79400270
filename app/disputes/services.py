"""The rules of disputes, for every kind of transaction: a party opens one with a reason and
photos (the kind's machine moves the transaction into dispute), the other side answers once,
and a moderator who is no party to it decides how the stake is divided. The kind carries the
decision out (its `DisputeRules.carry_out`: the resolving step, ledger entries and provider
operations) in the same unit of work as the dispute's decision and the moderation action, so
it happens exactly once: a second decision finds the dispute decided, and the provider's part
runs after the commit as ProviderOperations keyed once (app/payments/operations.py).

Never imports a kind: everything about one comes through app/transactions/registry.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from app import media
from app.accounts.models import User
from app.db import utcnow
from app.disputes.models import Dispute, DisputePhoto
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.moderation.models import DECIDE, ModerationAction
from app.moderation.rules import current_rule
from app.money import format_money
from app.pagination import Page
from app.transactions import machine
from app.transactions.events import DomainEvent, record_event
from app.transactions.registry import DisputeRules, Stake, TransactionKind, find_kind

logger = logging.getLogger(__name__)

REASON_MAX = 4000
DECISION_REASON_MAX = 1000
PHOTOS_MAX = 6
PHOTO_SIZES = (media.Size("full", 1600, 1600), media.Size("thumb", 320, 320))
# The rule a chargeback's dispute is about until a moderator cites another.
WAITING = ("open", "answered")


class AlreadyDisputed(Conflict):
    code, default_message = (
        "already_disputed",
        "There is already a dispute about this; add to it on its page.",
    )


class NothingAtStake(Conflict):
    code, default_message = (
        "nothing_at_stake",
        "Nothing was paid for this, so there is no money to dispute. If someone broke a "
        "community rule, report them instead.",
    )


class WindowClosed(Conflict):
    code, default_message = (
        "refund_window_closed",
        "It is too late to dispute this or propose a refund: the time for it after completion "
        "has passed.",
    )


def window_closed(rules: DisputeRules, instance, now: datetime | None = None) -> bool:
    """Whether the time to dispute the instance (or agree a refund) in its state has passed."""
    ends = rules.window_ends(instance)
    return ends is not None and (now or utcnow()) > ends


class AlreadyAnswered(Conflict):
    code, default_message = "already_answered", "You have already answered this dispute."


class DisputeDecided(Conflict):
    code, default_message = (
        "dispute_decided",
        "A moderator has already decided this dispute; its decision has been carried out.",
    )


class NotAModerator(Forbidden):
    code, default_message = "not_a_moderator", "Only moderators decide disputes."


class OwnDispute(Forbidden):
    code, default_message = (
        "own_dispute",
        "You cannot decide a dispute about a transaction of yours; another moderator will.",
    )


@dataclass(frozen=True)
class Subject:
    """The transaction a dispute is about, as its pages show it."""

    kind: TransactionKind
    instance: Any
    parties: dict[int, str]  # user id -> role
    stake: Stake
    noun: str  # "loan"


# -- finding things ----------------------------------------------------------------------------


def _rules(kind: str) -> tuple[TransactionKind, DisputeRules]:
    registered = find_kind(kind)
    if registered is None or registered.disputes is None:
        raise NotFound("We could not find that.")
    return registered, registered.disputes


def subject_of(dispute: Dispute) -> Subject:
    """The transaction of a dispute with its parties and stake."""
    registered, rules = _rules(dispute.subject_kind)
    instance = registered.load(dispute.subject_id, False)
    if instance is None:
        raise NotFound(registered.not_found)
    return Subject(
        registered,
        instance,
        registered.parties(instance),
        rules.stake(instance),
        registered.machine.noun,
    )


def dispute_about(kind: str, subject_id: int) -> Dispute | None:
    """The dispute about a transaction, if there is one."""
    return db.session.scalar(
        select(Dispute).where(Dispute.subject_kind == kind, Dispute.subject_id == subject_id)
    )


def can_open(kind: str, instance, user_id: int | None) -> bool:
    """Whether the user may open a dispute about the instance now (a button on its page)."""
    registered = find_kind(kind)
    if registered is None or registered.disputes is None or instance is None:
        return False
    action = registered.disputes.opens.get(instance.state)
    role = registered.role_of(instance, user_id)
    if action is None or role is None:
        return False
    return (
        registered.machine.allows(registered.machine.rules[(instance.state, action)], role)
        and not window_closed(registered.disputes, instance)
        and dispute_about(kind, instance.id) is None
    )


def _is_moderator(user_id: int | None) -> bool:
    user = db.session.get(User, user_id) if user_id is not None else None
    return bool(user is not None and user.is_moderator)


def get_dispute(dispute_id: int, viewer_id: int) -> Dispute:
    """A dispute, for its parties and for moderators; NotFound for anybody else (no hint)."""
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound("We could not find that dispute.")
    if viewer_id not in subject_of(dispute).parties and not _is_moderator(viewer_id):
        raise NotFound("We could not find that dispute.")
    return dispute


def photo_for(dispute_id: int, photo_id: int, viewer_id: int) -> DisputePhoto:
    """An evidence photo of a dispute the viewer may see. Raises NotFound."""
    dispute = get_dispute(dispute_id, viewer_id)
    photo = db.session.get(DisputePhoto, photo_id)
    if photo is None or photo.dispute_id != dispute.id:
        raise NotFound("That photo does not exist.")
    return photo


def disputes_of(user_id: int, page: int = 1, per_page: int = 20) -> Page[Dispute]:
    """The disputes the user opened or answers, newest first."""
    query = select(Dispute).where(
        or_(Dispute.opened_by_id == user_id, Dispute.respondent_id == user_id)
    )
    return _page(query.order_by(Dispute.opened_at.desc(), Dispute.id.desc()), page, per_page)


def queue(moderator_id: int, status: str = "waiting", page: int = 1, per_page: int = 20) -> Page:
    """Disputes for moderators, oldest first: waiting (open or answered), or decided."""
    if not _is_moderator(moderator_id):
        raise NotAModerator()
    query = select(Dispute)
    if status == "decided":
        query = query.where(Dispute.status == "decided").order_by(Dispute.decided_at.desc())
    else:
        query = query.where(Dispute.status.in_(WAITING)).order_by(Dispute.opened_at)
    return _page(query.order_by(Dispute.id), page, per_page)


def _page(query, page: int, per_page: int) -> Page[Dispute]:
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(
        db.session.scalars(
            query.options(
                selectinload(Dispute.opened_by),
                selectinload(Dispute.respondent),
                selectinload(Dispute.photos),
            )
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def can_decide(dispute: Dispute, user_id: int | None) -> bool:
    """Whether this user may decide the dispute now: a moderator, no party, not yet decided."""
    return (
        not dispute.is_decided
        and _is_moderator(user_id)
        and user_id not in subject_of(dispute).parties
    )


def split_words(stake: Stake, awarded_cents: int) -> str:
    """What a decision does with the money, in public words: amounts and roles, nothing else."""
    back = stake.amount_cents - awarded_cents
    parts = []
    if awarded_cents:
        parts.append(f"{format_money(awarded_cents, stake.currency)} to the {stake.payee_role}")
    if back or not awarded_cents:
        parts.append(f"{format_money(back, stake.currency)} back to the {stake.payer_role}")
    return ", ".join(parts)


# -- opening and answering ---------------------------------------------------------------------


def _clean(value, field: str, limit: int, what: str) -> tuple[str, dict[str, list[str]]]:
    text = str(value or "").strip().replace("\r\n", "\n")
    if not text:
        return text, {field: [what]}
    if len(text) > limit:
        return text, {field: [f"Use at most {limit} characters."]}
    return text, {}


def _photos(photos: Sequence[FileStorage] | None) -> tuple[list, dict[str, list[str]]]:
    uploads = [f for f in (photos or ()) if f is not None and (f.filename or "").strip()]
    if len(uploads) > PHOTOS_MAX:
        return [], {"photos": [f"Add at most {PHOTOS_MAX} photos."]}
    processed, errors = [], []
    max_bytes = int(current_app.config["MAX_PHOTO_BYTES"])
    for upload in uploads:
        try:
            processed.append(media.process(upload, PHOTO_SIZES, max_bytes=max_bytes))
        except media.ImageRejected as rejected:
            errors.append(str(rejected))
    return processed, ({"photos": errors} if errors else {})


def _store_photos(dispute: Dispute, side: str, processed: Iterable, written: list[str]) -> None:
    start = len(dispute.photos_of(side)) if dispute.id else 0
    for position, renditions in enumerate(processed, start=start):
        paths = media.store(current_app.config["UPLOAD_DIR"], f"disputes/{side}", renditions)
        written += paths.values()
        dispute.photos.append(
            DisputePhoto(
                side=side,
                position=position,
                image_path=paths["full"],
                thumb_path=paths["thumb"],
                width=renditions[0].width,
                height=renditions[0].height,
            )
        )


def _opening_action(registered: TransactionKind, rules: DisputeRules, state: str) -> str:
    return rules.opens.get(state) or next(iter(rules.opens.values()))


def open_dispute(
    kind: str,
    subject_id: int,
    user_id: int,
    reason: str,
    photos: Sequence[FileStorage] = (),
    *,
    now: datetime | None = None,
) -> Dispute:
    """A party opens a dispute about a transaction with a reason and up to PHOTOS_MAX photos;
    the kind's machine moves it into dispute (its own event tells the other side). Raises
    NotFound (no such transaction, or not a party), InvalidTransition (not now), Forbidden
    (a role that cannot), WindowClosed (too long after completion), AlreadyDisputed,
    NothingAtStake (a free order), ValidationFailed."""
    now = now or utcnow()
    registered, rules = _rules(kind)
    instance = registered.load(subject_id, False)
    role = registered.role_of(instance, user_id)
    if instance is None or role is None:
        raise NotFound(registered.not_found)
    if dispute_about(kind, subject_id) is not None:
        raise AlreadyDisputed()
    action = _opening_action(registered, rules, instance.state)
    machine.decide(registered, instance.state, action, role)
    if window_closed(rules, instance, now):
        raise WindowClosed()
    if rules.stake(instance).amount_cents <= 0:
        raise NothingAtStake()
    text, errors = _clean(reason, "reason", REASON_MAX, "Say what went wrong.")
    processed, photo_errors = _photos(photos)
    if errors or photo_errors:
        raise ValidationFailed(fields=errors | photo_errors)
    stake = rules.stake(instance)
    other_role = stake.payee_role if role == stake.payer_role else stake.payer_role
    respondent_id = next(uid for uid, r in registered.parties(instance).items() if r == other_role)
    written: list[str] = []
    try:
        instance = registered.load(subject_id, True)
        machine.decide(registered, instance.state, action, role)  # the state we locked
        dispute = Dispute(
            subject_kind=kind,
            subject_id=subject_id,
            source="member",
            opened_by_id=user_id,
            respondent_id=respondent_id,
            opener_role=role,
            reason=text,
            stake_cents=stake.amount_cents,
            currency=stake.currency,
            status="open",
            opened_at=now,
        )
        _store_photos(dispute, "opener", processed, written)
        db.session.add(dispute)
        db.session.flush()  # a second dispute at once meets the unique (kind, id)
        note = text[: machine.MAX_NOTE_LENGTH]
        machine.step(registered, instance, action, user_id, note=note, now=now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        media.delete_files(current_app.config["UPLOAD_DIR"], written)
        raise AlreadyDisputed() from None
    except BaseException:
        db.session.rollback()
        media.delete_files(current_app.config["UPLOAD_DIR"], written)
        raise
    logger.info("%s %s: dispute %s opened by %s", kind, subject_id, dispute.id, role)
    return dispute


def answer_dispute(
    dispute_id: int,
    user_id: int,
    answer: str,
    photos: Sequence[FileStorage] = (),
    *,
    now: datetime | None = None,
) -> Dispute:
    """The other side answers once, with text and photos, before the decision. Raises
    NotFound, Forbidden (not the side that answers), AlreadyAnswered, DisputeDecided,
    ValidationFailed."""
    now = now or utcnow()
    dispute = get_dispute(dispute_id, user_id)
    if dispute.respondent_id != user_id:
        raise Forbidden("Only the other side of the dispute answers it.")
    if dispute.is_decided:
        raise DisputeDecided()
    if dispute.answer is not None:
        raise AlreadyAnswered()
    text, errors = _clean(answer, "answer", REASON_MAX, "Give your side of it.")
    processed, photo_errors = _photos(photos)
    if errors or photo_errors:
        raise ValidationFailed(fields=errors | photo_errors)
    written: list[str] = []
    try:
        claimed = db.session.execute(
            update(Dispute)
            .where(Dispute.id == dispute_id, Dispute.status == "open", Dispute.answer.is_(None))
            .values(status="answered", answer=text, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise AlreadyAnswered()
        db.session.expire(dispute, ["status", "answer", "answered_at"])
        _store_photos(dispute, "respondent", processed, written)
        record_event(
            "dispute.answered",
            subject_kind=dispute.subject_kind,
            subject_id=dispute.subject_id,
            actor_id=user_id,
            payload=_payload(dispute),
            now=now,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        media.delete_files(current_app.config["UPLOAD_DIR"], written)
        raise
    return dispute


def _payload(dispute: Dispute, **extra) -> dict:
    subject = subject_of(dispute)
    return {
        "dispute_id": dispute.id,
        "path": f"/disputes/{dispute.id}",
        "kind": dispute.subject_kind,
        "subject_id": dispute.subject_id,
        "noun": subject.noun,
        "opened_by_id": dispute.opened_by_id,
        "respondent_id": dispute.respondent_id,
        "party_ids": sorted(subject.parties),
        "stake_cents": dispute.stake_cents,
        "currency": dispute.currency,
    } | extra


# -- the decision ------------------------------------------------------------------------------


def decide_dispute(
    dispute_id: int,
    moderator_id: int,
    awarded_cents: int,
    rule_number: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> Dispute:
    """A moderator who is no party decides: `awarded_cents` of the stake to the payee (seller,
    lender), the rest back to the payer, citing a rule with a public reason. One unit of work:
    the dispute decided (guarded, so a second decision finds it decided), the kind's resolving
    step with its ledger entries and staged provider operations, the moderation action; then
    the provider's part. Raises NotAModerator, NotFound, OwnDispute, DisputeDecided,
    ValidationFailed, InvalidTransition."""
    now = now or utcnow()
    if not _is_moderator(moderator_id):
        raise NotAModerator()
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound("We could not find that dispute.")
    subject = subject_of(dispute)
    if moderator_id in subject.parties:
        raise OwnDispute()
    if dispute.is_decided:
        raise DisputeDecided()
    errors: dict[str, list[str]] = {}
    most = dispute.stake_cents
    if isinstance(awarded_cents, bool) or not isinstance(awarded_cents, int):
        errors["awarded"] = ["Enter the amount that goes to the " + subject.stake.payee_role + "."]
    elif not 0 <= awarded_cents <= most:
        errors["awarded"] = [f"From nothing up to {format_money(most, dispute.currency)}."]
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= DECISION_REASON_MAX:
        errors["reason"] = [
            f"Give the reason in 5 to {DECISION_REASON_MAX} characters (it is public)."
        ]
    if errors:
        raise ValidationFailed(fields=errors)
    rule = current_rule(rule_number)
    stake = Stake(most, dispute.currency, subject.stake.payer_role, subject.stake.payee_role, "")
    detail = split_words(stake, awarded_cents)
    rules = subject.kind.disputes
    try:
        decided = db.session.execute(
            update(Dispute)
            .where(Dispute.id == dispute_id, Dispute.status.in_(WAITING))
            .values(
                status="decided",
                decided_at=now,
                decided_by_id=moderator_id,
                awarded_cents=awarded_cents,
                refunded_cents=most - awarded_cents,
                decision_reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        if decided.rowcount != 1:
            raise DisputeDecided()
        rules.carry_out(dispute.subject_id, awarded_cents, reason, now)
        db.session.add(
            ModerationAction(
                case_id=None,
                dispute_id=dispute.id,
                moderator_id=moderator_id,
                action=DECIDE,
                rule_id=rule.id,
                reason=reason,
                target_kind=dispute.subject_kind,
                target_id=dispute.subject_id,
                target_user_id=dispute.respondent_id,
                detail=detail,
                created_at=now,
            )
        )
        # On the transaction's own record: feedback and reputation read how it ended.
        record_event(
            "dispute.decided",
            subject_kind=dispute.subject_kind,
            subject_id=dispute.subject_id,
            actor_id=moderator_id,
            payload=_payload(
                dispute,
                awarded_cents=awarded_cents,
                refunded_cents=most - awarded_cents,
                payee_role=stake.payee_role,
                payer_role=stake.payer_role,
                rule_number=rule.number,
                reason=reason,
                detail=detail,
            ),
            now=now,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    logger.info("dispute %s decided by %s: %s", dispute_id, moderator_id, detail)
    rules.follow_up(dispute.subject_id)
    return db.session.get(Dispute, dispute_id, populate_existing=True)


# -- chargebacks -------------------------------------------------------------------------------


def open_chargeback(event: DomainEvent) -> None:
    """Consumer of `payment.disputed` (a card network's dispute arrived by webhook): open a
    dispute on the payment's transaction for its payer, once per provider dispute, when the
    transaction's machine can go into dispute from its state; otherwise the payment stays
    flagged for a person (reconcile). Idempotent."""
    payload = event.payload
    ref = str(payload.get("dispute_ref") or f"event:{event.id}")
    if db.session.scalar(select(Dispute.id).where(Dispute.provider_ref == ref)) is not None:
        return
    registered = find_kind(event.subject_kind)
    rules = registered.disputes if registered is not None else None
    if rules is not None and not rules.chargebacks:
        rules = None
    instance = registered.load(event.subject_id, True) if rules is not None else None
    action = rules.opens.get(instance.state) if instance is not None else None
    if isinstance(rules.chargebacks if rules else None, frozenset) and (
        instance.state not in rules.chargebacks
    ):
        action = None
    if action is None or dispute_about(event.subject_kind, event.subject_id) is not None:
        db.session.rollback()
        logger.warning(
            "chargeback %s on %s %s: no dispute opened (kind, state or an existing dispute)",
            ref,
            event.subject_kind,
            event.subject_id,
        )
        return
    stake = rules.stake(instance)
    parties = registered.parties(instance)
    respondent_id = next(uid for uid, role in parties.items() if role == stake.payee_role)
    why = str(payload.get("reason") or "unspecified").replace("_", " ")
    dispute = Dispute(
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        source="chargeback",
        opened_by_id=None,
        respondent_id=respondent_id,
        opener_role=stake.payer_role,
        reason=(
            f"The {stake.payer_role}'s card issuer opened a chargeback "
            f"({why}) for {format_money(int(payload.get('amount_cents') or 0), stake.currency)}."
        ),
        stake_cents=stake.amount_cents,
        currency=stake.currency,
        status="open",
        provider_ref=ref,
    )
    try:
        db.session.add(dispute)
        db.session.flush()
        machine.step(registered, instance, action, None, note="Chargeback by the card issuer")
        db.session.commit()
    except IntegrityError:  # another delivery opened it meanwhile
        db.session.rollback()
        return
    logger.info("chargeback %s opened dispute %s", ref, dispute.id)

"""Refunds the parties agree on between themselves: either proposes how much of the stake goes
back to the payer (a full or partial refund of an order while its money is held; another
amount for a loan's damage claim), the other accepts, counters (a counter-offer replaces the
open one) or declines. Accepted, the agreement is carried out exactly as a moderator's decision
is (the kind's `DisputeRules.carry_out`), in one unit of work; when they do not agree, either
can open a dispute instead.

Never imports a kind: everything about one comes through app/transactions/registry.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update

from app.db import utcnow
from app.disputes.models import RefundOffer
from app.disputes.services import WindowClosed, dispute_about, window_closed
from app.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.money import format_money
from app.transactions.events import record_event
from app.transactions.registry import DisputeRules, Stake, TransactionKind, find_kind

logger = logging.getLogger(__name__)

NOTE_MAX = 500


class OfferClosed(Conflict):
    code, default_message = (
        "offer_closed",
        "That offer is no longer open: it was answered or replaced meanwhile.",
    )


class OwnOffer(Forbidden):
    code, default_message = (
        "own_offer",
        "The other side answers your offer; you can replace it with another.",
    )


def _rules(kind: str) -> tuple[TransactionKind, DisputeRules]:
    registered = find_kind(kind)
    if registered is None or registered.disputes is None or not registered.disputes.settles:
        raise NotFound("We could not find that.")
    return registered, registered.disputes


def _party_view(kind: str, subject_id: int, user_id: int):
    registered, rules = _rules(kind)
    instance = registered.load(subject_id, False)
    role = registered.role_of(instance, user_id)
    if instance is None or role is None:
        raise NotFound(registered.not_found)
    return registered, rules, instance, role


def open_offer(kind: str, subject_id: int) -> RefundOffer | None:
    """The open refund offer about a transaction, if any."""
    return db.session.scalar(
        select(RefundOffer).where(
            RefundOffer.subject_kind == kind,
            RefundOffer.subject_id == subject_id,
            RefundOffer.status == "open",
        )
    )


def offers_about(kind: str, subject_id: int, user_id: int) -> list[RefundOffer]:
    """Every offer about a transaction, oldest first, for one of its parties."""
    _party_view(kind, subject_id, user_id)
    return list(
        db.session.scalars(
            select(RefundOffer)
            .where(RefundOffer.subject_kind == kind, RefundOffer.subject_id == subject_id)
            .order_by(RefundOffer.id)
        )
    )


def can_offer(kind: str, instance, user_id: int | None) -> bool:
    """Whether the user may propose (or counter) a refund on the instance now."""
    registered = find_kind(kind)
    rules = registered.disputes if registered is not None else None
    return bool(
        rules is not None
        and instance is not None
        and instance.state in rules.settles
        and not window_closed(rules, instance)
        and registered.role_of(instance, user_id) is not None
        and registered.role_of(instance, user_id) in _roles(rules.stake(instance))
    )


def _roles(stake: Stake) -> tuple[str, str]:
    return (stake.payer_role, stake.payee_role)


def get_offer(offer_id: int, user_id: int) -> RefundOffer:
    """An offer, for the parties of its transaction. Raises NotFound."""
    offer = db.session.get(RefundOffer, offer_id)
    if offer is None:
        raise NotFound("We could not find that offer.")
    _party_view(offer.subject_kind, offer.subject_id, user_id)
    return offer


def propose_refund(
    kind: str,
    subject_id: int,
    user_id: int,
    refund_cents: int,
    note: str = "",
    *,
    now: datetime | None = None,
) -> RefundOffer:
    """Propose that `refund_cents` of the stake go back to the payer (the rest to the payee);
    it replaces the open offer, the other side's (a counter-offer) or one's own. Raises
    NotFound, Forbidden, InvalidTransition (not while the money cannot be divided), Conflict
    (a dispute is open: a moderator decides), WindowClosed (too long after completion),
    ValidationFailed."""
    now = now or utcnow()
    registered, rules, instance, role = _party_view(kind, subject_id, user_id)
    stake = rules.stake(instance)
    if role not in _roles(stake):
        raise Forbidden(f"Only the {stake.payer_role} and the {stake.payee_role} agree on refunds.")
    if dispute_about(kind, subject_id) is not None:
        raise Conflict("A dispute is open about this: a moderator decides.")
    if instance.state not in rules.settles:
        raise InvalidTransition(registered.machine.refusal_message(instance.state, "settle"))
    if window_closed(rules, instance, now):
        raise WindowClosed()
    errors: dict[str, list[str]] = {}
    if isinstance(refund_cents, bool) or not isinstance(refund_cents, int):
        errors["amount"] = ["Enter the amount to give back."]
    elif not 0 <= refund_cents <= stake.amount_cents:
        errors["amount"] = [
            f"From nothing up to {format_money(stake.amount_cents, stake.currency)}."
        ]
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"Use at most {NOTE_MAX} characters."]
    if errors:
        raise ValidationFailed(fields=errors)
    registered.load(subject_id, True)  # one offer at a time per transaction
    db.session.execute(
        update(RefundOffer)
        .where(
            RefundOffer.subject_kind == kind,
            RefundOffer.subject_id == subject_id,
            RefundOffer.status == "open",
        )
        .values(status="replaced", answered_at=now, answered_by_id=user_id)
        .execution_options(synchronize_session=False)
    )
    offer = RefundOffer(
        subject_kind=kind,
        subject_id=subject_id,
        proposer_id=user_id,
        proposer_role=role,
        refund_cents=refund_cents,
        stake_cents=stake.amount_cents,
        currency=stake.currency,
        note=note,
        status="open",
        created_at=now,
    )
    db.session.add(offer)
    db.session.flush()
    record_event(
        "refund.proposed",
        subject_kind=kind,
        subject_id=subject_id,
        actor_id=user_id,
        payload=_payload(registered, instance, offer, stake),
        now=now,
    )
    db.session.commit()
    return offer


def respond_to_refund(
    offer_id: int, user_id: int, accept: bool, *, now: datetime | None = None
) -> RefundOffer:
    """The other side accepts the open offer (carried out at once through the kind's
    `carry_out`, like a moderator's decision, then the provider's part) or declines it.
    Raises NotFound, OwnOffer, OfferClosed, InvalidTransition."""
    now = now or utcnow()
    offer = get_offer(offer_id, user_id)
    registered, rules, instance, role = _party_view(offer.subject_kind, offer.subject_id, user_id)
    stake = rules.stake(instance)
    if offer.proposer_id == user_id:
        raise OwnOffer()
    if role not in _roles(stake):
        raise Forbidden(f"Only the {stake.payer_role} and the {stake.payee_role} agree on refunds.")
    if offer.status != "open":
        raise OfferClosed()
    status = "accepted" if accept else "declined"
    try:
        answered = db.session.execute(
            update(RefundOffer)
            .where(RefundOffer.id == offer.id, RefundOffer.status == "open")
            .values(status=status, answered_at=now, answered_by_id=user_id)
            .execution_options(synchronize_session=False)
        )
        if answered.rowcount != 1:
            raise OfferClosed()
        if accept:
            if offer.stake_cents != stake.amount_cents:
                raise OfferClosed("The money at stake changed since the offer: make a new one.")
            note = f"Refund agreed: {format_money(offer.refund_cents, offer.currency)} back"
            rules.carry_out(offer.subject_id, offer.stake_cents - offer.refund_cents, note, now)
        record_event(
            f"refund.{status}",
            subject_kind=offer.subject_kind,
            subject_id=offer.subject_id,
            actor_id=user_id,
            payload=_payload(registered, instance, offer, stake),
            now=now,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    logger.info("refund offer %s %s by %s", offer.id, status, user_id)
    if accept:
        rules.follow_up(offer.subject_id)
    return db.session.get(RefundOffer, offer.id, populate_existing=True)


def _payload(registered: TransactionKind, instance, offer: RefundOffer, stake: Stake) -> dict:
    parties = registered.parties(instance)
    return {
        "offer_id": offer.id,
        "noun": registered.machine.noun,
        "subject_id": offer.subject_id,
        "proposer_id": offer.proposer_id,
        "party_ids": sorted(uid for uid, r in parties.items() if r in _roles(stake)),
        "refund_cents": offer.refund_cents,
        "stake_cents": offer.stake_cents,
        "currency": offer.currency,
        "payer_role": stake.payer_role,
        "path": f"/refunds/{offer.subject_kind}/{offer.subject_id}",
    }

"""Incoming provider webhooks: verified, recorded by event id, processed exactly once.

We never trust the state inside an event: events arrive late, twice or out of order, so each
one only tells us *which* object changed; we fetch that object's current state from the
provider and apply it (applying the same state twice changes nothing).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.payments import money as payments
from app.payments import services
from app.payments.models import Payment, PaymentProfile, ProviderEvent
from app.payments.providers import get_provider
from app.transactions.events import record_event

logger = logging.getLogger(__name__)

PAYMENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "payment_intent.processing",
    "payment_intent.requires_action",
}
SETUP_EVENTS = {"setup_intent.succeeded", "setup_intent.setup_failed"}
HANDLED = (
    PAYMENT_EVENTS
    | SETUP_EVENTS
    | {
        "charge.refunded",
        "charge.dispute.created",
        "account.updated",
    }
)


def handle_event(event: dict) -> str:
    """Process one verified event once. Returns 'processed', 'ignored' or 'duplicate'. Raises
    on a failure that the provider should retry (we then answer non-2xx)."""
    provider = get_provider()
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if not event_id or not event_type:
        raise ValueError("not an event")
    if db.session.scalar(
        select(ProviderEvent.id).where(
            ProviderEvent.provider == provider.name, ProviderEvent.event_id == event_id
        )
    ):
        return "duplicate"
    created = event.get("created")
    record = ProviderEvent(
        provider=provider.name,
        event_id=event_id,
        type=event_type[:60],
        object_ref=str(obj.get("id") or "")[:120] or None,
        status="processed",
        payload=json.dumps(event)[:100_000],
        event_created_at=datetime.fromtimestamp(created, UTC) if created else None,
    )
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:  # the same event, delivered twice at the same moment
        db.session.rollback()
        return "duplicate"
    record.status = _dispatch(event_type, obj)
    db.session.commit()
    logger.info("webhook %s (%s): %s", event_id, event_type, record.status)
    return record.status


def _dispatch(event_type: str, obj: dict) -> str:
    if event_type not in HANDLED:
        return "ignored"
    if event_type == "account.updated":
        return _account_updated(obj)
    if event_type in SETUP_EVENTS:
        return _setup_changed(obj)
    if event_type in PAYMENT_EVENTS:
        payment = _payment_for(obj.get("id"), obj.get("metadata") or {})
    else:  # charge.refunded, charge.dispute.created: the charge (or dispute) names its intent
        intent = obj.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        payment = _payment_for(intent, {})
    if payment is None:
        return "ignored"
    if event_type == "charge.dispute.created":
        payment.is_disputed = True
        # The transaction's kind hears of it through the recorded event (app/disputes opens a
        # dispute on it once per provider dispute); payments never import a kind.
        record_event(
            "payment.disputed",
            subject_kind=payment.subject_type,
            subject_id=payment.subject_id,
            actor_id=None,
            payload={
                "payment_id": payment.id,
                "dispute_ref": obj.get("id"),
                "amount_cents": obj.get("amount") or payment.amount_cents,
                "reason": obj.get("reason"),
            },
        )
        logger.warning("payment %s is disputed by the cardholder", payment.id)
        return "processed"
    services.sync_payment(payment.id)
    return "processed"


def _payment_for(ref: str | None, metadata: dict) -> Payment | None:
    """Our payment for a provider object; by our operation key if we crashed before storing
    the provider's id."""
    if ref:
        payment = db.session.scalar(select(Payment).where(Payment.provider_ref == ref))
        if payment is not None:
            return payment
    key = metadata.get("operation_key")
    if key:
        payment = db.session.scalar(select(Payment).where(Payment.operation_key == key))
        if payment is not None and not payment.provider_ref and ref:
            payment.provider_ref = ref
        return payment
    return None


def _setup_changed(obj: dict) -> str:
    """A saved-card setup succeeded or failed: store the card on the customer's profile when the
    setup (asked afresh, not read from the event) has succeeded; a failure saves nothing."""
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    provider = get_provider()
    profile = db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.customer_ref == customer, PaymentProfile.provider == provider.name
        )
    )
    if profile is None or not obj.get("id"):
        return "ignored"
    payments.store_setup(profile, provider.retrieve_setup(obj["id"]))
    return "processed"


def _account_updated(obj: dict) -> str:
    from app.payments.providers.stripe import StripeProvider

    ref = obj.get("id")
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.account_ref == ref))
    if profile is None:
        return "ignored"
    # account.updated carries the whole account; its flags only ever describe that moment,
    # so an older event arriving late could undo a newer one: ask for the current state.
    try:
        account = get_provider().retrieve_account(ref)
    except Exception:
        logger.warning("could not fetch account %s; using the event's copy", ref)
        account = StripeProvider.account_from_dict(obj)
    services.apply_account(profile, account)
    return "processed"

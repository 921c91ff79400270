"""Money for any subject (an order now; a loan deposit or a pledge later), keyed by
(subject_type, subject_id): the payment records, the ledger postings that go with each step
and the provider operations decided with them. No kind is imported here; a kind's own money
rules (app/orders/money.py) call these, and payments reach a kind back only through
app/payments/subjects.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from app import metrics
from app.db import utcnow
from app.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.payments import ledger, operations
from app.payments.fees import platform_fee_cents
from app.payments.models import Payment, PaymentProfile, ProviderOperation
from app.payments.providers import get_provider
from app.payments.providers.base import (
    PaymentDeclined,
    ProviderPayment,
    ProviderRejected,
    ProviderSetup,
    ProviderUnavailable,
    with_retries,
)
from app.payments.subjects import holding_account, hooks_for

logger = logging.getLogger(__name__)

Subject = tuple[str, int]


# Payment outcomes decided in a unit of work, counted (app/metrics.py) once it commits.
_OUTCOMES = "mutual.payment_outcomes"


def _count_outcome(payment: Payment, outcome: str) -> None:
    """Count this payment's outcome (succeeded, failed, canceled) when the session commits."""
    db.session.info.setdefault(_OUTCOMES, []).append((payment.provider, payment.kind, outcome))


@event.listens_for(Session, "after_commit")
def _outcomes_committed(session: Session) -> None:
    for labels in session.info.pop(_OUTCOMES, ()):
        metrics.observe_payment(*labels)


@event.listens_for(Session, "after_rollback")
def _outcomes_rolled_back(session: Session) -> None:
    session.info.pop(_OUTCOMES, None)


def settles_in_person() -> bool:
    """Whether the configured provider leaves payment to the two people (the seller confirms
    it) rather than holding the money itself."""
    return not get_provider().holds_funds


def retrying(call, what: str):
    """Run one provider call with the configured retries (same idempotency key each time)."""
    config = current_app.config
    return with_retries(
        call,
        attempts=config.get("PAYMENT_RETRY_ATTEMPTS", 3),
        base_delay=config.get("PAYMENT_RETRY_BASE_DELAY", 0.5),
        what=what,
    )


def subject_payments(subject: Subject, status: str | None = "succeeded") -> list[Payment]:
    """The subject's payments (those in `status`; all with None), oldest first, read afresh:
    a decision about money must see what is stored now, not what this session remembers from
    before it took the subject's lock."""
    query = select(Payment).where(
        Payment.subject_type == subject[0], Payment.subject_id == subject[1]
    )
    if status:
        query = query.where(Payment.status == status)
    return list(
        db.session.scalars(query.order_by(Payment.id).execution_options(populate_existing=True))
    )


def fee_for(payment: Payment, amount_cents: int) -> int:
    """The platform fee on `amount_cents` of this payment. Payments settled in person carry no
    fee: the money never passes through the platform."""
    if payment.provider == "manual":
        return 0
    config = current_app.config
    return platform_fee_cents(
        amount_cents, config["PLATFORM_FEE_BPS"], config["PLATFORM_FEE_FIXED_CENTS"]
    )


def new_operation(
    key: str,
    kind: str,
    payment: Payment | None,
    amount_cents: int,
    user_id: int | None = None,
    *,
    at: datetime | None = None,
) -> ProviderOperation:
    """Record a provider call decided in this unit of work; it runs after the commit."""
    op = ProviderOperation(
        operation_key=key,
        kind=kind,
        payment_id=payment.id if payment else None,
        user_id=user_id,
        amount_cents=amount_cents,
        currency=payment.currency if payment else current_app.config["SITE_CURRENCY"],
        status="pending",
        created_at=at or utcnow(),
    )
    db.session.add(op)
    db.session.flush()
    operations.stage(op)
    return op


def _subject_of(payment: Payment) -> Subject:
    return (payment.subject_type, payment.subject_id)


def _move(
    payment: Payment,
    key: str,
    ledger_kind: str,
    legs: list[ledger.Leg],
    what: str,
    *,
    at: datetime | None = None,
    then: tuple[str, str, int, int | None] | None = None,
    exact: bool = False,
) -> ProviderOperation | None:
    """The one way an operation moves a subject's money: post its balanced ledger transaction
    (once, by key) and, when the provider must act too, record that operation (`then`: key,
    kind, amount, receiving user) to run after the commit. `what` is the ledger's words; the
    subject is appended unless `exact`."""
    ledger.post(
        key,
        ledger_kind,
        payment.currency,
        legs,
        description=what if exact else f"{what}: {payment.subject_type} #{payment.subject_id}",
        subject=_subject_of(payment),
        payment_id=payment.id,
        at=at,
    )
    if then is None:
        return None
    op_key, op_kind, amount, user_id = then
    return new_operation(op_key, op_kind, payment, amount, user_id, at=at)


def _funding_key(payment: Payment) -> str:
    return f"{payment.subject_type}:{payment.subject_id}:funded:{payment.id}"


def post_funding(payment: Payment, *, at: datetime | None = None) -> None:
    """customer funding -> the subject's holding account, for a payment that succeeded
    (once)."""
    _move(
        payment,
        _funding_key(payment),
        f"{payment.subject_type}_funded",
        [
            ledger.Leg(ledger.CUSTOMER_FUNDING, -payment.captured_cents),
            ledger.Leg(holding_account(payment.subject_type), payment.captured_cents),
        ],
        f"Payment received for {payment.subject_type} #{payment.subject_id}"
        + (" (in person)" if payment.provider == "manual" else ""),
        at=at,
        exact=True,
    )


def is_funded(payment: Payment) -> bool:
    """Whether the payment's money was posted into its holding account."""
    return ledger.transaction_for(_funding_key(payment)) is not None


def record_in_person(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
    at: datetime | None = None,
) -> Payment:
    """Record money the payer handed over in person (confirmed by the payee) and post it into
    the holding account. One per subject: recording again answers the first."""
    key = f"{subject[0]}:{subject[1]}:in-person"
    payment = db.session.scalar(select(Payment).where(Payment.operation_key == key))
    if payment is None:
        payment = Payment(
            operation_key=key,
            subject_type=subject[0],
            subject_id=subject[1],
            kind="charge",
            payer_id=payer_id,
            payee_id=payee_id,
            provider="manual",
            provider_ref=f"manual:{subject[0]}:{subject[1]}",
            amount_cents=amount_cents,
            currency=currency,
            status="succeeded",
            captured_cents=amount_cents,
        )
        db.session.add(payment)
        db.session.flush()
        _count_outcome(payment, "succeeded")
    post_funding(payment, at=at)
    return payment


def chargeback_key(payment: Payment) -> str:
    """The key of a chargeback's booking, taken after the guarded UPDATE raised the payment's
    refunded_cents: each booking of one payment has its own (the total it reaches)."""
    return f"payment:{payment.id}:chargeback:{payment.refunded_cents}"


def decide_refund(
    payment: Payment,
    amount_cents: int,
    *,
    reason: str,
    at: datetime | None = None,
) -> ProviderOperation:
    """holding -> refunds pending, and a refund operation for the provider. The guarded UPDATE
    makes two refunds at once unable to give back more than is held. A payment its payer's
    card issuer charged back (`is_disputed`) is given back by the issuer: holding ->
    chargebacks returned, and no refund operation (answers None)."""
    changed = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.captured_cents - Payment.refunded_cents >= amount_cents,
        )
        .values(refunded_cents=Payment.refunded_cents + amount_cents, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise Conflict(f"That is more than what is still held for this {payment.subject_type}.")
    db.session.expire(payment, ["refunded_cents", "updated_at"])
    if payment.is_disputed:
        _move(
            payment,
            f"{chargeback_key(payment)}:returned",
            "chargeback_returned",
            [
                ledger.Leg(holding_account(payment.subject_type), -amount_cents),
                ledger.Leg(ledger.CHARGEBACKS, amount_cents),
            ],
            f"{reason} (returned to the payer by the card issuer)",
            at=at,
        )
        return None
    count = db.session.scalar(
        select(func.count(ProviderOperation.id)).where(
            ProviderOperation.payment_id == payment.id, ProviderOperation.kind == "refund"
        )
    )
    key = f"payment:{payment.id}:refund:{count + 1}"
    return _move(
        payment,
        f"{key}:owed",
        "refund_owed",
        [
            ledger.Leg(holding_account(payment.subject_type), -amount_cents),
            ledger.Leg(ledger.REFUNDS_PENDING, amount_cents),
        ],
        reason,
        at=at,
        then=(key, "refund", amount_cents, payment.payer_id),
    )


def release_to(
    payment: Payment,
    payee_id: int,
    *,
    ledger_kind: str,
    description: str,
    at: datetime | None = None,
    with_fee: bool = True,
) -> ProviderOperation | None:
    """holding -> payable to the payee (minus the platform fee, unless `with_fee` is False: a
    deposit kept for damage is compensation, not a sale), and a payout operation, for what the
    payment still holds: `release_split` with one share."""
    operations = release_split(
        payment,
        [(payee_id, payment.held_cents)],
        ledger_kind=ledger_kind,
        description=description,
        at=at,
        with_fee=with_fee,
    )
    return operations[0] if operations else None


def release_split(
    payment: Payment,
    shares: list[tuple[int, int]],
    *,
    ledger_kind: str,
    description: str,
    at: datetime | None = None,
    with_fee: bool = True,
) -> list[ProviderOperation]:
    """holding -> payable to one payee or several at once (a pledge: the goods and shipping to
    the supplier, the fee to the organizer): `shares` are (payee, cents) summing to what the
    payment holds; the platform fee (unless `with_fee` is False) comes off the first share (the
    seller's). One payout operation per payee. Guarded by the refunds it saw: only once, and a
    refund landing in between makes it fail (InvalidTransition) rather than pay out money that
    went back to the payer."""
    held = payment.held_cents
    if held <= 0 or not is_funded(payment):
        return []
    if sum(cents for _payee, cents in shares) != held or any(c < 0 for _p, c in shares):
        raise ValueError(f"shares {shares} do not split the {held} held")
    fee = min(fee_for(payment, held), shares[0][1]) if with_fee else 0
    owed = [(payee, cents - fee if n == 0 else cents) for n, (payee, cents) in enumerate(shares)]
    released = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.refunded_cents == payment.refunded_cents,
            Payment.transferred_cents == 0,
            Payment.fee_cents == 0,
        )
        .values(fee_cents=fee, transferred_cents=held - fee, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if released.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(
            f"The money of this {payment.subject_type} changed in the meantime. "
            "Reload the page and try again."
        )
    db.session.expire(payment, ["fee_cents", "transferred_cents", "updated_at"])
    _move(
        payment,
        f"{payment.subject_type}:{payment.subject_id}:released:{payment.id}",
        ledger_kind,
        [ledger.Leg(holding_account(payment.subject_type), -held)]
        + [ledger.Leg(ledger.PAYABLE, cents, user_id=payee) for payee, cents in owed]
        + [ledger.Leg(ledger.PLATFORM_FEES, fee)],
        description,
        at=at,
        exact=True,
    )
    # A payment paid out to one payee keeps the payout key it always had.
    single = len(shares) == 1
    return [
        new_operation(
            f"payment:{payment.id}:payout" + ("" if single else f":{payee}"),
            "transfer",
            payment,
            cents,
            payee,
            at=at,
        )
        for payee, cents in owed
        if cents > 0
    ]


def released_key(payment: Payment) -> str:
    return f"{payment.subject_type}:{payment.subject_id}:released:{payment.id}"


def is_released(payment: Payment) -> bool:
    """Whether the payment's money left its holding account for its payees (release_split)."""
    return ledger.transaction_for(released_key(payment)) is not None


def _reversal_prefix(transfer: ProviderOperation) -> str:
    return f"{transfer.operation_key}:reversal:"


def _still_with(transfer: ProviderOperation) -> int:
    """What a payout operation sent (or will send) that was not taken back yet."""
    taken = db.session.scalar(
        select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
            ProviderOperation.kind == "reversal",
            ProviderOperation.operation_key.like(_reversal_prefix(transfer) + "%"),
        )
    )
    return transfer.amount_cents - int(taken or 0) if transfer.status != "canceled" else 0


def _not_sent_yet(transfer: ProviderOperation) -> bool:
    """Whether a payout operation certainly has not reached the provider: pending, and no
    earlier attempt left a transfer there under its key (asked, as before any retry)."""
    if transfer.status != "pending":
        return False
    if transfer.attempts == 0 or not get_provider().holds_funds:
        return True
    payment = transfer.payment
    try:
        found = retrying(
            lambda: get_provider().find_transfer(
                operation_key=transfer.operation_key,
                transfer_group=f"{payment.subject_type}_{payment.subject_id}",
            ),
            "find transfer",
        )
    except (ProviderUnavailable, ProviderRejected):
        return False  # cannot tell: the payout goes out and the refund is reversed from it
    return found is None


def _shrink_payout(transfer: ProviderOperation, cents: int) -> bool:
    """Take `cents` off a payout not sent yet, guarded by its attempt count: an attempt that
    starts meanwhile makes this fail (the money is then reversed after it lands) or, starting
    after our commit, reads the smaller amount. Nothing left: the payout is canceled."""
    left = transfer.amount_cents - cents
    changed = db.session.execute(
        update(ProviderOperation)
        .where(
            ProviderOperation.id == transfer.id,
            ProviderOperation.status == "pending",
            ProviderOperation.attempts == transfer.attempts,
            ProviderOperation.amount_cents == transfer.amount_cents,
        )
        .values(
            amount_cents=left,
            status="pending" if left else "canceled",
            last_error=None if left else "Taken back for a refund before it was paid out",
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(transfer)
    return changed.rowcount == 1


def give_back(
    held_by: list[Payment],
    amount_cents: int,
    *,
    reason: str,
    reason_released: str,
    at: datetime | None = None,
) -> None:
    """Give `amount_cents` back to the payer across `held_by`, in that order: from a payment
    still held by a refund (`decide_refund`), from one released to its payees by taking it back
    (`take_back`). What an agreed refund or a dispute decision returns, for every kind. Does
    not commit. Raises Conflict."""
    back = amount_cents
    for payment in held_by:
        part = min(back, payment.held_cents)
        if part <= 0:
            break
        if is_released(payment):
            take_back(payment, part, reason=reason_released, at=at)
        else:
            decide_refund(payment, part, reason=reason, at=at)
        back -= part


def take_back(
    payment: Payment, amount_cents: int, *, reason: str, at: datetime | None = None
) -> list[ProviderOperation]:
    """A refund of `amount_cents` after the payment's money was released to its payees (an
    order completed, then a refund agreed or decided): the platform gives back its fee in
    proportion and the payees the rest, each from what still waits to be paid out to them
    (their payable, the payout shrunk before it is sent) or else by a transfer reversal; the
    payer's refund runs once every reversal landed (operations: NotReady until then). Guarded
    like `decide_refund` (two at once cannot take back more than was released). A payment
    charged back (`is_disputed`): its card issuer gave the payer the money already, so what is
    taken back is booked to chargebacks returned and no refund operation is made. Staged
    operations run after the commit; every one has its own key, so a retry acts once. Does
    not commit. Raises Conflict."""
    held, fee = payment.held_cents, payment.fee_cents
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents < 1:
        raise ValidationFailed("Enter an amount to refund.", fields={"amount": ["At least 1."]})
    if amount_cents > held or not is_released(payment):
        raise Conflict(f"That is more than was paid for this {payment.subject_type}.")
    fee_back = fee * amount_cents // held
    payees_back = amount_cents - fee_back
    changed = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.refunded_cents == payment.refunded_cents,
            Payment.fee_cents == fee,
            Payment.transferred_cents == payment.transferred_cents,
            Payment.transferred_cents >= payees_back,
        )
        .values(
            refunded_cents=Payment.refunded_cents + amount_cents,
            fee_cents=fee - fee_back,
            transferred_cents=Payment.transferred_cents - payees_back,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise Conflict(
            f"The money of this {payment.subject_type} changed in the meantime. "
            "Reload the page and try again."
        )
    db.session.expire(payment, ["refunded_cents", "fee_cents", "transferred_cents", "updated_at"])
    charged_back = payment.is_disputed
    if charged_back:
        key = chargeback_key(payment)
    else:
        count = db.session.scalar(
            select(func.count(ProviderOperation.id)).where(
                ProviderOperation.payment_id == payment.id, ProviderOperation.kind == "refund"
            )
        )
        key = f"payment:{payment.id}:refund:{count + 1}"
    transfers = list(
        db.session.scalars(
            select(ProviderOperation)
            .where(ProviderOperation.payment_id == payment.id, ProviderOperation.kind == "transfer")
            .order_by(ProviderOperation.id)
            .execution_options(populate_existing=True)
        )
    )
    legs = [ledger.Leg(ledger.PLATFORM_FEES, -fee_back)]
    reversals: list[ProviderOperation] = []
    left = payees_back
    for transfer in transfers:
        part = min(left, _still_with(transfer))
        if part <= 0:
            continue
        left -= part
        if _not_sent_yet(transfer) and _shrink_payout(transfer, part):
            legs.append(ledger.Leg(ledger.PAYABLE, -part, user_id=transfer.user_id))
            continue
        reversals.append(
            new_operation(
                f"{_reversal_prefix(transfer)}{key}",
                "reversal",
                payment,
                part,
                transfer.user_id,
                at=at,
            )
        )
    if left:
        raise Conflict(f"The payouts of this {payment.subject_type} do not cover the refund.")
    kept_here = amount_cents - sum(op.amount_cents for op in reversals)
    if kept_here:
        # What the platform still had (its fee, payouts not sent) is owed to the payer now;
        # reversed money joins it when each reversal lands (operations.settle). Charged back:
        # the card issuer already gave it back to the payer (chargebacks returned).
        legs.append(
            ledger.Leg(ledger.CHARGEBACKS if charged_back else ledger.REFUNDS_PENDING, kept_here)
        )
        ledger.post(
            f"{key}:owed",
            "chargeback_after_release" if charged_back else "refund_after_release",
            payment.currency,
            legs,
            description=f"{reason}: {payment.subject_type} #{payment.subject_id}",
            subject=_subject_of(payment),
            payment_id=payment.id,
            at=at,
        )
    if charged_back:  # no refund: the reversals' money lands in chargebacks returned
        return reversals
    refund = new_operation(key, "refund", payment, amount_cents, payment.payer_id, at=at)
    return [*reversals, refund]


def cancel_unpaid(subject: Subject) -> None:
    """Abandon the subject's card payments not made yet (the provider is told after commit)."""
    for payment in subject_payments(subject, status=None):
        if payment.status in ("created", "requires_action", "processing", "authorized"):
            if payment.provider_ref and payment.provider != "manual":
                new_operation(f"payment:{payment.id}:cancel", "cancel", payment, 0)
            _count_outcome(payment, "canceled")
            payment.status = "canceled"


def open_card_payment(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
) -> tuple[Payment, ProviderPayment]:
    """Open (or reopen) the payer's card payment for a subject and answer it with the
    provider's view (its client secret). Our record is committed before the provider's."""
    provider = get_provider()
    kind, subject_id = subject
    payment = db.session.scalar(
        select(Payment)
        .where(
            Payment.subject_type == kind,
            Payment.subject_id == subject_id,
            Payment.status.in_(("created", "requires_action", "processing")),
        )
        .order_by(Payment.id.desc())
    )
    if payment is None or payment.amount_cents != amount_cents:
        sequence = db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.subject_type == kind, Payment.subject_id == subject_id
            )
        )
        payment = Payment(
            operation_key=f"{kind}:{subject_id}:charge:{sequence + 1}",
            subject_type=kind,
            subject_id=subject_id,
            kind="charge",
            payer_id=payer_id,
            payee_id=payee_id,
            provider=provider.name,
            amount_cents=amount_cents,
            currency=currency,
            status="created",
        )
        db.session.add(payment)
        db.session.commit()  # our record exists before the provider's
    if payment.provider_ref:
        remote = retrying(lambda: provider.retrieve_payment(payment.provider_ref), "retrieve")
    else:
        # Same key on every try: the provider answers the same PaymentIntent.
        remote = retrying(
            lambda: provider.create_payment(
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                idempotency_key=payment.operation_key,
                capture="automatic",
                transfer_group=f"{kind}_{subject_id}",
                metadata={"payment_id": str(payment.id), f"{kind}_id": str(subject_id)},
            ),
            "create payment",
        )
        payment.provider_ref = remote.ref
        db.session.commit()
    return payment, remote


def sync_payment(payment_id: int) -> Payment:
    """Ask the provider for the payment's current state and apply it (used after the payer's
    browser confirms, by webhooks and by reconcile). Idempotent."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("We could not find that payment.")
    if payment.provider == "manual" or not payment.provider_ref:
        return payment
    provider = get_provider()
    remote = retrying(lambda: provider.retrieve_payment(payment.provider_ref), "retrieve")
    try:
        apply_remote_payment(payment, remote)
    except InvalidTransition:
        # The webhook and the payer's return page applied the same success at once; the other
        # one committed it. Read what it wrote.
        db.session.rollback()
        payment = db.session.get(Payment, payment_id)
        db.session.refresh(payment)
        return payment
    db.session.commit()
    return payment


def apply_remote_payment(payment: Payment, remote: ProviderPayment) -> None:
    """Bring our payment record in line with the provider's state (never backwards). This is a
    decision about the subject's money: it is taken holding the subject (its kind's `lock`
    hook), so a cancel at the same moment either comes first and the money goes back, or
    after."""
    hooks = hooks_for(payment.subject_type)
    if hooks is not None and hooks.lock is not None and hooks.lock(payment.subject_id):
        db.session.refresh(payment)
    status = {
        "succeeded": "succeeded",
        "requires_capture": "authorized",
        "canceled": "canceled",
        "processing": "processing",
        "requires_action": "requires_action",
    }.get(remote.status, "created")
    if remote.status == "requires_payment_method" and remote.failure_message:
        status = "failed"
    if payment.status == "succeeded":
        return  # a success is final here; refunds are tracked by our operations
    if payment.status in ("capturing", "canceled") and status != "succeeded":
        return  # our own capture or release is on its way to the provider
    if status == "succeeded":
        payment.captured_cents = remote.captured_cents or remote.amount_cents
        payment.status = "succeeded"
        payment.failure_message = None
        _count_outcome(payment, "succeeded")
        db.session.flush()
        if hooks is not None and hooks.on_payment_succeeded is not None:
            hooks.on_payment_succeeded(payment)
        return
    if status == "authorized" and payment.kind == "hold" and payment.status != "authorized":
        payment.status = "authorized"
        payment.failure_message = None
        _post_hold(payment)
        return
    if status == "created" and payment.status == "failed":
        return
    if status in ("failed", "canceled") and payment.status != status:
        _count_outcome(payment, status)
    payment.status = status
    payment.failure_message = (remote.failure_message or "")[:300] or payment.failure_message


# -- holds, captures and saved cards (loan deposits and pledges build on these) ----------------


def _in_person(payment: Payment) -> bool:
    return payment.provider == "manual"


def _by_key(key: str) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.operation_key == key)
        .execution_options(populate_existing=True)
    )


def _new_payment(subject: Subject, key: str, kind: str, **values) -> Payment:
    payment = Payment(
        operation_key=key,
        subject_type=subject[0],
        subject_id=subject[1],
        kind=kind,
        provider=get_provider().name,
        status="created",
        **values,
    )
    db.session.add(payment)
    db.session.commit()  # our record exists before the provider's
    return payment


def hold(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
    key: str | None = None,
) -> tuple[Payment, str | None]:
    """Authorize `amount_cents` of the payer's money for the subject without taking it (a loan
    deposit). By card: a manual-capture payment the payer confirms with the client secret
    answered; once the provider says it is authorized, customer funding -> holds authorized.
    In person: the payee holds the money ("held in person"), posted at once. Commits."""
    key = key or f"{subject[0]}:{subject[1]}:hold"
    payment = _by_key(key) or _new_payment(
        subject,
        key,
        "hold",
        payer_id=payer_id,
        payee_id=payee_id,
        amount_cents=amount_cents,
        currency=currency,
    )
    provider = get_provider()
    if payment.provider_ref and not _in_person(payment):
        remote = retrying(lambda: provider.retrieve_payment(payment.provider_ref), "retrieve")
    else:
        remote = retrying(
            lambda: provider.create_payment(
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                idempotency_key=key,
                capture="manual",
                transfer_group=f"{subject[0]}_{subject[1]}",
                metadata={"payment_id": str(payment.id)},
            ),
            "create hold",
        )
        payment.provider_ref = remote.ref
    apply_remote_payment(payment, remote)
    db.session.commit()
    return payment, remote.client_secret


def _post_hold(payment: Payment, *, at: datetime | None = None) -> None:
    """customer funding -> holds authorized, when a hold is authorized (or held in person)."""
    _move(
        payment,
        f"payment:{payment.id}:held",
        "hold_placed",
        [
            ledger.Leg(ledger.CUSTOMER_FUNDING, -payment.amount_cents),
            ledger.Leg(ledger.AUTHORIZED, payment.amount_cents),
        ],
        "Held in person" if _in_person(payment) else "Authorized on the card",
        at=at,
    )


def hold_in_person(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
    key: str | None = None,
    at: datetime | None = None,
) -> Payment:
    """Record money the payer handed over for the payee to hold in person (a loan deposit the
    lender keeps until the thing comes back), posted at once: customer funding -> holds
    authorized. `capture` (part of it kept) and `release_hold` (given back) work on it as on a
    card hold. One per key: recording again answers the first. Does not commit (the step that
    records the handover does)."""
    key = key or f"{subject[0]}:{subject[1]}:held-in-person"
    payment = _by_key(key)
    if payment is None:
        payment = Payment(
            operation_key=key,
            subject_type=subject[0],
            subject_id=subject[1],
            kind="hold",
            payer_id=payer_id,
            payee_id=payee_id,
            provider="manual",
            provider_ref=f"manual:{key}",
            amount_cents=amount_cents,
            currency=currency,
            status="authorized",
        )
        db.session.add(payment)
        db.session.flush()
        _post_hold(payment, at=at)
    return payment


def _authorized_hold(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.kind != "hold":
        raise NotFound("We could not find that hold.")
    db.session.refresh(payment)
    return payment


def _leave_authorized(payment: Payment, status: str) -> None:
    """Guarded: only one capture or release of a hold, ever (two at once: the second loses)."""
    changed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == "authorized")
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise Conflict(f"This hold is not open any more ({payment.status}).")
    db.session.expire(payment, ["status", "updated_at"])


def capture(
    payment_id: int, amount_cents: int | None = None, *, at: datetime | None = None
) -> ProviderOperation:
    """Take all or part of an authorized hold (a deposit kept for damage): a capture operation
    for the provider; when it is done (operations.settle) the ledger moves the captured part
    into the subject's holding account and the rest back ("collected in person" with the
    manual provider). Does not commit."""
    payment = _authorized_hold(payment_id)
    amount = payment.amount_cents if amount_cents is None else amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValidationFailed("Enter an amount to capture.", fields={"amount": ["At least 1."]})
    if amount > payment.amount_cents:
        raise ValidationFailed(
            "That is more than the hold.", fields={"amount": ["At most the amount held."]}
        )
    _leave_authorized(payment, "capturing")
    return new_operation(f"payment:{payment.id}:capture", "capture", payment, amount, at=at)


def post_capture(payment: Payment, captured_cents: int, *, at: datetime | None = None) -> None:
    """holds authorized -> the captured part into the holding account, the rest back to the
    payer; the payment now holds what was captured (refunds and release work on it)."""
    payment.status = "succeeded"
    payment.captured_cents = captured_cents
    _count_outcome(payment, "succeeded")
    _move(
        payment,
        _funding_key(payment),
        "hold_captured",
        [
            ledger.Leg(ledger.AUTHORIZED, -payment.amount_cents),
            ledger.Leg(holding_account(payment.subject_type), captured_cents),
            ledger.Leg(ledger.CUSTOMER_FUNDING, payment.amount_cents - captured_cents),
        ],
        "Collected in person" if _in_person(payment) else "Captured from the card",
        at=at,
    )


def release_hold(payment_id: int, *, at: datetime | None = None) -> ProviderOperation:
    """Let an authorized hold go without taking anything (a deposit returned): holds authorized
    -> back to the payer, and the provider releases the card hold ("given back in person" with
    the manual provider). Does not commit."""
    payment = _authorized_hold(payment_id)
    _leave_authorized(payment, "canceled")
    _move(
        payment,
        f"payment:{payment.id}:hold-released",
        "hold_released",
        [
            ledger.Leg(ledger.AUTHORIZED, -payment.amount_cents),
            ledger.Leg(ledger.CUSTOMER_FUNDING, payment.amount_cents),
        ],
        "Given back in person" if _in_person(payment) else "Card hold released",
        at=at,
    )
    return new_operation(f"payment:{payment.id}:cancel", "cancel", payment, 0, at=at)


def saved_card_of(user_id: int) -> PaymentProfile | None:
    """The user's profile at the configured provider, if a card is saved on it."""
    profile = db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == get_provider().name
        )
    )
    if profile is None or not profile.customer_ref or not profile.payment_method_ref:
        return None
    return profile


def _ask_saved_card(
    payment: Payment, key: str, *, capture: str, no_card: str, look_first: bool = False
) -> ProviderPayment:
    """Ask the provider to charge (or, with capture="manual", authorize) the payer's saved card
    for the payment, the payer absent; keeps the provider's reference. `look_first`: an earlier
    attempt under this key may have reached the provider (its record was found unanswered), so
    its charge is looked up before asking again. Raises Conflict without a saved card,
    PaymentDeclined when the card says no (the payment is kept as failed)."""
    provider = get_provider()
    customer_ref = method_ref = None
    if provider.holds_funds:
        profile = saved_card_of(payment.payer_id)
        if profile is None:
            raise Conflict(f"There is no saved card {no_card}.")
        customer_ref, method_ref = profile.customer_ref, profile.payment_method_ref
        if look_first:
            found = retrying(
                lambda: provider.find_saved_card_charge(
                    customer_ref=customer_ref, operation_key=key
                ),
                "find saved card charge",
            )
            if found is not None:
                payment.provider_ref = found.ref
                return found
    try:
        remote = retrying(
            lambda: provider.charge_saved_card(
                customer_ref=customer_ref,
                payment_method_ref=method_ref,
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                idempotency_key=key,
                metadata={"payment_id": str(payment.id)},
                capture=capture,
            ),
            "hold saved card" if capture == "manual" else "charge saved card",
        )
    except PaymentDeclined as error:
        payment.status, payment.failure_message = "failed", error.message[:300]
        db.session.commit()
        raise
    payment.provider_ref = remote.ref
    return remote


def charge_saved_card(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
    key: str | None = None,
) -> Payment:
    """Charge the payer's saved card with the payer absent (a pledge at settlement) and post it
    into the subject's holding account; with the manual provider the money is "collected in
    person". Raises Conflict without a saved card, PaymentDeclined when the card says no (the
    payment is kept as failed). Commits; charging again under the same key charges once."""
    key = key or f"{subject[0]}:{subject[1]}:off-session"
    earlier = _by_key(key)
    payment = earlier or _new_payment(
        subject,
        key,
        "charge",
        payer_id=payer_id,
        payee_id=payee_id,
        amount_cents=amount_cents,
        currency=currency,
    )
    if payment.status == "succeeded":
        return payment
    remote = _ask_saved_card(
        payment, key, capture="automatic", no_card="to charge", look_first=earlier is not None
    )
    if remote.status == "succeeded":
        payment.status = "succeeded"
        payment.captured_cents = remote.captured_cents or payment.amount_cents
        _count_outcome(payment, "succeeded")
        db.session.flush()
        post_funding(payment)
        # The kind hears of it as of any card payment that succeeded, in the same unit of work
        # (a loan cancelled while its fee was being charged gives the fee straight back).
        hooks = hooks_for(payment.subject_type)
        if hooks is not None and hooks.on_payment_succeeded is not None:
            hooks.on_payment_succeeded(payment)
    else:
        apply_remote_payment(payment, remote)
    db.session.commit()
    return payment


def hold_saved_card(
    subject: Subject,
    *,
    payer_id: int,
    payee_id: int | None,
    amount_cents: int,
    currency: str,
    key: str | None = None,
) -> Payment:
    """Authorize `amount_cents` on the payer's saved card with the payer absent, without taking
    it (a loan deposit, within the days a card hold lasts): a manual-capture payment confirmed
    off-session; once authorized, customer funding -> holds authorized. With the manual
    provider the money is "held in person". `capture` and `release_hold` then work on it.
    Raises Conflict without a saved card, PaymentDeclined when the card says no (the payment is
    kept as failed). Commits; holding again under the same key holds once."""
    key = key or f"{subject[0]}:{subject[1]}:hold"
    payment = _by_key(key) or _new_payment(
        subject,
        key,
        "hold",
        payer_id=payer_id,
        payee_id=payee_id,
        amount_cents=amount_cents,
        currency=currency,
    )
    if payment.status in ("authorized", "capturing", "succeeded", "canceled"):
        return payment
    remote = _ask_saved_card(payment, key, capture="manual", no_card="to hold the money on")
    apply_remote_payment(payment, remote)  # taken holding the subject: authorized -> posted
    if payment.status == "canceled" and remote.status == "requires_capture":
        # The subject gave the payment up while the card was being asked (a loan cancelled as
        # it was approved): nothing was posted; the card's authorization is released too.
        new_operation(f"payment:{payment.id}:cancel", "cancel", payment, 0)
    db.session.commit()
    return payment


def start_card_setup(user_id: int, *, email: str) -> ProviderSetup:
    """Open a saved-card setup (a SetupIntent) for the user and answer it (its client secret
    confirms it in the browser); the saved card is stored when the provider reports the setup
    succeeded (webhook). Commits."""
    provider = get_provider()
    profile = db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == provider.name
        )
    )
    if profile is None:
        profile = PaymentProfile(user_id=user_id, provider=provider.name)
        db.session.add(profile)
        db.session.commit()
    if not profile.customer_ref:
        profile.customer_ref = retrying(
            lambda: provider.create_customer(
                email=email,
                idempotency_key=f"user:{user_id}:customer",
                metadata={"user_id": str(user_id)},
            ),
            "create customer",
        )
        db.session.commit()
    return retrying(
        lambda: provider.create_setup(
            customer_ref=profile.customer_ref,
            idempotency_key=f"user:{user_id}:setup:{utcnow().timestamp():.0f}",
            metadata={"user_id": str(user_id)},
        ),
        "create setup",
    )


def _profile_of(user_id: int) -> PaymentProfile | None:
    return db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == get_provider().name
        )
    )


def store_setup(profile: PaymentProfile, setup: ProviderSetup) -> bool:
    """Keep the card of a setup that succeeded on the profile (a failed one saves nothing).
    Answers whether a card was saved. Used by the card page's return and the webhook."""
    if setup.status == "succeeded" and setup.payment_method_ref:
        profile.payment_method_ref = setup.payment_method_ref
        logger.info("card saved for user %s", profile.user_id)
        return True
    logger.info("card setup %s for user %s: %s", setup.ref, profile.user_id, setup.status)
    return False


def finish_card_setup(user_id: int, setup_ref: str) -> ProviderSetup:
    """The browser came back from confirming a setup: ask the provider (never trust the
    address) and keep the card when the setup is this user's and succeeded. Commits."""
    profile = _profile_of(user_id)
    if profile is None or not profile.customer_ref or not setup_ref:
        raise NotFound("We could not find that card setup.")
    provider = get_provider()
    setup = retrying(lambda: provider.retrieve_setup(setup_ref), "retrieve setup")
    if setup.customer_ref != profile.customer_ref:
        raise NotFound("We could not find that card setup.")
    store_setup(profile, setup)
    db.session.commit()
    return setup


def forget_saved_card(user_id: int) -> bool:
    """Stop using the saved card for off-session charges (loans and pledges already agreed
    then ask for a card again). Answers whether there was one. Commits."""
    profile = _profile_of(user_id)
    if profile is None or not profile.payment_method_ref:
        return False
    profile.payment_method_ref = None
    db.session.commit()
    return True

"""The payment-provider interface: what the services ask of a provider, in plain values.

Every call that changes something takes an `idempotency_key` derived from our own operation
id, so a retried call cannot charge, refund or transfer twice. Providers translate their own
errors into the three below: `ProviderUnavailable` (transient: retry with the same key),
`PaymentDeclined` (the payer's card said no) and `ProviderRejected` (a permanent refusal).
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from app.errors import Conflict, DomainError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ProviderUnavailable(DomainError):
    """A timeout, a network error, a 5xx or a rate limit: the call may or may not have happened."""

    code, status = "payment_provider_unavailable", 503
    default_message = (
        "The payment service is not answering right now. Nothing was charged twice; "
        "please try again in a minute."
    )


class PaymentDeclined(DomainError):
    code, status = "payment_declined", 402
    default_message = "The card was declined. Try another card."


class ProviderRejected(Conflict):
    code = "payment_rejected"
    default_message = "The payment service refused that request."


class NotSupported(Conflict):
    code = "payment_not_supported"
    default_message = "This payment method cannot do that."


@dataclass(frozen=True)
class ProviderPayment:
    """A payment (PaymentIntent) as the provider sees it."""

    ref: str
    status: str  # requires_payment_method, requires_confirmation, requires_action,
    # processing, requires_capture, succeeded, canceled
    amount_cents: int
    currency: str
    captured_cents: int = 0
    capturable_cents: int = 0
    refunded_cents: int = 0
    client_secret: str | None = None
    customer_ref: str | None = None
    payment_method_ref: str | None = None
    failure_message: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    ref: str
    payment_ref: str
    amount_cents: int
    status: str  # pending, succeeded, failed, canceled
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSetup:
    """A saved-card setup (SetupIntent)."""

    ref: str
    status: str
    client_secret: str | None
    customer_ref: str | None
    payment_method_ref: str | None


@dataclass(frozen=True)
class ProviderAccount:
    """A payout account (Stripe Connect)."""

    ref: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class ProviderTransfer:
    ref: str
    account_ref: str
    amount_cents: int
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderReversal:
    """Money taken back from a transfer already paid out (a refund after completion)."""

    ref: str
    transfer_ref: str
    amount_cents: int
    metadata: dict = field(default_factory=dict)


class PaymentProvider(ABC):
    """What a provider does. `holds_funds` is True when money passes through the platform (so
    refunds and payouts are provider calls) and False when payment is settled in person."""

    name: str = ""
    holds_funds: bool = False
    needs_client_confirmation: bool = False  # the payer's browser confirms the payment

    # -- payments (orders now; loan deposits and pledges use the same calls) --
    @abstractmethod
    def create_payment(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        capture: str = "automatic",
        customer_ref: str | None = None,
        payment_method_ref: str | None = None,
        transfer_group: str | None = None,
        metadata: dict | None = None,
    ) -> ProviderPayment:
        """Open a payment to be confirmed by the payer (capture 'automatic' or 'manual')."""

    @abstractmethod
    def retrieve_payment(self, ref: str) -> ProviderPayment: ...

    @abstractmethod
    def capture_payment(
        self, ref: str, *, idempotency_key: str, amount_cents: int | None = None
    ) -> ProviderPayment:
        """Capture a hold (all of it, or part)."""

    @abstractmethod
    def cancel_payment(self, ref: str, *, idempotency_key: str) -> ProviderPayment:
        """Release a hold or abandon an unpaid payment."""

    @abstractmethod
    def refund(
        self, payment_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderRefund: ...

    @abstractmethod
    def list_refunds(self, payment_ref: str) -> list[ProviderRefund]: ...

    # -- saved cards (pledges, long loans) --
    @abstractmethod
    def create_customer(self, *, email: str, idempotency_key: str, metadata: dict) -> str: ...

    @abstractmethod
    def create_setup(
        self, *, customer_ref: str, idempotency_key: str, metadata: dict
    ) -> ProviderSetup: ...

    @abstractmethod
    def retrieve_setup(self, ref: str) -> ProviderSetup: ...

    @abstractmethod
    def charge_saved_card(
        self,
        *,
        customer_ref: str,
        payment_method_ref: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict,
        capture: str = "automatic",
    ) -> ProviderPayment:
        """Charge a saved card with the payer absent (off-session). capture "manual" only
        authorizes it (a hold, captured or released later: a loan deposit)."""

    def find_saved_card_charge(
        self, *, customer_ref: str | None, operation_key: str
    ) -> ProviderPayment | None:
        """The off-session charge an earlier attempt made under our operation key, if the
        provider has one (its answer may have been lost, or we crashed before recording it;
        asked before charging again, so a charge never happens twice even where a provider
        forgets idempotency keys). None: no such charge, or nothing to look up."""
        return None

    # -- payouts (Connect) --
    @abstractmethod
    def create_account(self, *, email: str, idempotency_key: str, metadata: dict) -> str: ...

    @abstractmethod
    def account_link(self, account_ref: str, *, refresh_url: str, return_url: str) -> str: ...

    @abstractmethod
    def retrieve_account(self, account_ref: str) -> ProviderAccount: ...

    @abstractmethod
    def transfer(
        self,
        *,
        account_ref: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        transfer_group: str | None,
        metadata: dict,
    ) -> ProviderTransfer: ...

    @abstractmethod
    def find_transfer(
        self, *, operation_key: str, transfer_group: str | None
    ) -> ProviderTransfer | None:
        """The transfer made under our operation key, if the provider has one."""

    @abstractmethod
    def reverse_transfer(
        self, transfer_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderReversal:
        """Take `amount_cents` of a transfer back from the account it paid (a refund agreed or
        decided after the money was released)."""

    @abstractmethod
    def find_reversal(self, transfer_ref: str, *, operation_key: str) -> ProviderReversal | None:
        """The reversal of the transfer made under our operation key, if the provider has one
        (asked before reversing again, like `find_transfer`)."""

    # -- webhooks --
    def parse_webhook(self, payload: bytes, signature: str | None) -> dict:
        """Verify a webhook's signature and return the event as a dict."""
        raise NotSupported("This payment method receives no webhooks.")


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 3,
    base_delay: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "provider call",
) -> T:
    """Run `call`, retrying ProviderUnavailable with exponential backoff and jitter. The call
    must reuse one idempotency key on every attempt, so a retry can never act twice."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ProviderUnavailable:
            if attempt == attempts:
                raise
            delay = base_delay * (2 ** (attempt - 1)) * (1 + random.random() / 4)
            logger.warning("%s unavailable (attempt %s/%s); retrying", what, attempt, attempts)
            sleep(delay)
    raise AssertionError("unreachable")

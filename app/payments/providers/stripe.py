"""The Stripe provider, through the official SDK (StripeClient).

Orders use separate charges and transfers: the buyer's PaymentIntent charges the platform
(automatic capture; a card hold is not escrow, it expires after about 7 days), the money waits
on the platform balance, and a Transfer pays the seller's Connect account when the order
completes. Loan deposits use manual-capture holds; pledges use SetupIntents charged
off-session. Our own retry wrapper retries (the SDK's are off), always with the same key.

`STRIPE_API_BASE` points the SDK at another server, e.g. localstripe on a laptop or in the
tests. localstripe accepts only a subset of parameters, so with an API base set we leave out
the optional ones it refuses (`transfer_group` on PaymentIntents).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import stripe

from app.payments.providers.base import (
    PaymentDeclined,
    PaymentProvider,
    ProviderAccount,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderReversal,
    ProviderSetup,
    ProviderTransfer,
    ProviderUnavailable,
)

logger = logging.getLogger(__name__)


def _translate(call: Callable[[], Any]) -> Any:
    """Run one SDK call and turn Stripe's errors into ours."""
    try:
        return call()
    except stripe.CardError as error:
        raise PaymentDeclined(_card_message(error)) from error
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise ProviderUnavailable() from error
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None) or 0
        if status >= 500 or (isinstance(error, stripe.APIError) and not status):
            raise ProviderUnavailable() from error
        logger.warning("stripe refused a request: %s (%s)", type(error).__name__, status)
        raise ProviderRejected(
            "The payment service refused that request: "
            + (getattr(error, "user_message", None) or str(error) or "unknown reason")[:200]
        ) from error


def _card_message(error: Exception) -> str:
    message = getattr(error, "user_message", None) or ""
    if message:
        return f"The card was declined: {message}"
    return "The card was declined. Try another card."


def _as_dict(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj or {})


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("id")
    return getattr(value, "id", None)


class StripeProvider(PaymentProvider):
    name = "stripe"
    holds_funds = True
    needs_client_confirmation = True

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str = "",
        webhook_secret: str = "",
        timeout_seconds: float = 20,
    ) -> None:
        options: dict[str, Any] = {
            "max_network_retries": 0,  # we retry ourselves, with our own operation keys
            "http_client": stripe.RequestsClient(timeout=timeout_seconds),
        }
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self.client = stripe.StripeClient(secret_key or "sk_test_missing", **options)
        self.webhook_secret = webhook_secret
        self._is_test_mode = (secret_key or "").startswith("sk_test_")
        self.is_compatible_server = bool(api_base)

    # -- payments --
    def _payment(self, pi: Any) -> ProviderPayment:
        data = _as_dict(pi)
        charge = data.get("latest_charge")
        charge = charge if isinstance(charge, dict) else {}
        status = data.get("status") or "requires_payment_method"
        amount = int(data.get("amount") or 0)
        received = data.get("amount_received")
        if received is None:  # localstripe leaves it out: read it from the charge
            captured = bool(charge.get("captured")) and charge.get("status") == "succeeded"
            received = int(charge.get("amount") or amount) if captured else 0
        capturable = data.get("amount_capturable")
        if capturable is None:
            capturable = amount if status == "requires_capture" else 0
        refunded = charge.get("amount_refunded") if charge else None
        error = data.get("last_payment_error") or {}
        return ProviderPayment(
            ref=data["id"],
            status=status,
            amount_cents=amount,
            currency=(data.get("currency") or "").upper(),
            captured_cents=int(received or 0),
            capturable_cents=int(capturable or 0),
            refunded_cents=int(refunded or 0),
            client_secret=data.get("client_secret"),
            customer_ref=_ref(data.get("customer")),
            payment_method_ref=_ref(data.get("payment_method")),
            failure_message=(error.get("message") if isinstance(error, dict) else None),
            metadata=dict(data.get("metadata") or {}),
        )

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
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "capture_method": capture,
            "payment_method_types": ["card"],
            "metadata": {**(metadata or {}), "operation_key": idempotency_key},
        }
        if customer_ref:
            params["customer"] = customer_ref
        if payment_method_ref:
            params["payment_method"] = payment_method_ref
        if transfer_group and not self.is_compatible_server:
            params["transfer_group"] = transfer_group
        pi = _translate(
            lambda: self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )
        return self._payment(pi)

    def retrieve_payment(self, ref: str) -> ProviderPayment:
        return self._payment(_translate(lambda: self.client.v1.payment_intents.retrieve(ref)))

    def confirm_payment(self, ref: str, *, idempotency_key: str) -> ProviderPayment:
        """Confirm server-side (tests and saved cards; the browser confirms card entry)."""
        return self._payment(
            _translate(
                lambda: self.client.v1.payment_intents.confirm(
                    ref, options={"idempotency_key": idempotency_key}
                )
            )
        )

    def pay_with_test_card(
        self, ref: str, *, card_number: str = "4242424242424242"
    ) -> ProviderPayment:
        """Confirm a payment with one of Stripe's public test cards, server-side. Test mode only
        (sk_test_ keys): for the test suite and for trying the app against localstripe, where
        the browser's card form cannot create payment methods."""
        if not self._is_test_mode:
            raise ProviderRejected("Test cards work only with test keys.")
        method = _translate(
            lambda: self.client.v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": card_number,
                        "exp_month": 12,
                        "exp_year": 2034,
                        "cvc": "123",
                    },
                }
            )
        )
        _translate(
            lambda: self.client.v1.payment_intents.update(ref, params={"payment_method": method.id})
        )
        return self._payment(_translate(lambda: self.client.v1.payment_intents.confirm(ref)))

    def capture_payment(
        self, ref: str, *, idempotency_key: str, amount_cents: int | None = None
    ) -> ProviderPayment:
        params = {"amount_to_capture": amount_cents} if amount_cents is not None else {}
        pi = _translate(
            lambda: self.client.v1.payment_intents.capture(
                ref, params=params, options={"idempotency_key": idempotency_key}
            )
        )
        return self._payment(pi)

    def cancel_payment(self, ref: str, *, idempotency_key: str) -> ProviderPayment:
        pi = _translate(
            lambda: self.client.v1.payment_intents.cancel(
                ref, options={"idempotency_key": idempotency_key}
            )
        )
        return self._payment(pi)

    def refund(
        self, payment_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderRefund:
        refund = _translate(
            lambda: self.client.v1.refunds.create(
                params={
                    "payment_intent": payment_ref,
                    "amount": amount_cents,
                    "metadata": {**metadata, "operation_key": idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return self._refund(refund, payment_ref)

    def _refund(self, refund: Any, payment_ref: str) -> ProviderRefund:
        data = _as_dict(refund)
        return ProviderRefund(
            ref=data["id"],
            payment_ref=_ref(data.get("payment_intent")) or payment_ref,
            amount_cents=int(data.get("amount") or 0),
            status=data.get("status") or "pending",
            metadata=dict(data.get("metadata") or {}),
        )

    def list_refunds(self, payment_ref: str) -> list[ProviderRefund]:
        page = _translate(
            lambda: self.client.v1.refunds.list(
                params={"payment_intent": payment_ref, "limit": 100}
            )
        )
        return [self._refund(r, payment_ref) for r in page.data]

    # -- saved cards --
    def create_customer(self, *, email: str, idempotency_key: str, metadata: dict) -> str:
        customer = _translate(
            lambda: self.client.v1.customers.create(
                params={"email": email, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        )
        return customer.id

    def _setup(self, seti: Any) -> ProviderSetup:
        data = _as_dict(seti)
        return ProviderSetup(
            ref=data["id"],
            status=data.get("status") or "requires_payment_method",
            client_secret=data.get("client_secret"),
            customer_ref=_ref(data.get("customer")),
            payment_method_ref=_ref(data.get("payment_method")),
        )

    def create_setup(
        self, *, customer_ref: str, idempotency_key: str, metadata: dict
    ) -> ProviderSetup:
        seti = _translate(
            lambda: self.client.v1.setup_intents.create(
                params={
                    "customer": customer_ref,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {**metadata, "operation_key": idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return self._setup(seti)

    def retrieve_setup(self, ref: str) -> ProviderSetup:
        return self._setup(_translate(lambda: self.client.v1.setup_intents.retrieve(ref)))

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
        pi = _translate(
            lambda: self.client.v1.payment_intents.create(
                params={
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "customer": customer_ref,
                    "payment_method": payment_method_ref,
                    "off_session": True,
                    "confirm": True,
                    "capture_method": capture,
                    "metadata": {**metadata, "operation_key": idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return self._payment(pi)

    def find_saved_card_charge(
        self, *, customer_ref: str | None, operation_key: str
    ) -> ProviderPayment | None:
        if not customer_ref:
            return None
        try:
            page = _translate(
                lambda: self.client.v1.payment_intents.list(
                    params={"customer": customer_ref, "limit": 100}
                )
            )
        except ProviderRejected:
            # A Stripe-compatible test server (localstripe) that cannot filter by customer:
            # the latest payments of the account, matched below.
            page = _translate(lambda: self.client.v1.payment_intents.list(params={"limit": 100}))
        for intent in page.data:
            data = _as_dict(intent)
            metadata = data.get("metadata") or {}
            if metadata.get("operation_key") == operation_key and (
                _ref(data.get("customer")) in (None, customer_ref)
            ):
                return self._payment(intent)
        return None

    # -- Connect --
    def create_account(self, *, email: str, idempotency_key: str, metadata: dict) -> str:
        account = _translate(
            lambda: self.client.v1.accounts.create(
                params={
                    "type": "express",
                    "email": email,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return account.id

    def account_link(self, account_ref: str, *, refresh_url: str, return_url: str) -> str:
        link = _translate(
            lambda: self.client.v1.account_links.create(
                params={
                    "account": account_ref,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                }
            )
        )
        return link.url

    def retrieve_account(self, account_ref: str) -> ProviderAccount:
        data = _as_dict(_translate(lambda: self.client.v1.accounts.retrieve(account_ref)))
        return self.account_from_dict(data)

    @staticmethod
    def account_from_dict(data: dict) -> ProviderAccount:
        return ProviderAccount(
            ref=data["id"],
            charges_enabled=bool(data.get("charges_enabled")),
            payouts_enabled=bool(data.get("payouts_enabled")),
            details_submitted=bool(data.get("details_submitted")),
        )

    def transfer(
        self,
        *,
        account_ref: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        transfer_group: str | None,
        metadata: dict,
    ) -> ProviderTransfer:
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "destination": account_ref,
            "metadata": {**metadata, "operation_key": idempotency_key},
        }
        if transfer_group:
            params["transfer_group"] = transfer_group
        transfer = _translate(
            lambda: self.client.v1.transfers.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )
        return self._transfer(transfer)

    def _transfer(self, transfer: Any) -> ProviderTransfer:
        data = _as_dict(transfer)
        return ProviderTransfer(
            ref=data["id"],
            account_ref=_ref(data.get("destination")) or "",
            amount_cents=int(data.get("amount") or 0),
            metadata=dict(data.get("metadata") or {}),
        )

    def find_transfer(
        self, *, operation_key: str, transfer_group: str | None
    ) -> ProviderTransfer | None:
        params: dict[str, Any] = {"limit": 100}
        if transfer_group:
            params["transfer_group"] = transfer_group
        page = _translate(lambda: self.client.v1.transfers.list(params=params))
        for transfer in page.data:
            found = self._transfer(transfer)
            if found.metadata.get("operation_key") == operation_key:
                return found
        return None

    def reverse_transfer(
        self, transfer_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderReversal:
        """Stripe's transfer reversal (Transfer.create_reversal), with our operation key."""
        reversal = _translate(
            lambda: self.client.v1.transfers.reversals.create(
                transfer_ref,
                params={
                    "amount": amount_cents,
                    "metadata": {**metadata, "operation_key": idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return self._reversal(reversal, transfer_ref)

    def _reversal(self, reversal: Any, transfer_ref: str) -> ProviderReversal:
        data = _as_dict(reversal)
        return ProviderReversal(
            ref=data["id"],
            transfer_ref=_ref(data.get("transfer")) or transfer_ref,
            amount_cents=int(data.get("amount") or 0),
            metadata=dict(data.get("metadata") or {}),
        )

    def find_reversal(self, transfer_ref: str, *, operation_key: str) -> ProviderReversal | None:
        page = _translate(
            lambda: self.client.v1.transfers.reversals.list(transfer_ref, params={"limit": 100})
        )
        for reversal in page.data:
            found = self._reversal(reversal, transfer_ref)
            if found.metadata.get("operation_key") == operation_key:
                return found
        return None

    # -- webhooks --
    def parse_webhook(self, payload: bytes, signature: str | None) -> dict:
        """Verify the Stripe-Signature header (HMAC with the endpoint secret, 5 minutes of
        tolerance) and return the event. Raises stripe.SignatureVerificationError or
        ValueError for anything that is not a genuine event."""
        if not self.webhook_secret:
            raise ValueError("STRIPE_WEBHOOK_SECRET is not set")
        stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        return json.loads(payload)

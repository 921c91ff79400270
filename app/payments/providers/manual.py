"""The manual provider, the embedded default: payment happens in person (cash, bank transfer
between the two people) and is confirmed in the app. No money passes through the platform, so
every call succeeds at once and only records what happened; the ledger still records every
movement. Each operation has its meaning in person: a hold is money "held in person" by the
payee (a deposit), a capture or an off-session charge is "collected in person", releasing a
hold or refunding is "given back in person", a payout is settled in person."""

from __future__ import annotations

from app.payments.providers.base import (
    NotSupported,
    PaymentProvider,
    ProviderAccount,
    ProviderPayment,
    ProviderRefund,
    ProviderReversal,
    ProviderSetup,
    ProviderTransfer,
)


class ManualProvider(PaymentProvider):
    name = "manual"
    holds_funds = False
    needs_client_confirmation = False

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
        # Paid in person: it exists only once somebody confirms it was received. A hold
        # (capture "manual") is the money handed over and held in person.
        held = capture == "manual"
        return ProviderPayment(
            ref=f"manual:{idempotency_key}",
            status="requires_capture" if held else "succeeded",
            amount_cents=amount_cents,
            currency=currency.upper(),
            captured_cents=0 if held else amount_cents,
            capturable_cents=amount_cents if held else 0,
            metadata=dict(metadata or {}),
        )

    def retrieve_payment(self, ref: str) -> ProviderPayment:
        raise NotSupported("Payments made in person have no record outside Mutual.")

    def capture_payment(
        self, ref: str, *, idempotency_key: str, amount_cents: int | None = None
    ) -> ProviderPayment:
        # Collected in person: the payee keeps (part of) what they hold.
        return ProviderPayment(
            ref=ref,
            status="succeeded",
            amount_cents=amount_cents or 0,
            currency="",
            captured_cents=amount_cents or 0,
        )

    def cancel_payment(self, ref: str, *, idempotency_key: str) -> ProviderPayment:
        # Given back in person.
        return ProviderPayment(ref=ref, status="canceled", amount_cents=0, currency="")

    def refund(
        self, payment_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderRefund:
        # The seller gives the money back in person; we record it.
        return ProviderRefund(
            ref=f"manual:{idempotency_key}",
            payment_ref=payment_ref,
            amount_cents=amount_cents,
            status="succeeded",
            metadata=dict(metadata),
        )

    def list_refunds(self, payment_ref: str) -> list[ProviderRefund]:
        return []

    def create_customer(self, *, email: str, idempotency_key: str, metadata: dict) -> str:
        raise NotSupported("Saved cards need the Stripe provider.")

    def create_setup(
        self, *, customer_ref: str, idempotency_key: str, metadata: dict
    ) -> ProviderSetup:
        raise NotSupported("Saved cards need the Stripe provider.")

    def retrieve_setup(self, ref: str) -> ProviderSetup:
        raise NotSupported("Saved cards need the Stripe provider.")

    def charge_saved_card(
        self,
        *,
        customer_ref: str | None,
        payment_method_ref: str | None,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: dict,
        capture: str = "automatic",
    ) -> ProviderPayment:
        # Collected in person: no card is on file; the payee confirms they received it. A hold
        # (capture "manual") is the money handed over and held in person.
        held = capture == "manual"
        return ProviderPayment(
            ref=f"manual:{idempotency_key}",
            status="requires_capture" if held else "succeeded",
            amount_cents=amount_cents,
            currency=currency.upper(),
            captured_cents=0 if held else amount_cents,
            capturable_cents=amount_cents if held else 0,
            metadata=dict(metadata),
        )

    def create_account(self, *, email: str, idempotency_key: str, metadata: dict) -> str:
        raise NotSupported("Payouts are settled in person with manual payments.")

    def account_link(self, account_ref: str, *, refresh_url: str, return_url: str) -> str:
        raise NotSupported("Payouts are settled in person with manual payments.")

    def retrieve_account(self, account_ref: str) -> ProviderAccount:
        raise NotSupported("Payouts are settled in person with manual payments.")

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
        # The seller already holds the buyer's money: the payout happened in person.
        return ProviderTransfer(
            ref=f"manual:{idempotency_key}",
            account_ref=account_ref,
            amount_cents=amount_cents,
            metadata=dict(metadata),
        )

    def find_transfer(
        self, *, operation_key: str, transfer_group: str | None
    ) -> ProviderTransfer | None:
        return None

    def reverse_transfer(
        self, transfer_ref: str, *, amount_cents: int, idempotency_key: str, metadata: dict
    ) -> ProviderReversal:
        # The seller (lender, organizer) hands back in person what they were paid.
        return ProviderReversal(
            ref=f"manual:{idempotency_key}",
            transfer_ref=transfer_ref,
            amount_cents=amount_cents,
            metadata=dict(metadata),
        )

    def find_reversal(self, transfer_ref: str, *, operation_key: str) -> ProviderReversal | None:
        return None

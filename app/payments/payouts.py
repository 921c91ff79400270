"""Payouts: a user's payout account at the provider (Stripe Connect onboarding and status) and
what waits to be paid out to them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.payments.models import PaymentProfile, ProviderOperation
from app.payments.money import retrying as _retrying
from app.payments.providers import get_provider


@dataclass
class PayoutStatus:
    provider: str
    is_supported: bool
    has_account: bool
    details_submitted: bool
    payouts_enabled: bool
    pending_payout_cents: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def _profile(user_id: int, provider_name: str) -> PaymentProfile | None:
    return db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == provider_name
        )
    )


def payout_status(user_id: int) -> PayoutStatus:
    """The user's payout account as last reported, and what waits to be paid out."""
    provider = get_provider()
    profile = _profile(user_id, provider.name)
    pending: dict[str, int] = {}
    for currency, amount in db.session.execute(
        select(ProviderOperation.currency, func.sum(ProviderOperation.amount_cents))
        .where(
            ProviderOperation.user_id == user_id,
            ProviderOperation.kind == "transfer",
            ProviderOperation.status == "pending",
        )
        .group_by(ProviderOperation.currency)
    ):
        pending[currency] = int(amount or 0)
    return PayoutStatus(
        provider=provider.name,
        is_supported=provider.holds_funds,
        has_account=bool(profile and profile.account_ref),
        details_submitted=bool(profile and profile.details_submitted),
        payouts_enabled=bool(profile and profile.payouts_enabled),
        pending_payout_cents=pending,
    )


def start_payout_onboarding(user_id: int, *, refresh_url: str, return_url: str) -> str:
    """Create the user's payout account if needed and answer the provider's onboarding link."""
    from app.accounts.models import User

    provider = get_provider()
    if not provider.holds_funds:
        raise Conflict("Payouts are settled in person on this marketplace: nothing to set up.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    profile = _profile(user_id, provider.name)
    if profile is None:
        profile = PaymentProfile(user_id=user_id, provider=provider.name)
        db.session.add(profile)
        db.session.commit()
    if not profile.account_ref:
        profile.account_ref = _retrying(
            lambda: provider.create_account(
                email=user.email,
                idempotency_key=f"user:{user_id}:connect-account",
                metadata={"user_id": str(user_id)},
            ),
            "create account",
        )
        db.session.commit()
    return _retrying(
        lambda: provider.account_link(
            profile.account_ref, refresh_url=refresh_url, return_url=return_url
        ),
        "account link",
    )


def refresh_payout_account(user_id: int) -> PayoutStatus:
    """Ask the provider for the user's account status (after onboarding) and store it."""
    provider = get_provider()
    profile = _profile(user_id, provider.name)
    if profile is not None and profile.account_ref and provider.holds_funds:
        account = _retrying(lambda: provider.retrieve_account(profile.account_ref), "account")
        apply_account(profile, account)
        db.session.commit()
    return payout_status(user_id)


def apply_account(profile: PaymentProfile, account) -> None:
    profile.charges_enabled = account.charges_enabled
    profile.payouts_enabled = account.payouts_enabled
    profile.details_submitted = account.details_submitted
    profile.updated_at = utcnow()

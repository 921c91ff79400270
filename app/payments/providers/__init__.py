"""The provider registry: PAYMENT_PROVIDER names one entry; `get_provider()` builds it once per
application. Tests and tools may wrap it (`set_provider`), e.g. with fault injection."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from flask import Flask, current_app

from app.payments.providers.base import PaymentProvider

# name -> "module:factory", factory(config) -> PaymentProvider
PROVIDERS: dict[str, str] = {
    "manual": "app.payments.providers:_build_manual",
    "stripe": "app.payments.providers:_build_stripe",
}

_KEY = "payments.provider"


def _build_manual(config) -> PaymentProvider:
    from app.payments.providers.manual import ManualProvider

    return ManualProvider()


def _build_stripe(config) -> PaymentProvider:
    from app.payments.providers.stripe import StripeProvider

    return StripeProvider(
        config["STRIPE_SECRET_KEY"],
        api_base=config.get("STRIPE_API_BASE", ""),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET", ""),
    )


def build_provider(config) -> PaymentProvider:
    """A new provider for the configuration's PAYMENT_PROVIDER."""
    name = config.get("PAYMENT_PROVIDER", "manual")
    try:
        path = PROVIDERS[name]
    except KeyError:
        raise RuntimeError(
            f"PAYMENT_PROVIDER must be one of {sorted(PROVIDERS)}, not {name!r}"
        ) from None
    module, _, attr = path.partition(":")
    factory: Callable = getattr(importlib.import_module(module), attr)
    return factory(config)


def get_provider() -> PaymentProvider:
    """The application's provider (built on first use)."""
    app = current_app._get_current_object()
    provider = app.extensions.get(_KEY)
    if provider is None or provider.name != app.config.get("PAYMENT_PROVIDER", "manual"):
        provider = build_provider(app.config)
        app.extensions[_KEY] = provider
    return provider


def set_provider(app: Flask, provider: PaymentProvider | None) -> None:
    """Use this provider instance (None: build from configuration again)."""
    if provider is None:
        app.extensions.pop(_KEY, None)
    else:
        app.extensions[_KEY] = provider

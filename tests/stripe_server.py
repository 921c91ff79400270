"""localstripe, a Stripe-compatible server, started once per test session on a free loopback
port (`--from-scratch`), and helpers to point the app at it.

A test module loads the fixtures with `pytest_plugins = ("tests.stripe_server",)`:
`stripe_server` (the session's localstripe), `payments_wired`, `stripe_app` (the app with
PAYMENT_PROVIDER=stripe against it), `faulty` (fault injection) and `connect` (Connect played
in memory, as localstripe has none)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests


@dataclass
class StripeServer:
    url: str
    process: subprocess.Popen

    def flush(self) -> None:
        """Empty localstripe's store."""
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def register_webhook(self, name: str, url: str, secret: str, events=None) -> None:
        """Make localstripe deliver signed events to `url`."""
        data = {"url": url, "secret": secret}
        if events:
            data["events[]"] = list(events)
        requests.post(
            f"{self.url}/_config/webhooks/{name}", data=data, timeout=5
        ).raise_for_status()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _executable() -> str:
    local = Path(sys.executable).parent / "localstripe"
    found = str(local) if local.exists() else shutil.which("localstripe")
    if not found:
        pytest.skip("localstripe is not installed (pip install localstripe)")
    return found


def start_stripe_server(timeout: float = 15) -> StripeServer:
    """Start localstripe and wait until it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [_executable(), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited at start")
        try:
            requests.get(f"{url}/v1/balance", auth=("sk_test_x", ""), timeout=1)
            return StripeServer(url=url, process=process)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("localstripe did not start in time")


def stop_stripe_server(server: StripeServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    """One localstripe for the whole test session."""
    server = start_stripe_server()
    yield server
    stop_stripe_server(server)


# -- the app against localstripe, and orders wired to payments -------------------------------

WEBHOOK_SECRET = "whsec_test_mutual"


@pytest.fixture
def payments_wired(app):
    """The app, with orders moving money through app.payments (kept as a named fixture so the
    payments tests say what they rely on)."""
    from app.orders import states

    assert "payment_received" in states.ACTIONS
    return app


@pytest.fixture
def stripe_app(payments_wired, stripe_server):
    """The app with PAYMENT_PROVIDER=stripe against localstripe."""
    from app.payments.providers import set_provider

    app = payments_wired
    app.config.update(
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_test_mutual",
        STRIPE_PUBLISHABLE_KEY="pk_test_mutual",
        STRIPE_API_BASE=stripe_server.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_JS_URL=f"{stripe_server.url}/js.stripe.com/v3/",
        PLATFORM_FEE_BPS=500,
        PLATFORM_FEE_FIXED_CENTS=30,
    )
    set_provider(app, None)
    yield app
    set_provider(app, None)


@pytest.fixture
def faulty(stripe_app):
    """The stripe provider wrapped in fault injection: faulty.fail('refund', 'timeout_after')."""
    from app.payments.providers import build_provider, set_provider
    from app.payments.providers.faults import FaultInjectingProvider

    wrapper = FaultInjectingProvider(ConnectStandIn(build_provider(stripe_app.config)))
    set_provider(stripe_app, wrapper)
    yield wrapper
    set_provider(stripe_app, None)


class ConnectStandIn:
    """Wraps the real Stripe provider and plays the Connect part (accounts, links, transfers,
    transfer reversals) that localstripe does not implement, in memory; every other call goes
    to localstripe. Our own adapter's Connect calls are tested apart against recorded Stripe
    responses."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.accounts: dict[str, dict] = {}
        self.transfers: list[dict] = []
        self.reversals: list[dict] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def create_account(self, *, email, idempotency_key, metadata):
        ref = f"acct_{len(self.accounts) + 1:04d}"
        self.accounts[ref] = {"details_submitted": False, "payouts_enabled": False}
        return ref

    def account_link(self, account_ref, *, refresh_url, return_url):
        return f"https://connect.stripe.test/setup/{account_ref}"

    def retrieve_account(self, account_ref):
        from app.payments.providers.base import ProviderAccount

        state = self.accounts[account_ref]
        return ProviderAccount(
            ref=account_ref,
            charges_enabled=state["payouts_enabled"],
            payouts_enabled=state["payouts_enabled"],
            details_submitted=state["details_submitted"],
        )

    def approve(self, account_ref) -> None:
        self.accounts[account_ref] = {"details_submitted": True, "payouts_enabled": True}

    def transfer(
        self, *, account_ref, amount_cents, currency, idempotency_key, transfer_group, metadata
    ):
        from app.payments.providers.base import ProviderTransfer

        for made in self.transfers:  # Stripe answers the first transfer for a repeated key
            if made["key"] == idempotency_key:
                return made["transfer"]
        transfer = ProviderTransfer(
            ref=f"tr_{len(self.transfers) + 1:04d}",
            account_ref=account_ref,
            amount_cents=amount_cents,
            metadata={**metadata, "operation_key": idempotency_key},
        )
        self.transfers.append({"key": idempotency_key, "transfer": transfer})
        return transfer

    def find_transfer(self, *, operation_key, transfer_group):
        for made in self.transfers:
            if made["key"] == operation_key:
                return made["transfer"]
        return None

    def reverse_transfer(self, transfer_ref, *, amount_cents, idempotency_key, metadata):
        """Like Stripe: the same key answers the first reversal; never more than was sent."""
        from app.payments.providers.base import ProviderRejected, ProviderReversal

        for made in self.reversals:
            if made["key"] == idempotency_key:
                return made["reversal"]
        sent = next(
            (m["transfer"] for m in self.transfers if m["transfer"].ref == transfer_ref), None
        )
        if sent is None:
            raise ProviderRejected(f"No such transfer: {transfer_ref}")
        if amount_cents > sent.amount_cents - self.reversed(transfer_ref):
            raise ProviderRejected("Reversal exceeds the transfer's remaining amount")
        reversal = ProviderReversal(
            ref=f"trr_{len(self.reversals) + 1:04d}",
            transfer_ref=transfer_ref,
            amount_cents=amount_cents,
            metadata={**metadata, "operation_key": idempotency_key},
        )
        self.reversals.append({"key": idempotency_key, "reversal": reversal})
        return reversal

    def find_reversal(self, transfer_ref, *, operation_key):
        for made in self.reversals:
            if made["key"] == operation_key and made["reversal"].transfer_ref == transfer_ref:
                return made["reversal"]
        return None

    def reversed(self, transfer_ref) -> int:
        """What was taken back from one transfer."""
        return sum(
            m["reversal"].amount_cents
            for m in self.reversals
            if m["reversal"].transfer_ref == transfer_ref
        )


@pytest.fixture
def connect(stripe_app):
    """The stripe provider with Connect played in memory (see ConnectStandIn)."""
    from app.payments.providers import build_provider, set_provider

    stand_in = ConnectStandIn(build_provider(stripe_app.config))
    set_provider(stripe_app, stand_in)
    yield stand_in
    set_provider(stripe_app, None)

"""Our Stripe adapter's Connect calls (accounts, onboarding links, transfers and their
reversals), which localstripe
does not implement, against recorded Stripe responses: the real SDK sends the real requests to
a small recording server, and we check what was sent and how the answers are read."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from app.payments.providers.base import PaymentDeclined, ProviderRejected, ProviderUnavailable
from app.payments.providers.stripe import StripeProvider

# Shapes as Stripe's API answers them (trimmed to the fields we read).
RECORDED = {
    ("POST", "/v1/accounts"): (
        200,
        {
            "id": "acct_1Rec",
            "object": "account",
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
        },
    ),
    ("POST", "/v1/account_links"): (
        200,
        {
            "object": "account_link",
            "url": "https://connect.stripe.com/setup/e/acct_1Rec/x",
            "expires_at": 1795440000,
        },
    ),
    ("GET", "/v1/accounts/acct_1Rec"): (
        200,
        {
            "id": "acct_1Rec",
            "object": "account",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
        },
    ),
    ("POST", "/v1/transfers"): (
        200,
        {
            "id": "tr_1Rec",
            "object": "transfer",
            "amount": 3770,
            "currency": "usd",
            "destination": "acct_1Rec",
            "transfer_group": "order_7",
            "metadata": {"operation_key": "payment:7:payout"},
        },
    ),
    ("GET", "/v1/transfers"): (
        200,
        {
            "object": "list",
            "has_more": False,
            "url": "/v1/transfers",
            "data": [
                {
                    "id": "tr_1Rec",
                    "object": "transfer",
                    "amount": 3770,
                    "destination": "acct_1Rec",
                    "metadata": {"operation_key": "payment:7:payout"},
                }
            ],
        },
    ),
    ("POST", "/v1/transfers/tr_1Rec/reversals"): (
        200,
        {
            "id": "trr_1Rec",
            "object": "transfer_reversal",
            "amount": 1500,
            "currency": "usd",
            "transfer": "tr_1Rec",
            "metadata": {"operation_key": "payment:7:payout:reversal:payment:7:refund:1"},
        },
    ),
    ("GET", "/v1/transfers/tr_1Rec/reversals"): (
        200,
        {
            "object": "list",
            "has_more": False,
            "url": "/v1/transfers/tr_1Rec/reversals",
            "data": [
                {
                    "id": "trr_1Rec",
                    "object": "transfer_reversal",
                    "amount": 1500,
                    "transfer": "tr_1Rec",
                    "metadata": {"operation_key": "payment:7:payout:reversal:payment:7:refund:1"},
                }
            ],
        },
    ),
}


@pytest.fixture
def recorded():
    requests: list[dict] = []
    overrides: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            requests.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "params": parse_qs(body or url.query),
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                }
            )
            status, payload = overrides.get((self.command, url.path)) or RECORDED.get(
                (self.command, url.path),
                (404, {"error": {"type": "invalid_request_error", "message": "No such thing"}}),
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = StripeProvider(
        "sk_test_recorded", api_base=f"http://127.0.0.1:{server.server_port}", timeout_seconds=5
    )
    yield provider, requests, overrides
    server.shutdown()


def test_create_account_asks_for_an_express_account_with_transfers(recorded):
    provider, requests, _ = recorded
    ref = provider.create_account(
        email="seller@example.com",
        idempotency_key="user:3:connect-account",
        metadata={"user_id": "3"},
    )

    assert ref == "acct_1Rec"
    sent = requests[-1]
    assert sent["params"]["type"] == ["express"]
    assert sent["params"]["capabilities[transfers][requested]"] == ["true"]
    assert sent["params"]["email"] == ["seller@example.com"]
    assert sent["idempotency_key"] == "user:3:connect-account"


def test_account_link_is_an_onboarding_link_with_our_return_urls(recorded):
    provider, requests, _ = recorded
    url = provider.account_link(
        "acct_1Rec",
        refresh_url="https://m.example/me/payouts",
        return_url="https://m.example/me/payouts/return",
    )

    assert url.startswith("https://connect.stripe.com/setup/")
    params = requests[-1]["params"]
    assert params["type"] == ["account_onboarding"] and params["account"] == ["acct_1Rec"]
    assert params["return_url"] == ["https://m.example/me/payouts/return"]


def test_retrieve_account_reads_the_payout_flags(recorded):
    provider, _, _ = recorded
    account = provider.retrieve_account("acct_1Rec")
    assert (account.payouts_enabled, account.details_submitted) == (True, True)


def test_transfer_sends_amount_destination_group_and_our_operation_key(recorded):
    provider, requests, _ = recorded
    transfer = provider.transfer(
        account_ref="acct_1Rec",
        amount_cents=3770,
        currency="USD",
        idempotency_key="payment:7:payout",
        transfer_group="order_7",
        metadata={"user_id": "3"},
    )

    assert (transfer.ref, transfer.amount_cents, transfer.account_ref) == (
        "tr_1Rec",
        3770,
        "acct_1Rec",
    )
    sent = requests[-1]
    assert sent["params"]["amount"] == ["3770"] and sent["params"]["currency"] == ["usd"]
    assert sent["params"]["destination"] == ["acct_1Rec"]
    assert sent["params"]["transfer_group"] == ["order_7"]
    assert sent["params"]["metadata[operation_key]"] == ["payment:7:payout"]
    assert sent["idempotency_key"] == "payment:7:payout"


def test_find_transfer_finds_ours_by_operation_key(recorded):
    provider, requests, _ = recorded
    assert (
        provider.find_transfer(operation_key="payment:7:payout", transfer_group="order_7").ref
        == "tr_1Rec"
    )
    assert (
        provider.find_transfer(operation_key="payment:8:payout", transfer_group="order_8") is None
    )
    assert requests[-1]["params"]["transfer_group"] == ["order_8"]


REVERSAL_KEY = "payment:7:payout:reversal:payment:7:refund:1"


def test_reverse_transfer_takes_back_part_of_it_under_our_operation_key(recorded):
    provider, requests, _ = recorded
    reversal = provider.reverse_transfer(
        "tr_1Rec", amount_cents=1500, idempotency_key=REVERSAL_KEY, metadata={"payment_id": "7"}
    )

    assert (reversal.ref, reversal.transfer_ref, reversal.amount_cents) == (
        "trr_1Rec",
        "tr_1Rec",
        1500,
    )
    sent = requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/v1/transfers/tr_1Rec/reversals")
    assert sent["params"]["amount"] == ["1500"]
    assert sent["params"]["metadata[operation_key]"] == [REVERSAL_KEY]
    assert sent["params"]["metadata[payment_id]"] == ["7"]
    assert sent["idempotency_key"] == REVERSAL_KEY


def test_find_reversal_finds_ours_by_operation_key(recorded):
    provider, requests, _ = recorded
    assert provider.find_reversal("tr_1Rec", operation_key=REVERSAL_KEY).ref == "trr_1Rec"
    assert provider.find_reversal("tr_1Rec", operation_key="payment:7:payout:reversal:x") is None
    assert requests[-1]["path"] == "/v1/transfers/tr_1Rec/reversals"


def test_a_refused_reversal_is_final(recorded):
    provider, _, overrides = recorded
    overrides[("POST", "/v1/transfers/tr_1Rec/reversals")] = (
        400,
        {"error": {"type": "invalid_request_error", "message": "exceeds the transfer"}},
    )
    with pytest.raises(ProviderRejected):
        provider.reverse_transfer("tr_1Rec", amount_cents=99999, idempotency_key="k", metadata={})


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, ProviderUnavailable),
        (400, ProviderRejected),
        (402, PaymentDeclined),
    ],
)
def test_stripe_errors_become_retryable_or_final(recorded, status, error):
    provider, _, overrides = recorded
    kind = (
        "rate_limit_error"
        if status == 429
        else ("api_error" if status >= 500 else "invalid_request_error")
    )
    overrides[("POST", "/v1/transfers")] = (status, {"error": {"type": kind, "message": "nope"}})
    with pytest.raises(error):
        provider.transfer(
            account_ref="acct_1Rec",
            amount_cents=100,
            currency="USD",
            idempotency_key="k",
            transfer_group=None,
            metadata={},
        )

"""The Stripe webhook: signed, recorded by event id, processed exactly once, and indifferent to
duplicates, delays and out-of-order delivery (it always fetches the object's current state)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.orders.models import Order
from app.payments import ledger, services
from app.payments.models import Payment, PaymentProfile, ProviderEvent
from tests.factories import UserFactory
from tests.integration.support import card_payment_confirmed
from tests.stripe_server import WEBHOOK_SECRET

URL = "/webhooks/stripe"

pytest_plugins = ("tests.stripe_server",)


def signed(event: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    payload = json.dumps(event).encode()
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={at},v1={mac}", "Content-Type": "application/json"}


def post_event(client, event: dict, **kwargs):
    payload, headers = signed(event, **kwargs)
    return client.post(URL, data=payload, headers=headers)


def event(event_id: str, kind: str, obj: dict) -> dict:
    return {"id": event_id, "type": kind, "created": int(time.time()), "data": {"object": obj}}


@pytest.fixture
def started(stripe_app):
    """An order with an open card payment the buyer has just confirmed at Stripe."""
    return card_payment_confirmed(1800)


def test_succeeded_event_marks_order_paid_once_even_when_delivered_twice(client, started):
    order, payment = started
    body = event("evt_1", "payment_intent.succeeded", {"id": payment.provider_ref})

    first = post_event(client, body)
    second = post_event(client, body)

    assert first.status_code == 200 and first.json["outcome"] == "processed"
    assert second.status_code == 200 and second.json["outcome"] == "duplicate"
    assert db.session.get(Order, order.id).state == "paid"
    assert ledger.balance(ledger.ESCROW, "USD") == 1800
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == 1
    assert ledger.verify().ok


def test_events_out_of_order_apply_the_current_state_not_the_stale_one(client, started):
    order, payment = started
    # A late "payment_failed" from an earlier attempt arrives after the success.
    post_event(client, event("evt_ok", "payment_intent.succeeded", {"id": payment.provider_ref}))
    late = post_event(
        client,
        event("evt_old", "payment_intent.payment_failed", {"id": payment.provider_ref}),
    )

    assert late.status_code == 200
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "succeeded"
    assert db.session.get(Order, order.id).state == "paid"


def test_event_for_a_payment_we_crashed_before_storing_is_found_by_operation_key(client, started):
    order, payment = started
    ref = payment.provider_ref
    db.session.execute(
        Payment.__table__.update().where(Payment.id == payment.id).values(provider_ref=None)
    )
    db.session.commit()

    response = post_event(
        client,
        event(
            "evt_k",
            "payment_intent.succeeded",
            {"id": ref, "metadata": {"operation_key": payment.operation_key}},
        ),
    )

    assert response.json["outcome"] == "processed"
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).provider_ref == ref
    assert db.session.get(Order, order.id).state == "paid"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        "wrong-secret",
        "too-old",
    ],
    ids=["missing", "garbage", "wrong-secret", "too-old"],
)
def test_unsigned_or_badly_signed_events_are_refused(client, started, headers):
    order, payment = started
    body = event("evt_bad", "payment_intent.succeeded", {"id": payment.provider_ref})
    if headers == "wrong-secret":
        payload, headers = signed(body, secret="whsec_other")
    elif headers == "too-old":
        payload, headers = signed(body, at=int(time.time()) - 3600)
    else:
        payload = json.dumps(body).encode()

    response = client.post(URL, data=payload, headers=headers)

    assert response.status_code == 400
    assert db.session.get(Order, order.id).state == "pending_payment"
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == 0


def test_unknown_objects_and_event_types_are_recorded_and_ignored(client, stripe_app):
    unknown = post_event(client, event("evt_u", "payment_intent.succeeded", {"id": "pi_nope"}))
    other = post_event(client, event("evt_o", "customer.created", {"id": "cus_1"}))

    assert unknown.json["outcome"] == "ignored" and other.json["outcome"] == "ignored"
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == 2


def test_refund_and_dispute_events_sync_the_payment(client, started):
    _, payment = started
    services.sync_payment(payment.id)
    refunded = post_event(
        client,
        event("evt_r", "charge.refunded", {"id": "ch_x", "payment_intent": payment.provider_ref}),
    )
    disputed = post_event(
        client,
        event(
            "evt_d",
            "charge.dispute.created",
            {"id": "dp_1", "payment_intent": payment.provider_ref},
        ),
    )

    assert refunded.json["outcome"] == "processed" and disputed.json["outcome"] == "processed"
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).is_disputed


def test_account_updated_stores_the_payout_status(client, stripe_app):
    user = UserFactory()
    db.session.add(PaymentProfile(user_id=user.id, provider="stripe", account_ref="acct_1"))
    db.session.commit()

    response = post_event(
        client,
        event(
            "evt_a",
            "account.updated",
            {
                "id": "acct_1",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
            },
        ),
    )

    assert response.json["outcome"] == "processed"
    assert services.payout_status(user.id).payouts_enabled


def test_webhook_endpoint_is_absent_with_manual_payments(client):
    response = post_event(client, event("evt_m", "payment_intent.succeeded", {"id": "pi_1"}))
    assert response.status_code == 404


def test_localstripe_delivers_signed_events_that_mark_the_order_paid(
    stripe_app,
    stripe_server,
):
    server = make_server("127.0.0.1", 0, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stripe_server.register_webhook(
            "mutual",
            f"http://127.0.0.1:{server.server_port}{URL}",
            WEBHOOK_SECRET,
            events=["payment_intent.succeeded"],
        )
        order, _payment = card_payment_confirmed(900)  # no sync: only the webhook

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.rollback()
            if db.session.get(Order, order.id).state == "paid":
                break
            time.sleep(0.2)
        assert db.session.get(Order, order.id).state == "paid"
        assert ledger.verify().ok
    finally:
        stripe_server.register_webhook("mutual", "http://127.0.0.1:9/", "x", events=["none"])
        server.shutdown()


def _card_setup(user, card_number: str | None = "4242424242424242"):
    """A saved-card setup for the user, confirmed at localstripe with a card (or not)."""
    from app.payments import money
    from app.payments.providers import get_provider

    setup = money.start_card_setup(user.id, email=user.email)
    if card_number is None:
        return setup, None
    client = get_provider().client
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card_number, "exp_month": 1, "exp_year": 2035, "cvc": "123"},
        }
    )
    client.v1.setup_intents.confirm(setup.ref, params={"payment_method": method.id})
    return setup, method.id


def test_setup_intent_succeeded_saves_the_card_on_the_customers_profile(client, stripe_app):
    user = UserFactory()
    setup, method = _card_setup(user)

    response = post_event(
        client,
        event(
            "evt_seti_ok",
            "setup_intent.succeeded",
            {"id": setup.ref, "customer": setup.customer_ref},
        ),
    )

    assert response.status_code == 200 and response.json["outcome"] == "processed"
    db.session.expire_all()
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.user_id == user.id))
    assert profile.payment_method_ref == method


def test_setup_intent_failed_saves_no_card(client, stripe_app):
    user = UserFactory()
    setup, _method = _card_setup(user, card_number=None)

    response = post_event(
        client,
        event(
            "evt_seti_failed",
            "setup_intent.setup_failed",
            # The event claims a card; the setup itself (asked afresh) has none.
            {"id": setup.ref, "customer": setup.customer_ref, "payment_method": "pm_forged"},
        ),
    )

    assert response.status_code == 200 and response.json["outcome"] == "processed"
    db.session.expire_all()
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.user_id == user.id))
    assert profile.payment_method_ref is None


def test_setup_event_for_an_unknown_customer_is_ignored(client, stripe_app):
    response = post_event(
        client,
        event("evt_seti_x", "setup_intent.succeeded", {"id": "seti_x", "customer": "cus_x"}),
    )
    assert response.json["outcome"] == "ignored"

"""Payments through the JSON API: paying an order by card, refunds by the seller, the statement,
and the order's `actions` following the configured payment provider."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.orders import money as order_money
from app.payments import ledger
from app.payments import services as payments
from app.payments.models import LedgerTransaction, Payment
from app.payments.providers import get_provider
from tests.factories import UserFactory
from tests.integration.api_support import COMPLETE, bearer, order_between

pytest_plugins = ("tests.stripe_server",)


def _headers(order, who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    user_id = {"buyer": order.buyer_id, "seller": order.seller_id}.get(who)
    user = db.session.get(type(order.buyer), user_id) if user_id else UserFactory()
    return bearer(user)


def _pay_by_card(client, order) -> None:
    """What the buyer's app does: start the payment, confirm it with a test card, and the
    server learns of the success (here by syncing, as the webhook would)."""
    started = client.post(f"/api/v1/orders/{order.id}/payment", headers=_headers(order, "buyer"))
    assert started.status_code == 200, started.json
    payment = db.session.get(Payment, started.json["payment_id"])
    get_provider().pay_with_test_card(payment.provider_ref)
    payments.sync_payment(payment.id)


# -- starting a card payment -----------------------------------------------------------------


def test_start_payment_answers_client_secret_and_publishable_key(stripe_app, client):
    order = order_between(price_cents=2000, quantity=2)

    answer = client.post(f"/api/v1/orders/{order.id}/payment", headers=_headers(order, "buyer"))

    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["client_secret"].startswith("pi_") and "_secret_" in body["client_secret"]
    assert body["publishable_key"] == "pk_test_mutual"
    assert (body["provider"], body["status"], body["currency"]) == ("stripe", "created", "USD")
    assert body["amount_cents"] == 4000 and type(body["amount_cents"]) is int
    assert type(body["payment_id"]) is int


def test_starting_payment_twice_reuses_the_payment(stripe_app, client):
    order = order_between(price_cents=2000)
    url, headers = f"/api/v1/orders/{order.id}/payment", _headers(order, "buyer")

    first, second = client.post(url, headers=headers), client.post(url, headers=headers)

    assert first.json["payment_id"] == second.json["payment_id"]
    assert first.json["client_secret"] == second.json["client_secret"]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("buyer", 200, None),
        ("seller", 403, "forbidden"),
        ("stranger", 404, "not_found"),
        ("anonymous", 401, "unauthorized"),
    ],
)
def test_only_the_buyer_can_start_paying(stripe_app, client, who, status, code):
    order = order_between(price_cents=2000)

    answer = client.post(f"/api/v1/orders/{order.id}/payment", headers=_headers(order, who))

    assert answer.status_code == status
    if code:
        assert answer.json["error"]["code"] == code
        assert "client_secret" not in answer.json


def test_start_payment_is_refused_where_payment_is_settled_in_person(app, client):
    order = order_between(price_cents=2000)

    answer = client.post(f"/api/v1/orders/{order.id}/payment", headers=_headers(order, "buyer"))

    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "payment_in_person"
    assert "in person" in answer.json["error"]["message"]
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_start_payment_is_refused_once_the_order_is_paid(stripe_app, client):
    order = order_between(price_cents=2000)
    _pay_by_card(client, order)

    answer = client.post(f"/api/v1/orders/{order.id}/payment", headers=_headers(order, "buyer"))

    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "invalid_transition"


def test_paying_by_card_marks_the_order_paid_for_both_parties(stripe_app, client):
    order = order_between(price_cents=2500)

    _pay_by_card(client, order)

    seen = client.get(f"/api/v1/orders/{order.id}", headers=_headers(order, "seller")).json
    assert seen["state"] == "paid"
    assert seen["actions"] == ["cancel", "ship", "dispute"]
    assert ledger.balance(ledger.ESCROW, "USD") == 2500


# -- actions follow the provider -------------------------------------------------------------


def test_seller_is_not_offered_mark_paid_when_buyers_pay_by_card(stripe_app, client):
    order = order_between(price_cents=2000)

    seller_view = client.get(f"/api/v1/orders/{order.id}", headers=_headers(order, "seller"))
    refused = client.post(f"/api/v1/orders/{order.id}/mark_paid", headers=_headers(order, "seller"))

    assert seller_view.json["actions"] == ["cancel"]
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "payment_required"


def test_seller_marks_paid_when_payment_is_settled_in_person(app, client):
    order = order_between(price_cents=2000)

    seller_view = client.get(f"/api/v1/orders/{order.id}", headers=_headers(order, "seller"))

    assert seller_view.json["actions"] == ["mark_paid", "cancel"]


# -- refunds ---------------------------------------------------------------------------------


def _refund(client, order, body, who="seller"):
    return client.post(
        f"/api/v1/orders/{order.id}/refunds", headers=_headers(order, who), json=body
    )


def test_seller_refunds_part_of_the_held_payment(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))

    answer = _refund(client, order, {"amount_cents": 1200, "reason": "Scratched corner"})

    assert answer.status_code == 201, answer.json
    assert answer.json["kind"] == "refund" and answer.json["status"] == "succeeded"
    assert answer.json["amount_cents"] == 1200 and answer.json["currency"] == "USD"
    assert ledger.balance(ledger.ESCROW, "USD") == 1800
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1200
    assert ledger.verify().ok


def test_seller_refunds_everything_held_in_two_steps_then_nothing_is_left(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid", "ship"))

    first = _refund(client, order, {"amount_cents": 1000})
    rest = _refund(client, order, {"amount_cents": 2000})
    more = _refund(client, order, {"amount_cents": 1})

    assert (first.status_code, rest.status_code) == (201, 201)
    assert more.status_code == 422
    assert "$0.00" in more.json["error"]["fields"]["amount_cents"][0]
    assert ledger.balance(ledger.ESCROW, "USD") == 0


def test_seller_refunds_by_card_at_stripe(stripe_app, client):
    order = order_between(price_cents=2000)
    _pay_by_card(client, order)

    answer = _refund(client, order, {"amount_cents": 500})

    assert answer.status_code == 201 and answer.json["status"] == "succeeded"
    payment = db.session.scalar(select(Payment))
    refunds = get_provider().list_refunds(payment.provider_ref)
    assert [r.amount_cents for r in refunds] == [500]
    assert ledger.verify().ok


def test_refund_above_what_is_held_is_refused_with_the_limit(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))

    answer = _refund(client, order, {"amount_cents": 3001})

    assert answer.status_code == 422
    assert answer.json["error"]["fields"]["amount_cents"] == [
        "At most $30.00 is held for this order."
    ]
    assert ledger.balance(ledger.ESCROW, "USD") == 3000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"amount_cents": 0},
        {"amount_cents": -100},
        {"amount_cents": "100"},
        {"amount_cents": 10.5},
        {"amount_cents": True},
        {"amount_cents": None},
        {"amount_cents": 2**31},
    ],
    ids=["missing", "zero", "negative", "string", "float", "bool", "null", "huge"],
)
def test_refund_with_a_bad_amount_is_a_field_error(app, client, body):
    order = order_between(price_cents=3000, steps=("mark_paid",))

    answer = _refund(client, order, body)

    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "validation_failed"
    assert "amount_cents" in answer.json["error"]["fields"]
    assert ledger.balance(ledger.ESCROW, "USD") == 3000


def test_refund_reason_longer_than_allowed_is_a_field_error(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))

    answer = _refund(client, order, {"amount_cents": 100, "reason": "x" * 301})

    assert answer.status_code == 422
    assert "reason" in answer.json["error"]["fields"]


@pytest.mark.parametrize(
    "steps", [(), COMPLETE, ("cancel",)], ids=["unpaid", "completed", "cancelled"]
)
def test_refund_is_refused_when_nothing_is_held(app, client, steps):
    order = order_between(price_cents=3000, steps=steps)

    answer = _refund(client, order, {"amount_cents": 100})

    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "not_refundable"


@pytest.mark.parametrize(("who", "status"), [("buyer", 403), ("stranger", 404), ("anonymous", 401)])
def test_only_the_seller_can_refund(app, client, who, status):
    order = order_between(price_cents=3000, steps=("mark_paid",))

    answer = _refund(client, order, {"amount_cents": 100}, who=who)

    assert answer.status_code == status
    assert ledger.balance(ledger.ESCROW, "USD") == 3000


def test_refund_needs_a_write_token(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))
    seller = db.session.get(type(order.seller), order.seller_id)

    answer = client.post(
        f"/api/v1/orders/{order.id}/refunds",
        headers=bearer(seller, scopes=("read",)),
        json={"amount_cents": 100},
    )

    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "insufficient_scope"


# -- the statement ---------------------------------------------------------------------------


def _statement(client, user_id: int, **query):
    user = db.session.get(UserFactory._meta.model, user_id)
    return client.get("/api/v1/me/statement", headers=bearer(user), query_string=query)


def test_statement_shows_what_the_buyer_paid_and_got_back(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))
    order_money.refund_order(order.id, order.seller_id, 500)

    answer = _statement(client, order.buyer_id)

    assert answer.status_code == 200
    body = answer.json
    assert body["user_id"] == order.buyer_id
    assert [(e["kind"], e["amount_cents"]) for e in body["entries"]] == [
        ("refund_paid", 500),
        ("order_funded", -3000),
    ]
    assert all(
        e["subject_type"] == "order" and e["subject_id"] == order.id for e in body["entries"]
    )
    assert body["totals"] == {
        "USD": {
            "paid": 3000,
            "refunded": 500,
            "received_in_person": 0,
            "given_back_in_person": 0,
            "earned": 0,
            "paid_out": 0,
        }
    }
    assert body["total"] == 2 and (body["page"], body["per_page"]) == (1, 50)


def test_statement_shows_what_the_seller_received_in_person(app, client):
    order = order_between(price_cents=3000, steps=COMPLETE)

    body = _statement(client, order.seller_id).json
    payment = db.session.scalar(select(Payment))

    # Paid in person the seller got the money from the buyer: no proceeds, fees or payouts.
    assert [(e["kind"], e["amount_cents"]) for e in body["entries"]] == [("order_funded", 3000)]
    assert body["entries"][0]["transaction_id"] == (
        ledger.transaction_for(f"order:{order.id}:funded:{payment.id}").id
    )
    assert body["entries"][0]["description"] == "Received in person from the buyer"
    assert body["totals"]["USD"]["received_in_person"] == 3000
    assert body["totals"]["USD"]["earned"] == 0
    assert all(type(e["amount_cents"]) is int for e in body["entries"])
    assert all(type(v) is int for v in body["balances"].values())


def test_statement_entries_are_the_money_the_ledger_moved_for_the_user(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))
    order_money.refund_order(order.id, order.seller_id, 700)

    for user_id, sign in ((order.seller_id, 1), (order.buyer_id, -1)):
        body = _statement(client, user_id).json
        assert body["entries"] and body["total"] == len(body["entries"]) == 2
        for entry in body["entries"]:
            txn = db.session.get(LedgerTransaction, entry["transaction_id"])
            moved = sum(line.amount_cents for line in txn.lines if line.amount_cents > 0)
            direction = sign if txn.kind == "order_funded" else -sign
            assert entry["amount_cents"] == direction * moved
            assert (entry["kind"], entry["subject_id"]) == (txn.kind, order.id)


def test_statement_pages(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))
    order_money.refund_order(order.id, order.seller_id, 100)
    order_money.refund_order(order.id, order.seller_id, 200)

    first = _statement(client, order.buyer_id, per_page=2).json
    last = _statement(client, order.buyer_id, per_page=2, page=2).json

    assert first["total"] == last["total"] == 3
    assert [e["amount_cents"] for e in first["entries"]] == [200, 100]
    assert [e["amount_cents"] for e in last["entries"]] == [-3000]


def test_a_stranger_cannot_see_someone_elses_statement(app, client):
    order = order_between(price_cents=3000, steps=("mark_paid",))
    stranger = UserFactory()

    # The statement is always the token owner's: a user id in the query changes nothing.
    body = client.get(
        "/api/v1/me/statement",
        headers=bearer(stranger),
        query_string={"user_id": order.buyer_id},
    ).json

    assert body["user_id"] == stranger.id
    assert body["entries"] == [] and body["total"] == 0


def test_statement_needs_a_token(app, client):
    answer = client.get("/api/v1/me/statement")

    assert answer.status_code == 401


@pytest.mark.parametrize("query", [{"per_page": 0}, {"per_page": 101}, {"page": "x"}])
def test_statement_with_bad_paging_is_a_field_error(app, client, query):
    user = UserFactory()

    answer = client.get("/api/v1/me/statement", headers=bearer(user), query_string=query)

    assert answer.status_code == 422
    assert set(answer.json["error"]["fields"]) == set(query)

"""Schemathesis against the live OpenAPI document: no 5xx, every answer matches its schema.

One test per operation; each runs a bounded number of generated examples with the token of a
user who has orders, messages, feedback and listings, so that generated ids sometimes hit data.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app import create_app
from app.clubs import deals
from app.clubs import services as clubs
from app.lending import services as lending
from app.messaging import services as messaging
from app.orders.states import TRANSITIONS
from app.reviews import services as reviews
from app.transactions import events
from config import TestConfig
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import COMPLETE, bearer, order_between
from tests.integration.club_support import club_of, rated
from tests.integration.deal_support import open_deal, terms
from tests.integration.lending_support import ask, at, lendable, returned
from tests.integration.listing_images import upload
from tests.integration.loan_offer_support import block, day
from tests.integration.loan_offer_support import lendable as offered

CHECKS = [not_a_server_error, response_schema_conformance]
ACTION_ROLES = {action: rule.roles for (_state, action), rule in TRANSITIONS.items()}
MAX_EXAMPLES = 10


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from a throwaway app's document."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    return [
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.fixture
def auth_headers(app):
    """A buyer with orders in several states, messages, revealed feedback, listings and loans."""
    buyer, seller = UserFactory(handle="fuzzbuyer"), UserFactory(handle="fuzzseller")
    done = order_between(buyer, seller, steps=COMPLETE)
    order_between(buyer, seller, steps=("mark_paid",))
    order_between(seller, buyer)  # the buyer sells too
    messaging.send_message("order", done.id, seller.id, "Thanks for buying!")
    reviews.leave_feedback(done.id, buyer.id, "positive", "Great", described=5)
    reviews.leave_feedback(done.id, seller.id, "neutral", "Slow payment")
    ListingFactory(seller=buyer, title="Old lamp")
    offer = offered(seller=buyer, title="Tent to borrow")  # blockouts, availability, quotes
    block(offer, day(3), day(4), "Away")
    # Loans both ways: one returned with a claim and its photo, one asked for, one lent.
    tent = lendable(seller)
    loan = returned(ask(tent, buyer, first=3))
    lending.claim_damage(
        loan.id, seller.id, 1000, "Bent pole", [upload()], now=at(loan.ends_on + timedelta(1))
    )
    ask(tent, buyer, first=30)
    ask(lendable(buyer, title="Cordless drill"), seller, first=5)
    # Clubs: one the buyer runs (with a request to answer), one they asked to join.
    run = club_of(rated(buyer, 5), name="Fuzz club", join_policy="approval")
    clubs.join_club(run.id, seller.id, message="Let me in")
    messaging.send_message("club", run.id, buyer.id, "Welcome, everyone")
    clubs.join_club(club_of(rated(seller, 5), join_policy="approval").id, buyer.id)
    # Deals in the club the buyer runs: a draft to edit (updateDeal) and one open for pledges.
    deals.create_deal(run.id, buyer.id, **terms(seller))
    open_deal(run, buyer, seller, title="Fuzz beans")
    events.deliver_committed()  # their notifications exist, so generated ids may hit one
    return bearer(buyer)


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: v)
def test_api_operation_conforms_to_its_openapi_document(app, auth_headers, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=auth_headers, checks=CHECKS)

    check()


# -- stateful: follow the document's links (create listing -> order it -> act -> feedback) ---

SELLER_OPERATIONS = {"createListing", "updateListing", "addListingPhotos", "getListing"}
FLOW_OPERATIONS = SELLER_OPERATIONS | {
    "createOrder",
    "getOrder",
    "takeOrderAction",
    "startOrderPayment",
    "createRefund",
    "getOrderFeedback",
    "createFeedback",
    "listOrderMessages",
    "sendOrderMessage",
}
STATEFUL_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)


def test_api_links_hold_up_under_stateful_testing(app):
    """Schemathesis chains real calls through the OpenAPI links; the seller lists, the buyer
    orders, each order action is taken by the party the state machine names."""
    seller, buyer = UserFactory(handle="linkseller"), UserFactory(handle="linkbuyer")
    tokens = {"seller": bearer(seller), "buyer": bearer(buyer)}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    base = schema.include(operation_id=sorted(FLOW_OPERATIONS)).as_state_machine()
    assert base.bundles, "the document has no links to follow"

    class Marketplace(base):
        def before_call(self, case):
            operation_id = case.operation.definition.raw.get("operationId")
            role = "buyer"
            if operation_id in SELLER_OPERATIONS:
                role = "seller"
            elif operation_id == "takeOrderAction":
                roles = ACTION_ROLES.get((case.path_parameters or {}).get("action"))
                role = "seller" if roles == {"seller"} else "buyer"
            case.headers = {**(case.headers or {}), **tokens[role]}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Marketplace.run(settings=STATEFUL_SETTINGS)


# -- stateful: a loan through the document's links (ask -> act -> messages -> feedback) ------

LOAN_FLOW = {
    "createLoan",
    "getLoan",
    "takeLoanAction",
    "createLoanClaim",
    "listLoanMessages",
    "sendLoanMessage",
    "getLoanFeedback",
    "createLoanFeedback",
}


def test_loan_links_hold_up_under_stateful_testing(app):
    """Schemathesis asks to borrow a real listing (its generated days moved into the offer's
    window, so most requests are possible), then follows the links; each loan action is sent
    with the token of the party the loan machine names for it."""
    from app.lending.states import MACHINE

    lender, borrower = UserFactory(handle="linklender"), UserFactory(handle="linkborrower")
    tokens = {"lender": bearer(lender), "borrower": bearer(borrower)}
    tents = [lendable(lender, title=f"Tent {n}") for n in range(8)]
    roles = {action: rule.roles for (_state, action), rule in MACHINE.rules.items()}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    base = schema.include(operation_id=sorted(LOAN_FLOW)).as_state_machine()
    assert base.bundles, "the document has no links to follow"
    asked = iter(range(10**6))

    class Lending(base):
        def before_call(self, case):
            operation_id = case.operation.definition.raw.get("operationId")
            role = "borrower"
            if operation_id == "createLoan" and isinstance(case.body, dict):
                n = next(asked)
                first = day(2 + (n * 4) % 300)
                case.body = {
                    **case.body,
                    "listing_id": tents[n % len(tents)],
                    "starts_on": first.isoformat(),
                    "ends_on": (first + timedelta(days=2)).isoformat(),
                }
            elif operation_id in {"takeLoanAction", "createLoanClaim"}:
                action = (case.path_parameters or {}).get("action", "claim_damage")
                if roles.get(action, {"lender"}) & {"lender"} and "borrower" not in roles.get(
                    action, set()
                ):
                    role = "lender"
            case.headers = {**(case.headers or {}), **tokens[role]}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Lending.run(settings=STATEFUL_SETTINGS)

    from sqlalchemy import func, select

    from app.extensions import db
    from app.lending.models import Loan

    db.session.remove()
    assert db.session.scalar(select(func.count(Loan.id))) > 0  # real requests were made

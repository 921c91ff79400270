"""Schemathesis against the live OpenAPI document: no 5xx, every answer matches its schema.

One test per operation; each runs a bounded number of generated examples with the token of a
user who has orders, messages, feedback and listings, so that generated ids sometimes hit data.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app import create_app
from app.messaging import services as messaging
from app.orders.states import TRANSITIONS
from app.reviews import services as reviews
from app.transactions import events
from config import TestConfig
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import COMPLETE, bearer, order_between

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
    """A buyer with orders in several states, messages, revealed feedback and listings."""
    buyer, seller = UserFactory(handle="fuzzbuyer"), UserFactory(handle="fuzzseller")
    done = order_between(buyer, seller, steps=COMPLETE)
    order_between(buyer, seller, steps=("mark_paid",))
    order_between(seller, buyer)  # the buyer sells too
    messaging.send_message("order", done.id, seller.id, "Thanks for buying!")
    reviews.leave_feedback(done.id, buyer.id, "positive", "Great", described=5)
    reviews.leave_feedback(done.id, seller.id, "neutral", "Slow payment")
    ListingFactory(seller=buyer, title="Old lamp")
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

"""Orders: buy, list my purchases and sales, look at one, and move it through its states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.api.core import (
    api_blueprint,
    api_user_id,
    link,
    links,
    page_of,
    token_required,
    write_limit,
)
from app.api.schemas import USER_ACTIONS, ActionIn, OrderIn, OrderList, OrderListArgs, OrderOut
from app.orders import services as orders
from app.orders.models import Order

bp = api_blueprint("orders", __name__, "Purchases and sales, and the steps that complete them.")

ORDER_ID = "$response.body#/id"
# Which action: one of the order's `actions` (what the caller may do now), chosen by the client.
NEXT_ACTION = link("takeOrderAction", order_id=ORDER_ID)
ACTION_PATH = "any(" + ", ".join(USER_ACTIONS) + ")"


@dataclass
class OrderView:
    """An order as one of its parties sees it: with their role and the actions open to them."""

    order: Order
    role: str | None
    actions: list[str]
    auto_complete_at: Any

    def __getattr__(self, name: str):
        return getattr(self.order, name)


def order_view(order: Order, user_id: int) -> OrderView:
    return OrderView(
        order=order,
        role=order.role_of(user_id),
        actions=orders.available_actions(order, user_id),
        auto_complete_at=orders.auto_complete_at(order),
    )


@bp.route("/orders", methods=["POST"])
@bp.doc(
    operationId="createOrder",
    **links(
        201,
        GetOrder=link("getOrder", order_id=ORDER_ID),
        TakeFirstAction=NEXT_ACTION,
        StartPayment=link("startOrderPayment", order_id=ORDER_ID),
        SendMessage=link("sendOrderMessage", order_id=ORDER_ID),
        ListMessages=link("listOrderMessages", order_id=ORDER_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(OrderIn)
@bp.response(201, OrderOut)
def place(data):
    """Buy a quantity of a listing: the order waits for payment; a free listing's order
    (`is_free`, price 0) skips payment and is placed straight into `paid`. 409 for your own
    listing or when there is not enough stock."""
    order = orders.place_order(api_user_id(), data["listing_id"], data["quantity"])
    return order_view(order, api_user_id())


@bp.route("/orders", methods=["GET"])
@bp.doc(operationId="listOrders")
@token_required("read")
@bp.arguments(OrderListArgs, location="query")
@bp.response(200, OrderList)
def index(args):
    """Your orders, latest activity first: as buyer, as seller (`role`) or both; by `state`."""
    user_id = api_user_id()
    found = orders.orders_for(
        user_id,
        args.get("role"),
        args.get("state"),
        args["page"],
        args["per_page"],
        with_events=True,
    )
    return page_of(
        [order_view(order, user_id) for order in found.items],
        args["page"],
        args["per_page"],
        found.total,
    )


@bp.route("/orders/<id:order_id>", methods=["GET"])
@bp.doc(operationId="getOrder", **links(200, TakeFirstAction=NEXT_ACTION))
@token_required("read")
@bp.response(200, OrderOut)
def detail(order_id: int):
    """One of your orders, with `state` and the `actions` you may take now."""
    return order_view(orders.get_order_for(order_id, api_user_id()), api_user_id())


@bp.route(f"/orders/<id:order_id>/<{ACTION_PATH}:action>", methods=["POST"])
@bp.doc(
    operationId="takeOrderAction",
    **links(
        200,
        TakeNextAction=NEXT_ACTION,
        GetFeedback=link("getOrderFeedback", order_id=ORDER_ID),
        LeaveFeedback=link("createFeedback", order_id=ORDER_ID),
        Refund=link("createRefund", order_id=ORDER_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(ActionIn, required=False)
@bp.response(200, OrderOut)
def act(data, order_id: int, action: str):
    """Take one of the order's `actions` (409 when it is not possible now); answers the order.

    mark_paid (seller; only where payment is settled in person: with card payments the order
    becomes paid when the buyer's payment succeeds, see POST /orders/{id}/payment, and
    mark_paid answers 409 `payment_required`), cancel (either, before shipping), ship (seller;
    optional `note`), confirm_delivery (buyer; completes the order). `actions` lists only the
    ones open to you now."""
    order = orders.transition(order_id, action, api_user_id(), data.get("note"))
    return order_view(order, api_user_id())

"""Messages between the buyer and the seller of an order."""

from __future__ import annotations

from app.api.core import (
    PageArgs,
    api_blueprint,
    api_user_id,
    page_of,
    paginate,
    token_required,
    write_limit,
)
from app.api.schemas import ConversationList, MessageIn, MessageList, MessageOut
from app.messaging import services as messaging
from app.orders.conversation import KIND

bp = api_blueprint("messages", __name__, "Conversations about orders.")


@bp.route("/orders/<id:order_id>/messages", methods=["GET"])
@bp.doc(operationId="listOrderMessages")
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, MessageList)
def thread(args, order_id: int):
    """The order's messages, oldest first; those sent to you are marked read."""
    items = messaging.thread(KIND, order_id, api_user_id())
    return paginate(items, args["page"], args["per_page"])


@bp.route("/orders/<id:order_id>/messages", methods=["POST"])
@bp.doc(operationId="sendOrderMessage")
@token_required("write")
@write_limit()
@bp.arguments(MessageIn)
@bp.response(201, MessageOut)
def send(data, order_id: int):
    """Write to the other party of the order."""
    return messaging.send_message(KIND, order_id, api_user_id(), data["body"])


@bp.route("/messages", methods=["GET"])
@bp.doc(operationId="listOrderConversations")
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ConversationList)
def inbox(args):
    """Your conversations, one per order, the most recent first, with unread counts."""
    page = messaging.inbox(api_user_id(), args["page"], args["per_page"], subject_kind=KIND)
    return page_of(page.items, page.page, page.per_page, page.total)

"""Feedback on an order: double-blind, exactly as on the order's page."""

from __future__ import annotations

from app.api.core import api_blueprint, api_user_id, link, links, token_required, write_limit
from app.api.schemas import FeedbackIn, FeedbackOut, OrderFeedbackOut, ReplyIn
from app.errors import NotFound
from app.extensions import db
from app.orders import services as orders
from app.reviews import services as reviews
from app.reviews.models import Feedback

bp = api_blueprint("feedback", __name__, "Double-blind feedback between buyer and seller.")


@bp.route("/orders/<id:order_id>/feedback", methods=["GET"])
@bp.doc(operationId="getOrderFeedback")
@token_required("read")
@bp.response(200, OrderFeedbackOut)
def show(order_id: int):
    """Your feedback on the order, whether you may still leave it, and the other side's once it
    is revealed (when both have rated, or the window has closed)."""
    user_id = api_user_id()
    orders.get_order_for(order_id, user_id)  # 404 for anyone but its buyer and seller
    return reviews.feedback_view(order_id, user_id, kind="order")


@bp.route("/orders/<id:order_id>/feedback", methods=["POST"])
@bp.doc(
    operationId="createFeedback",
    **links(201, GetFeedback=link("getOrderFeedback", order_id="$request.path.order_id")),
)
@token_required("write")
@write_limit()
@bp.arguments(FeedbackIn)
@bp.response(201, FeedbackOut)
def leave(data, order_id: int):
    """Rate the other party of a completed order, once (409 when not possible or done)."""
    return reviews.leave_feedback(order_id, api_user_id(), **data)


@bp.route("/orders/<id:order_id>/feedback/<id:feedback_id>/reply", methods=["POST"])
@bp.doc(operationId="replyToFeedback")
@token_required("write")
@write_limit()
@bp.arguments(ReplyIn)
@bp.response(200, FeedbackOut)
def reply(data, order_id: int, feedback_id: int):
    """Answer, once, the revealed feedback you received on this order."""
    user_id = api_user_id()
    orders.get_order_for(order_id, user_id)
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.order_id != order_id:
        raise NotFound("Feedback not found.")
    return reviews.reply_to_feedback(feedback_id, user_id, data["reply"])

"""Conversations on any subject: the inbox, one conversation, writing in it, reading it."""

from __future__ import annotations

from app.api.core import PageArgs, api_blueprint, api_user_id, page_of, token_required, write_limit
from app.api.schemas import (
    ConversationArgs,
    ConversationBaseOut,
    ConversationDetailOut,
    ConversationSummaryList,
    MessageIn,
    MessageOut,
)
from app.messaging import services as messaging

bp = api_blueprint(
    "conversations",
    __name__,
    "Conversations on any subject (an order, ...) with everyone taking part in it.",
)


@bp.route("/conversations", methods=["GET"])
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ConversationSummaryList)
@bp.doc(operationId="listConversations")
def index(args):
    """Your conversations, latest activity first, each with its latest message and your unread
    count."""
    page = messaging.inbox(api_user_id(), args["page"], args["per_page"], with_participants=True)
    return page_of(page.items, page.page, page.per_page, page.total)


@bp.route("/conversations/<id:conversation_id>", methods=["GET"])
@token_required("read")
@bp.arguments(ConversationArgs, location="query")
@bp.response(200, ConversationDetailOut)
@bp.doc(operationId="getConversation")
def show(args, conversation_id: int):
    """A conversation you take part in, with its latest messages (oldest first). Reading does
    not mark them read: POST .../read does."""
    return messaging.conversation_view(
        conversation_id, api_user_id(), limit=args["limit"], before_id=args.get("before_id")
    )


@bp.route("/conversations/<id:conversation_id>/messages", methods=["POST"])
@token_required("write")
@write_limit()
@bp.arguments(MessageIn)
@bp.response(201, MessageOut)
@bp.doc(operationId="sendConversationMessage")
def send(data, conversation_id: int):
    """Write to everyone in the conversation."""
    return messaging.send_to_conversation(conversation_id, api_user_id(), data["body"])


@bp.route("/conversations/<id:conversation_id>/read", methods=["POST"])
@token_required("write")
@write_limit()
@bp.response(200, ConversationBaseOut)
@bp.doc(operationId="markConversationRead")
def read(conversation_id: int):
    """Mark every message in the conversation read for you."""
    return messaging.mark_read(conversation_id, api_user_id())

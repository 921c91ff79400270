"""Conversations over HTTP: the inbox, and a stable address for each conversation."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import NotFound
from app.messaging.services import conversation_view
from app.messaging.services import inbox as inbox_of

bp = Blueprint("messaging", __name__)

INBOX_PAGE_SIZE = 20


@bp.get("/messages")
@login_required
def inbox():
    page = inbox_of(current_user.id, request.args.get("page", 1, type=int) or 1, INBOX_PAGE_SIZE)
    if page.page > page.pages:
        page = inbox_of(current_user.id, page.pages, INBOX_PAGE_SIZE)
    return render_template("messaging/inbox.html", conversations=page)


@bp.get("/messages/<int:conversation_id>")
@login_required
def conversation(conversation_id: int):
    """Where a conversation lives: the page of its subject (an order's page for an order)."""
    subject = conversation_view(conversation_id, current_user.id, limit=0).subject
    if subject is None:
        raise NotFound("We could not find that conversation.")
    return redirect(url_for(subject.endpoint, **subject.url_values, _anchor="messages"))

"""Notifications: what needs you or what you should know, and how you hear of each kind."""

from __future__ import annotations

import marshmallow as ma

from app.api.core import (
    PageArgs,
    api_blueprint,
    api_user_id,
    page_of,
    token_required,
    write_limit,
)
from app.mail import absolute_url
from app.notifications import services
from app.notifications.models import CHANNELS
from app.notifications.services import KINDS


class NotificationListArgs(PageArgs):
    unread = ma.fields.Boolean(
        load_default=False, metadata={"description": "only the unread notifications"}
    )


class NotificationOut(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    kind = ma.fields.String(dump_only=True, metadata={"description": f"one of: {', '.join(KINDS)}"})
    event = ma.fields.String(
        attribute="event_name", dump_only=True, metadata={"description": 'e.g. "order.ship"'}
    )
    subject_kind = ma.fields.String(dump_only=True, metadata={"description": 'e.g. "order"'})
    subject_id = ma.fields.Integer(dump_only=True)
    text = ma.fields.String(dump_only=True)
    path = ma.fields.String(
        attribute="link", dump_only=True, metadata={"description": "the page on this site"}
    )
    url = ma.fields.Function(
        lambda n: absolute_url(n.link),
        dump_only=True,
        metadata={"description": "the page, as an absolute URL"},
    )
    is_read = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    read_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class NotificationList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationOut), required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    unread_count = ma.fields.Integer(required=True, metadata={"description": "all unread"})


class MarkedOut(ma.Schema):
    marked = ma.fields.Integer(
        required=True, metadata={"description": "how many were unread and are read now"}
    )


_CHANNEL_DOC = "app: in the app only; email: also by email at once; digest: in a daily email"


class PreferencesOut(ma.Schema):
    preferences = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(list(KINDS))),
        values=ma.fields.String(validate=ma.validate.OneOf(CHANNELS)),
        required=True,
        metadata={"description": f"kind -> channel for every kind ({_CHANNEL_DOC})"},
    )
    kinds = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={"description": "kind -> what it is about, in words"},
    )


class PreferencesIn(ma.Schema):
    preferences = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(list(KINDS))),
        values=ma.fields.String(validate=ma.validate.OneOf(CHANNELS)),
        required=True,
        metadata={"description": f"kind -> channel, for the kinds to change ({_CHANNEL_DOC})"},
    )


bp = api_blueprint("notifications", __name__, "Your notifications and how you receive them.")


@bp.route("/notifications", methods=["GET"])
@token_required("read")
@bp.arguments(NotificationListArgs, location="query")
@bp.response(200, NotificationList)
@bp.doc(operationId="listNotifications")
def index(args):
    """Your notifications, newest first (`unread=true`: only the unread ones)."""
    user_id = api_user_id()
    found = services.notifications_for(
        user_id, unread_only=args["unread"], page=args["page"], per_page=args["per_page"]
    )
    return page_of(found.items, found.page, found.per_page, found.total) | {
        "unread_count": services.unread_count(user_id)
    }


@bp.route("/notifications/<id:notification_id>/read", methods=["POST"])
@token_required("write")
@write_limit()
@bp.response(200, NotificationOut)
@bp.doc(operationId="markNotificationRead")
def read(notification_id: int):
    """Mark one of your notifications as read (404 for anybody else's)."""
    return services.mark_read(notification_id, api_user_id())


@bp.route("/notifications/read_all", methods=["POST"])
@token_required("write")
@write_limit()
@bp.response(200, MarkedOut)
@bp.doc(operationId="markAllNotificationsRead")
def read_all():
    """Mark all your notifications as read."""
    return {"marked": services.mark_all_read(api_user_id())}


def _preferences(user_id: int) -> dict:
    return {"preferences": services.preferences_for(user_id), "kinds": services.KINDS}


@bp.route("/notification_preferences", methods=["GET"])
@token_required("read")
@bp.response(200, PreferencesOut)
@bp.doc(operationId="getNotificationPreferences")
def preferences():
    """How you hear of each kind of notification."""
    return _preferences(api_user_id())


@bp.route("/notification_preferences", methods=["PUT"])
@token_required("write")
@write_limit()
@bp.arguments(PreferencesIn)
@bp.response(200, PreferencesOut)
@bp.doc(operationId="setNotificationPreferences")
def set_preferences(data):
    """Choose the channel of some kinds; the kinds you leave out keep theirs."""
    services.set_preferences(api_user_id(), data["preferences"])
    return _preferences(api_user_id())

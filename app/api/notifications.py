"""Notifications: what needs you or what you should know, and how you hear of each kind."""

from __future__ import annotations

from app.api.core import api_blueprint, api_user_id, page_of, token_required, write_limit
from app.notifications import services
from app.notifications.schemas import (
    MarkedOut,
    NotificationList,
    NotificationListArgs,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
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

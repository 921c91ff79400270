"""API schemas for notifications and notification preferences."""

from __future__ import annotations

import marshmallow as ma

from app.notifications.models import CHANNELS
from app.notifications.services import KINDS, absolute_url

MAX_PAGE = 10_000
MAX_PER_PAGE = 100


class NotificationListArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, MAX_PER_PAGE))
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

"""How moderation follows the rest of the app: the notices of a decision (an event consumer),
re-review after an edit of hidden content, the answers to app/visibility.py (what is hidden,
for the packages that list content) and the template helpers for hidden content."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import visibility
from app.accounts.models import User
from app.clubs.models import Club, GroupDeal
from app.extensions import db
from app.listings.models import Listing
from app.moderation.models import APPEALABLE
from app.notifications import services as notifications
from app.transactions.events import DomainEvent, register_consumer

NOTICE = "app.moderation.hooks:notify_decision"
APPEAL_NOTICE = "app.moderation.hooks:notify_appeal_decision"
# Per kind of content an owner can edit: the model, and the fields whose change is an edit
# worth a second look.
EDITED_FIELDS = {
    "listing": (Listing, ("title", "description", "price_cents", "category_id", "condition")),
    "club": (Club, ("name", "description", "area")),
    "deal": (GroupDeal, ("title", "description", "unit", "pickup_point", "pickup_times")),
    "member": (User, ("bio", "display_name", "location")),
}

MEMBER_WORDS = {
    "warn": "A moderator warned you about {what}",
    "hide": "A moderator hid {what}",
    "remove": "A moderator removed {what}",
    "suspend": "A moderator suspended your account until {until}",
    "ban": "A moderator banned your account",
    "restore": "A moderator restored {what}",
    "dismiss": "The reports about {what} were dismissed",
}


def _what(payload: dict) -> str:
    if payload["kind"] == "member":
        if payload["action"] in ("hide", "remove", "restore"):
            return "what your profile says about you"
        return "your account"
    return f"your {payload['kind']} “{payload['title']}”"


def notify_decision(recorded: DomainEvent) -> None:
    """Consumer of moderation.acted: the reporters learn the outcome, the member the action."""
    p = recorded.payload
    until = p.get("suspended_until")
    until_words = datetime.fromisoformat(until).strftime("%Y-%m-%d %H:%M UTC") if until else ""
    cited = f"rule {p['rule_number']} ({p['rule_title']})"
    upheld = p["outcome"] == "upheld"
    reporter_text = (
        f"Your report about “{p['title']}” was upheld: {p['action']} under {cited}."
        if upheld
        else f"Your report about “{p['title']}” was reviewed; no rule was broken."
    )
    recipients = [(user_id, "moderation", reporter_text) for user_id in p["reporter_ids"]]
    member = []
    if p["action"] != "dismiss" or p["kind"] == "member":
        member_text = MEMBER_WORDS[p["action"]].format(what=_what(p), until=until_words)
        # Before the reason, which may be long enough to be cut.
        appeal = " (you can appeal it once)" if p["action"] in APPEALABLE else ""
        member.append(
            (p["member_id"], "moderation", f"{member_text}, citing {cited}{appeal}: {p['reason']}")
        )
    # The reporters follow their reports; the member their sanctions (and appeals).
    for group, link in ((recipients, "/reports/mine"), (member, "/me/moderation")):
        if group:
            notifications.notify(
                group,
                event_id=recorded.id,
                event_name=recorded.name,
                subject_kind=recorded.subject_kind,
                subject_id=recorded.subject_id,
                link=link,
                now=recorded.created_at,
            )


def notify_appeal_decision(recorded: DomainEvent) -> None:
    """Consumer of moderation.appeal_decided: the member learns the outcome of their appeal,
    the moderator who acted that their action was upheld or overturned."""
    p = recorded.payload
    cited = f"rule {p['rule_number']} ({p['rule_title']})"
    outcome = "upheld: the action stands" if p["decision"] == "uphold" else "overturned"
    recipients = [
        (
            p["member_id"],
            "moderation",
            f"Your appeal against “{p['appealed']}” was decided: {outcome}, citing {cited}: "
            f"{p['reason']}",
        ),
        (
            p["acted_by_id"],
            "moderation",
            f"On appeal, your action “{p['appealed']}” was "
            f"{'upheld' if p['decision'] == 'uphold' else 'overturned'}, citing {cited}.",
        ),
    ]
    notifications.notify(
        recipients,
        event_id=recorded.id,
        event_name=recorded.name,
        subject_kind=recorded.subject_kind,
        subject_id=recorded.subject_id,
        link="/me/moderation",
        now=recorded.created_at,
    )


def _edited_content(session: Session, _context, _instances) -> None:
    """An owner's edit of a listing, club, deal or profile asks for a re-review when it is
    hidden or removed (content_edited does nothing while it is visible)."""
    from app.moderation.services import content_edited

    for instance in list(session.dirty):
        for kind, (model, fields) in EDITED_FIELDS.items():
            if isinstance(instance, model) and any(
                _changed(session, instance, name) for name in fields
            ):
                with session.no_autoflush:
                    content_edited(kind, instance.id)


def _changed(session: Session, instance, name: str) -> bool:
    from sqlalchemy import inspect

    attribute = inspect(instance).attrs.get(name)
    return attribute is not None and attribute.history.has_changes()


def init_app(app: Flask) -> None:
    register_consumer("moderation.acted", NOTICE)
    register_consumer("moderation.appeal_decided", APPEAL_NOTICE)
    if not event.contains(Session, "before_flush", _edited_content):
        event.listen(Session, "before_flush", _edited_content)

    from app.moderation import services

    visibility.register(
        visibility.Provider(
            shown=services.shown_condition,
            state=_state,
            states=_states,
            is_moderator=_is_moderator,
            anything_hidden=services.anything_hidden,
            answered=_answered,
        )
    )
    app.jinja_env.globals["content_state"] = _state
    app.jinja_env.globals["content_notice"] = services.content_notice
    app.jinja_env.globals["content_notices"] = services.content_notices
    app.jinja_env.globals["is_hidden_content"] = is_hidden_content
    app.jinja_env.globals["hidden_notice"] = services.hidden_notice
    app.jinja_env.globals["may_report"] = may_report
    app.jinja_env.globals["may_appeal"] = may_appeal


def may_report(owner_id: int) -> bool:
    """For templates (macros too): a signed-in member other than the owner may report it."""
    from flask_login import current_user

    return current_user.is_authenticated and current_user.id != owner_id


def may_appeal(owner_id: int) -> bool:
    """For templates (macros too): is the signed-in member the one answerable for it?"""
    from flask_login import current_user

    return current_user.is_authenticated and current_user.id == owner_id


def _hidden_content() -> dict[tuple[str, int], str]:
    """Every hidden or removed thing: read once per request (they are few), fresh outside
    one (jobs, the shell, tests calling services)."""
    from flask import g, has_request_context

    from app.moderation import services

    if not has_request_context():
        return services.hidden_content()
    if "hidden_content" not in g:
        g.hidden_content = services.hidden_content()
    return g.hidden_content


def _answered(anything_is_hidden: bool) -> None:
    """The signed-in user's statement said whether anything is hidden (visibility.answered):
    when nothing is, this request's hidden content is empty without reading it again. Only
    this request: the next one asks afresh, so what a moderator hides is never shown after."""
    from flask import g, has_request_context

    if has_request_context() and not anything_is_hidden and "hidden_content" not in g:
        g.hidden_content = {}


def _state(kind: str, target_id: int) -> str:
    return _hidden_content().get((kind, target_id), visibility.VISIBLE)


def _states(kind: str, target_ids) -> dict[int, str]:
    hidden = _hidden_content()
    return {i: hidden[(kind, i)] for i in target_ids if (kind, i) in hidden}


def _is_moderator(user_id: int | None) -> bool:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user is not None and user.is_moderator


def is_hidden_content(kind: str, target_id: int) -> bool:
    """For templates: is this thing hidden or removed? One statement per request."""
    return (kind, target_id) in _hidden_content()

"""The community rules: a numbered list kept as versions. Admins publish a new version; every
version stays readable, and reports and actions cite the rule of the version they were made
under."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.moderation.models import Rule, RuleSet

# The rules as first published (migration 0012 seeds the same words; 0018 their feedback
# grounds): (title, body, feedback grounds: "" when feedback may not be hidden under the rule).
DEFAULT_RULES: list[tuple[str, str, str]] = [
    ("Be honest", "Describe things as they are: condition, faults, photos of the real item. "
     "No fake listings, no bait prices.", ""),
    ("Deliver what you promise", "Ship or hand over what was sold, on time and as described.",
     ""),
    ("Pay what you pledge", "An order or a pledge to a group deal is a promise to pay for it.",
     ""),
    ("Return what you borrow", "Give borrowed things back on time and in the state you got "
     "them.", ""),
    ("Feedback is about the transaction", "Rate the trade, not the person. No threats of bad "
     "feedback, no feedback for favours.", "off-topic, extortion, personal data"),
    ("One person, one account", "No second accounts to rate yourself, dodge a sanction or start "
     "over.", ""),
    ("No prohibited items", "Nothing illegal, stolen, dangerous or counterfeit.", ""),
    ("No harassment", "Be civil in messages, listings, clubs and replies.",
     "abuse, harassment"),
]  # fmt: skip

MAX_RULES = 20
TITLE_MAX, BODY_MAX, NOTE_MAX, GROUNDS_MAX = 80, 1000, 200, 120


def _latest() -> RuleSet | None:
    return db.session.scalar(
        select(RuleSet).options(selectinload(RuleSet.rules)).order_by(RuleSet.version.desc())
    )


def current_rules() -> RuleSet:
    """The rules in force: the latest version (the first start of a database made without the
    migrations publishes the default rules as version 1)."""
    latest = _latest()
    if latest is not None:
        return latest
    first = RuleSet(version=1, note="The first rules.")
    first.rules = [
        Rule(number=number, title=title, body=body, feedback_grounds=grounds)
        for number, (title, body, grounds) in enumerate(DEFAULT_RULES, start=1)
    ]
    db.session.add(first)
    try:
        db.session.commit()
    except IntegrityError:  # another request published version 1 first
        db.session.rollback()
    return _latest()


def rule_versions() -> list[RuleSet]:
    """Every version, newest first, with its rules."""
    current_rules()
    return list(
        db.session.scalars(
            select(RuleSet)
            .options(selectinload(RuleSet.rules), selectinload(RuleSet.created_by))
            .order_by(RuleSet.version.desc())
        )
    )


def current_rule(number: int) -> Rule:
    """Rule `number` of the rules in force. Raises ValidationFailed for a number not in them."""
    for rule in current_rules().rules:
        if rule.number == number:
            return rule
    raise ValidationFailed(fields={"rule": ["Choose one of the community rules."]})


def feedback_rules() -> list[Rule]:
    """The rules in force under which feedback may be hidden or removed: those an admin gave
    feedback grounds (abuse, off-topic, extortion, personal data...)."""
    return [rule for rule in current_rules().rules if rule.feedback_grounds]


def publish_rules(admin_id: int, rules: list[tuple[str, str, str]], note: str = "") -> RuleSet:
    """Publish a new version of the rules (admins only): [(title, body, feedback grounds)]
    numbered in order; rows with neither title nor body are skipped. A rule with feedback
    grounds is one under which moderators may hide feedback (say for what: "abuse,
    harassment"). Raises Forbidden, ValidationFailed."""
    admin = db.session.get(User, admin_id)
    if admin is None or not admin.is_admin:
        raise Forbidden("Only admins change the community rules.")
    cleaned, errors = [], {}
    for index, (title, body, grounds) in enumerate(rules, start=1):
        title, body = (title or "").strip(), (body or "").strip()
        grounds = " ".join((grounds or "").split())
        if not title and not body:
            if grounds:
                errors[f"rules.{index}.title"] = ["Give the rule a title, or clear its grounds."]
            continue
        if not title or len(title) > TITLE_MAX:
            errors[f"rules.{index}.title"] = [
                f"Give each rule a title of 1 to {TITLE_MAX} characters."
            ]
        if len(body) > BODY_MAX:
            errors[f"rules.{index}.body"] = [f"At most {BODY_MAX} characters."]
        if len(grounds) > GROUNDS_MAX:
            errors[f"rules.{index}.feedback_grounds"] = [f"At most {GROUNDS_MAX} characters."]
        cleaned.append((title, body, grounds))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if not cleaned:
        errors["rules"] = ["Keep at least one rule."]
    if len(cleaned) > MAX_RULES:
        errors["rules"] = [f"At most {MAX_RULES} rules: a short list people read."]
    if errors:
        raise ValidationFailed(fields=errors)
    current_rules()
    version = (db.session.scalar(select(func.max(RuleSet.version))) or 0) + 1
    published = RuleSet(version=version, note=note or f"Version {version}.", created_by_id=admin_id)
    published.rules = [
        Rule(number=number, title=title, body=body, feedback_grounds=grounds)
        for number, (title, body, grounds) in enumerate(cleaned, start=1)
    ]
    db.session.add(published)
    db.session.commit()
    return published


def get_version(version: int) -> RuleSet:
    found = db.session.scalar(select(RuleSet).where(RuleSet.version == version))
    if found is None:
        raise NotFound("No such version of the rules.")
    return found

"""What feedback knows about each kind of transaction, read from the kind's registry entry
(`TransactionKind.feedback`, app/transactions/registry.py), so reviews never imports a kind.

Orders declare theirs in app/orders/feedback.py; see FeedbackRules for what a kind declares.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import NotFound
from app.transactions.registry import (
    DETAIL_SLOTS,
    FeedbackRules,
    Rateable,
    RatingPair,
    find_kind,
    kinds,
)

__all__ = ["DETAIL_SLOTS", "FeedbackKind", "Rateable", "RatingPair", "feedback_kind"]


@dataclass(frozen=True)
class FeedbackKind:
    """A kind whose parties rate each other: its name and its feedback rules."""

    kind: str
    rules: FeedbackRules

    @property
    def load(self):
        return self.rules.load

    @property
    def pairs(self) -> tuple[RatingPair, ...]:
        return self.rules.pairs

    @property
    def roles(self):
        return self.rules.roles

    @property
    def noun(self) -> str:
        return self.rules.noun

    @property
    def not_open(self) -> str:
        return self.rules.not_open

    @property
    def not_found(self) -> str:
        return self.rules.not_found or f"{self.rules.noun.capitalize()} not found."

    def pair(self, author_role: str, subject_role: str) -> RatingPair | None:
        return self.rules.pair(author_role, subject_role)

    def rated_by(self, rateable: Rateable, author_id: int) -> list[tuple[int, RatingPair]]:
        return self.rules.rated_by(rateable, author_id)


def _find(kind: str) -> FeedbackKind | None:
    registered = find_kind(kind)
    if registered is None or registered.feedback is None:
        return None
    return FeedbackKind(kind=kind, rules=registered.feedback)


def feedback_kind(kind: str) -> FeedbackKind:
    """The kind's feedback rules; NotFound for a kind nobody registered or that has none."""
    found = _find(kind)
    if found is None:
        raise NotFound("We could not find that transaction.")
    return found


def registered_kinds() -> list[FeedbackKind]:
    return [FeedbackKind(kind.name, kind.feedback) for kind in kinds() if kind.feedback]


def role_label(role: str) -> str:
    """How pages name a role, as its kind says ("seller"); the role itself when unknown."""
    for registered in registered_kinds():
        if role in registered.roles:
            return registered.roles[role]
    return role


def details_for(kind: str, author_role: str, subject_role: str) -> tuple[tuple[str, str], ...]:
    """(slot, label) of the detail ratings `author_role` gives `subject_role` in `kind`."""
    registered = _find(kind)
    pair = registered.pair(author_role, subject_role) if registered is not None else None
    return pair.details if pair is not None else ()

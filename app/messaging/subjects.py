"""What a conversation can be about, so messaging never imports a kind.

Every kind of transaction (orders, later loans and group deals) is a subject through its entry
in the kind registry (app/transactions/registry.py: `describe`, `not_found`, `on_message`; see
app/orders/kind.py). Something that is not a transaction can still become a subject with

    register_subject("club", describe_clubs, not_found="We could not find that club.")

(app/clubs/conversation.py does exactly that). A group subject's people change: `participant_ids`
are the people in it now, so a newcomer joins its conversation at their first read or message,
and the subject's owner calls `messaging.services.leave_conversation` when someone leaves it, so
its messages stop reaching them.

`describe(ids, viewer_id)` answers {id: Subject} for the subjects among `ids` the viewer may talk
about (one query for all of them: the inbox describes a whole page at once); an id it leaves out
is unknown or not the viewer's business, which callers turn into NotFound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.errors import NotFound
from app.transactions.registry import find_kind

if TYPE_CHECKING:
    from app.accounts.models import User


@dataclass(frozen=True)
class Subject:
    """A subject as one viewer sees it."""

    kind: str
    id: int
    title: str  # what it is about, e.g. the item bought
    participant_ids: tuple[int, ...]  # who talks about it (two for an order, many for a club)
    endpoint: str  # the page that shows the conversation, for url_for
    url_values: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # how the viewer stands in it, e.g. "Purchase" or "Sale"
    state: str | None = None  # the subject's state, when it has one
    counterpart: User | None = None  # whom the viewer talks to, in a two-party subject


Describe = Callable[[Sequence[int], int], dict[int, Subject]]
OnMessage = Callable[[int, datetime], None]


@dataclass(frozen=True)
class SubjectKind:
    describe: Describe
    not_found: str
    on_message: OnMessage | None = None  # a message is activity on the subject (lists sort by it)


_KINDS: dict[str, SubjectKind] = {}


def register_subject(
    kind: str,
    describe: Describe,
    *,
    not_found: str = "We could not find that conversation.",
    on_message: OnMessage | None = None,
) -> None:
    """Let conversations be about subjects of `kind` (registering again replaces it)."""
    _KINDS[kind] = SubjectKind(describe=describe, not_found=not_found, on_message=on_message)


def _lookup(kind: str) -> SubjectKind | None:
    """A subject kind: a transaction kind that describes its instances, or one registered here."""
    transaction = find_kind(kind)
    if transaction is not None and transaction.describe is not None:
        return SubjectKind(
            describe=transaction.describe,
            not_found=transaction.not_found,
            on_message=transaction.on_message,
        )
    return _KINDS.get(kind)


def kind_of(kind: str) -> SubjectKind:
    """The registered kind; NotFound for a kind nobody registered."""
    registered = _lookup(kind)
    if registered is None:
        raise NotFound("We could not find that conversation.")
    return registered


def subject_had_activity(kind: str, subject_id: int, at: datetime) -> None:
    """Tell the subject's kind a message was written about it (when it wants to know)."""
    registered = _lookup(kind)
    if registered is not None and registered.on_message is not None:
        registered.on_message(subject_id, at)


def describe(kind: str, ids: Iterable[int], viewer_id: int) -> dict[int, Subject]:
    """The subjects of `kind` among `ids` this viewer may see ({} for an unknown kind)."""
    registered = _lookup(kind)
    ids = sorted(set(ids))
    if registered is None or not ids:
        return {}
    return registered.describe(ids, viewer_id)


def subject_for(kind: str, subject_id: int, viewer_id: int) -> Subject:
    """One subject for a viewer who takes part in it; NotFound otherwise (never a hint)."""
    registered = kind_of(kind)
    subject = registered.describe([subject_id], viewer_id).get(subject_id)
    if subject is None or viewer_id not in subject.participant_ids:
        raise NotFound(registered.not_found)
    return subject

"""Content moderators hid or removed: what the packages that list content ask.

Moderation owns the cases (app/moderation) and imports the packages whose content it judges
(listings, clubs, messaging), so those cannot import it back (tests/unit/test_import_graph.py).
They ask here instead; app/moderation/hooks.py registers the answers when the app starts, as a
kind registers itself in app/transactions/registry.py. Before that (a bare model test) nothing
is hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement

VISIBLE, HIDDEN, REMOVED = "visible", "hidden", "removed"


@dataclass(frozen=True)
class Provider:
    # kind, id column -> a condition true for the rows no moderator hid or removed
    shown: Callable[[str, Any], ColumnElement[bool]]
    # kind, id -> visible, hidden or removed
    state: Callable[[str, int], str]
    # kind, ids -> {id: hidden or removed} for those that are not visible
    states: Callable[[str, Iterable[int]], dict[int, str]]
    # user id -> whether they moderate (they see hidden content, with its notice)
    is_moderator: Callable[[int | None], bool]
    # a condition true while anything at all is hidden or removed, for a statement the
    # request runs anyway (the signed-in user's), and what to do with its answer
    anything_hidden: Callable[[], ColumnElement[bool]]
    answered: Callable[[bool], None]


_provider: Provider | None = None


def register(provider: Provider) -> None:
    """Answer the questions below (app/moderation/hooks.py, at start-up)."""
    global _provider
    _provider = provider


def shown(kind: str, id_column: Any) -> ColumnElement[bool]:
    """A condition for a query of `kind`: its row is neither hidden nor removed (a NOT EXISTS on
    the few moderation cases, so it stays cheap on any number of rows)."""
    return _provider.shown(kind, id_column) if _provider is not None else true()


def state(kind: str, target_id: int) -> str:
    """visible, hidden (pending review, or by a moderator) or removed."""
    return _provider.state(kind, target_id) if _provider is not None else VISIBLE


def states(kind: str, target_ids: Iterable[int]) -> dict[int, str]:
    """{id: hidden or removed} for the ids of `kind` that are not visible (one statement)."""
    ids = list(target_ids)
    if _provider is None or not ids:
        return {}
    return _provider.states(kind, ids)


def anything_hidden() -> ColumnElement[bool]:
    """A column for a statement a request runs first anyway (accounts.user_for_session): is
    anything hidden or removed? Hand its answer to `answered`."""
    return _provider.anything_hidden() if _provider is not None else false()


def answered(anything_is_hidden: bool) -> None:
    """The answer of `anything_hidden`: when nothing is hidden, the request asks no more
    (state/states answer "visible" without a statement of their own)."""
    if _provider is not None:
        _provider.answered(bool(anything_is_hidden))


def is_moderator(user_id: int | None) -> bool:
    """Whether the user moderates (moderators see hidden content to decide about it)."""
    return user_id is not None and _provider is not None and _provider.is_moderator(user_id)


def may_see(kind: str, target_id: int, viewer_id: int | None, *, owners: Iterable[int]) -> bool:
    """Whether the viewer sees the thing: anyone while it is visible; once hidden or removed,
    its owners (who see the notice) and moderators only."""
    if state(kind, target_id) == VISIBLE:
        return True
    return (viewer_id is not None and viewer_id in set(owners)) or is_moderator(viewer_id)

"""A form that fails survives the redirect after its POST.

A failed post answers 303 to the page the form lives on, never a page rendered at the action's
address (reloading that would post again). What was typed and each field's errors wait in the
session under a key naming the form and its object ("refund:12"); the page builds that form
with `refilled_form`, which puts them back once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask import flash, request, session
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.errors import DomainError, ValidationFailed

SESSION_KEY = "form_draft"
# The session is a cookie, which browsers drop above 4 kB (signing the person out): keep one
# draft of at most this much escaped JSON. That is above every field's own limit in plain text,
# so an over-long text still comes back with its error; a long non-Latin text comes back cut.
MAX_KEPT_JSON = 2400
FormT = TypeVar("FormT", bound=FlaskForm)


def keep_failed_form(
    key: str, form: FlaskForm, errors: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Keep what was posted to `form` and its field errors (by field name) for the next page."""
    errors = form.errors if errors is None else errors
    data: dict[str, str] = {}
    budget = MAX_KEPT_JSON
    for field in form:
        if field.type != "CSRFTokenField":
            data[field.name] = _cut(request.form.get(field.name, ""), budget)
            budget -= len(json.dumps(data[field.name]))
    session[SESSION_KEY] = {
        "key": key,
        "data": data,
        "errors": {
            name: [str(message) for message in messages][:1]
            for name, messages in errors.items()
            if name in form and messages
        },
    }


def _cut(value: str, budget: int) -> str:
    """`value`, shortened until it takes at most `budget` characters as escaped JSON."""
    value = value[: max(budget, 0)]
    while value and len(json.dumps(value)) > budget:
        value = value[: len(value) * 3 // 4]
    return value


def refilled_form(key: str, make: Callable[[MultiDict | None], FormT]) -> FormT:
    """`make(formdata)`'s form: refilled with the failed post kept under `key`, or empty."""
    draft = session.get(SESSION_KEY)
    if not draft or draft.get("key") != key:
        return make(None)
    session.pop(SESSION_KEY)
    form = make(MultiDict(draft.get("data") or {}))
    for name, messages in (draft.get("errors") or {}).items():
        if name in form:
            form[name].errors = list(messages)
    return form


EXPIRED = "Your session expired. Please try again."


def form_refused(form: FlaskForm, key: str) -> bool:
    """Validate a posted form. When it fails, say the session expired (a stale CSRF token) or
    keep what was posted and its errors under `key` for the page it goes back to; answers
    whether it failed."""
    if form.validate():
        return False
    if "csrf_token" in form.errors:
        flash(EXPIRED, "error")
    else:
        keep_failed_form(key, form)
    return True


REFUSED = object()  # what `carry_out` answers when the service refused


def carry_out(key: str, form: FlaskForm, call: Callable[[], Any], *, say_why: bool = False):
    """Run the service call behind a validated form: its result, or REFUSED. Field errors
    (ValidationFailed) are kept with what was posted under `key` (and flashed with `say_why`);
    any other refusal is flashed, but a 404 goes on up (the page answers not found)."""
    try:
        return call()
    except ValidationFailed as error:
        keep_failed_form(key, form, error.fields)
        if say_why:
            flash(error.message, "error")
    except DomainError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return REFUSED

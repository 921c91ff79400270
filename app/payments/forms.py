"""Payment forms: they only parse input; the rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (buttons that POST)."""

"""Your trust level over HTTP: /me/trust (the rules live in app/trust/levels.py)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from app.trust import levels as trust

bp = Blueprint("trust", __name__)


@bp.get("/me/trust")
@login_required
def mine():
    """The member's trust level, why, what the next one asks, and what each level allows."""
    return render_template(
        "moderation/trust.html",
        standing=trust.standing(current_user.id),
        privileges=trust.privileges(),
        level_names=trust.LEVEL_NAMES,
        all_requirements=trust.all_requirements,
    )

"""A member's public profile: who they are, what they offer, and their feedback per role."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_login import current_user

from app.accounts.services import get_user_by_handle
from app.inputs import url_with_args
from app.listings.services import active_listings_of
from app.reviews.reputation import profile_reputation
from app.reviews.services import received_feedback
from app.trust import levels as trust

bp = Blueprint("profiles", __name__)


@bp.get("/u/<handle>")
def profile(handle: str):
    user = get_user_by_handle(handle)
    if handle != user.handle:
        return redirect(url_with_args("profiles.profile", handle=user.handle), 301)
    reputation = profile_reputation(user)
    # One tab per role the summary has (seller and buyer always, any other once rated in it).
    roles = list(reputation.summary["roles"])
    role = request.args.get("feedback", roles[0])
    if role not in roles:
        role = roles[0]
    is_me = current_user.is_authenticated and current_user.id == user.id
    # The member's trust level and why: for themselves and for moderators (and admins).
    sees_trust = is_me or (
        current_user.is_authenticated and (current_user.is_moderator or current_user.is_admin)
    )
    return render_template(
        "profiles/profile.html",
        trust_standing=trust.standing(user.id) if sees_trust else None,
        user=user,
        listings=active_listings_of(user.id, limit=12),
        summary=reputation.summary,
        reputation=reputation,
        feedback=received_feedback(user.id, role=role, limit=20),
        feedback_role=role,
        is_me=is_me,
    )

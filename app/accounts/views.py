"""SCAFFOLD (replaced by the accounts engineer this session)."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.get("/signup")
def signup():
    return "signup"


@bp.post("/logout")
def logout():
    return "logout"


@bp.get("/settings")
def settings():
    return "settings"


@bp.get("/u/<handle>")
def profile(handle):
    return handle


@bp.get("/avatars/<int:user_id>")
def avatar(user_id):
    return ""

"""Home page, health check and the site's fixed pages."""

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("main", __name__)

TO_BORROW = 4  # things to borrow on the home page: one row


@bp.get("/")
def index():
    from app.listings.services import all_categories, search_listings

    latest = search_listings(sort="newest", page=1, per_page=12)
    to_borrow = search_listings(offer="borrow", sort="newest", page=1, per_page=TO_BORROW)
    return render_template(
        "main/index.html", latest=latest, to_borrow=to_borrow, categories=all_categories()
    )


@bp.get("/rules")
def rules():
    from app.moderation.rules import current_rules

    return render_template("main/rules.html", rules=current_rules())


@bp.get("/about")
def about():
    return render_template("main/about.html")


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")

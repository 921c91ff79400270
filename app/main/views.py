"""Home page, health check and the site's fixed pages."""

import logging

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

bp = Blueprint("main", __name__)
logger = logging.getLogger(__name__)

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
    """For load balancers and monitors: 200 when the database (and Redis, when REDIS_URL is
    set) answers, 503 naming what does not. Reasons go to the log, not to the public."""
    checks = {"database": _database_answers()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_answers(current_app.config["REDIS_URL"])
    healthy = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503


def _database_answers() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.exception("health check: the database does not answer")
        db.session.rollback()
        return "unreachable"
    return "ok"


def _redis_answers(url: str) -> str:
    import redis

    clients = current_app.extensions.setdefault("healthz_redis", {})
    if url not in clients:  # one connection pool per process, short timeouts
        clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        clients[url].ping()
    except redis.RedisError:
        logger.exception("health check: Redis does not answer")
        return "unreachable"
    return "ok"

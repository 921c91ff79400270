"""SCAFFOLD (replaced by the orders engineer this session)."""

from flask import Blueprint

bp = Blueprint("orders", __name__)


@bp.get("/orders")
def index():
    return "orders"

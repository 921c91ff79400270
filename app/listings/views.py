"""SCAFFOLD (replaced by the listings engineer this session)."""

from flask import Blueprint

bp = Blueprint("listings", __name__)


@bp.get("/listings")
def browse():
    return "browse"


@bp.get("/sell")
def create():
    return "sell"

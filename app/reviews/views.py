"""SCAFFOLD (replaced by the reviews engineer this session)."""

from flask import Blueprint

bp = Blueprint("reviews", __name__)

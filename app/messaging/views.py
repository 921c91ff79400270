"""SCAFFOLD (replaced by the orders engineer this session)."""

from flask import Blueprint

bp = Blueprint("messaging", __name__)

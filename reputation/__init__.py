"""Mutual's reputation engine: a standalone, multi-sided, hard-to-game reputation system.

Pure Python with numpy and scipy; it never imports Flask, SQLAlchemy or the app.
"""

from .batch import FLAG_NEW, FLAG_RING, FLAG_SYBIL, FLAG_SYBIL_PRAISE, ScoreTable, compute
from .config import EngineConfig
from .engine import ReputationEngine
from .events import ROLES, EventArrays, RatingEvent, parse_value, to_unix
from .scores import Factor, Feedback, Score, WindowCounts

__all__ = [
    "FLAG_NEW",
    "FLAG_RING",
    "FLAG_SYBIL",
    "FLAG_SYBIL_PRAISE",
    "ROLES",
    "EngineConfig",
    "EventArrays",
    "Factor",
    "Feedback",
    "RatingEvent",
    "ReputationEngine",
    "Score",
    "ScoreTable",
    "WindowCounts",
    "compute",
    "parse_value",
    "to_unix",
]

"""Mutual's reputation engine: a standalone, multi-sided, hard-to-game reputation system.

Pure Python with numpy and scipy; it never imports Flask, SQLAlchemy or the app.
"""

from .batch import (
    FLAG_NEW,
    FLAG_RING,
    FLAG_SYBIL,
    FLAG_SYBIL_PRAISE,
    ScoreColumns,
    ScoreTable,
    compute,
    flag_names,
)
from .config import EngineConfig
from .engine import ReputationEngine
from .events import ROLES, EventArrays, RatingEvent, parse_value, to_unix
from .explain import FIGURES, RoleShare, explain
from .scores import Factor, Feedback, Score, WindowCounts

__all__ = [
    "FIGURES",
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
    "RoleShare",
    "Score",
    "ScoreColumns",
    "ScoreTable",
    "WindowCounts",
    "compute",
    "explain",
    "flag_names",
    "parse_value",
    "to_unix",
]

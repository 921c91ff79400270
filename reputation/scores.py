"""What the engine returns: plain, immutable values the app can store or render."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Positive / neutral / negative feedback counted over the last `months` months."""

    months: int
    positive: int
    neutral: int
    negative: int


@dataclass(frozen=True, slots=True)
class Factor:
    """One line of the "why this score" panel: impact is in trust points (-1..1), 0 = context."""

    name: str
    impact: float
    description: str


@dataclass(frozen=True, slots=True)
class Feedback:
    """eBay-style feedback of one user (and role): counts only, updated at once on every add."""

    feedback_score: int
    percent_positive: float | None
    positive: int
    neutral: int
    negative: int
    counts: tuple[WindowCounts, WindowCounts, WindowCounts]


@dataclass(frozen=True, slots=True)
class Score:
    """Everything shown for one user, overall (role=None) or in one role."""

    user: Hashable
    role: str | None
    trust: float
    confidence: float
    feedback_score: int
    percent_positive: float | None
    positive: int
    neutral: int
    negative: int
    counts: tuple[WindowCounts, WindowCounts, WindowCounts]
    flags: frozenset[str] = field(default_factory=frozenset)
    explanation: tuple[Factor, ...] = ()
    # The numbers `explanation` is rendered from (reputation.explain.FIGURES), for storage.
    figures: tuple[float, ...] = ()

    @property
    def feedback(self) -> Feedback:
        """Return the feedback part of this score."""
        return Feedback(
            self.feedback_score,
            self.percent_positive,
            self.positive,
            self.neutral,
            self.negative,
            self.counts,
        )

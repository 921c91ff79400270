"""Badges, confidence words and the trust chart: pure presentation of stored scores.

No Flask, no database: the rules are data (BADGE_RULES), so the about page states exactly the
rules the profile applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from reputation import FLAG_RING, FLAG_SYBIL, FLAG_SYBIL_PRAISE, EngineConfig

# Confidence = n_eff / (n_eff + half): n_eff is the evidence in full ratings (a rating from an
# established, fair member counts 1; returned praise counts half; new accounts count little).
# The words follow the evidence: low below 2 full ratings, medium from 2, high from 8 (for
# example 11 positives from established members, each also praised back, make about 5: medium).
CONFIDENCE_HALF = EngineConfig().confidence_half
MEDIUM_EVIDENCE = 2.0
HIGH_EVIDENCE = 8.0
MEDIUM_CONFIDENCE = MEDIUM_EVIDENCE / (MEDIUM_EVIDENCE + CONFIDENCE_HALF)
HIGH_CONFIDENCE = HIGH_EVIDENCE / (HIGH_EVIDENCE + CONFIDENCE_HALF)
NEW_MEMBER_DAYS = 30
DISQUALIFYING_FLAGS = frozenset({FLAG_SYBIL, FLAG_SYBIL_PRAISE, FLAG_RING})


def effective_ratings(confidence: float) -> float:
    """The evidence a confidence stands for, in full ratings (the inverse of the engine's)."""
    return confidence * CONFIDENCE_HALF / max(1.0 - confidence, 1e-9)


def confidence_level(confidence: float) -> str:
    """'high', 'medium' or 'low': how much evidence a trust score rests on."""
    evidence = round(effective_ratings(confidence), 6)
    if evidence >= HIGH_EVIDENCE:
        return "high"
    if evidence >= MEDIUM_EVIDENCE:
        return "medium"
    return "low"


@dataclass(frozen=True)
class RoleStanding:
    """What the badge rules look at for one role of one user."""

    ratings_12m: int
    percent_positive: float | None
    trust: float
    confidence: float
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Badge:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class BadgeRule:
    """A badge earned in one role by meeting every threshold, without a warning flag."""

    key: str
    name: str
    role: str
    min_ratings_12m: int
    min_percent_positive: float
    min_trust: float
    min_confidence: float = MEDIUM_CONFIDENCE

    @property
    def rule_text(self) -> str:
        """The rule in words, as the about page states it."""
        return (
            f"at least {self.min_ratings_12m} ratings as a {self.role} in the last 12 months, "
            f"at least {self.min_percent_positive:g}% positive, a trust score of at least "
            f"{round(self.min_trust * 100)} out of 100 with at least "
            f"{confidence_level(self.min_confidence)} confidence, and no warning about "
            "fake accounts or a ring of accounts praising each other"
        )

    def is_met(self, standing: RoleStanding | None) -> bool:
        """Whether a role standing meets every threshold of this rule."""
        return (
            standing is not None
            and standing.ratings_12m >= self.min_ratings_12m
            and standing.percent_positive is not None
            and standing.percent_positive >= self.min_percent_positive
            and standing.trust >= self.min_trust
            and standing.confidence >= self.min_confidence
            and not standing.flags & DISQUALIFYING_FLAGS
        )


BADGE_RULES: tuple[BadgeRule, ...] = (
    # Trust blends the lifetime record with recent conduct, which rests at 50 for someone who
    # has not traded lately, so the trust threshold asks for a clearly good record (65), not
    # for constant activity; 5 ratings in a year is a steady member of a small marketplace.
    BadgeRule("top_rated_seller", "Top-rated seller", "seller", 5, 98.0, 0.65),
    BadgeRule("trusted_buyer", "Trusted buyer", "buyer", 5, 98.0, 0.65),
)
NEW_MEMBER_RULE = f"the account is younger than {NEW_MEMBER_DAYS} days"


def earned_badges(roles: Mapping[str, RoleStanding], account_age_days: float) -> list[Badge]:
    """The badges a member has earned, role badges first, from their standing per role."""
    badges = [
        Badge(rule.key, rule.name, rule.rule_text[0].upper() + rule.rule_text[1:] + ".")
        for rule in BADGE_RULES
        if rule.is_met(roles.get(rule.role))
    ]
    if account_age_days < NEW_MEMBER_DAYS:
        badges.append(
            Badge("new_member", "New member", f"Joined less than {NEW_MEMBER_DAYS} days ago.")
        )
    return badges


@dataclass(frozen=True)
class TrustChart:
    """Geometry of a small line chart of trust (0-100) over days, for an inline SVG."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    points: str  # "x,y x,y ..." for <polyline>
    area: str  # closed path under the line, for a soft fill
    last_x: float
    last_y: float
    y_ticks: tuple[tuple[float, int], ...]  # (y, label)
    first_day: date
    last_day: date
    first_value: int
    last_value: int
    low_value: int
    high_value: int
    days: int


def trust_chart(
    history: Sequence[tuple[date, float]], width: int = 320, height: int = 120
) -> TrustChart | None:
    """Lay out (day, trust 0..1) points on a fixed 0-100 scale; None with fewer than 2 days."""
    if len(history) < 2:
        return None
    left, right, top, bottom = 30, 8, 8, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = history[0][0], history[-1][0]
    span = max((last - first).days, 1)

    def xy(day: date, trust: float) -> tuple[float, float]:
        x = left + plot_w * (day - first).days / span
        y = top + plot_h * (1.0 - min(max(trust, 0.0), 1.0))
        return round(x, 1), round(y, 1)

    coords = [xy(day, trust) for day, trust in history]
    points = " ".join(f"{x},{y}" for x, y in coords)
    base = top + plot_h
    area = f"M{coords[0][0]},{base} " + " ".join(f"L{x},{y}" for x, y in coords)
    area += f" L{coords[-1][0]},{base} Z"
    values = [round(trust * 100) for _day, trust in history]
    ticks = tuple((round(top + plot_h * (1 - v / 100), 1), v) for v in (0, 50, 100))
    return TrustChart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        points=points,
        area=area,
        last_x=coords[-1][0],
        last_y=coords[-1][1],
        y_ticks=ticks,
        first_day=first,
        last_day=last,
        first_value=values[0],
        last_value=values[-1],
        low_value=min(values),
        high_value=max(values),
        days=span,
    )

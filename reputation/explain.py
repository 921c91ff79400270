"""The "why this score" text, rendered from a few stored numbers (one implementation).

A full pass stores, per score, only the figures below (`Score.figures`, `ScoreColumns.figures`);
the words are rendered from them when a page or the API shows a score. So a pass over a
million ratings writes numbers, not sentences, and the text never drifts from the numbers.

The factors of a score rated directly are the steps of a chain, in this order: the plain
average of the ratings received, the same weighted by who rated, pulled towards the start by
the amount of evidence, blended with recent conduct. Each factor's impact is the difference
between consecutive steps, so `start + sum(impacts) == trust`, and each description quotes the
running score after its step in points out of 100. An overall score that is the
evidence-weighted mean of several role scores is explained by its roles instead (one role:
by that role's steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import EngineConfig
from .scores import Factor

FLAG_NEW = "new_account"
FLAG_SYBIL = "sybil_suspect"
FLAG_SYBIL_PRAISE = "praised_by_sybils"
FLAG_RING = "collusion_ring"
FLAG_NAMES = (FLAG_NEW, FLAG_SYBIL, FLAG_SYBIL_PRAISE, FLAG_RING)

# The figures of one score, in order (`Score.figures`).
FIGURES = (
    "positive",  # ratings received (not weekly units)
    "neutral",
    "negative",
    "plain",  # trust from the plain average of the ratings
    "weighted",  # ... weighted by rater credibility, sale size, reciprocity
    "lifetime",  # ... pulled towards the start by the amount of evidence
    "recent",  # the recent estimate, likewise
    "trust",
    "evidence",  # lifetime credibility-weighted ratings (n_eff)
    "recent_evidence",
    "new_raters",  # raters that are new accounts
    "reciprocal",  # 1 when returned praise was discounted
    "cluster",  # 1 when praise inside a tight circle was discounted
    "small",  # ratings for small sales
)


@dataclass(frozen=True, slots=True)
class RoleShare:
    """One role score inside an overall score: its trust, ratings and evidence."""

    role: str
    trust: float
    ratings: int
    evidence: float


def start_trust(config: EngineConfig) -> float:
    """Trust of somebody nobody has rated yet."""
    return (config.prior_goodness + 1.0) / 2.0


def points(trust: float) -> str:
    """A trust in points out of 100, as every page shows it."""
    return f"{round(float(trust) * 100)} out of 100"


def _ratings(k: int) -> str:
    return f"{k} rating{'' if k == 1 else 's'}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def explain(
    figures: Sequence[float] | None,
    config: EngineConfig,
    *,
    flags: frozenset[str] | Sequence[str] = frozenset(),
    age_days: float = 0.0,
    roles: Sequence[RoleShare] | None = None,
) -> tuple[Factor, ...]:
    """The factors of one score: from its role scores when `roles` is given, else the chain."""
    if roles:
        items = explain_roles(roles, config)
    elif figures is None or sum(figures[:3]) == 0:
        items = [
            Factor(
                "no ratings yet",
                0.0,
                f"No ratings received yet: everyone starts at {points(start_trust(config))}.",
            )
        ]
    else:
        items = explain_chain(figures, config)
    return tuple(items + notes(flags, age_days))


def explain_chain(figures: Sequence[float], config: EngineConfig) -> list[Factor]:
    """The four steps from the plain average to the trust of a directly rated score."""
    f = dict(zip(FIGURES, figures, strict=True))
    pos, neu, neg = int(f["positive"]), int(f["neutral"]), int(f["negative"])
    counted = ", ".join(
        f"{k} {word}" for k, word in ((pos, "positive"), (neu, "neutral"), (neg, "negative")) if k
    )
    items = [
        Factor(
            "ratings received",
            f["plain"] - start_trust(config),
            f"{_ratings(pos + neu + neg)} received ({counted}). Taken at face value they give "
            f"{points(f['plain'])}.",
        )
    ]
    reasons = ["established members with a fair rating record count fully"]
    new = int(f["new_raters"])
    if new:
        who = "1 rater is" if new == 1 else f"{new} raters are"
        reasons.append(f"{who} new, so they count for little")
    if f["reciprocal"]:
        reasons.append("praise given in return for praise counts half")
    if f["cluster"]:
        reasons.append("praise from a tight circle praising each other counts less")
    if f["small"]:
        reasons.append(f"{_ratings(int(f['small']))} for small sales count less")
    if round(f["weighted"] * 100) == round(f["plain"] * 100):
        # The weights moved nothing here (the ratings agree): say so rather than let "counts
        # less" stand beside a step of zero. They still decide the evidence, the next step.
        weighted = (
            f". Weighted this way they still give {points(f['weighted'])}: the ratings agree, "
            "so the weights change only how much evidence there is (next step)."
        )
    else:
        weighted = f". Weighted this way they give {points(f['weighted'])}."
    items.append(
        Factor(
            "who rated",
            f["weighted"] - f["plain"],
            "Each rating counts by how far its rater can be trusted: "
            + "; ".join(reasons)
            + weighted,
        )
    )
    evidence = f["evidence"]
    items.append(
        Factor(
            "amount of evidence",
            f["lifetime"] - f["weighted"],
            f"Together the ratings are worth {evidence:.1f} full rating"
            f"{'' if f'{evidence:.1f}' == '1.0' else 's'}. A score rests near "
            f"{points(start_trust(config))}, where everyone starts, until there is plenty of "
            f"evidence: {points(f['lifetime'])}.",
        )
    )
    if f["recent_evidence"] >= 0.05:
        recent = (
            f"the recent ratings (worth {f['recent_evidence']:.1f} full ratings) give "
            f"{points(f['recent'])}"
        )
    else:
        recent = f"with hardly any recent ratings that part rests at {points(f['recent'])}"
    items.append(
        Factor(
            "recent conduct",
            f["trust"] - f["lifetime"],
            f"{100 * config.recent_share:.0f}% of the score is about recent conduct (a rating "
            f"loses half its weight every {config.half_life_days:g} days): {recent}. Blended: "
            f"{points(f['trust'])}.",
        )
    )
    return items


def role_shares(roles: Sequence[RoleShare], config: EngineConfig) -> list[float]:
    """Each role's weight in the overall score: its evidence plus the prior's weight."""
    weights = [r.evidence + config.prior_strength for r in roles]
    total = sum(weights)
    return [w / total for w in weights]


def explain_roles(roles: Sequence[RoleShare], config: EngineConfig) -> list[Factor]:
    """An overall score that is the evidence-weighted mean of its role scores, role by role."""
    start = start_trust(config)
    items = []
    for role, share in zip(roles, role_shares(roles, config), strict=True):
        items.append(
            Factor(
                f"as {role.role}",
                share * (role.trust - start),
                f"As {_article(role.role)} {role.role}: {points(role.trust)} from "
                f"{_ratings(role.ratings)}, weighing {100 * share:.0f}% of the overall score "
                "(each role weighs by how much evidence it rests on).",
            )
        )
    return items


def notes(flags: frozenset[str] | Sequence[str], age_days: float) -> list[Factor]:
    """Warning notes (impact 0) for the flags a user carries."""
    context = {
        FLAG_NEW: f"New account ({age_days:.0f} days old): its ratings of others count for "
        "little until it is a month old.",
        FLAG_SYBIL: "Looks like a fake account: most of the accounts it dealt with are new or "
        "unknown, so its ratings of others count for almost nothing.",
        FLAG_SYBIL_PRAISE: "Much of its praise comes from accounts that look fake; that praise "
        "is ignored.",
        FLAG_RING: "Part of a tight circle of accounts praising each other; that praise counts "
        "less.",
    }
    return [Factor(name, 0.0, context[name]) for name in FLAG_NAMES if name in flags]

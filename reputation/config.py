"""Every tunable of the engine, with defaults chosen for marketplaces in general (not one file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Tunables of the reputation engine; the defaults are the documented, shipped behaviour."""

    # (a) Time: trust blends two estimates of the same credibility-weighted mean rating.
    # The lifetime one counts every rating at full weight (a fraud exposed years ago still
    # warns; a long honest record still counts); the recent one weighs each rating by
    # 0.5 ** (age / half_life_days), so it follows current conduct (on-off attacks, a seller
    # going bad). goodness = (1 - recent_share) * lifetime + recent_share * recent.
    half_life_days: float = 15.0
    recent_share: float = 0.5
    # Prior weight (in effective ratings) of the recent estimate: with no recent ratings it
    # sits at the prior, i.e. a dormant account is not vouched for by its current conduct.
    recent_prior_strength: float = 0.5
    # eBay-style windows for the counts, in days (1, 6 and 12 months).
    windows_days: tuple[int, int, int] = (30, 183, 365)

    # (c) Transaction value: weight = log1p(amount / unit) / log1p(reference / unit), clipped,
    # so a $1 sale weighs ~0.15 of a $100 one and a thousand $1 sales cannot buy a reputation.
    amount_unit_cents: int = 100
    amount_reference_cents: int = 10_000
    min_amount_weight: float = 0.05
    max_amount_weight: float = 2.0
    # Repeated ratings of one ratee by one rater count at most as this many full ratings.
    pair_weight_cap: float = 1.0

    # (d) Reciprocal praise (A+B and B+A) keeps this share of its weight. 1 = no discount:
    # in two-way feedback praise returned for praise is the normal course of a trade (and
    # prediction says discounting it loses information); rings are the cluster rule's job.
    reciprocal_discount: float = 1.0
    # A negative given back within this window after receiving one keeps this share.
    retaliation_window_days: float = 60.0
    retaliation_discount: float = 0.25
    # Mutual praise inside a dense cluster: weight / (1 + penalty * common partners * density).
    cluster_penalty: float = 0.1

    # (e) New accounts: a rater's voice grows with (age / maturity_days)^2 up to full, times
    # 1 - exp(-distinct counterparties / breadth_scale).
    maturity_days: float = 30.0
    breadth_scale: float = 2.0
    new_account_days: float = 30.0

    # (b) Credibility: REV2-style fairness / goodness with priors, and EigenTrust-style standing.
    iterations: int = 8
    # Cautious prior goodness in [-1, 1] (0 = trust 0.5) and its weight in effective ratings.
    prior_goodness: float = 0.0
    prior_strength: float = 2.0
    fairness_prior: float = 0.5
    fairness_prior_strength: float = 1.0
    # Prior weight of the consensus a rater's fairness is measured against.
    consensus_prior_strength: float = 0.25
    # Standing = 1 - exp(-vouches / standing_scale), vouches = praise weighted by the praising
    # account's maturity and standing, propagated this many rounds.
    propagation_iterations: int = 5
    standing_scale: float = 1.0
    # Share of credibility a mature, fair rater keeps even when nobody vouches for them.
    standing_floor: float = 0.5

    # Confidence = n_eff / (n_eff + confidence_half), n_eff = credibility-weighted ratings.
    confidence_half: float = 5.0

    # The recent estimate uses sign(v) * |v| ** value_power: < 1 makes a weak positive count
    # nearly as a positive (raters use the scale inconsistently; the sign predicts best);
    # 0 = the sign only.
    value_power: float = 0.0

    # Values within this band of 0 are neutral.
    neutral_band: float = 1e-9

    # Flags.
    sybil_min_counterparties: int = 3
    sybil_new_share: float = 0.6
    sybil_praise_min: int = 3
    sybil_praise_share: float = 0.3
    collusion_min_partners: int = 3
    collusion_min_clustering: float = 0.6
    collusion_min_share: float = 0.7

    def __post_init__(self) -> None:
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be > 0")
        if not 0.0 <= self.recent_share <= 1.0:
            raise ValueError("recent_share must be in [0, 1]")
        if self.recent_prior_strength <= 0 or not 0.0 <= self.value_power <= 1.0:
            raise ValueError("recent_prior_strength must be > 0 and value_power in [0, 1]")
        if not -1.0 <= self.prior_goodness <= 1.0:
            raise ValueError("prior_goodness must be in [-1, 1]")
        if self.prior_strength <= 0 or self.confidence_half <= 0:
            raise ValueError("prior_strength and confidence_half must be > 0")
        if not 0.0 <= self.reciprocal_discount <= 1.0 or not 0.0 <= self.retaliation_discount <= 1:
            raise ValueError("discounts must be in [0, 1]")
        if self.maturity_days < 0 or self.standing_scale <= 0:
            raise ValueError("maturity_days must be >= 0 and standing_scale > 0")

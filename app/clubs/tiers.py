"""Tier arithmetic of a group deal, pure: no database, no Flask.

A deal's tiers say "from N units in all, each unit costs P" (e.g. 10+ at 9.00, 25+ at 8.00,
50+ at 7.00). Everybody pays the price of the best tier the deal's total reached, so a pledge
costs at most its quantity at the first (highest) tier price. The organizer's fee is a share
of the goods in basis points (500 = 5 %), rounded half up to the cent, per pledge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

MAX_TIERS = 6
MAX_FEE_BPS = 2000  # an organizer's fee is at most 20 %


@dataclass(frozen=True, order=True)
class Tier:
    min_quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class Charge:
    """What one pledge pays: goods (quantity x unit price) + the organizer's fee + shipping."""

    unit_price_cents: int
    goods_cents: int
    fee_cents: int
    shipping_cents: int

    @property
    def amount_cents(self) -> int:
        return self.goods_cents + self.fee_cents + self.shipping_cents


def ordered(tiers: Iterable) -> list[Tier]:
    """Tiers (Tier, DealTier rows or (min, price) pairs) from the smallest quantity up."""
    out = []
    for tier in tiers:
        if isinstance(tier, tuple):
            out.append(Tier(*tier))
        else:
            out.append(Tier(tier.min_quantity, tier.unit_price_cents))
    return sorted(out)


def tier_errors(tiers: Sequence[Tier], min_quantity: int, cap: int | None) -> list[str]:
    """Why these tiers cannot make a deal (empty: they can). The first tier must start at or
    below the minimum that tips the deal (so a tipped deal always has a price); each next tier
    needs more units and a lower price; no tier above the cap."""
    errors: list[str] = []
    tiers = ordered(tiers)
    if not tiers:
        return ["Add at least one price tier."]
    if len(tiers) > MAX_TIERS:
        errors.append(f"Use at most {MAX_TIERS} price tiers.")
    if tiers[0].min_quantity > min_quantity:
        errors.append(
            f"The first tier must start at or below the minimum of {min_quantity} units, so "
            "the deal has a price when it tips."
        )
    for lower, higher in pairwise(tiers):
        if higher.min_quantity == lower.min_quantity:
            errors.append(f"Two tiers start at {lower.min_quantity} units.")
        elif higher.unit_price_cents >= lower.unit_price_cents:
            errors.append(
                f"The tier from {higher.min_quantity} units must cost less per unit than the "
                f"tier from {lower.min_quantity}."
            )
    if cap is not None and tiers[-1].min_quantity > cap:
        errors.append(f"No tier can start above the cap of {cap} units.")
    if any(tier.unit_price_cents < 1 or tier.min_quantity < 1 for tier in tiers):
        errors.append("Every tier needs a quantity of at least 1 and a price above zero.")
    return errors


def current_tier(tiers: Iterable, total: int) -> Tier | None:
    """The best tier `total` units reach (None: under the first tier)."""
    reached = [tier for tier in ordered(tiers) if tier.min_quantity <= total]
    return reached[-1] if reached else None


def price_at(tiers: Iterable, total: int) -> int | None:
    """The unit price when `total` units are pledged in all (None: no tier reached yet)."""
    tier = current_tier(tiers, total)
    return tier.unit_price_cents if tier else None


def highest_price(tiers: Iterable) -> int:
    """The most a unit can cost: the first tier's price."""
    return ordered(tiers)[0].unit_price_cents


def next_tier(tiers: Iterable, total: int) -> tuple[Tier, int] | None:
    """The next better tier above `total` and how many more units reach it (None: the best
    tier is reached)."""
    for tier in ordered(tiers):
        if tier.min_quantity > total:
            return tier, tier.min_quantity - total
    return None


def fee_of(goods_cents: int, fee_bps: int) -> int:
    """The organizer's fee on `goods_cents`, rounded half up to the cent."""
    return (goods_cents * fee_bps + 5000) // 10000


def charge_for(quantity: int, unit_price_cents: int, fee_bps: int, shipping_cents: int) -> Charge:
    goods = quantity * unit_price_cents
    return Charge(unit_price_cents, goods, fee_of(goods, fee_bps), shipping_cents)


def most_cost(quantity: int, tiers: Iterable, fee_bps: int, shipping_cents: int) -> Charge:
    """The most a pledge of `quantity` can cost: every unit at the first tier's price."""
    return charge_for(quantity, highest_price(tiers), fee_bps, shipping_cents)

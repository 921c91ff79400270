"""Tier arithmetic of group deals as properties (Hypothesis): the final price is the best tier
the total reached, pledges accepted one after another never take the total over the cap (a
refusal says exactly how many units are left), and at the deadline every pledge pays the same
unit price, never more than the most it was told it could cost."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.clubs import tiers
from app.clubs.deals import CapReached, OverMemberLimit, _check_quantity


@st.composite
def valid_tiers(draw):
    """1 to MAX_TIERS tiers: quantities strictly up, prices strictly down."""
    count = draw(st.integers(1, tiers.MAX_TIERS))
    quantities = sorted(draw(st.sets(st.integers(1, 500), min_size=count, max_size=count)))
    prices = sorted(
        draw(st.sets(st.integers(1, 100_000), min_size=count, max_size=count)), reverse=True
    )
    return [tiers.Tier(q, p) for q, p in zip(quantities, prices, strict=True)]


@st.composite
def deals(draw):
    """Valid terms: the tiers, a minimum at or above the first tier, an optional cap at or
    above the last tier and the minimum, an optional per-member limit."""
    found = draw(valid_tiers())
    minimum = draw(st.integers(found[0].min_quantity, found[0].min_quantity + 200))
    cap = draw(st.none() | st.integers(max(minimum, found[-1].min_quantity), 2000))
    limit = draw(st.none() | st.integers(1, 100))
    assert tiers.tier_errors(found, minimum, cap) == []
    return SimpleNamespace(
        tiers=found,
        min_quantity=minimum,
        cap_quantity=cap,
        member_limit=limit,
        unit="bag",
        organizer_fee_bps=draw(st.integers(0, tiers.MAX_FEE_BPS)),
        shipping_cents=draw(st.integers(0, 5000)),
    )


@given(valid_tiers(), st.integers(0, 3000))
def test_the_price_is_the_best_tier_the_total_reached(found, total):
    reached = [tier for tier in found if tier.min_quantity <= total]
    price = tiers.price_at(found, total)
    if not reached:
        assert price is None
        assert tiers.next_tier(found, total) == (found[0], found[0].min_quantity - total)
        return
    assert price == min(tier.unit_price_cents for tier in reached)
    assert price == max(reached).unit_price_cents  # the tier with the most units reached
    assert price <= tiers.highest_price(found)
    upcoming = tiers.next_tier(found, total)
    if upcoming is None:
        assert price == found[-1].unit_price_cents
    else:
        tier, more = upcoming
        assert more > 0 and tiers.price_at(found, total + more) == tier.unit_price_cents
        assert tier.unit_price_cents < price


@given(valid_tiers(), st.integers(0, 3000), st.integers(0, 3000))
def test_more_units_never_raise_the_price(found, total, extra):
    low, high = tiers.price_at(found, total), tiers.price_at(found, total + extra)
    if low is not None:
        assert high is not None and high <= low


@given(deals(), st.lists(st.integers(-3, 150), max_size=60))
def test_pledges_one_after_another_never_take_the_total_over_the_cap(deal, attempts):
    total = 0
    for quantity in attempts:
        try:
            _check_quantity(deal, quantity, others=total)
        except CapReached as refused:
            left = deal.cap_quantity - total
            assert total + quantity > deal.cap_quantity
            words = f"Only {left:,} bag" if left else "This deal is full"
            assert refused.message.startswith(words), refused.message
            continue
        except OverMemberLimit:
            assert quantity > deal.member_limit
            continue
        except Exception as refused:  # a quantity that is not one
            assert quantity < 1, refused
            continue
        total += quantity
        assert deal.cap_quantity is None or total <= deal.cap_quantity
    assert deal.cap_quantity is None or total <= deal.cap_quantity


@given(deals(), st.lists(st.integers(1, 100), min_size=1, max_size=40))
def test_at_the_deadline_every_pledge_pays_the_same_unit_price(deal, quantities):
    total = sum(quantities)
    assume(total >= deal.min_quantity)  # the deal tipped
    final = tiers.price_at(deal.tiers, total)
    assert final is not None  # the first tier starts at or below the minimum
    charges = [
        tiers.charge_for(q, final, deal.organizer_fee_bps, deal.shipping_cents) for q in quantities
    ]
    assert {charge.unit_price_cents for charge in charges} == {final}
    for quantity, charge in zip(quantities, charges, strict=True):
        most = tiers.most_cost(quantity, deal.tiers, deal.organizer_fee_bps, deal.shipping_cents)
        assert charge.goods_cents == quantity * final
        assert charge.amount_cents == charge.goods_cents + charge.fee_cents + charge.shipping_cents
        assert charge.amount_cents <= most.amount_cents
        assert 0 <= charge.fee_cents <= charge.goods_cents * tiers.MAX_FEE_BPS // 10_000 + 1


@given(st.integers(0, 10**9), st.integers(0, tiers.MAX_FEE_BPS))
def test_the_fee_is_rounded_half_up_once(goods, bps):
    fee = tiers.fee_of(goods, bps)
    assert isinstance(fee, int)
    assert abs(fee * 10_000 - goods * bps) <= 5_000


@pytest.mark.parametrize(
    ("pairs", "minimum", "cap", "words"),
    [
        ([], 10, None, "at least one"),
        ([(20, 900)], 10, None, "at or below the minimum"),
        ([(10, 900), (10, 800)], 10, None, "Two tiers start"),
        ([(10, 900), (25, 950)], 10, None, "must cost less"),
        ([(10, 900), (60, 700)], 10, 50, "above the cap"),
    ],
)
def test_tiers_that_cannot_make_a_deal_say_why(pairs, minimum, cap, words):
    assert any(words in error for error in tiers.tier_errors(tiers.ordered(pairs), minimum, cap))

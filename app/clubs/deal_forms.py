"""Forms of the group-deal pages: the draft (terms with up to tiers.MAX_TIERS price rows), a
pledge, and the buttons. They parse what people type (prices, a percent, a day and time) and
say plainly what is wrong; the services (app/clubs/deals.py) judge the rest, as for the API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.clubs import tiers as tier_math
from app.clubs.models import FULFILMENTS, PICKUP, SHIPPING
from app.money import minor_per_major, parse_money
from app.transactions.machine import MAX_NOTE_LENGTH

TIER_ROWS = tier_math.MAX_TIERS
DEADLINE_FORMAT = "%Y-%m-%dT%H:%M"
DEADLINE_HELP = "Pick a day and time (or type it as 2026-12-04T18:00)."
TITLE_MAX = 120
UNIT_MAX = 30
PLACE_MAX = 200
DESCRIPTION_MAX = 5000
FULFILMENT_CHOICES = [
    (PICKUP, "Pickup point: members collect at a place and times you give"),
    (SHIPPING, "Shipping: the supplier sends each member their share"),
]
assert [value for value, _ in FULFILMENT_CHOICES] == list(FULFILMENTS)


def tier_field_names(row: int) -> tuple[str, str]:
    """The names of a tier row's two inputs (row from 1)."""
    return f"tier{row}_quantity", f"tier{row}_price"


class DealForm(FlaskForm):
    """The organizer's draft: the product, the supplier, price tiers, quantities, the deadline,
    fulfilment and the organizer's fee. `terms()` turns it into the service's arguments."""

    title = StringField(
        "Product",
        validators=[DataRequired("Say what the club buys."), Length(max=TITLE_MAX)],
        render_kw={"maxlength": TITLE_MAX, "placeholder": "Organic oats, 1 kg bag"},
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=DESCRIPTION_MAX)],
        render_kw={"maxlength": DESCRIPTION_MAX, "rows": 4},
    )
    unit = StringField(
        "Unit",
        default="item",
        validators=[DataRequired("Name the unit members pledge: bag, kg, box."), Length(max=30)],
        render_kw={"maxlength": UNIT_MAX, "placeholder": "bag"},
    )
    supplier = StringField(
        "Supplier",
        validators=[DataRequired("Give the supplier's handle.")],
        render_kw={"maxlength": 40, "placeholder": "@handle", "autocomplete": "off"},
    )
    min_quantity = IntegerField(
        "Minimum total to tip",
        validators=[
            InputRequired("Give the total that tips the deal."),
            NumberRange(min=1, message="At least 1 unit."),
        ],
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    cap_quantity = IntegerField(
        "Cap (optional)",
        validators=[Optional(), NumberRange(min=1, message="At least 1 unit, or leave it empty.")],
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    member_limit = IntegerField(
        "Most per member (optional)",
        validators=[Optional(), NumberRange(min=1, message="At least 1 unit, or leave it empty.")],
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    deadline = StringField(
        "Pledges close (UTC)",
        validators=[DataRequired("Choose when pledges close.")],
        render_kw={"type": "datetime-local"},
    )
    fulfilment = RadioField("Fulfilment", choices=FULFILMENT_CHOICES, default=PICKUP)
    pickup_point = StringField(
        "Pickup point",
        validators=[Length(max=PLACE_MAX)],
        render_kw={"maxlength": PLACE_MAX, "placeholder": "Community hall, 12 Elm Street"},
    )
    pickup_times = StringField(
        "Pickup times",
        validators=[Length(max=PLACE_MAX)],
        render_kw={"maxlength": PLACE_MAX, "placeholder": "Saturdays 10:00-12:00"},
    )
    shipping = StringField(
        "Shipping per member", render_kw={"inputmode": "decimal", "placeholder": "0.00"}
    )
    organizer_fee = StringField(
        "Organizer's fee (%)",
        default="0",
        render_kw={"inputmode": "decimal", "placeholder": "0"},
    )

    def tier_rows(self) -> list[tuple]:
        """The tier inputs, row by row: [(quantity field, price field)]."""
        return [
            tuple(self[name] for name in tier_field_names(row)) for row in range(1, TIER_ROWS + 1)
        ]

    # -- parsing --------------------------------------------------------------------------

    def terms(self, currency: str) -> dict | None:
        """The service's keyword arguments from a validated form, or None with the reasons
        put on the fields (a price that is not one, tiers that cannot make a deal, ...)."""
        errors: dict[str, list[str]] = {}
        tiers = self._tiers(currency, errors)
        deadline = _parse_deadline(self.deadline.data, errors)
        fee_bps = _parse_percent(self.organizer_fee.data, errors)
        shipping = 0
        if self.fulfilment.data == SHIPPING and (self.shipping.data or "").strip():
            try:
                shipping = parse_money(self.shipping.data, currency)
            except ValueError as error:
                errors["shipping"] = [str(error).replace("price", "shipping cost")]
        if self.fulfilment.data == PICKUP and not (self.pickup_point.data or "").strip():
            errors["pickup_point"] = ["Say where members pick it up."]
        cap = self.cap_quantity.data
        minimum = self.min_quantity.data
        if cap is not None and minimum is not None and cap < minimum:
            errors["cap_quantity"] = [f"The cap cannot be under the minimum of {minimum}."]
        limit = self.member_limit.data
        if limit is not None and cap is not None and limit > cap:
            errors["member_limit"] = [f"No member can take more than the cap of {cap}."]
        if tiers and minimum is not None and "tier1_quantity" not in errors:
            problems = tier_math.tier_errors(tiers, minimum, cap)
            if problems:
                errors["tier1_quantity"] = problems
        if errors:
            self.put_errors(errors)
            return None
        return {
            "supplier_handle": (self.supplier.data or "").strip().lstrip("@"),
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "unit": self.unit.data.strip(),
            "currency": currency,
            "tiers": [(tier.min_quantity, tier.unit_price_cents) for tier in tiers],
            "min_quantity": minimum,
            "cap_quantity": cap,
            "member_limit": limit,
            "deadline": deadline,
            "fulfilment": self.fulfilment.data,
            "pickup_point": (self.pickup_point.data or "").strip(),
            "pickup_times": (self.pickup_times.data or "").strip(),
            "shipping_cents": shipping if self.fulfilment.data == SHIPPING else 0,
            "organizer_fee_bps": fee_bps or 0,
        }

    def _tiers(self, currency: str, errors: dict) -> list[tier_math.Tier]:
        found = []
        for row, (quantity, price) in enumerate(self.tier_rows(), start=1):
            q_text, p_text = (quantity.data or "").strip(), (price.data or "").strip()
            if not q_text and not p_text:
                continue
            q_name, p_name = tier_field_names(row)
            try:
                units = int(q_text)
                if units < 1:
                    raise ValueError
            except ValueError:
                errors[q_name] = ["A whole number of units, at least 1."]
                continue
            if not p_text:
                errors[p_name] = [f"Give the unit price from {units} units."]
                continue
            try:
                cents = parse_money(p_text, currency)
            except ValueError as error:
                errors[p_name] = [str(error)]
                continue
            if cents < 1:
                errors[p_name] = ["A price above zero."]
                continue
            found.append(tier_math.Tier(units, cents))
        if not found and not errors:
            errors["tier1_quantity"] = [
                "Add at least one price tier: from how many units, at what price."
            ]
        return found

    def put_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            if name in self:
                self[name].errors = list(self[name].errors or []) + list(messages)

    # -- filling from a deal ---------------------------------------------------------------

    @classmethod
    def from_deal(cls, deal, formdata=None) -> DealForm:
        """The edit form, filled with the draft's terms (or with what a failed post kept)."""
        form = cls(formdata=formdata)
        if formdata is not None:
            return form
        form.title.data = deal.title
        form.description.data = deal.description
        form.unit.data = deal.unit
        form.supplier.data = "@" + deal.supplier.handle
        form.min_quantity.data = deal.min_quantity
        form.cap_quantity.data = deal.cap_quantity
        form.member_limit.data = deal.member_limit
        form.deadline.data = deal.deadline.astimezone(UTC).strftime(DEADLINE_FORMAT)
        form.fulfilment.data = deal.fulfilment
        form.pickup_point.data = deal.pickup_point
        form.pickup_times.data = deal.pickup_times
        form.shipping.data = _plain_money(deal.shipping_cents, deal.currency)
        form.organizer_fee.data = percent_text(deal.organizer_fee_bps)
        for (quantity, price), tier in zip(form.tier_rows(), deal.tiers, strict=False):
            quantity.data = str(tier.min_quantity)
            price.data = _plain_money(tier.unit_price_cents, deal.currency)
        return form


for _row in range(1, TIER_ROWS + 1):
    _q, _p = tier_field_names(_row)
    setattr(
        DealForm,
        _q,
        StringField(
            f"Tier {_row}: from (units)", render_kw={"inputmode": "numeric", "maxlength": 9}
        ),
    )
    setattr(
        DealForm,
        _p,
        StringField(
            f"Tier {_row}: unit price", render_kw={"inputmode": "decimal", "maxlength": 16}
        ),
    )


def _plain_money(cents: int, currency: str) -> str:
    per = minor_per_major(currency)
    if per == 1:
        return str(cents)
    return f"{cents // per}.{cents % per:02d}"


def percent_text(bps: int) -> str:
    """500 -> "5", 250 -> "2.5", 0 -> "0"."""
    whole, rest = divmod(bps, 100)
    return str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")


def _parse_percent(text: str | None, errors: dict) -> int | None:
    cleaned = (text or "").strip().rstrip("%").strip() or "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        errors["organizer_fee"] = ["A percent, like 5 or 2.5 (0 for no fee)."]
        return None
    if not value.is_finite() or value < 0:
        errors["organizer_fee"] = ["A percent, like 5 or 2.5 (0 for no fee)."]
        return None
    bps = value * 100
    if bps != bps.to_integral_value():
        errors["organizer_fee"] = ["At most two decimal places."]
        return None
    if bps > tier_math.MAX_FEE_BPS:
        errors["organizer_fee"] = [f"At most {tier_math.MAX_FEE_BPS // 100} %."]
        return None
    return int(bps)


def _parse_deadline(text: str | None, errors: dict) -> datetime | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return None  # DataRequired said so
    for pattern in (DEADLINE_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(cleaned, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    errors["deadline"] = [DEADLINE_HELP]
    return None


class PledgeForm(FlaskForm):
    """A member's pledge, or a change to it: how many units."""

    quantity = IntegerField(
        "How many",
        validators=[
            InputRequired("How many units do you pledge?"),
            NumberRange(min=1, message="At least 1."),
        ],
        render_kw={"min": 1, "inputmode": "numeric"},
    )


class DealActionForm(FlaskForm):
    """One action button (deal or pledge); created with prefix=<action> so several share a
    page. The note's length is the engine's rule; maxlength only helps."""

    note = TextAreaField("Note (optional)", render_kw={"maxlength": MAX_NOTE_LENGTH})

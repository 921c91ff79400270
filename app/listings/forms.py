"""Listing forms: they turn text into values; the rules themselves live in services."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from app.errors import ValidationFailed
from app.listings.availability import NOTE_MAX
from app.listings.models import CONDITION_LABELS
from app.listings.offers import MAX_LOAN_DAYS, PICKUP_AREA_MAX, PICKUP_NOTES_MAX
from app.listings.services import (
    DESCRIPTION_MAX,
    OFFER_LABELS,
    QUANTITY_MAX,
    SORT_LABELS,
    TITLE_MAX,
    TITLE_REQUIRED,
    all_categories,
    availability_window,
)
from app.money import minor_per_major, parse_money

ACCEPT_IMAGES = "image/jpeg,image/png,image/webp,image/gif"


class ChoiceField(SelectField):
    """A select whose "not one of the options" error says what to do."""

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(
                "That is not one of the options; pick one from the list."
            ) from None


def _condition_choices() -> list[tuple[str, str]]:
    return [(c.value, label) for c, label in CONDITION_LABELS.items()]


def _parse_price(field, currency: str | None = None, *, amount: bool = False) -> int | None:
    """The field's text as cents, or None when empty; ValidationError with parse_money's words
    (about "an amount" rather than "a price" when `amount`)."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        return parse_money(text, currency or current_app.config["SITE_CURRENCY"])
    except ValueError as error:
        message = str(error)
        if amount:
            message = message.replace("a price", "an amount").replace("The price", "The amount")
        raise ValidationError(message) from None


def money_text(cents: int | None, currency: str) -> str:
    """Cents as a form shows them, e.g. 12.50 (empty for None)."""
    if cents is None:
        return ""
    per = minor_per_major(currency)
    major, minor = divmod(cents, per)
    return str(major) if per == 1 else f"{major}.{minor:02d}"


def _money_field(label: str, placeholder: str = "0.00") -> StringField:
    return StringField(
        label,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": placeholder},
    )


def _days_field(label: str, default: int) -> IntegerField:
    return IntegerField(
        label,
        default=default,
        validators=[Optional()],
        invalid_value_message="Enter a whole number of days, like 3.",
        render_kw={"min": 1, "max": MAX_LOAN_DAYS, "inputmode": "numeric"},
    )


def _date_field(label: str, required: str | None = None) -> DateField:
    """A date input (the browser's date picker; YYYY-MM-DD typed anywhere else)."""
    return DateField(
        label,
        validators=[InputRequired(required)] if required else [Optional()],
        format="%Y-%m-%d",
        invalid_value_message="Enter a date like 2026-12-04.",
        render_kw={"placeholder": "YYYY-MM-DD"},
    )


OFFER_CHOICES = [
    ("sale", "Sell it"),
    ("loan", "Lend it"),
    ("both", "Sell or lend it"),
]
PRICING_CHOICES = [("free", "Free"), ("fee", "For a fee")]


class ListingForm(FlaskForm):
    offer = RadioField(
        "How do you offer it?",
        default="sale",
        invalid_choice_message="Choose to sell it, lend it, or both.",
    )
    title = StringField(
        "Title",
        validators=[InputRequired(TITLE_REQUIRED)],
        render_kw={"maxlength": TITLE_MAX, "autocomplete": "off"},
    )
    description = TextAreaField("Description", render_kw={"maxlength": DESCRIPTION_MAX, "rows": 8})
    category = ChoiceField("Category", validators=[InputRequired("Choose a category.")])
    condition = ChoiceField("Condition", validators=[InputRequired("Choose a condition.")])
    price = StringField(
        "Price",
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"},
    )
    quantity = IntegerField(
        "Quantity available",
        default=1,
        validators=[Optional()],
        invalid_value_message="Enter a whole number, like 3.",
        render_kw={"min": 1, "max": QUANTITY_MAX},
    )
    # The loan terms (used when it is lent).
    pricing = RadioField(
        "What borrowing costs",
        default="free",
        invalid_choice_message="Choose free, or a fee per day.",
    )
    fee_per_day = _money_field("Fee per day")
    fee_per_week = _money_field("Weekly rate (optional)", placeholder="None")
    deposit = _money_field("Refundable deposit", placeholder="0.00")
    min_days = _days_field("Shortest loan (days)", 1)
    max_days = _days_field("Longest loan (days)", 14)
    pickup_area = StringField(
        "Pickup area",
        render_kw={"maxlength": PICKUP_AREA_MAX, "placeholder": "e.g. Northside, near the library"},
    )
    pickup_notes = TextAreaField(
        "Pickup notes (optional)", render_kw={"maxlength": PICKUP_NOTES_MAX, "rows": 3}
    )
    late_fee_per_day = _money_field("Late fee per day", placeholder="0.00")
    late_fee_cap = _money_field("Late fees at most", placeholder="The deposit")

    MONEY_TERMS = (
        ("fee_per_day", "fee_per_day_cents"),
        ("fee_per_week", "fee_per_week_cents"),
        ("deposit", "deposit_cents"),
        ("late_fee_per_day", "late_fee_per_day_cents"),
        ("late_fee_cap", "late_fee_cap_cents"),
    )

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency or current_app.config["SITE_CURRENCY"]
        self.offer.choices = list(OFFER_CHOICES)
        self.pricing.choices = list(PRICING_CHOICES)
        self.category.choices = [("", "Choose a category…")] + [
            (c.slug, c.name) for c in all_categories()
        ]
        self.condition.choices = [("", "Choose the condition…"), *_condition_choices()]
        self.price_cents: int | None = None
        self.cents: dict[str, int | None] = {}

    @property
    def sells(self) -> bool:
        return self.offer.data in ("sale", "both")

    @property
    def lends(self) -> bool:
        return self.offer.data in ("loan", "both")

    def validate(self, extra_validators=None) -> bool:
        """The fields, and what is needed for the chosen offer; the unused half is ignored."""
        super().validate(extra_validators)
        unused = [] if self.sells else [self.price, self.quantity]
        if not self.lends:
            unused += [getattr(self, name) for name, _term in self.MONEY_TERMS]
            unused += [self.min_days, self.max_days, self.pricing]
        elif self.pricing.data != "fee":  # free: the fee fields are not used
            unused += [self.fee_per_day, self.fee_per_week]
        for field in unused:
            field.errors = []
        if self.sells:
            self._require(self.price, self.price_cents, "Enter a price.")
            self._require(self.quantity, self.quantity.data, "Enter how many you have.")
        if self.lends and self.pricing.data == "fee":
            self._require(self.fee_per_day, self.cents.get("fee_per_day"), "Enter the fee per day.")
        return not any(field.errors for field in self)

    @staticmethod
    def _require(field, value, message: str) -> None:
        if value is None and not field.errors:
            field.errors = [*field.errors, message]

    def validate_price(self, field) -> None:
        self.price_cents = _parse_price(field, self.currency)

    def _money(self, field) -> None:
        self.cents[field.name] = _parse_price(field, self.currency, amount=True)

    validate_fee_per_day = validate_fee_per_week = validate_deposit = _money
    validate_late_fee_per_day = validate_late_fee_cap = _money

    def loan_terms(self) -> dict:
        """The loan terms as offers.check_terms takes them."""
        free = self.pricing.data != "fee"
        return {
            "fee_per_day_cents": 0 if free else self.cents.get("fee_per_day"),
            "fee_per_week_cents": None if free else self.cents.get("fee_per_week"),
            "deposit_cents": self.cents.get("deposit") or 0,
            "min_days": self.min_days.data if self.min_days.data is not None else 1,
            "max_days": self.max_days.data if self.max_days.data is not None else 14,
            "pickup_area": self.pickup_area.data or "",
            "pickup_notes": self.pickup_notes.data or "",
            "late_fee_per_day_cents": self.cents.get("late_fee_per_day") or 0,
            "late_fee_cap_cents": self.cents.get("late_fee_cap"),
        }

    def service_fields(self) -> dict:
        """The values as the listing services take them."""
        fields = {
            "title": self.title.data or "",
            "description": self.description.data or "",
            "category_slug": self.category.data or "",
            "condition": self.condition.data or "",
            "for_sale": self.sells,
            "loan_offer": self.loan_terms() if self.lends else None,
        }
        if self.sells:
            fields.update(price_cents=self.price_cents, quantity=self.quantity.data)
        return fields

    def show_errors(self, fields: dict[str, list[str]]) -> None:
        """Put a service's field errors under the matching inputs."""
        for name, messages in fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + list(messages)
            else:
                self.form_errors.extend(messages)


def listing_form_data(listing) -> dict:
    """A listing as the edit form shows it: money as plain text (12.50), its offer and terms."""
    currency = listing.currency
    offer = listing.loan_offer
    lent = offer is not None and offer.active
    data = {
        "offer": "both" if listing.for_sale and lent else "loan" if lent else "sale",
        "title": listing.title,
        "description": listing.description,
        "category": listing.category.slug,
        "condition": listing.condition,
        "price": money_text(listing.price_cents, currency) if listing.for_sale else "",
        "quantity": listing.quantity,
    }
    if offer is not None:
        late = offer.late_fee_per_day_cents
        data.update(
            pricing="fee" if offer.fee_per_day_cents else "free",
            fee_per_day=money_text(offer.fee_per_day_cents or None, currency),
            fee_per_week=money_text(offer.fee_per_week_cents, currency),
            deposit=money_text(offer.deposit_cents, currency),
            min_days=offer.min_days,
            max_days=offer.max_days,
            pickup_area=offer.pickup_area,
            pickup_notes=offer.pickup_notes,
            late_fee_per_day=money_text(late, currency) if late else "",
            late_fee_cap=money_text(offer.late_fee_cap_cents, currency) if late else "",
        )
    return data


class NewListingForm(ListingForm):
    photos = MultipleFileField("Photos", render_kw={"accept": ACCEPT_IMAGES})


class EditListingForm(ListingForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantity.render_kw = {"min": 0, "max": QUANTITY_MAX}


class PhotoUploadForm(FlaskForm):
    photos = MultipleFileField("Add photos", render_kw={"accept": ACCEPT_IMAGES})

    def show_errors(self, fields: dict[str, list[str]]) -> None:
        self.photos.errors = list(self.photos.errors) + fields.get("photos", [])


class BrowseForm(FlaskForm):
    """The search and filter sidebar: a GET form, so no CSRF and shareable URLs."""

    class Meta:
        csrf = False

    q = StringField("Search", render_kw={"type": "search", "placeholder": "What are you after?"})
    category = ChoiceField("Category", validators=[Optional()])
    condition = ChoiceField("Condition", validators=[Optional()])
    min_price = StringField("Min price", render_kw={"inputmode": "decimal", "placeholder": "0"})
    max_price = StringField("Max price", render_kw={"inputmode": "decimal", "placeholder": "Any"})
    sort = ChoiceField("Sort by", default="relevance", validators=[Optional()])
    offer = ChoiceField("Show", default="any", validators=[Optional()])
    available_from = _date_field("Available from")
    available_to = _date_field("Available to")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", "All categories")] + [
            (c.slug, c.name) for c in all_categories()
        ]
        self.condition.choices = [("", "Any condition"), *_condition_choices()]
        self.sort.choices = list(SORT_LABELS.items())
        self.offer.choices = list(OFFER_LABELS.items())
        self.min_price_cents: int | None = None
        self.max_price_cents: int | None = None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.dates_ok:
            try:
                availability_window(self.available_from.data, self.available_to.data)
            except ValidationFailed as error:
                for name, messages in error.fields.items():
                    field = getattr(self, name)
                    field.errors = [*field.errors, *messages]
                valid = False
        return valid

    @property
    def dates_ok(self) -> bool:
        return not (self.available_from.errors or self.available_to.errors)

    @property
    def borrowing(self) -> bool:
        """Looking for things to borrow (chosen, or implied by available dates)."""
        dates = self.dates_ok and (self.available_from.data or self.available_to.data)
        return self.offer.data == "borrow" or bool(dates)

    def validate_min_price(self, field) -> None:
        self.min_price_cents = _parse_price(field)

    def validate_max_price(self, field) -> None:
        self.max_price_cents = _parse_price(field)
        if (
            self.max_price_cents is not None
            and self.min_price_cents is not None
            and self.max_price_cents < self.min_price_cents
        ):
            self.max_price_cents = None
            raise ValidationError("The maximum is below the minimum.")

    def filters(self) -> dict:
        """search_listings arguments from the fields that are valid; invalid ones are left out."""

        def ok(field):
            return field.data if field.data and not field.errors else None

        return {
            "q": self.q.data or None,
            "category": ok(self.category),
            "condition": ok(self.condition),
            "min_price_cents": None if self.min_price.errors else self.min_price_cents,
            "max_price_cents": None if self.max_price.errors else self.max_price_cents,
            "sort": ok(self.sort) or "relevance",
            "offer": ok(self.offer) or "any",
            "available_from": self.available_from.data if self.dates_ok else None,
            "available_to": self.available_to.data if self.dates_ok else None,
        }


class QuoteForm(FlaskForm):
    """The days a borrower looks at on a listing page: a GET form, so no CSRF and no script."""

    class Meta:
        csrf = False

    start = _date_field("First day")
    end = _date_field("Last day")


class BlockoutForm(FlaskForm):
    starts_on = _date_field("First day", required="Pick the first day.")
    ends_on = _date_field("Last day", required="Pick the last day.")
    note = StringField(
        "Note (only you see it)",
        render_kw={"maxlength": NOTE_MAX, "placeholder": "e.g. camping trip"},
    )

    def show_errors(self, fields: dict[str, list[str]]) -> None:
        for name, messages in fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + list(messages)
            else:
                self.form_errors.extend(messages)

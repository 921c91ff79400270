"""Listing forms: they turn text into values; the rules themselves live in services."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from app.listings.models import CONDITION_LABELS
from app.listings.services import (
    DESCRIPTION_MAX,
    QUANTITY_MAX,
    SORT_LABELS,
    TITLE_MAX,
    TITLE_REQUIRED,
    all_categories,
)
from app.money import parse_money

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


def _parse_price(field) -> int | None:
    """The field's text as cents, or None when empty; ValidationError with parse_money's words."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        return parse_money(text, current_app.config["SITE_CURRENCY"])
    except ValueError as error:
        raise ValidationError(str(error)) from None


class ListingForm(FlaskForm):
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
        validators=[InputRequired("Enter a price.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"},
    )
    quantity = IntegerField(
        "Quantity available",
        default=1,
        validators=[InputRequired("Enter how many you have.")],
        invalid_value_message="Enter a whole number, like 3.",
        render_kw={"min": 1, "max": QUANTITY_MAX},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", "Choose a category…")] + [
            (c.slug, c.name) for c in all_categories()
        ]
        self.condition.choices = [("", "Choose the condition…"), *_condition_choices()]
        self.price_cents: int | None = None

    def validate_price(self, field) -> None:
        self.price_cents = _parse_price(field)

    def service_fields(self) -> dict:
        """The values as the listing services take them."""
        return {
            "title": self.title.data or "",
            "description": self.description.data or "",
            "category_slug": self.category.data or "",
            "condition": self.condition.data or "",
            "price_cents": self.price_cents,
            "quantity": self.quantity.data,
        }

    def show_errors(self, fields: dict[str, list[str]]) -> None:
        """Put a service's field errors under the matching inputs."""
        for name, messages in fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + list(messages)
            else:
                self.form_errors.extend(messages)


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", "All categories")] + [
            (c.slug, c.name) for c in all_categories()
        ]
        self.condition.choices = [("", "Any condition"), *_condition_choices()]
        self.sort.choices = list(SORT_LABELS.items())
        self.min_price_cents: int | None = None
        self.max_price_cents: int | None = None

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
        }

"""Forms for borrowing and for the loan page's buttons. They parse input only: the services judge
it (dates free, a code that matches, a claim within the deposit), as they do for the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from app.lending.services import DESCRIPTION_MAX, MESSAGE_MAX
from app.transactions.machine import MAX_NOTE_LENGTH

ACCEPT_IMAGES = "image/jpeg,image/png,image/webp,image/gif"

DAY_FORMAT = "Choose a day from the calendar (or type it as 2026-12-04)."

NOTE_LABELS = {
    "decline": ("Reason (optional)", "The borrower sees this on the loan page."),
    "cancel": ("Reason (optional)", "The other side sees this in the loan's history."),
    "mark_returned": (
        "Note (optional)",
        "Where and how it came back, anything the other side should know.",
    ),
    "dispute_claim": (
        "Why you dispute it (optional)",
        "A moderator reads this when deciding how the deposit is split.",
    ),
}


class RequestLoanForm(FlaskForm):
    """The listing page's borrow form: the days and a message to the lender."""

    start = DateField(
        "From",
        id="borrow-start",
        validators=[InputRequired("Pick the first day.")],
        invalid_value_message=DAY_FORMAT,
    )
    end = DateField(
        "Until (included)",
        id="borrow-end",
        validators=[InputRequired("Pick the last day.")],
        invalid_value_message=DAY_FORMAT,
    )
    message = TextAreaField(
        "Message to the lender",
        id="loan-message",
        render_kw={"maxlength": MESSAGE_MAX, "rows": 3},
    )


class LoanActionForm(FlaskForm):
    """One action button; created with prefix=<action> so several can share a page. The note's
    length is the engine's rule (the API gets the same answer); maxlength only helps."""

    note = TextAreaField("Note (optional)", render_kw={"maxlength": MAX_NOTE_LENGTH})


class ConfirmedActionForm(LoanActionForm):
    """An action that records money changing hands in person (the fee and the deposit at the
    handover, the deposit given back on return): the person ticks that it happened. The page
    writes the amounts into the label. The API call is its own confirmation."""

    confirm = BooleanField(
        "I confirm",
        validators=[DataRequired("Tick the box to confirm the money changed hands.")],
    )


class HandoverCodeForm(FlaskForm):
    """The borrower confirms the handover alone, with the code the lender shows them."""

    code = StringField(
        "The lender's handover code",
        id="handover-code",
        validators=[DataRequired("Type the code the lender shows you.")],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "maxlength": 16},
    )


class ClaimForm(FlaskForm):
    """The lender's damage claim: how much of the deposit, what happened, photos."""

    amount = StringField(
        "Amount you claim",
        id="claim-amount",
        validators=[DataRequired("Enter the amount you claim.")],
        render_kw={"inputmode": "decimal"},
    )
    description = TextAreaField(
        "What is damaged",
        id="claim-description",
        render_kw={"maxlength": DESCRIPTION_MAX, "rows": 4},
    )
    photos = MultipleFileField("Photos of the damage", render_kw={"accept": ACCEPT_IMAGES})

"""The saved-card page: a member saves the card that loans and group deals charge while they are
away (a Stripe SetupIntent confirmed in the browser), replaces or removes it; paid in person
there is no card to save. Against localstripe, never a mock."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.payments import money as payments
from app.payments.models import PaymentProfile
from app.payments.providers import get_provider
from tests.conftest import login
from tests.factories import UserFactory

pytest_plugins = ("tests.stripe_server",)


def _confirm_in_browser(user, page: str) -> str:
    """What Stripe.js does with the page's client secret: confirm the setup with a card."""
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    ref = secret.split("_secret_")[0]
    provider = get_provider()
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.user_id == user.id))
    method = provider.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2035, "cvc": "123"},
        }
    )
    provider.client.v1.payment_methods.attach(method.id, params={"customer": profile.customer_ref})
    provider.client.v1.setup_intents.confirm(ref, params={"payment_method": method.id})
    return ref


def test_the_card_page_needs_a_signed_in_member(app, client):
    response = client.get("/me/card")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_paid_in_person_there_is_no_card_to_save(app, client):
    page = login(client, UserFactory()).get("/me/card").get_data(as_text=True)
    assert "settled in person" in page
    assert "card-form" not in page


def test_a_member_saves_a_card_and_comes_back_where_they_were(stripe_app, client):
    user = UserFactory()
    login(client, user)
    page = client.get("/me/card?next=/loans").get_data(as_text=True)
    assert 'data-mode="setup"' in page and "Nothing is charged now" in page
    ref = _confirm_in_browser(user, page)

    back = client.get(f"/me/card/return?setup_intent={ref}&next=/loans")

    assert back.status_code == 303 and back.headers["Location"].endswith("/loans")
    assert payments.saved_card_of(user.id) is not None
    page = client.get("/me/card").get_data(as_text=True)
    assert "A card is saved" in page and "card-form" not in page


def test_a_setup_of_someone_else_saves_nothing(stripe_app, client, make_client):
    owner, other = UserFactory(), UserFactory()
    page = make_client(owner).get("/me/card").get_data(as_text=True)
    ref = _confirm_in_browser(owner, page)
    login(client, other)
    client.get("/me/card")  # the other member has a customer of their own

    response = client.get(f"/me/card/return?setup_intent={ref}", follow_redirects=True)

    assert "We could not find that card setup." in response.get_data(as_text=True)
    assert payments.saved_card_of(other.id) is None


def test_a_setup_that_did_not_succeed_saves_nothing(stripe_app, client):
    user = UserFactory()
    login(client, user)
    page = client.get("/me/card").get_data(as_text=True)
    ref = re.search(r'data-client-secret="([^"]+)"', page).group(1).split("_secret_")[0]

    response = client.get(f"/me/card/return?setup_intent={ref}", follow_redirects=True)

    assert "Your card was not saved." in response.get_data(as_text=True)
    assert payments.saved_card_of(user.id) is None


def test_a_member_removes_their_card(stripe_app, client):
    user = UserFactory()
    login(client, user)
    ref = _confirm_in_browser(user, client.get("/me/card").get_data(as_text=True))
    client.get(f"/me/card/return?setup_intent={ref}")
    assert payments.saved_card_of(user.id) is not None
    page = client.get("/me/card").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)

    response = client.post("/me/card/remove", data={"csrf_token": token.group(1) if token else ""})

    assert response.status_code == 303
    assert payments.saved_card_of(user.id) is None

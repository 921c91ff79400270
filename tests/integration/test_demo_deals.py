"""Demo group deals: every state of the deal machine, reached through the services and the
settlement job, with the money in the ledger agreeing."""

from __future__ import annotations

from sqlalchemy import select

from app.clubs.models import GroupDeal
from app.demo_deals import PLANS, seed_deals
from app.extensions import db
from tests.factories import UserFactory
from tests.integration.deal_support import assert_ledger_clean, make_club


def test_demo_deals_sit_in_every_state(app):
    first, _, _ = make_club(members=2, area="Elm Street hall")
    second, _, _ = make_club(members=1, name="Coffee club")
    users = [UserFactory() for _ in range(8)]
    made = seed_deals([first, second], users)
    assert made["deals"] == len(PLANS) and made["pledges"] > 10
    found = {deal.title: deal.state for deal in db.session.scalars(select(GroupDeal))}
    assert sorted(found.values()) == sorted(plan.state for plan in PLANS)
    assert {"open", "tipped", "settled", "failed", "cancelled", "completed"} <= set(found.values())
    assert_ledger_clean()

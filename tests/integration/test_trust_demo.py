"""The demo seeds through the services with the trust gates on (as the embedded default runs
it): its members meet the gates they use."""

from sqlalchemy import func, select

from app.clubs.models import Club, GroupDeal
from app.extensions import db
from app.listings.models import Listing
from app.trust import levels as trust


def test_the_demo_seeds_with_the_trust_gates_on(app):
    app.config["TRUST_GATES_ENABLED"] = True
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "12", "--listings", "40", "--trades", "60", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Listing)) >= 100
    assert db.session.scalar(select(func.count()).select_from(Club)) > 0
    assert db.session.scalar(select(func.count()).select_from(GroupDeal)) > 0
    for club in db.session.scalars(select(Club)):
        assert trust.standing(club.organizer_id).level >= trust.START_CLUB_LEVEL

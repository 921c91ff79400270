"""Demo buying clubs: several public clubs and a private one, started by the members whose
reputation earns them the privilege (app/clubs/services.py), with members who joined by each
route (open, approved requests, the invite link), co-organizers, requests still waiting for an
answer and a few words in each club's conversation. Everything goes through the club services,
so the demo obeys the rules; only the dates are moved into the past afterwards.

The deals in these clubs come from app/demo_deals.py.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.clubs import services as clubs
from app.clubs.models import Club, ClubMember
from app.db import utcnow
from app.extensions import db
from app.messaging import services as messaging

# name, area, what it buys, visibility, join policy
CLUBS = [
    (
        "Northgate coffee circle",
        "Northgate",
        "Freshly roasted beans straight from a small roaster: one order every three weeks, "
        "ground or whole. New members are approved so the roaster knows how much to roast.",
        "public",
        "approval",
    ),
    (
        "Riverside bulk pantry",
        "Riverside, pickup at the old mill",
        "Oats, flour, rice and lentils in 25 kg sacks from the mill up the river, split into "
        "family-sized bags. We buy once a month.",
        "public",
        "open",
    ),
    (
        "Old Town garden growers",
        "Old Town allotments",
        "Seeds, compost, bark mulch and the odd tool, bought by the pallet in spring and autumn.",
        "public",
        "open",
    ),
    (
        "Makers' filament club",
        "Harbour makerspace",
        "3D printer filament and resin by the case: PLA, PETG and TPU in the colours members "
        "vote for.",
        "public",
        "approval",
    ),
    (
        "Harbour family co-op",
        "Harbour",
        "Nappies, wipes and baby food by the case for the families of Harbour Street. Private: "
        "ask a member for the invite link.",
        "private",
        "invite",
    ),
]

REQUEST_MESSAGES = [
    "We just moved here and would love to join.",
    "I buy this every month anyway, happy to help with pickups.",
    "A friend in the club told me about it.",
    "",
]

CHATTER = [
    "Hello everyone! Glad to be in.",
    "Could we try a bigger order next time? The 50-unit tier would save us all a bit.",
    "I can help at the pickup on Saturday morning.",
    "Thanks for organizing, the last batch was great.",
]


def seed_clubs(people: list[User], rng: random.Random) -> dict[str, int]:
    """Clubs with members, requests and conversations, organized by the members who meet the
    rule for starting one. Returns how many clubs and memberships were made."""
    able = [person for person in people if clubs.club_privilege(person.id).is_met]
    if not able or len(people) < 4:
        return {"clubs": 0, "club members": 0}
    # Alice (the member the README signs in as) organizes the first, which approves its
    # members, when she qualifies: requests wait for her answer.
    able.sort(key=lambda person: person.id != people[0].id)
    made = members = 0
    now = utcnow()
    for n, (name, area, description, visibility, policy) in enumerate(CLUBS):
        owner = able[n % len(able)]
        club = clubs.create_club(
            owner.id,
            name=name,
            description=description,
            area=area,
            visibility=visibility,
            join_policy=policy,
        )
        made += 1
        others = [person for person in people if person.id != owner.id]
        rng.shuffle(others)
        asking = 2 if policy == "approval" else 0  # requests left for the organizer
        room = max(len(others) - asking, 1)
        joining = others[: rng.randint(min(4, room), min(12, room))]
        waiting = others[len(joining) : len(joining) + asking]
        for person in joining:
            if policy == "open":
                clubs.join_club(club.id, person.id)
            elif policy == "approval":
                clubs.join_club(club.id, person.id, message=rng.choice(REQUEST_MESSAGES))
                clubs.member_action(club.id, owner.id, person.id, "approve")
            else:
                clubs.join_club(club.id, person.id, invite_token=club.invite_token)
            members += 1
        if len(joining) >= 3:
            clubs.member_action(club.id, owner.id, joining[0].id, "promote")
        for person in waiting:
            clubs.join_club(club.id, person.id, message=rng.choice(REQUEST_MESSAGES))
        talkers = [owner, *joining[:3]]
        for text, person in zip(CHATTER, talkers, strict=False):
            messaging.send_message("club", club.id, person.id, text)
        _date_back(club, now - timedelta(days=rng.randint(40, 160)), now, rng)
    return {"clubs": made, "club members": members}


def _date_back(club: Club, started, now, rng: random.Random) -> None:
    """Move the club's start and its members' joining into the past (in order)."""
    club.created_at = started
    places = db.session.scalars(select(ClubMember).where(ClubMember.club_id == club.id))
    for place in places:
        if place.role == "organizer":
            place.joined_at = started
        elif place.joined_at is not None:
            place.joined_at = started + (now - started) * rng.uniform(0.05, 0.9)
        if place.requested_at is not None and place.status == "pending":
            place.requested_at = now - timedelta(hours=rng.randint(2, 60))
    db.session.commit()

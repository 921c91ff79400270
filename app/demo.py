"""Demo data: a living marketplace made locally (pictures drawn with Pillow, no downloads).

Everything goes through the same services people use, so demo data obeys every rule; only the
timestamps are moved into the past afterwards, so the marketplace looks lived in.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.clubs.models import Club
from app.db import utcnow
from app.demo_clubs import seed_clubs
from app.demo_deals import seed_deals
from app.demo_lending import seed_lending
from app.demo_moderation import seed_moderation
from app.demo_pictures import picture
from app.extensions import db
from app.listings import services as listing_services
from app.listings.models import Listing
from app.messaging import services as messaging
from app.messaging.models import Conversation, Message
from app.orders import services as orders
from app.orders.conversation import KIND as ORDER
from app.orders.models import Order
from app.reviews import services as reviews
from app.trust import levels as trust

DEMO_PASSWORD = "demo-password"

PEOPLE = [
    ("alice", "Alice Martin"),
    ("bob", "Bob Okafor"),
    ("carmen", "Carmen Ruiz"),
    ("dmitri", "Dmitri Volkov"),
    ("esther", "Esther Cohen"),
    ("farid", "Farid Haddad"),
    ("grace", "Grace Lee"),
    ("hugo", "Hugo Laurent"),
    ("ines", "Inês Costa"),
    ("jamal", "Jamal Carter"),
    ("kaito", "Kaito Tanaka"),
    ("lena", "Lena Fischer"),
    ("mateo", "Mateo Rossi"),
    ("nadia", "Nadia Benali"),
    ("oscar", "Oscar Nilsson"),
    ("priya", "Priya Sharma"),
    ("quentin", "Quentin Dubois"),
    ("rosa", "Rosa Jiménez"),
    ("sam", "Sam Taylor"),
    ("tove", "Tove Berg"),
    ("umar", "Umar Farooq"),
    ("vera", "Vera Novak"),
    ("wen", "Wen Zhang"),
    ("xavier", "Xavier Moreau"),
    ("yara", "Yara Haddad"),
    ("zoe", "Zoe Walsh"),
    ("arjun", "Arjun Mehta"),
    ("bea", "Beatriz Santos"),
    ("chen", "Chen Wei"),
    ("dara", "Dara Murphy"),
    ("elif", "Elif Demir"),
    ("femi", "Femi Adeyemi"),
    ("greta", "Greta Holm"),
    ("hana", "Hana Novak"),
    ("ivan", "Ivan Petrov"),
    ("julia", "Julia Weber"),
    ("kofi", "Kofi Mensah"),
    ("lucia", "Lucía Romero"),
    ("milan", "Milan Horvat"),
    ("noor", "Noor Khalil"),
    ("olga", "Olga Ivanova"),
    ("pablo", "Pablo Ortiz"),
    ("rania", "Rania Aziz"),
    ("soren", "Søren Dahl"),
    ("tariq", "Tariq Aziz"),
    ("ugo", "Ugo Bianchi"),
    ("valeria", "Valeria Ruiz"),
    ("wiktor", "Wiktor Nowak"),
    ("yusuf", "Yusuf Demir"),
    ("zainab", "Zainab Bello"),
]
PLACES = [
    "Riverside",
    "Old Town",
    "Northgate",
    "Harbour",
    "Hillcrest",
    "Market Square",
    "West End",
    "Lakeside",
    "University",
    "Station Quarter",
]

# category -> (title, drawing in app/demo_pictures.py, what the seller says about it, can post)
ITEMS: dict[str, list[tuple[str, str, str, bool]]] = {
    "electronics": [
        ("Bluetooth speaker", "speaker", "Twelve hours on a charge; the cable is included.", True),
        ("Over-ear headphones", "headphones", "Closed back, folding, with the carry case.", True),
        ("35 mm film camera", "camera", "Manual focus with a 50 mm lens; the meter works.", True),
        ("Belt-drive turntable", "turntable", "Plays 33 and 45; comes with a new belt.", False),
        ("Mechanical keyboard", "keyboard", "Full size, quiet switches, USB-C cable.", True),
    ],
    "home-garden": [
        ("Bedside reading lamp", "lamp", "Linen shade, warm LED bulb included.", False),
        ("Cast-iron skillet", "skillet", "26 cm, seasoned and ready to cook.", True),
        ("Oak side table", "side_table", "Solid oak with one drawer, 45 x 35 cm.", False),
        ("Herb planter set", "planter", "Three glazed pots; the herbs are not included.", False),
        ("Set of four mugs", "mug", "Stoneware, dishwasher safe.", True),
        ("Kitchen chair", "chair", "Beech frame, painted seat; very steady.", False),
    ],
    "fashion": [
        ("Denim jacket", "jacket", "Size M, brass buttons, two chest pockets.", True),
        ("Leather boots", "boots", "Size 41, resoled last winter.", True),
        ("Canvas backpack", "backpack", "25 litres with a padded laptop sleeve.", True),
        ("Wool scarf", "scarf", "Striped lambswool, 180 cm long.", True),
    ],
    "books-media": [
        ("Sci-fi paperbacks", "books", "Five classics, read once each.", True),
        (
            "Cookbook collection",
            "books",
            "Four hardbacks: baking, curry, Italian, vegetables.",
            True,
        ),
        (
            "Vinyl record box",
            "records",
            "About thirty LPs, jazz and soul, in a wooden crate.",
            False,
        ),
    ],
    "sports-outdoors": [
        ("Two-person tent", "tent", "Pitches in ten minutes; pegs and bag included.", True),
        ("Tennis racket", "racket", "Grip size 2, fresh strings.", True),
        ("Bike helmet", "helmet", "Size M (54-58 cm), adjustable dial.", True),
        ("Yoga mat", "yoga_mat", "6 mm, non-slip, with a carry strap.", True),
    ],
    "toys-games": [
        ("Wooden chess set", "chess", "Folding board; every piece is there.", True),
        ("Building blocks", "blocks", "Sixty painted wooden blocks in a bag.", True),
        ("Diamond kite", "kite", "Ripstop nylon with 30 m of line.", True),
        ("Wooden train set", "train", "Engine, wagon and a loop of track.", True),
    ],
    "tools": [
        ("Cordless drill", "drill", "18 V with two batteries and the charger.", True),
        ("Aluminium step ladder", "ladder", "Five steps, folds flat.", False),
        ("Metal toolbox", "toolbox", "With spanners, screwdrivers and pliers.", False),
    ],
    "collectibles": [
        ("Ceramic vase", "vase", "Hand-thrown, 30 cm tall.", False),
        ("Brass compass", "compass", "Pocket size, on a chain.", True),
        ("Framed art print", "art_print", "Mountain print, 40 x 50 cm, glass front.", False),
        ("Desk globe", "globe", "30 cm, on a wooden stand.", False),
    ],
    "vehicles-parts": [
        ("City bike", "bike", "Seven gears, mudguards and a rack; 54 cm frame.", False),
        ("Bike lights set", "bike_light", "Front and rear, USB rechargeable.", True),
        ("Car roof box", "roof_box", "400 litres, both keys, fits most roof bars.", False),
        ("Floor bike pump", "pump", "With a gauge; fits both valve types.", True),
    ],
    "other": [
        ("Sewing machine", "sewing_machine", "Straight and zigzag stitch, with the pedal.", False),
        ("Portable typewriter", "typewriter", "In its carry case, with a spare ribbon.", True),
        ("Picnic basket", "basket", "Wicker, for four, plates and cutlery inside.", False),
        ("Large umbrella", "umbrella", "Wind-proof, 120 cm across.", True),
    ],
}
# How a condition is said in the title (sometimes) and in the description (always).
CONDITION_WORDS: dict[str, tuple[list[str], list[str]]] = {
    "new": (["Brand new", "Unused"], ["Never used, still in its box.", "New, an unopened gift."]),
    "like_new": (
        ["Nearly new", "Barely used"],
        ["Used a handful of times, no marks.", "Like new: no scratches, works perfectly."],
    ),
    "good": (
        ["Well kept"],
        ["Normal signs of use; works perfectly.", "A few light marks, nothing that matters."],
    ),
    "fair": (
        ["Well used"],
        ["Visible wear (see the photo), but it works.", "Scuffed here and there; fully working."],
    ),
    "for_parts": (
        [],
        ["Sold for parts or repair: it does not work as it is.", "Needs repair; sold as seen."],
    ),
}
CONDITION_WEIGHTS = {"new": 8, "like_new": 22, "good": 42, "fair": 20, "for_parts": 8}
# What each thing costs new, in whole currency units; a listing asks a share of it.
NEW_PRICE = {
    "Bluetooth speaker": 80,
    "Over-ear headphones": 180,
    "35 mm film camera": 220,
    "Belt-drive turntable": 250,
    "Mechanical keyboard": 120,
    "Bedside reading lamp": 45,
    "Cast-iron skillet": 50,
    "Oak side table": 160,
    "Herb planter set": 35,
    "Set of four mugs": 30,
    "Kitchen chair": 70,
    "Denim jacket": 90,
    "Leather boots": 160,
    "Canvas backpack": 70,
    "Wool scarf": 40,
    "Sci-fi paperbacks": 45,
    "Cookbook collection": 90,
    "Vinyl record box": 300,
    "Two-person tent": 200,
    "Tennis racket": 130,
    "Bike helmet": 60,
    "Yoga mat": 35,
    "Wooden chess set": 60,
    "Building blocks": 40,
    "Diamond kite": 30,
    "Wooden train set": 55,
    "Cordless drill": 140,
    "Aluminium step ladder": 90,
    "Metal toolbox": 110,
    "Ceramic vase": 65,
    "Brass compass": 45,
    "Framed art print": 80,
    "Desk globe": 70,
    "City bike": 450,
    "Bike lights set": 35,
    "Car roof box": 380,
    "Floor bike pump": 40,
    "Sewing machine": 240,
    "Portable typewriter": 150,
    "Picnic basket": 75,
    "Large umbrella": 35,
}
PRICE_FACTOR = {"new": 1.0, "like_new": 0.85, "good": 0.7, "fair": 0.5, "for_parts": 0.25}
PALETTE = [
    "#0f766e",
    "#1d4ed8",
    "#b45309",
    "#7c3aed",
    "#be123c",
    "#15803d",
    "#0e7490",
    "#a16207",
    "#4338ca",
    "#9f1239",
]
CLOSINGS = [
    "Smoke-free home.",
    "Ask me anything.",
    "Happy to send more photos.",
    "Moving out, so it has to go.",
    "Evenings and weekends suit me best.",
    "",
]

BUYER_OPENERS = [
    "Hi! Is this still available? I can pay today.",
    "Hello, could I pick it up on Saturday morning?",
    "Hi, does it come with everything shown in the photo?",
    "Great price. Would after work on Thursday suit you?",
    "Hi! I'm nearby. When could I come by?",
    "Hello, could you post it this week?",
    "Hi, just bought it. How would you like to do the hand-over?",
]
SELLER_REPLIES = [
    "Yes, still here. Thanks for buying!",
    "Saturday morning works. I'm in {place}; I'll send the address.",
    "Everything in the photo is included.",
    "Thursday after six is fine.",
    "Thanks! I can post it tomorrow.",
    "Sure, any evening this week works for me.",
]
FOLLOW_UPS = ["Perfect, see you then.", "Great, thanks!", "Thanks, that's very kind.", "", ""]
SHIP_NOTES = [
    "Posted with tracked delivery, tracking {code}.",
    "Handed over in person in {place}.",
    "Sent by courier, tracking {code}.",
    "Collected from my door in {place}.",
]
CANCEL_NOTES = [
    "Found one closer to home.",
    "Sorry, I ordered by mistake.",
    "Plans changed; I no longer need it.",
]
FEEDBACK_TEXT = {
    "positive": [
        "Smooth trade, thank you!",
        "Exactly as described. Would buy again.",
        "Quick and friendly.",
        "Great communication, fast hand-over.",
        "Paid promptly, easy to deal with.",
        "Well packed and arrived fast.",
        "Lovely person to deal with.",
        "On time and just as agreed.",
        "",
    ],
    "neutral": ["Fine in the end, a bit slow to reply.", "Item OK, took a while to ship."],
    "negative": ["Item was not as described.", "Never answered my messages for a week."],
}

# The first members are regulars: old accounts that trade a lot, so their ratings are many,
# recent and from credible members, and their scores rest on high confidence.
REGULARS = 4
REGULAR_WEIGHT = 40

STATE_COLUMNS = {
    "paid": "paid_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


def _age_order(order_id: int, start: datetime, last_step: datetime) -> None:
    """Date what the steps did not: the order's start and its messages (read within the hour; on
    an open order the last one may still be waiting)."""
    order = db.session.get(Order, order_id)
    order.created_at = start
    order.updated_at = last_step
    conversation = db.session.scalar(
        select(Conversation).where(
            Conversation.subject_kind == ORDER, Conversation.subject_id == order_id
        )
    )
    if conversation is not None:
        conversation.created_at = start
        messages = list(
            db.session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )
        for n, message in enumerate(messages):
            message.created_at = start + timedelta(minutes=5 + 40 * n)
        conversation.last_message_at = messages[-1].created_at if messages else start
        order.updated_at = max(last_step, conversation.last_message_at)
        is_open = order.state not in ("completed", "cancelled")
        for person in conversation.participants:
            person.joined_at = start
            seen = [
                m
                for n, m in enumerate(messages)
                if m.sender_id == person.user_id or not (is_open and n == len(messages) - 1)
            ]
            if seen:
                person.last_read_message_id = seen[-1].id
                person.last_read_at = seen[-1].created_at + timedelta(minutes=30)
    db.session.commit()


def _listing_text(
    thing: str, blurb: str, condition: str, place: str, can_post: bool, rng: random.Random
) -> tuple[str, str]:
    """A title and description that agree with the condition and the seller's location."""
    title_words, lines = CONDITION_WORDS[condition]
    if condition == "for_parts":
        title = f"{thing} (for parts)"
    elif title_words and rng.random() < 0.5:
        title = f"{rng.choice(title_words)} {thing[0].lower()}{thing[1:]}"
    else:
        title = thing
    hand_over = f"Pick-up in {place}" + (" or I can post it." if can_post else ".")
    closing = rng.choice(CLOSINGS)
    description = f"{blurb} {rng.choice(lines)}\n\n{hand_over}" + (f" {closing}" if closing else "")
    return title, description


def _make_listing(seller: User, slug: str, n: int, rng: random.Random) -> tuple[Listing, str]:
    """A listing of one of the category's things, with its picture; and which thing it is.

    A seller whose trust level caps prices (app/trust/levels.py) picks something under
    the ceiling, as a newcomer does, or else asks the most the ceiling allows.
    """
    ceiling = trust.price_ceiling_cents(seller.id)
    for _attempt in range(8):
        thing, drawing, blurb, can_post = rng.choice(ITEMS[slug])
        condition = rng.choices(list(CONDITION_WEIGHTS), list(CONDITION_WEIGHTS.values()))[0]
        title, description = _listing_text(
            thing, blurb, condition, seller.location or "town", can_post, rng
        )
        price = NEW_PRICE[thing] * PRICE_FACTOR[condition] * rng.uniform(0.6, 1.0)
        price_cents = max(2, round(price)) * 100 + rng.choice([0, 0, 0, 50])
        if ceiling is None or price_cents <= ceiling:
            break
    if ceiling is not None:
        price_cents = min(price_cents, ceiling)
    listing = listing_services.create_listing(
        seller.id,
        title=title,
        description=description,
        category_slug=slug,
        condition=condition,
        price_cents=price_cents,
        quantity=rng.choice([1, 1, 1, 2, 3]),
    )
    listing_services.add_photo(listing.id, seller.id, picture(drawing, PALETTE[n % 10], rng))
    return listing, thing


def _trade(
    listing: Listing, buyer: User, plan: str, rng: random.Random, busy_sellers: set[int]
) -> int:
    """One order on `listing`, taken as far as `plan`, with a short varied exchange of messages;
    returns how much feedback was left."""
    # Finished trades spread over the past three months, so reputations have a recent history.
    if plan != "completed":
        days_ago = rng.uniform(0.2, 3)
    else:
        days_ago = rng.uniform(2, 30) if rng.random() < 0.2 else rng.uniform(31, 100)
    order = orders.place_order(buyer.id, listing.id, 1)
    # Each step some hours after the previous one, the last one still in the past; the steps are
    # taken at those times, so the timeline, the ledger and the notifications agree.
    start = utcnow() - timedelta(days=days_ago)
    step_hours = min(30.0, days_ago * 24 / 5)
    clock = [start]

    def later() -> datetime:
        clock[0] += timedelta(hours=rng.uniform(0.3, 1.0) * step_hours)
        return clock[0]

    seller_id = listing.seller_id
    place = listing.seller.location or "town"
    messaging.send_message(ORDER, order.id, buyer.id, rng.choice(BUYER_OPENERS))
    messaging.send_message(
        ORDER, order.id, seller_id, rng.choice(SELLER_REPLIES).format(place=place)
    )
    follow_up = rng.choice(FOLLOW_UPS)
    if follow_up:
        messaging.send_message(ORDER, order.id, buyer.id, follow_up)
    if plan == "cancelled":
        orders.transition(order.id, "cancel", buyer.id, note=rng.choice(CANCEL_NOTES), now=later())
    if plan in ("paid", "shipped", "completed"):
        orders.transition(order.id, "mark_paid", seller_id, now=later())
    if plan in ("shipped", "completed"):
        code = f"1Z{rng.randrange(10**8):08d}"
        note = rng.choice(SHIP_NOTES).format(code=code, place=place)
        orders.transition(order.id, "ship", seller_id, note=note, now=later())
    left = 0
    if plan == "completed":
        orders.transition(order.id, "confirm_delivery", buyer.id, now=later())
        # Busy sellers rate their recent buyers back, older ones not always (that feedback was
        # revealed when its window closed).
        is_recent = days_ago < current_app.config["FEEDBACK_WINDOW_DAYS"] + 1
        rates_back = is_recent or rng.random() < (0.2 if seller_id in busy_sellers else 0.9)
        for author in (buyer.id, seller_id) if rates_back else (buyer.id,):
            rating = rng.choices(["positive", "neutral", "negative"], [92, 5, 3])[0]
            reviews.leave_feedback(
                order.id,
                author,
                rating,
                comment=rng.choice(FEEDBACK_TEXT[rating]),
                communication=rng.choice([None, 4, 5, 5]),
                now=min(clock[0] + timedelta(hours=rng.uniform(2, 30)), utcnow()),
            )
            left += 1
    _age_order(order.id, start, clock[0])
    return left


def seed_demo(
    users: int = 50, listings: int = 200, seed: int = 7, trades: int = 320
) -> dict[str, int]:
    """Members, `listings` listings with pictures (some offered for loan), open orders in every
    state, `trades` finished and rated trades on items since sold, most of them by a few
    regulars, and loans in every state (app/demo_lending.py)."""
    rng = random.Random(seed)
    people: list[User] = []
    existing = set(db.session.scalars(select(User.handle)))
    # Argon2 is slow on purpose (about half a second here): every member shares the demo
    # password, so it is hashed once.
    demo_hash = hash_password(DEMO_PASSWORD)
    for i in range(users):
        handle, name = PEOPLE[i % len(PEOPLE)]
        if i >= len(PEOPLE):
            handle = f"{handle}{i}"
        if handle in existing:
            known = db.session.scalar(select(User).where(User.handle == handle))
            if not known.is_restricted:  # a member the demo suspended sits this run out
                people.append(known)
            continue
        user = accounts.register(
            f"{handle}@example.com",
            handle,
            DEMO_PASSWORD,
            email_confirmed=True,
            password_hash=demo_hash,
        )
        place = rng.choice(PLACES)
        accounts.update_profile(
            user.id,
            display_name=name,
            location=place,
            bio=f"{name.split()[0]} trades around {place}. Happy to meet in person.",
        )
        days = rng.randint(400, 900) if i < REGULARS else rng.randint(200, 700)
        user.created_at = utcnow() - timedelta(days=days)
        db.session.commit()
        people.append(user)
    if len(people) < 2:
        raise ValueError("The demo needs at least two members.")
    regulars = people[: min(REGULARS, len(people) // 2)]
    weights = [REGULAR_WEIGHT if person in regulars else 1 for person in people]
    slugs = list(ITEMS)

    busy = {person.id for person in regulars}
    # Each seller's buyers come round in a shuffled cycle: many different people rate them.
    next_buyers: dict[int, list[User]] = {}

    def buyer_for(seller: User) -> User:
        if not next_buyers.get(seller.id):
            cycle = [p for p in people if p.id != seller.id]
            rng.shuffle(cycle)
            next_buyers[seller.id] = cycle
        return next_buyers[seller.id].pop()

    # History: items sold and rated, most by the regulars, to buyers all over town.
    feedback_count = 0
    for n in range(trades):
        seller = rng.choices(people, weights)[0]
        sold, _thing = _make_listing(seller, slugs[n % len(slugs)], n, rng)
        sold.quantity = 1  # sold out by the trade: history, not stock
        db.session.commit()
        feedback_count += _trade(sold, buyer_for(seller), "completed", rng, busy)
        sold.created_at = db.session.get(Order, _last_order_id(sold.id)).created_at - timedelta(
            days=rng.uniform(1, 20)
        )
        db.session.commit()

    made_things = []
    for n in range(listings):
        listing, thing = _make_listing(
            rng.choices(people, weights)[0], slugs[n % len(slugs)], n, rng
        )
        # Listed over the last two months (dated as it is made, so a seller's daily allowance
        # of new listings counts the listings of that day).
        listing.created_at = utcnow() - timedelta(hours=rng.randint(1, 24 * 60))
        db.session.commit()
        made_things.append((listing, thing))
    made = [listing for listing, _thing in made_things]

    order_count = trades
    open_plans = ["pending_payment"] * 6 + ["paid"] * 6 + ["shipped"] * 6 + ["cancelled"] * 4
    for plan in open_plans:
        listing = rng.choice(made)
        db.session.refresh(listing)
        if not listing.is_buyable:
            continue
        buyer = rng.choice([p for p in people if p.id != listing.seller_id])
        _trade(listing, buyer, plan, rng, busy)
        order_count += 1
    # Lending: some listings offered for loan, and loans in every state of the machine.
    drawings = {thing: drawing for items in ITEMS.values() for thing, drawing, *_rest in items}
    lent = seed_lending(people, made_things, rng, drawings)
    from app.reviews.reputation import backfill_history, recompute_all

    reviews.reveal_expired(utcnow())  # one-sided feedback whose window has closed
    backfill_history(days=180)
    recompute_all()
    # Clubs after the reputation pass: starting one is a privilege earned through ratings.
    club_counts = seed_clubs(people, rng)
    # Group deals in every state in those clubs (the manual provider: paid in person at pickup).
    deal_counts = seed_deals(list(db.session.scalars(select(Club).order_by(Club.id))), people)
    # Last: moderators, reports and the public moderation log (app/demo_moderation.py).
    moderation_counts = seed_moderation(people)
    return {
        "users": len(people),
        "listings": len(made),
        "sold": trades,
        "orders": order_count,
        "feedback": feedback_count,
        "offered for loan": lent["lendable"],
        "loans": lent["loans"],
        **club_counts,
        **deal_counts,
        **moderation_counts,
    }


def _last_order_id(listing_id: int) -> int:
    return db.session.scalar(select(func.max(Order.id)).where(Order.listing_id == listing_id))

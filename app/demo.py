"""Demo data: a living marketplace made locally (pictures drawn with Pillow, no downloads).

Everything goes through the same services people use, so demo data obeys every rule; only the
timestamps are moved into the past afterwards, so the marketplace looks lived in.
"""

from __future__ import annotations

import io
import random
from datetime import timedelta

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts import services as accounts
from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from app.listings import services as listing_services
from app.listings.models import Condition, Listing
from app.messaging import services as messaging
from app.messaging.models import Conversation, Message
from app.orders import services as orders
from app.orders.conversation import KIND as ORDER
from app.orders.models import Order, OrderEvent
from app.reviews import services as reviews
from app.reviews.models import Feedback

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

ITEMS = {
    "electronics": [
        "Bluetooth speaker",
        "Mechanical keyboard",
        "Noise-cancelling headphones",
        "27-inch monitor",
        "Film camera",
        "E-reader",
        "Turntable",
        "Mesh Wi-Fi kit",
    ],
    "home-garden": [
        "Cast-iron skillet",
        "Linen curtains",
        "Oak side table",
        "Espresso machine",
        "Herb planter set",
        "Reading lamp",
        "Wool rug",
        "Pressure cooker",
    ],
    "fashion": [
        "Denim jacket",
        "Leather boots",
        "Merino sweater",
        "Rain coat",
        "Canvas backpack",
        "Silk scarf",
        "Trail sneakers",
        "Wool coat",
    ],
    "books-media": [
        "Vinyl record box",
        "Cookbook collection",
        "Graphic novel set",
        "Board game guide",
        "Sci-fi paperbacks",
        "Atlas of the world",
        "Poetry anthology",
        "Jazz CD collection",
    ],
    "sports-outdoors": [
        "Road bike helmet",
        "Camping tent",
        "Climbing shoes",
        "Yoga mat",
        "Kayak paddle",
        "Trekking poles",
        "Tennis racket",
        "Sleeping bag",
    ],
    "toys-games": [
        "Wooden train set",
        "Strategy board game",
        "Building blocks",
        "Puzzle 1000",
        "Doll house",
        "Kite",
        "Chess set",
        "Card game bundle",
    ],
    "tools": [
        "Cordless drill",
        "Socket set",
        "Workbench",
        "Laser level",
        "Jigsaw",
        "Hand plane",
        "Ladder",
        "Tool chest",
    ],
    "collectibles": [
        "Vintage postcards",
        "Enamel pins",
        "Art print",
        "Coin album",
        "Ceramic vase",
        "Film poster",
        "Stamp collection",
        "Brass compass",
    ],
    "vehicles-parts": [
        "Bike lights",
        "City bike",
        "Bike rack",
        "Panniers",
        "Child bike seat",
        "Car roof box",
        "Bike pump",
        "Snow chains",
    ],
    "other": [
        "Sewing machine",
        "Typewriter",
        "Aquarium",
        "Picnic basket",
        "Globe",
        "Umbrella stand",
        "Bird feeder",
        "Fondue set",
    ],
}
ADJECTIVES = [
    "Lightly used",
    "Nearly new",
    "Well loved",
    "Classic",
    "Sturdy",
    "Compact",
    "Vintage",
    "Spare",
    "Barely used",
    "Handy",
]
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

FEEDBACK_TEXT = {
    "positive": [
        "Smooth trade, thank you!",
        "Exactly as described. Would buy again.",
        "Quick and friendly.",
        "Great communication, fast hand-over.",
        "Paid promptly, easy to deal with.",
    ],
    "neutral": ["Fine in the end, a bit slow to reply.", "Item OK, took a while to ship."],
    "negative": ["Item was not as described.", "Never answered my messages for a week."],
}


def _picture(title: str, color: str, rng: random.Random) -> FileStorage:
    """An 800x600 JPEG with a soft background, a shape and the item's name."""
    image = Image.new("RGB", (800, 600), color)
    draw = ImageDraw.Draw(image)
    for i in range(12):
        shade = 255 - i * 6
        draw.rectangle([0, i * 50, 800, i * 50 + 50], fill=_mix(color, shade))
    cx, cy, r = 400 + rng.randint(-80, 80), 250 + rng.randint(-40, 40), rng.randint(90, 140)
    if rng.random() < 0.5:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill="#ffffff", outline=color, width=10)
    else:
        draw.rounded_rectangle(
            [cx - r, cy - r, cx + r, cy + r], radius=30, fill="#ffffff", outline=color, width=10
        )
    font = ImageFont.load_default(size=44)
    width = draw.textlength(title, font=font)
    draw.text(((800 - width) / 2, 480), title, fill="#ffffff", font=font)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    buffer.seek(0)
    return FileStorage(stream=buffer, filename="photo.jpg", content_type="image/jpeg")


def _mix(color: str, shade: int) -> tuple[int, int, int]:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    t = shade / 255 * 0.35
    return (int(r + (255 - r) * t), int(g + (255 - g) * t), int(b + (255 - b) * t))


STATE_COLUMNS = {
    "paid": "paid_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


def _age_order(order_id: int, started_days_ago: float, rng: random.Random) -> None:
    """Move an order into the past, its steps hours or days apart as in real life."""
    order = db.session.get(Order, order_id)
    start = utcnow() - timedelta(days=started_days_ago)
    order.created_at = start
    events = list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)))
    # Each step after the previous one, but the last one still in the past.
    step_hours = min(30.0, started_days_ago * 24 / (len(events) + 1))
    at = start
    for event in sorted(events, key=lambda e: e.id):
        if event.action not in ("place", "complete"):
            at += timedelta(hours=rng.uniform(0.3, 1.0) * step_hours)
        event.created_at = at
        column = STATE_COLUMNS.get(event.to_state)
        if column:
            setattr(order, column, at)
    order.updated_at = at
    conversation = db.session.scalar(
        select(Conversation).where(
            Conversation.subject_kind == ORDER, Conversation.subject_id == order_id
        )
    )
    if conversation is not None:
        conversation.created_at = start
        for person in conversation.participants:
            person.joined_at = start
        for n, message in enumerate(
            db.session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        ):
            message.created_at = start + timedelta(minutes=5 + 40 * n)
            conversation.last_message_at = message.created_at
    for feedback in db.session.scalars(
        select(Feedback).where(Feedback.subject_kind == ORDER, Feedback.subject_id == order_id)
    ):
        feedback.created_at = min(at + timedelta(hours=rng.uniform(2, 30)), utcnow())
        if feedback.revealed_at is not None:
            feedback.revealed_at = feedback.created_at
    db.session.commit()


def seed_demo(users: int = 30, listings: int = 200, seed: int = 7) -> dict[str, int]:
    """Create demo users, listings with pictures, orders in every state and feedback."""
    rng = random.Random(seed)
    people: list[User] = []
    existing = set(db.session.scalars(select(User.handle)))
    for i in range(users):
        handle, name = PEOPLE[i % len(PEOPLE)]
        if i >= len(PEOPLE):
            handle = f"{handle}{i}"
        if handle in existing:
            people.append(db.session.scalar(select(User).where(User.handle == handle)))
            continue
        user = accounts.register(f"{handle}@example.com", handle, DEMO_PASSWORD)
        accounts.update_profile(
            user.id,
            display_name=name,
            location=rng.choice(PLACES),
            bio=f"{name.split()[0]} trades around {rng.choice(PLACES)}. Happy to meet in person.",
        )
        user.created_at = utcnow() - timedelta(days=rng.randint(60, 900))
        db.session.commit()
        people.append(user)

    made: list[Listing] = []
    slugs = list(ITEMS)
    for n in range(listings):
        slug = slugs[n % len(slugs)]
        thing = rng.choice(ITEMS[slug])
        title = f"{rng.choice(ADJECTIVES)} {thing.lower()}" if rng.random() < 0.6 else thing
        seller = people[rng.randrange(len(people))]
        price = rng.choice([5, 8, 12, 15, 20, 25, 35, 40, 60, 75, 90, 120, 180, 250]) * 100
        price += rng.choice([0, 0, 50, 99])
        listing = listing_services.create_listing(
            seller.id,
            title=title,
            description=(
                f"{thing} in {rng.choice(['great', 'good', 'fair', 'excellent'])} shape. "
                f"Pick-up in {rng.choice(PLACES)} or I can post it.\n\n"
                "Smoke-free home. Ask me anything."
            ),
            category_slug=slug,
            condition=rng.choice(list(Condition)).value,
            price_cents=price,
            quantity=rng.choice([1, 1, 1, 2, 3, 5]),
        )
        listing_services.add_photo(listing.id, seller.id, _picture(thing, PALETTE[n % 10], rng))
        made.append(listing)
    # Spread listing ages over the last two months.
    for listing in made:
        listing.created_at = utcnow() - timedelta(hours=rng.randint(1, 24 * 60))
    db.session.commit()

    plans = (
        ["completed"] * 90
        + ["pending_payment"] * 6
        + ["paid"] * 6
        + ["shipped"] * 6
        + ["cancelled"] * 4
    )
    order_count = 0
    feedback_count = 0
    for plan in plans:
        listing = rng.choice(made)
        db.session.refresh(listing)
        if not listing.is_buyable:
            continue
        buyer = rng.choice([p for p in people if p.id != listing.seller_id])
        order = orders.place_order(buyer.id, listing.id, 1)
        order_count += 1
        messaging.send_message(
            ORDER, order.id, buyer.id, "Hi! Is this still available? I can pay today."
        )
        messaging.send_message(ORDER, order.id, listing.seller_id, "Yes it is, thanks for buying!")
        if plan == "cancelled":
            orders.transition(order.id, "cancel", buyer.id, note="Found one closer to home.")
        if plan in ("paid", "shipped", "completed"):
            orders.transition(order.id, "mark_paid", listing.seller_id)
        if plan in ("shipped", "completed"):
            orders.transition(order.id, "ship", listing.seller_id, note="Posted, tracking 1Z999")
        if plan == "completed":
            orders.transition(order.id, "confirm_delivery", buyer.id)
            for author in (buyer.id, listing.seller_id):
                rating = rng.choices(["positive", "neutral", "negative"], [90, 6, 4])[0]
                reviews.leave_feedback(
                    order.id,
                    author,
                    rating,
                    comment=rng.choice(FEEDBACK_TEXT[rating]),
                    communication=rng.choice([None, 4, 5, 5]),
                )
                feedback_count += 1
        # Completed trades spread over the past year, so reputations have a history.
        _age_order(
            order.id, rng.uniform(2, 360) if plan == "completed" else rng.uniform(0.2, 3), rng
        )
    from app.reviews.reputation import backfill_history, recompute_all

    backfill_history(days=180)
    recompute_all()
    return {
        "users": len(people),
        "listings": len(made),
        "orders": order_count,
        "feedback": feedback_count,
    }

"""Buying clubs and their group deals.

A Club is a group of members run by its organizer (and co-organizers). A GroupDeal is one
group buy in a club: the organizer drafts it with a supplier (another member), the supplier
accepts the terms, members pledge quantities until the deadline, and if the pledged total
reached the minimum every pledge is charged at the price of the best tier reached (tiers:
DealTier, arithmetic: app/clubs/tiers.py). A Pledge is one member's part of a deal; it is a
transaction of its own between the member, the organizer and the supplier (feedback, money and
its conversation are per pledge). State machines: app/clubs/states.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User

# Club.visibility
PUBLIC = "public"  # listed and readable by anyone
PRIVATE = "private"  # only members see its page, deals and conversation
VISIBILITIES = (PUBLIC, PRIVATE)

# Club.join_policy
OPEN = "open"  # anyone signed in joins at once
APPROVAL = "approval"  # a request an organizer approves or declines
INVITE = "invite"  # only with the club's invite link (Club.invite_token)
JOIN_POLICIES = (OPEN, APPROVAL, INVITE)

# ClubMember.role
ORGANIZER = "organizer"  # the one who started it (one per club)
CO_ORGANIZER = "co_organizer"  # may do what the organizer does, except remove the organizer
MEMBER = "member"
MEMBER_ROLES = (ORGANIZER, CO_ORGANIZER, MEMBER)

# ClubMember.status
ACTIVE = "active"
PENDING = "pending"  # asked to join a club that approves members
DECLINED = "declined"  # the request was declined (may ask again)
LEFT = "left"
REMOVED = "removed"  # removed by an organizer (may not rejoin unless invited back)
MEMBER_STATUSES = (ACTIVE, PENDING, DECLINED, LEFT, REMOVED)

# GroupDeal.fulfilment
PICKUP = "pickup"  # members collect at the organizer's pickup point
SHIPPING = "shipping"  # the supplier ships to each member
FULFILMENTS = (PICKUP, SHIPPING)

# Pledge.payment_method
CARD = "card"  # the member's saved card, charged off-session at settlement
IN_PERSON = "in_person"  # the manual provider: paid in person at pickup
PAYMENT_METHODS = (CARD, IN_PERSON)


class Club(db.Model):
    __tablename__ = "clubs"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'private')", name="visibility_known"),
        CheckConstraint("join_policy IN ('open', 'approval', 'invite')", name="join_policy_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(120), default="")  # where members meet and pick up
    visibility: Mapped[str] = mapped_column(String(10), default=PUBLIC)
    join_policy: Mapped[str] = mapped_column(String(10), default=OPEN)
    # The secret of the invite link (/clubs/<id>/join/<token>); a new one revokes the old link.
    invite_token: Mapped[str] = mapped_column(String(43), unique=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    member_count: Mapped[int] = mapped_column(default=1)  # active members, kept with joins
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organizer: Mapped[User] = relationship(foreign_keys=[organizer_id])
    members: Mapped[list[ClubMember]] = relationship(
        back_populates="club", order_by="ClubMember.id", lazy="raise_on_sql"
    )


class ClubMember(db.Model):
    """A person's place in a club: their role and whether they are in it (one row per person
    and club, kept when they leave, so the history and a new request reuse it)."""

    __tablename__ = "club_members"
    __table_args__ = (
        UniqueConstraint("club_id", "user_id", name="one_place_per_club"),
        CheckConstraint("role IN ('organizer', 'co_organizer', 'member')", name="role_known"),
        CheckConstraint(
            "status IN ('active', 'pending', 'declined', 'left', 'removed')", name="status_known"
        ),
        Index("ix_club_members_user_status", "user_id", "status"),
        Index("ix_club_members_club_status", "club_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20), default=MEMBER)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    message: Mapped[str] = mapped_column(Text, default="")  # with a request to join
    requested_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    club: Mapped[Club] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class GroupDeal(db.Model):
    """One group buy in a club (state: app/clubs/states.py DEAL_MACHINE).

    `pledged_quantity` is the sum of the quantities of the deal's live pledges (states.COUNTED),
    kept by the pledge services under the deal's row lock in the same unit of work as the pledge:
    the cap and the tiers are decided on it, never on a count read outside the lock.
    """

    __tablename__ = "group_deals"
    __table_args__ = (
        CheckConstraint("organizer_id <> supplier_id", name="supplier_not_organizer"),
        CheckConstraint("min_quantity >= 1", name="min_positive"),
        CheckConstraint(
            "cap_quantity IS NULL OR cap_quantity >= min_quantity", name="cap_above_min"
        ),
        CheckConstraint("member_limit IS NULL OR member_limit >= 1", name="limit_positive"),
        CheckConstraint("pledged_quantity >= 0", name="pledged_not_negative"),
        CheckConstraint(
            "cap_quantity IS NULL OR pledged_quantity <= cap_quantity", name="cap_kept"
        ),
        CheckConstraint(
            "organizer_fee_bps >= 0 AND organizer_fee_bps <= 2000", name="fee_in_range"
        ),
        CheckConstraint("shipping_cents >= 0", name="shipping_not_negative"),
        CheckConstraint("fulfilment IN ('pickup', 'shipping')", name="fulfilment_known"),
        Index("ix_group_deals_club_state", "club_id", "state"),
        Index("ix_group_deals_state_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("clubs.id"))
    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))  # the product: "Organic oats, 1 kg bag"
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(30), default="item")  # "bag", "kg", "box"
    currency: Mapped[str] = mapped_column(String(3))
    min_quantity: Mapped[int]  # the total that tips the deal
    cap_quantity: Mapped[int | None]  # at most this many units in all (None: no cap)
    member_limit: Mapped[int | None]  # at most this many units per member (None: no limit)
    deadline: Mapped[datetime]  # pledges close; settlement runs after it
    fulfilment: Mapped[str] = mapped_column(String(10), default=PICKUP)
    pickup_point: Mapped[str] = mapped_column(String(200), default="")
    pickup_times: Mapped[str] = mapped_column(String(200), default="")
    shipping_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # per member shipped to
    # The organizer's fee in basis points of the goods (500 = 5 %), shown to members.
    organizer_fee_bps: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    pledged_quantity: Mapped[int] = mapped_column(default=0)
    pledge_count: Mapped[int] = mapped_column(default=0)  # live pledges (members pledging)
    # Fixed when the deal closes at its deadline: the price of the best tier reached.
    final_unit_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    supplier_note: Mapped[str | None] = mapped_column(Text)  # why the supplier declined
    cancel_note: Mapped[str | None] = mapped_column(Text)
    proposed_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    tipped_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    club: Mapped[Club] = relationship()
    organizer: Mapped[User] = relationship(foreign_keys=[organizer_id])
    supplier: Mapped[User] = relationship(foreign_keys=[supplier_id])
    tiers: Mapped[list[DealTier]] = relationship(
        back_populates="deal",
        order_by="DealTier.min_quantity",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class DealTier(db.Model):
    """From `min_quantity` units in all, every unit costs `unit_price_cents`."""

    __tablename__ = "deal_tiers"
    __table_args__ = (
        UniqueConstraint("deal_id", "min_quantity", name="one_price_per_quantity"),
        CheckConstraint("min_quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 1", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("group_deals.id", ondelete="CASCADE"))
    min_quantity: Mapped[int]
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)

    deal: Mapped[GroupDeal] = relationship(back_populates="tiers")


class Pledge(db.Model):
    """One member's pledge to a deal (state: app/clubs/states.py PLEDGE_MACHINE): the quantity
    they commit to, and once the deal closes what they pay (the final tier price for every
    unit, the organizer's fee, shipping). One row per member and deal: withdrawing and pledging
    again reuse it."""

    __tablename__ = "pledges"
    __table_args__ = (
        UniqueConstraint("deal_id", "member_id", name="one_pledge_per_member"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "goods_cents >= 0 AND fee_cents >= 0 AND shipping_cents >= 0 AND amount_cents >= 0",
            name="money_not_negative",
        ),
        CheckConstraint("payment_method IN ('card', 'in_person')", name="method_known"),
        Index("ix_pledges_deal_state", "deal_id", "state"),
        Index("ix_pledges_state_grace", "state", "grace_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("group_deals.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    quantity: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), default="pledged", index=True)
    payment_method: Mapped[str] = mapped_column(String(10), default=CARD)
    # Set when the deal closes (tiers.charge_for): what this pledge pays.
    unit_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    goods_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # the organizer's fee
    shipping_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # goods + fee + shipping
    charge_attempts: Mapped[int] = mapped_column(default=0)
    grace_until: Mapped[datetime | None]  # a failed charge: the card can be fixed until then
    failure_note: Mapped[str | None] = mapped_column(Text)  # the card's answer
    withdraw_note: Mapped[str | None] = mapped_column(Text)
    problem_note: Mapped[str | None] = mapped_column(Text)
    pledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    payment_due_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    deal: Mapped[GroupDeal] = relationship()
    member: Mapped[User] = relationship()


class DealEvent(db.Model):
    """The history of a deal and its pledges, one row per step (the timelines)."""

    __tablename__ = "deal_events"
    __table_args__ = (Index("ix_deal_events_deal_id", "deal_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("group_deals.id"))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"))  # None: the deal's
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""What can be reported: each kind says how to find the thing, whom it is about, who counts
as a party to it (a moderator who is one cannot act on it) and where it lives on the site."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.accounts.models import User
from app.clubs.models import Club, GroupDeal
from app.errors import NotFound
from app.extensions import db
from app.listings.models import Listing
from app.messaging.models import ConversationParticipant, Message
from app.reviews.models import Feedback

KIND_LABELS = {
    "listing": "Listing",
    "member": "Member",
    "feedback": "Feedback",
    "message": "Message",
    "club": "Club",
    "deal": "Group deal",
}


@dataclass(frozen=True)
class Target:
    kind: str
    id: int
    title: str  # public words for it: never a message body
    owner_id: int  # the member answerable for it
    parties: frozenset[int]  # everyone whose own case or transaction it is
    path: str


def find_target(kind: str, target_id: int) -> Target:
    """The thing of this kind and id. Raises NotFound."""
    if kind == "listing":
        listing = db.session.get(Listing, target_id)
        if listing is not None:
            return Target(
                kind, target_id, listing.title, listing.seller_id,
                frozenset({listing.seller_id}), f"/listings/{target_id}",
            )  # fmt: skip
    elif kind == "member":
        user = db.session.get(User, target_id)
        if user is not None:
            return Target(
                kind, target_id, f"@{user.handle}", user.id, frozenset({user.id}),
                f"/u/{user.handle}",
            )  # fmt: skip
    elif kind == "feedback":
        feedback = db.session.get(Feedback, target_id)
        if feedback is not None:
            author = db.session.get(User, feedback.author_id)
            return Target(
                kind, target_id, f"Feedback by @{author.handle} on “{feedback.title}”",
                feedback.author_id,
                frozenset({feedback.author_id, feedback.subject_user_id}),
                f"/u/{db.session.get(User, feedback.subject_user_id).handle}",
            )  # fmt: skip
    elif kind == "message":
        message = db.session.get(Message, target_id)
        if message is not None:
            sender = db.session.get(User, message.sender_id)
            participants = set(
                db.session.scalars(
                    select(ConversationParticipant.user_id).where(
                        ConversationParticipant.conversation_id == message.conversation_id
                    )
                )
            )
            return Target(
                kind, target_id, f"A message by @{sender.handle}", message.sender_id,
                frozenset(participants | {message.sender_id}), "/messages",
            )  # fmt: skip
    elif kind == "club":
        club = db.session.get(Club, target_id)
        if club is not None:
            return Target(
                kind, target_id, club.name, club.organizer_id, frozenset({club.organizer_id}),
                f"/clubs/{target_id}",
            )  # fmt: skip
    elif kind == "deal":
        deal = db.session.get(GroupDeal, target_id)
        if deal is not None:
            return Target(
                kind, target_id, deal.title, deal.organizer_id,
                frozenset({deal.organizer_id, deal.supplier_id}),
                f"/deals/{target_id}",
            )  # fmt: skip
    raise NotFound(f"No such {KIND_LABELS.get(kind, 'thing').lower()} to report.")

"""The event consumer: who hears of each recorded event, and in which words.

Everything comes from the event's payload (parties, title, amount, page), written when the
event was recorded, so notifications never read the order (or any other kind) itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.money import format_money
from app.notifications import services
from app.transactions.events import DomainEvent

# Where an event's payload names its parties (an order's, a loan's).
PARTY_KEYS = (
    "buyer_id",
    "seller_id",
    "lender_id",
    "borrower_id",
    "member_id",
    "organizer_id",
    "supplier_id",
)
# A rule gets the event's payload, the actor's id and a handle lookup, and returns
# [(user_id, kind, text)].
Recipients = list[tuple[int, str, str]]
Rule = Callable[[dict, "int | None", Callable[[int | None], str]], Recipients]


def _other(payload: dict, actor_id: int | None) -> list[int]:
    """The parties who did not act (both, when the system acted)."""
    parties = [payload["buyer_id"], payload["seller_id"]]
    return [user_id for user_id in parties if user_id != actor_id]


def _amount(payload: dict, key: str = "total_cents") -> str:
    return format_money(payload[key], payload["currency"])


def _cancelled(p: dict, actor: int | None, handle) -> Recipients:
    who = f"{handle(actor)} cancelled" if actor else "The system cancelled"
    text = f"{who} the order for “{p['title']}”."
    return [(user_id, "order_cancelled", text) for user_id in _other(p, actor)]


def _pairs(p: dict, key: str) -> list[list[int]]:
    """[[author, person rated], ...] of a feedback event (events recorded before the payload
    named them were about an order: its buyer and seller rate each other)."""
    if key in p:
        return p[key]
    return [[p["buyer_id"], p["seller_id"]], [p["seller_id"], p["buyer_id"]]]


def _grouped(pairs: list[list[int]], by: int) -> dict[int, list[int]]:
    """{person: the others they are paired with}, in order (one notice per person and event)."""
    grouped: dict[int, list[int]] = {}
    for pair in pairs:
        grouped.setdefault(pair[by], []).append(pair[1 - by])
    return grouped


def _names(user_ids: list[int], handle) -> str:
    names = [handle(user_id) for user_id in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _feedback_due(p: dict, actor: int | None, handle) -> Recipients:
    return [
        (author, "feedback_due",
         f"“{p['title']}” is complete. How did it go with {_names(rated, handle)}? "
         "Leave feedback.")
        for author, rated in _grouped(_pairs(p, "raters"), 0).items()
    ]  # fmt: skip


def _feedback_revealed(p: dict, actor: int | None, handle) -> Recipients:
    return [
        (rated, "feedback_received",
         f"{handle(authors[0])}'s feedback about you on “{p['title']}” is visible now."
         if len(authors) == 1 else
         f"Feedback from {_names(authors, handle)} about you on “{p['title']}” is visible now.")
        for rated, authors in _grouped(_pairs(p, "revealed"), 1).items()
    ]  # fmt: skip


# -- loans (lender and borrower) ------------------------------------------------------------


def _day(iso: str) -> str:
    """An ISO day as people read it: Dec 4."""
    day = date.fromisoformat(iso)
    return f"{day:%b} {day.day}"


def _days(p: dict) -> str:
    """A loan event's days: "from Dec 4 to Dec 6 (3 days)"."""
    count = p["days"]
    return f"from {_day(p['starts_on'])} to {_day(p['ends_on'])} ({count} day{'s' * (count != 1)})"


def _late(p: dict) -> str:
    """How late a return came (", 2 days late"), or nothing."""
    days = p.get("late_days") or 0
    return f", {days} day{'s' * (days != 1)} late" if days else ""


def _loan_others(p: dict, actor_id: int | None) -> list[int]:
    """The parties of a loan who did not act (both, when the system acted)."""
    return [user_id for user_id in (p["lender_id"], p["borrower_id"]) if user_id != actor_id]


def _loan_cancelled(p: dict, actor: int | None, handle) -> Recipients:
    if p.get("from_state") == "requested":
        return [
            (
                p["lender_id"],
                "loan_cancelled",
                f"{handle(p['borrower_id'])} withdrew the request to borrow “{p['title']}”.",
            )
        ]
    return [
        (user_id, "loan_cancelled",
         f"{handle(actor)} cancelled the loan of “{p['title']}” {_days(p)}."
         + (" Anything you paid goes back to you in full." if user_id == p["borrower_id"] else ""))
        for user_id in _loan_others(p, actor)
    ]  # fmt: skip


def _loan_handover(p: dict, actor: int | None, handle) -> Recipients:
    """One side confirmed the handover: the other is asked to, unless it already has (then the
    loan starts and they hear of that instead)."""
    if actor == p["lender_id"]:
        other, confirmed = p["borrower_id"], p.get("borrower_confirmed_handover")
    else:
        other, confirmed = p["lender_id"], p.get("lender_confirmed_handover")
    if confirmed:
        return []
    return [(other, "loan_handover",
             f"{handle(actor)} confirmed the handover of “{p['title']}”. "
             "Confirm it too once you have it.")]  # fmt: skip


def _loan_started(p: dict, actor: int | None, handle) -> Recipients:
    until = _day(p["ends_on"])
    lines = {
        p["borrower_id"]: f"You have “{p['title']}” until {until}: bring it back by then.",
        p["lender_id"]: f"“{p['title']}” is on loan to {handle(p['borrower_id'])} until {until}.",
    }
    return [(user_id, "loan_handover", lines[user_id]) for user_id in _loan_others(p, actor)]


def _loan_returned(p: dict, actor: int | None, handle) -> Recipients:
    if actor == p["borrower_id"]:
        return [
            (
                p["lender_id"],
                "loan_returned",
                f"{handle(actor)} brought back “{p['title']}”{_late(p)}. Confirm it came back in "
                "good condition, or claim for damage.",
            )
        ]
    return [(p["borrower_id"], "loan_returned",
             f"{handle(actor)} has “{p['title']}” back{_late(p)}.")]  # fmt: skip


def _late_fee_kept(p: dict) -> str:
    fee = p.get("late_fee_cents") or 0
    return f" The late fee of {_amount(p, 'late_fee_cents')} is kept from it." if fee else ""


def _loan_overdue(p: dict, actor: int | None, handle) -> Recipients:
    days = p["days_late"]
    text = (
        f"“{p['title']}” was due back on {_day(p['ends_on'])}: it is {days} "
        f"day{'s' * (days != 1)} late. Bring it back to {handle(p['lender_id'])}."
    )
    if p.get("late_fee_per_day_cents"):
        text += (
            f" Late fee: {_amount(p, 'late_fee_per_day_cents')} a day, at most "
            f"{_amount(p, 'late_fee_cap_cents')}."
        )
    told = [(p["borrower_id"], "loan_due", text)]
    if p.get("first_late_reminder"):
        told.append(
            (
                p["lender_id"],
                "loan_due",
                f"{handle(p['borrower_id'])} has not brought back “{p['title']}”, due on "
                f"{_day(p['ends_on'])}. We reminded them.",
            )
        )
    return told  # fmt: skip


LOAN_RULES: dict[str, Rule] = {
    "refund.proposed": lambda p, actor, handle: [
        (user_id, "dispute",
         f"{handle(actor)} proposes {_amount(p, 'refund_cents')} back to the "
         f"{p['payer_role']} on {p['noun']} #{p['subject_id']}. Accept, counter or decline.")
        for user_id in p["party_ids"] if user_id != actor
    ],
    "refund.accepted": lambda p, actor, handle: [
        (p["proposer_id"], "dispute",
         f"{handle(actor)} accepted your refund of {_amount(p, 'refund_cents')} on "
         f"{p['noun']} #{p['subject_id']}: the money moves now.")
    ],
    "refund.declined": lambda p, actor, handle: [
        (p["proposer_id"], "dispute",
         f"{handle(actor)} declined your refund of {_amount(p, 'refund_cents')} on "
         f"{p['noun']} #{p['subject_id']}. Make another offer, or open a dispute.")
    ],
    "dispute.answered": lambda p, actor, handle: [
        (p["opened_by_id"], "dispute",
         f"{handle(p['respondent_id'])} answered your dispute about {p['noun']} "
         f"#{p['subject_id']}. A moderator decides next.")
    ] if p.get("opened_by_id") else [],
    "loan.requested": lambda p, actor, handle: [
        (p["lender_id"], "loan_requested",
         f"{handle(p['borrower_id'])} asks to borrow “{p['title']}” {_days(p)}. "
         "Approve or decline the request."),
    ],
    "loan.approve": lambda p, actor, handle: [
        (p["borrower_id"], "loan_answered",
         f"{handle(p['lender_id'])} approved your request to borrow “{p['title']}” {_days(p)}. "
         "Arrange the handover in the messages."),
    ],
    "loan.decline": lambda p, actor, handle: [
        (p["borrower_id"], "loan_answered",
         f"{handle(p['lender_id'])} declined your request to borrow “{p['title']}”."
         + (f" {p['note']}" if p.get("note") else "")),
    ],
    "loan.expire": lambda p, actor, handle: [
        (p["borrower_id"], "loan_answered",
         f"Your request to borrow “{p['title']}” expired without an answer."),
        (p["lender_id"], "loan_answered",
         f"{handle(p['borrower_id'])}'s request to borrow “{p['title']}” expired without an "
         "answer."),
    ],
    "loan.cancel": _loan_cancelled,
    "loan.deposit_moved": lambda p, actor, handle: [
        (p["borrower_id"], "loan_due",
         f"The hold on your card for the deposit of “{p['title']}” has ended (a hold lasts "
         "about a week). The deposit is now kept on your saved card: it is charged only for "
         "what the lender keeps (a late fee or an agreed claim)."),
    ],
    "loan.lapse": lambda p, actor, handle: [
        (p[party], "loan_cancelled",
         f"The loan of “{p['title']}” {_days(p)} was never handed over, so it is cancelled now "
         "that its last day has passed. The fee is refunded and the deposit released.")
        for party in ("borrower_id", "lender_id")
    ],
    "loan.payment_failed": lambda p, actor, handle: [
        (p["borrower_id"], "loan_cancelled",
         f"Your payment for borrowing “{p['title']}” did not go through, so the loan is "
         "cancelled." + (f" {p['note']}" if p.get("note") else "")),
        (p["lender_id"], "loan_cancelled",
         f"{handle(p['borrower_id'])}'s payment for “{p['title']}” did not go through, so the "
         "loan is cancelled."),
    ],
    "loan.confirm_handover": _loan_handover,
    "loan.start": _loan_started,
    "loan.confirm_with_code": _loan_started,
    "loan.due_soon": lambda p, actor, handle: [
        (p["borrower_id"], "loan_due",
         f"“{p['title']}” is due back on {_day(p['ends_on'])}. Arrange the return with "
         f"{handle(p['lender_id'])}."),
    ],
    "loan.overdue": _loan_overdue,
    "loan.mark_returned": _loan_returned,
    "loan.confirm_return": lambda p, actor, handle: [
        (p["borrower_id"], "loan_returned",
         f"{handle(p['lender_id'])} confirmed “{p['title']}” came back in good condition. "
         "Your deposit is released." + _late_fee_kept(p)),
    ],
    "loan.auto_complete": lambda p, actor, handle: [
        (p["borrower_id"], "loan_returned",
         f"No claim was made for “{p['title']}”: the loan is complete and your deposit "
         "released." + _late_fee_kept(p)),
        (p["lender_id"], "loan_returned",
         f"The loan of “{p['title']}” is complete: the time to claim for damage has passed."),
    ],
    "loan.claim_damage": lambda p, actor, handle: [
        (p["borrower_id"], "loan_claim",
         f"{handle(p['lender_id'])} claims {_amount(p, 'claim_cents')} of your deposit for "
         f"damage to “{p['title']}”. Accept or dispute the claim."),
    ],
    "loan.accept_claim": lambda p, actor, handle: [
        (p["lender_id"], "loan_claim",
         f"{handle(p['borrower_id'])} accepted your claim of {_amount(p, 'claim_cents')} for "
         f"“{p['title']}”."),
    ],
    "loan.auto_accept": lambda p, actor, handle: [
        (p["borrower_id"], "loan_claim",
         f"The claim of {_amount(p, 'claim_cents')} for “{p['title']}” stands: it was not "
         "answered in time."),
        (p["lender_id"], "loan_claim",
         f"Your claim of {_amount(p, 'claim_cents')} for “{p['title']}” stands: the borrower "
         "did not answer in time."),
    ],
    "loan.dispute_claim": lambda p, actor, handle: [
        (p["lender_id"], "loan_claim",
         f"{handle(p['borrower_id'])} disputes your claim for “{p['title']}”. The deposit stays "
         "held until a moderator decides."),
    ],
    "loan.withdraw_claim": lambda p, actor, handle: [
        (p["borrower_id"], "loan_claim",
         f"{handle(p['lender_id'])} withdrew the claim for “{p['title']}”. Your deposit is "
         "released." + _late_fee_kept(p)),
    ],
    "loan.dispute_fee": lambda p, actor, handle: [
        (p["lender_id"], "loan_claim",
         f"{handle(p['borrower_id'])} disputes the fee for “{p['title']}”. A moderator "
         "decides how much of it goes back." if actor else
         f"{handle(p['borrower_id'])}'s card issuer opened a chargeback on the fee for "
         f"“{p['title']}”. Answer the dispute: a moderator decides."),
    ],
    "loan.resolve": lambda p, actor, handle: [
        (user_id, "loan_claim",
         f"A moderator decided the dispute about the fee for “{p['title']}”."
         if p.get("dispute_about") == "fee" else
         f"A moderator decided the claim for “{p['title']}”: "
         f"{_amount(p, 'claim_awarded_cents')} of the deposit goes to the lender.")
        for user_id in (p["lender_id"], p["borrower_id"])
    ],
    "loan.kept_charge_failed": lambda p, actor, handle: [
        (p["borrower_id"], "loan_claim",
         f"We could not charge {_amount(p, 'amount_cents')} to your card for “{p['title']}” "
         f"(kept from the deposit). Settle it with {handle(p['lender_id'])}."),
        (p["lender_id"], "loan_claim",
         f"The charge of {_amount(p, 'amount_cents')} to {handle(p['borrower_id'])}'s card for "
         f"“{p['title']}” did not go through. Settle it with them, or report it."),
    ],
}  # fmt: skip


# -- clubs (organizers and members) --------------------------------------------------------


def _to_organizers(p: dict, actor: int | None) -> list[int]:
    return [user_id for user_id in p.get("organizer_ids", ()) if user_id != actor]


def _club_requested(p: dict, actor: int | None, handle) -> Recipients:
    said = f" They wrote: “{p['message']}”" if p.get("message") else ""
    return [
        (user_id, "club_request",
         f"{handle(p['member_id'])} asks to join “{p['club_name']}”. Approve or decline the "
         f"request.{said}")
        for user_id in _to_organizers(p, actor)
    ]  # fmt: skip


CLUB_RULES: dict[str, Rule] = {
    "dispute.answered": lambda p, actor, handle: [
        (p["opened_by_id"], "dispute",
         f"{handle(p['respondent_id'])} answered your dispute about {p['noun']} "
         f"#{p['subject_id']}. A moderator decides next.")
    ] if p.get("opened_by_id") else [],
    "club.join_requested": _club_requested,
    "club.approve": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"{handle(actor)} approved your request: you are a member of “{p['club_name']}”."),
    ],
    "club.decline": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"Your request to join “{p['club_name']}” was declined."
         + (f" {p['note']}" if p.get("note") else "")),
    ],
    "club.remove": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"{handle(actor)} removed you from “{p['club_name']}”."
         + (f" {p['note']}" if p.get("note") else "")),
    ],
    "club.promote": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"{handle(actor)} made you a co-organizer of “{p['club_name']}”: you can now draft "
         "deals and answer requests to join."),
    ],
    "club.demote": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"{handle(actor)} made you a member of “{p['club_name']}” again (no longer a "
         "co-organizer)."),
    ],
    "club.make_organizer": lambda p, actor, handle: [
        (p["member_id"], "club_membership",
         f"{handle(actor)} handed “{p['club_name']}” over to you: you are its organizer now."),
    ],
}  # fmt: skip


# -- group deals (organizer, supplier, members) ------------------------------------------------


def _when(iso: str | None) -> str:
    """An ISO moment as people read it: Dec 4, 18:00 UTC."""
    if not iso:
        return "soon"
    moment = datetime.fromisoformat(iso)
    return f"{moment:%b} {moment.day}, {moment:%H:%M} UTC"


def _units(p: dict, key: str = "pledged_quantity") -> str:
    count = p[key]
    return f"{count} {p['unit']}" + ("s" if count != 1 and not p["unit"].endswith("s") else "")


def _members(p: dict, kind: str, text: str) -> Recipients:
    return [(user_id, kind, text) for user_id in p.get("member_ids", ())]


def _deal_tipped(p: dict, actor: int | None, handle) -> Recipients:
    text = (
        f"“{p['title']}” tipped: {_units(p)} pledged, the minimum is reached. The deal goes "
        f"ahead at the deadline ({_when(p['deadline'])}) at the best price reached by then."
    )
    return [*_members(p, "deal_news", text), (p["organizer_id"], "deal_news", text)]


def _deal_failed(p: dict, actor: int | None, handle) -> Recipients:
    if p.get("from_state") == "closed":
        text = f"“{p['title']}” did not go ahead: no pledge was paid. Nobody is charged."
    else:
        text = (
            f"“{p['title']}” did not reach its minimum of {_units(p, 'min_quantity')} by the "
            f"deadline ({_units(p)} pledged). Nobody is charged."
        )
    parties = [(p[key], "deal_news", text) for key in ("organizer_id", "supplier_id")]
    return [*_members(p, "deal_news", text), *parties]


def _deal_cancelled(p: dict, actor: int | None, handle) -> Recipients:
    text = f"{handle(actor)} cancelled the group deal “{p['title']}”. Nobody is charged." + (
        f" {p['note']}" if p.get("note") else ""
    )
    told = [(user_id, "deal_news", text) for user_id in p.get("member_ids", ())]
    if p.get("from_state") not in ("draft",):
        told += [
            (user_id, "deal_terms", text)
            for user_id in (p["organizer_id"], p["supplier_id"])
            if user_id != actor
        ]
    return told


def _deal_closed(p: dict, actor: int | None, handle) -> Recipients:
    price = _amount(p, "final_unit_price_cents")
    text = (
        f"“{p['title']}” closed with {_units(p)} pledged: {price} a {p['unit']} for everybody. "
        "Members' pledges are being charged."
    )
    return [(p["organizer_id"], "deal_news", text), (p["supplier_id"], "deal_news", text)]


def _deal_settled(p: dict, actor: int | None, handle) -> Recipients:
    text = (
        f"“{p['title']}” is settled: every pledge is paid or dropped ({_units(p)} to deliver). "
        "Deliver the goods and print the pickup list."
    )
    return [(p["organizer_id"], "deal_news", text), (p["supplier_id"], "deal_news", text)]


def _pledge_charge_failed(p: dict, actor: int | None, handle) -> Recipients:
    if p.get("from_state") != "pledged":
        return []  # told once, at the first failure
    return [
        (p["member_id"], "deal_payment",
         f"We could not charge your card {_amount(p, 'amount_cents')} for “{p['title']}”. "
         f"Fix your card by {_when(p.get('grace_until'))} and pay from the deal page; after "
         "that your pledge is dropped. The price stays the one fixed at the deadline."),
    ]  # fmt: skip


def _pledge_dropped(p: dict, actor: int | None, handle) -> Recipients:
    if p.get("from_state") == "pay_at_pickup":
        member_text = (
            f"{handle(actor)} recorded that you did not pay for “{p['title']}” at pickup: "
            "your pledge is dropped."
        )
    else:
        member_text = (
            f"Your pledge for “{p['title']}” is dropped: the card was not fixed in time. "
            "Nothing was charged."
        )
    return [
        (p["member_id"], "deal_payment", member_text),
        (p["organizer_id"], "deal_payment",
         f"{handle(p['member_id'])}'s pledge of {_units(p, 'quantity')} for “{p['title']}” "
         "was dropped (not paid)."),
    ]  # fmt: skip


def _pledge_problem(p: dict, actor: int | None, handle) -> Recipients:
    text = (
        f"{handle(p['member_id'])} reported a problem with “{p['title']}”"
        + (f": {p['note']}" if p.get("note") else ".")
        + " A moderator decides."
    )
    return [(p["organizer_id"], "deal_delivery", text), (p["supplier_id"], "deal_delivery", text)]


DEAL_RULES: dict[str, Rule] = {
    "dispute.answered": lambda p, actor, handle: [
        (p["opened_by_id"], "dispute",
         f"{handle(p['respondent_id'])} answered your dispute about {p['noun']} "
         f"#{p['subject_id']}. A moderator decides next.")
    ] if p.get("opened_by_id") else [],
    "deal.propose": lambda p, actor, handle: [
        (p["supplier_id"], "deal_terms",
         f"{handle(p['organizer_id'])} proposes a group deal with you as supplier: "
         f"“{p['title']}”. Read the terms and accept or decline them."),
    ],
    "deal.accept_terms": lambda p, actor, handle: [
        (p["organizer_id"], "deal_terms",
         f"{handle(p['supplier_id'])} accepted the terms of “{p['title']}”: it is open for "
         "pledges."),
    ],
    "deal.decline_terms": lambda p, actor, handle: [
        (p["organizer_id"], "deal_terms",
         f"{handle(p['supplier_id'])} declined the terms of “{p['title']}”."
         + (f" {p['note']}" if p.get("note") else "") + " Edit the draft and send it again."),
    ],
    "deal.tip": _deal_tipped,
    "deal.fail": _deal_failed,
    "deal.cancel": _deal_cancelled,
    "deal.close": _deal_closed,
    "deal.settle": _deal_settled,
    "deal.deadline_soon": lambda p, actor, handle: _members(
        p, "deal_news",
        f"“{p['title']}” closes on {_when(p['deadline'])}: {_units(p)} pledged so far. "
        "Change or withdraw your pledge before then.",
    ),
    "pledge.charge": lambda p, actor, handle: [
        (p["member_id"], "deal_payment",
         f"Your pledge for “{p['title']}” was charged {_amount(p, 'amount_cents')} "
         f"({_units(p, 'quantity')} at {_amount(p, 'unit_price_cents')})."),
    ],
    "pledge.charge_failed": _pledge_charge_failed,
    "pledge.bill_in_person": lambda p, actor, handle: [
        (p["member_id"], "deal_payment",
         f"“{p['title']}” goes ahead: pay {_amount(p, 'amount_cents')} in person at pickup "
         f"({_units(p, 'quantity')} at {_amount(p, 'unit_price_cents')})"
         + (f", {p['pickup_point']}." if p.get("pickup_point") else ".")),
    ],
    "pledge.record_payment": lambda p, actor, handle: [
        (p["member_id"], "deal_payment",
         f"{handle(actor)} recorded your payment of {_amount(p, 'amount_cents')} for "
         f"“{p['title']}”."),
    ],
    "pledge.drop": _pledge_dropped,
    "pledge.mark_no_show": _pledge_dropped,
    "pledge.mark_delivered": lambda p, actor, handle: [
        (p["member_id"], "deal_delivery",
         f"Your {_units(p, 'quantity')} of “{p['title']}” are delivered. Confirm you received "
         "them, or report a problem."),
    ],
    "pledge.report_problem": _pledge_problem,
}  # fmt: skip


RULES: dict[str, Rule] = {
    "dispute.answered": lambda p, actor, handle: [
        (p["opened_by_id"], "dispute",
         f"{handle(p['respondent_id'])} answered your dispute about {p['noun']} "
         f"#{p['subject_id']}. A moderator decides next.")
    ] if p.get("opened_by_id") else [],
    "order.placed": lambda p, actor, handle: [
        (p["seller_id"], "order_placed",
         f"{handle(p['buyer_id'])} ordered “{p['title']}” ({_amount(p)}). "
         "Arrange payment with them."),
    ],
    "order.mark_paid": lambda p, actor, handle: [
        (p["buyer_id"], "order_paid",
         f"{handle(p['seller_id'])} confirmed your payment for “{p['title']}”."),
    ],
    "order.payment_received": lambda p, actor, handle: [
        (p["seller_id"], "order_paid",
         f"{handle(p['buyer_id'])} paid {_amount(p)} for “{p['title']}”. Ship it now."),
    ],
    "order.ship": lambda p, actor, handle: [
        (p["buyer_id"], "order_shipped",
         f"{handle(p['seller_id'])} shipped “{p['title']}”. "
         "Confirm delivery once it has arrived."),
    ],
    "order.confirm_delivery": lambda p, actor, handle: [
        (p["seller_id"], "order_delivered",
         f"{handle(p['buyer_id'])} confirmed delivery of “{p['title']}”."),
    ],
    "order.cancel": _cancelled,
    "order.dispute": lambda p, actor, handle: [
        (user_id, "dispute",
         f"{handle(actor) if actor else 'The card issuer'} opened a dispute about the order of "
         f"“{p['title']}”. The money stays held until a moderator decides; you can answer it.")
        for user_id in (p["buyer_id"], p["seller_id"]) if user_id != actor
    ],
    "order.resolve": lambda p, actor, handle: [
        (user_id, "dispute",
         f"A moderator decided the dispute about the order of “{p['title']}”. See the decision "
         "on the dispute's page.")
        for user_id in (p["buyer_id"], p["seller_id"])
    ],
    "order.refunded": lambda p, actor, handle: [
        (p["buyer_id"], "order_refunded",
         f"{handle(p['seller_id'])} refunded {_amount(p, 'amount_cents')} "
         f"for “{p['title']}”."),
    ],
    "message.sent": lambda p, actor, handle: [
        (user_id, "message", f"{handle(actor)} wrote about “{p['title']}”: {p['excerpt']}")
        for user_id in p["recipient_ids"]
    ],
    "feedback.due": _feedback_due,
    "feedback.revealed": _feedback_revealed,
    **LOAN_RULES,
    **CLUB_RULES,
    **DEAL_RULES,
}  # fmt: skip


def notify(event: DomainEvent) -> None:
    """Consumer of every event in RULES: notify the people who must act or should know."""
    rule = RULES.get(event.name)
    if rule is None:
        return
    payload = event.payload
    people = {payload.get(key) for key in PARTY_KEYS} | {event.actor_id}
    people -= {None}
    people |= {
        user_id
        for key in ("raters", "revealed")
        for pair in payload.get(key, ())
        for user_id in pair
    }
    handles = dict(
        db.session.execute(select(User.id, User.handle).where(User.id.in_(people))).all()
    )

    def handle(user_id: int | None) -> str:
        return f"@{handles.get(user_id, 'someone')}"

    services.notify(
        rule(payload, event.actor_id, handle),
        event_id=event.id,
        event_name=event.name,
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        link=payload.get("path", "/"),
        now=event.created_at,
    )

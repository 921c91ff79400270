"""Appeals (once per action, decided by a different moderator, overturning undoes the
sanction) and honest feedback (hidden only under a feedback rule, no longer counted, the
reason in its place), through the services, the pages and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.moderation import appeals, services
from app.moderation.models import Appeal, ModerationAction
from app.notifications.models import Notification
from app.reviews import reputation
from app.reviews.models import Feedback
from app.reviews.services import leave_feedback
from app.transactions.events import deliver_committed
from tests.factories import ListingFactory, OrderFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.moderation_support import moderator

DETAILS = "Insults me instead of rating the sale."
ABUSE = "You are an idiot and everybody should know it."
STATEMENT = "I was angry but I described the sale honestly."


def _rated_seller(negatives: int = 1, positives: int = 2):
    """A seller with `positives` positive and `negatives` negative (abusive) revealed feedback;
    returns (seller, the abusive feedback)."""
    seller = UserFactory()
    abusive = None
    for n in range(positives + negatives):
        order = OrderFactory(listing=ListingFactory(seller=seller))
        says = "negative" if n >= positives else "positive"
        given = leave_feedback(order.id, order.buyer_id, says, ABUSE if says == "negative" else "")
        leave_feedback(order.id, order.seller_id, "positive", "")
        if says == "negative":
            abusive = given
    return seller, abusive


def _overall(user_id: int):
    db.session.expire_all()
    return reputation.scores_of(user_id)["overall"]


def _hidden_feedback(mod=None, rule=8):
    """Abusive feedback reported and hidden by a moderator: (seller, feedback, action, mod)."""
    seller, feedback = _rated_seller()
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    mod = mod or moderator()
    action = services.act(case_id, mod.id, "hide", rule, "Insults, not about the sale.")
    return seller, feedback, action, mod


# -- feedback stays honest -------------------------------------------------------------------


def test_hidden_feedback_no_longer_counts_in_the_score(app):
    seller, feedback = _rated_seller()
    before = _overall(seller.id)
    assert (before.positive, before.negative) == (2, 1)
    percent_before = before.percent_positive
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    services.act(case_id, moderator().id, "hide", 8, "Insults, not about the sale.")
    after = _overall(seller.id)
    assert (after.positive, after.negative) == (2, 0)
    assert after.percent_positive == 100.0 and percent_before < 100.0
    assert db.session.get(Feedback, feedback.id).is_withheld


def test_reports_alone_do_not_take_feedback_out_of_the_score(app):
    seller, feedback = _rated_seller()
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    case = services.get_case(case_id, moderator().id)
    case.content_state, case.is_auto_hidden = "hidden", True  # as trusted reporters would
    db.session.commit()
    reputation.recompute_all()
    assert _overall(seller.id).negative == 1


def test_feedback_is_hidden_only_under_a_feedback_rule(app):
    seller, feedback = _rated_seller()
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    mod = moderator()
    with pytest.raises(ValidationFailed) as refused:
        services.act(case_id, mod.id, "hide", 1, "Not honest, I think.")
    assert "feedback rule" in refused.value.fields["rule"][0]
    assert not db.session.get(Feedback, feedback.id).is_withheld
    services.act(case_id, mod.id, "hide", 5, "Not about the transaction.")
    assert db.session.get(Feedback, feedback.id).is_withheld


def test_the_act_form_of_a_feedback_case_offers_only_feedback_rules(make_client):
    seller, feedback = _rated_seller()
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    page = make_client(moderator()).get(f"/moderation/cases/{case_id}").get_data(as_text=True)
    assert "5. Feedback is about the transaction (off-topic, extortion, personal data)" in page
    assert "8. No harassment (abuse, harassment)" in page
    assert "1. Be honest" not in page


def test_the_reason_stands_in_place_of_hidden_feedback_on_the_profile_and_api(make_client):
    seller, feedback, _action, _mod = _hidden_feedback()
    page = make_client(UserFactory()).get(f"/u/{seller.handle}").get_data(as_text=True)
    assert "Hidden by a moderator: breaks rule 8, No harassment." in page
    assert ABUSE not in page
    order_page = make_client(seller).get(f"/orders/{feedback.subject_id}").get_data(as_text=True)
    assert "Hidden by a moderator: breaks rule 8, No harassment." in order_page
    assert ABUSE not in order_page
    items = make_client().get(f"/api/v1/users/{seller.handle}/feedback").json["items"]
    hidden = next(item for item in items if item["id"] == feedback.id)
    assert hidden["hidden"] is True and hidden["comment"] == ""
    assert hidden["hidden_reason"].startswith("Hidden by a moderator: breaks rule 8")
    shown = next(item for item in items if item["id"] != feedback.id)
    assert shown["hidden"] is False and shown["hidden_reason"] is None


# -- appeals ---------------------------------------------------------------------------------


def test_a_member_appeals_each_action_once(app):
    _seller, feedback, action, _mod = _hidden_feedback()
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    assert appeal.status == "pending"
    with pytest.raises(appeals.AppealAlreadyMade):
        appeals.create_appeal(feedback.author_id, action.id, "Let me say it again, louder.")
    assert len(db.session.scalars(select(Appeal)).all()) == 1


def test_only_the_sanctioned_member_appeals_and_only_a_sanction(app):
    seller, feedback, action, _mod = _hidden_feedback()
    with pytest.raises(NotFound):
        appeals.create_appeal(seller.id, action.id, STATEMENT)
    with pytest.raises(ValidationFailed):
        appeals.create_appeal(feedback.author_id, action.id, "short")
    restored = services.act(action.case_id, moderator().id, "restore", 8, "On second look.")
    with pytest.raises(appeals.NotAppealable):
        appeals.create_appeal(feedback.author_id, restored.id, STATEMENT)


@pytest.mark.parametrize("sanction", ["suspend", "ban"])
def test_a_suspended_or_banned_member_still_appeals(app, sanction):
    member = UserFactory()
    case_id = services.create_report(UserFactory().id, "member", member.id, 8, DETAILS).case_id
    until = utcnow() + timedelta(days=7) if sanction == "suspend" else None
    action = services.act(case_id, moderator().id, sanction, 8, "Insults.", suspended_until=until)
    assert db.session.get(User, member.id).is_restricted
    assert appeals.create_appeal(member.id, action.id, STATEMENT).status == "pending"


@pytest.mark.parametrize("who", ["member", "acting_moderator", "appellant_moderator", "party"])
def test_who_may_not_decide_an_appeal(app, who):
    _seller, feedback, action, mod = _hidden_feedback()
    if who == "appellant_moderator":
        db.session.get(User, feedback.author_id).is_moderator = True
        db.session.commit()
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    decider, error = {
        "member": (UserFactory(), services.NotAModerator),
        "acting_moderator": (mod, appeals.OwnAction),
        "appellant_moderator": (db.session.get(User, feedback.author_id), services.OwnCase),
        "party": (db.session.get(User, feedback.subject_user_id), services.OwnCase),
    }[who]
    if who == "party":
        decider.is_moderator = True
        db.session.commit()
    with pytest.raises(error):
        appeals.decide_appeal(appeal.id, decider.id, "overturn", 8, "I say it goes.")
    assert db.session.get(Appeal, appeal.id).status == "pending"
    assert db.session.get(Feedback, feedback.id).is_withheld


def test_a_different_moderator_upholds_and_the_sanction_stands(app):
    seller, feedback, action, _mod = _hidden_feedback()
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    decision = appeals.decide_appeal(appeal.id, moderator().id, "uphold", 8, "It is an insult.")
    assert decision.action == "uphold" and decision.appealed_action_id == action.id
    assert db.session.get(Appeal, appeal.id).status == "upheld"
    assert db.session.get(Feedback, feedback.id).is_withheld
    assert _overall(seller.id).negative == 0
    with pytest.raises(appeals.AppealDecided):
        appeals.decide_appeal(appeal.id, moderator().id, "overturn", 8, "Changed my mind.")


def test_overturning_shows_the_feedback_again_and_it_counts_again(app):
    seller, feedback, action, _mod = _hidden_feedback()
    assert _overall(seller.id).negative == 0
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    appeals.decide_appeal(appeal.id, moderator().id, "overturn", 5, "Harsh but about the sale.")
    assert services.content_state("feedback", feedback.id) == "visible"
    assert not db.session.get(Feedback, feedback.id).is_withheld
    assert _overall(seller.id).negative == 1


def test_overturning_a_suspension_lifts_it_but_not_a_later_ban(app):
    member, mod = UserFactory(), moderator()
    case_id = services.create_report(UserFactory().id, "member", member.id, 8, DETAILS).case_id
    suspended = services.act(
        case_id, mod.id, "suspend", 8, "A week off.", suspended_until=utcnow() + timedelta(days=7)
    )
    appeal = appeals.create_appeal(member.id, suspended.id, STATEMENT)
    appeals.decide_appeal(appeal.id, moderator().id, "overturn", 8, "The messages were fair.")
    assert not db.session.get(User, member.id).is_restricted
    # A later ban is not lifted by overturning the suspension before it.
    other = UserFactory()
    case_id = services.create_report(UserFactory().id, "member", other.id, 8, DETAILS).case_id
    first = services.act(
        case_id, mod.id, "suspend", 8, "A week off.", suspended_until=utcnow() + timedelta(days=7)
    )
    case_id = services.create_report(UserFactory().id, "member", other.id, 6, DETAILS).case_id
    services.act(case_id, mod.id, "ban", 6, "A second account.")
    appeal = appeals.create_appeal(other.id, first.id, STATEMENT)
    appeals.decide_appeal(appeal.id, moderator().id, "overturn", 8, "The week was too much.")
    assert db.session.get(User, other.id).is_restricted


def test_the_decision_is_in_the_public_log_without_the_statement(make_client):
    _seller, feedback, action, mod = _hidden_feedback()
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    second = moderator()
    appeals.decide_appeal(appeal.id, second.id, "overturn", 5, "Harsh but about the sale.")
    page = make_client().get("/moderation/log").get_data(as_text=True)
    author = db.session.get(User, feedback.author_id).handle
    assert (
        f'@{second.handle} overturned, on appeal, <a href="/moderation/log/{action.id}">'
        f"@{mod.handle}&#39;s action “hid feedback by @{author}”</a>" in page
    )
    assert "Harsh but about the sale." in page and STATEMENT not in page


def test_the_sanctioned_member_is_told_where_to_appeal(app):
    seller, feedback, _action, _mod = _hidden_feedback()
    deliver_committed()
    notices = {
        n.user_id: n
        for n in db.session.scalars(
            select(Notification).where(Notification.event_name == "moderation.acted")
        )
    }
    told = notices[feedback.author_id]
    assert told.link == "/me/moderation" and "(you can appeal it once)" in told.text
    assert notices[seller.id].link == "/reports/mine"


def test_the_member_and_the_acting_moderator_are_told_the_outcome(app):
    _seller, feedback, action, mod = _hidden_feedback()
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    appeals.decide_appeal(appeal.id, moderator().id, "uphold", 8, "It is an insult.")
    deliver_committed()
    texts = {
        n.user_id: n.text
        for n in db.session.scalars(
            select(Notification).where(Notification.event_name == "moderation.appeal_decided")
        )
    }
    assert "Your appeal" in texts[feedback.author_id] and "upheld" in texts[feedback.author_id]
    assert "upheld" in texts[mod.id]


# -- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "mine", "queue"),
    [("anonymous", 302, 302), ("member", 200, 403), ("moderator", 200, 200)],
)
def test_who_opens_the_appeal_pages(make_client, who, mine, queue):
    user = {"anonymous": None, "member": UserFactory(), "moderator": moderator()}[who]
    client = make_client(user)
    assert client.get("/me/moderation").status_code == mine
    assert client.get("/moderation/appeals").status_code == queue


def test_a_banned_member_appeals_from_their_page_and_a_second_moderator_decides(make_client):
    member, first = UserFactory(), moderator()
    case_id = services.create_report(UserFactory().id, "member", member.id, 6, DETAILS).case_id
    ban = services.act(case_id, first.id, "ban", 6, "A second account.")
    client = make_client(member)
    page = client.get("/me/moderation").get_data(as_text=True)
    assert "Appeal this action" in page and "A second account." in page
    assert 'href="/me/moderation">appeal the decision</a>' in page  # the banner says so
    field = f"appeal-{ban.id}-statement"
    response = client.post(f"/me/moderation/{ban.id}/appeal", data={field: STATEMENT})
    assert response.status_code == 303
    page = client.get("/me/moderation").get_data(as_text=True)
    assert "Appeal waiting for a moderator" in page and "Appeal this action" not in page
    appeal = db.session.scalar(select(Appeal))
    # The moderator who banned sees it but cannot decide; another one does.
    mine = make_client(first)
    assert "yours: another moderator decides" in mine.get("/moderation/appeals").get_data(
        as_text=True
    )
    refused = mine.post(
        f"/moderation/appeals/{appeal.id}/decide",
        data={"decision": "overturn", "rule": 6, "reason": "Looks fine to me."},
    )
    assert refused.status_code == 303
    assert db.session.get(Appeal, appeal.id).status == "pending"
    second = make_client(moderator())
    detail = second.get(f"/moderation/appeals/{appeal.id}").get_data(as_text=True)
    assert STATEMENT in detail and "Record the decision" in detail
    second.post(
        f"/moderation/appeals/{appeal.id}/decide",
        data={"decision": "overturn", "rule": 6, "reason": "One account after all."},
    )
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).status == "overturned"
    assert not db.session.get(User, member.id).is_restricted
    page = client.get("/me/moderation").get_data(as_text=True)
    assert "Appeal overturned" in page


def test_the_queue_filters_appeals_by_status_and_action(make_client):
    _seller, feedback, action, _mod = _hidden_feedback()
    appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    member = UserFactory()
    case_id = services.create_report(UserFactory().id, "member", member.id, 8, DETAILS).case_id
    warned = services.act(case_id, moderator().id, "warn", 8, "Mind your words.")
    decided = appeals.create_appeal(member.id, warned.id, STATEMENT)
    appeals.decide_appeal(decided.id, moderator().id, "uphold", 8, "The warning stands.")
    client = make_client(moderator())
    waiting = client.get("/moderation/appeals").get_data(as_text=True)
    assert "hid feedback by" in waiting and "warned the account" not in waiting
    assert 'Appeals <span class="badge">1</span>' in waiting
    upheld = client.get("/moderation/appeals?status=upheld").get_data(as_text=True)
    assert "warned the account" in upheld and "hid feedback by" not in upheld
    by_kind = client.get("/moderation/appeals?status=all&action=hide").get_data(as_text=True)
    assert "hid feedback by" in by_kind and "warned the account" not in by_kind


# -- API -------------------------------------------------------------------------------------


def test_the_api_appeals_lists_and_decides(client):
    _seller, feedback, action, mod = _hidden_feedback()
    author = db.session.get(User, feedback.author_id)
    headers = bearer(author)
    sanctions = client.get("/api/v1/moderation/sanctions", headers=headers).json["items"]
    assert sanctions[0]["action"]["id"] == action.id and sanctions[0]["can_appeal"] is True
    url = f"/api/v1/moderation/actions/{action.id}/appeal"
    created = client.post(url, headers=headers, json={"statement": STATEMENT})
    assert created.status_code == 201 and created.json["status"] == "pending"
    again = client.post(url, headers=headers, json={"statement": STATEMENT})
    assert again.status_code == 409 and again.json["error"]["code"] == "appeal_already_made"
    stranger = client.post(url, headers=bearer(UserFactory()), json={"statement": STATEMENT})
    assert stranger.status_code == 404
    mine = client.get("/api/v1/appeals", headers=headers).json["items"]
    assert [a["id"] for a in mine] == [created.json["id"]]

    member_queue = client.get("/api/v1/moderation/appeals", headers=headers)
    assert member_queue.status_code == 403
    assert member_queue.json["error"]["code"] == "not_a_moderator"
    waiting = client.get("/api/v1/moderation/appeals", headers=bearer(mod)).json["items"]
    assert waiting[0]["statement"] == STATEMENT
    decide = f"/api/v1/moderation/appeals/{created.json['id']}/decision"
    body = {"decision": "overturn", "rule": 5, "reason": "Harsh but about the sale."}
    own = client.post(decide, headers=bearer(mod), json=body)
    assert own.status_code == 403 and own.json["error"]["code"] == "own_action"
    decided = client.post(decide, headers=bearer(moderator()), json=body)
    assert decided.status_code == 201
    assert decided.json["action"] == "overturn"
    assert decided.json["appealed_action_id"] == action.id
    twice = client.post(decide, headers=bearer(moderator()), json=body)
    assert twice.status_code == 409 and twice.json["error"]["code"] == "appeal_decided"
    log = client.get("/api/v1/moderation/log").json["items"]
    assert log[0]["action"] == "overturn" and STATEMENT not in str(log)
    after = client.get("/api/v1/moderation/sanctions", headers=headers).json["items"]
    assert after[0]["appeal"]["status"] == "overturned" and after[0]["can_appeal"] is False


def test_the_api_refuses_hiding_feedback_under_another_rule(client):
    seller, feedback = _rated_seller()
    case_id = services.create_report(seller.id, "feedback", feedback.id, 8, DETAILS).case_id
    response = client.post(
        f"/api/v1/moderation/cases/{case_id}/actions",
        headers=bearer(moderator()),
        json={"action": "hide", "rule": 2, "reason": "Did not deliver, I think."},
    )
    assert response.status_code == 422 and "rule" in response.json["error"]["fields"]
    assert db.session.scalars(select(ModerationAction)).all() == []


def test_the_public_log_marks_an_appealed_action_and_links_its_decision(make_client):
    _seller, feedback, action, _mod = _hidden_feedback()
    client = make_client()
    assert "Appealed" not in client.get("/moderation/log").get_data(as_text=True)
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    entry = client.get(f"/moderation/log/{action.id}").get_data(as_text=True)
    assert "Appealed</span> waiting for a decision" in entry and STATEMENT not in entry
    decision = appeals.decide_appeal(appeal.id, moderator().id, "uphold", 8, "Insults stay out.")
    log = client.get("/moderation/log").get_data(as_text=True)
    assert "Upheld on appeal</span>" in log
    assert f'href="/moderation/log/{decision.id}">the decision</a>' in log
    assert f'<a href="/moderation/log/{action.id}">@' in log  # the decision names the action
    assert client.get("/moderation/log/999999").status_code == 404


def test_the_api_log_entry_says_whether_the_action_was_appealed(client):
    _seller, feedback, action, _mod = _hidden_feedback()
    url = f"/api/v1/moderation/log/{action.id}"
    assert client.get(url).json["appeal_status"] == "none"
    appeal = appeals.create_appeal(feedback.author_id, action.id, STATEMENT)
    assert client.get(url).json["appeal_status"] == "pending"
    decision = appeals.decide_appeal(appeal.id, moderator().id, "overturn", 5, "About the sale.")
    entry = client.get(url).json
    assert (entry["appeal_status"], entry["appeal_decision_id"]) == ("overturned", decision.id)
    decided = client.get(f"/api/v1/moderation/log/{decision.id}").json
    assert decided["appealed_action_id"] == action.id and decided["appeal_status"] == "none"
    listed = client.get("/api/v1/moderation/log").json["items"]
    assert [e["appeal_status"] for e in listed] == ["none", "overturned"]
    missing = client.get("/api/v1/moderation/log/999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"

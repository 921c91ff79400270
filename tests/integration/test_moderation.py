"""Reports grouped into cases, limits, hiding by trusted reporters, the moderator queue, the
append-only log, the public log, and who may act on what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, select, update

from app.accounts.suspension import AccountSuspended
from app.db import utcnow
from app.errors import Forbidden, ValidationFailed
from app.extensions import db
from app.moderation import rules as rulebook
from app.moderation import services
from app.moderation.models import AuditLogImmutable, ModerationAction, ModerationCase, Report
from app.notifications.models import Notification
from app.transactions.events import deliver_committed
from tests.factories import ListingFactory, UserFactory
from tests.integration.moderation_support import moderator, trusted

DETAILS = "The photos are of a different item."


def _report(reporter, listing, rule=1):
    return services.create_report(reporter.id, "listing", listing.id, rule, DETAILS)


def test_reports_about_the_same_listing_are_grouped_in_one_case(app):
    listing = ListingFactory()
    first, second = _report(UserFactory(), listing), _report(UserFactory(), listing, rule=7)
    assert first.case_id == second.case_id
    case = db.session.get(ModerationCase, first.case_id)
    assert [r.id for r in case.open_reports] == [first.id, second.id]
    assert case.target_user_id == listing.seller_id


def test_a_member_reports_a_thing_once_while_it_waits(app):
    reporter, listing = UserFactory(), ListingFactory()
    _report(reporter, listing)
    with pytest.raises(services.AlreadyReported):
        _report(reporter, listing)


def test_nobody_reports_their_own_listing(app):
    listing = ListingFactory()
    with pytest.raises(services.CannotReportYourself):
        _report(listing.seller, listing)


def test_a_report_needs_a_rule_of_the_rules_in_force_and_details(app):
    reporter, listing = UserFactory(), ListingFactory()
    with pytest.raises(ValidationFailed) as error:
        _report(reporter, listing, rule=99)
    assert "rule" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        services.create_report(reporter.id, "listing", listing.id, 1, "bad")
    assert "details" in error.value.fields


def test_reports_per_day_are_limited(app):
    reporter = UserFactory()
    for _ in range(services.REPORTS_PER_DAY):
        _report(reporter, ListingFactory())
    with pytest.raises(services.ReportLimitReached) as error:
        _report(reporter, ListingFactory())
    assert error.value.status == 429 and error.value.code == "report_limit"


def test_trusted_reporters_hide_content_and_new_accounts_alone_do_not(app):
    listing = ListingFactory()
    for _ in range(3):
        _report(UserFactory(), listing)  # unrated accounts: 0.1 each
    case = db.session.scalar(select(ModerationCase))
    assert case.content_state == "visible"
    _report(trusted(), listing)
    db.session.refresh(case)
    assert case.content_state == "visible"  # 0.3 + 0.955
    assert services.report_weight_milli(trusted().id) == 955
    _report(trusted(), listing)
    db.session.refresh(case)
    assert case.content_state == "hidden" and case.is_auto_hidden


def test_two_trusted_reporters_hide_and_the_page_says_pending_review(app, make_client):
    listing = ListingFactory()
    _report(trusted(), listing)
    _report(trusted(), listing)
    assert services.content_state("listing", listing.id) == "hidden"
    page = make_client(UserFactory()).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "hidden pending review" in page
    assert listing.description not in page
    own = make_client(listing.seller).get(f"/listings/{listing.id}").get_data(as_text=True)
    assert listing.description in own


def test_past_dismissed_reports_weigh_less(app):
    reporter, mod = trusted(), moderator()
    before = services.report_weight_milli(reporter.id)
    report = _report(reporter, ListingFactory())
    services.act(report.case_id, mod.id, "dismiss", 1, "Nothing wrong with it.")
    assert services.report_weight_milli(reporter.id) < before


def test_an_edit_of_hidden_listing_asks_for_a_re_review(app):
    from app.listings import services as listings

    listing = ListingFactory()
    report = _report(UserFactory(), listing)
    services.act(report.case_id, moderator().id, "hide", 1, "Photos of another item.")
    case = db.session.get(ModerationCase, report.case_id)
    assert case.status == "closed"
    listings.update_listing(listing.id, listing.seller_id, title="The real item, new photos")
    db.session.refresh(case)
    assert case.needs_rereview and case.status == "open" and case.content_state == "hidden"


def test_only_moderators_see_the_queue_and_act(app):
    report = _report(UserFactory(), ListingFactory())
    member = UserFactory()
    with pytest.raises(services.NotAModerator):
        services.queue(member.id, services.QueueFilter())
    with pytest.raises(services.NotAModerator):
        services.claim_case(report.case_id, member.id)
    with pytest.raises(services.NotAModerator):
        services.act(report.case_id, member.id, "warn", 1, "Not mine to say.")
    assert db.session.scalars(select(ModerationAction)).all() == []


@pytest.mark.parametrize("party", ["seller", "reported_member", "feedback_author"])
def test_nobody_moderates_their_own_case(app, party):
    mod = moderator()
    if party == "seller":
        listing = ListingFactory(seller=mod)
        case_id = _report(UserFactory(), listing).case_id
    elif party == "reported_member":
        case_id = services.create_report(UserFactory().id, "member", mod.id, 8, DETAILS).case_id
    else:
        from app.reviews.models import Feedback

        other = UserFactory()
        feedback = Feedback(
            subject_kind="order", subject_id=1, author_id=other.id, subject_user_id=mod.id,
            author_role="buyer", subject_role="seller", rating="negative", comment="Awful.",
            title="A lamp", currency="USD",
        )  # fmt: skip
        db.session.add(feedback)
        db.session.commit()
        case_id = services.create_report(
            UserFactory().id, "feedback", feedback.id, 5, DETAILS
        ).case_id
    with pytest.raises(services.OwnCase):
        services.claim_case(case_id, mod.id)
    with pytest.raises(services.OwnCase):
        services.act(case_id, mod.id, "dismiss", 1, "Nothing to see here.")
    services.act(case_id, moderator().id, "warn", 1, "Another moderator decides.")


def test_a_claimed_case_is_decided_by_its_moderator(app):
    case_id = _report(UserFactory(), ListingFactory()).case_id
    first, second = moderator(), moderator()
    services.claim_case(case_id, first.id)
    with pytest.raises(services.CaseClaimed):
        services.act(case_id, second.id, "warn", 1, "Me first.")
    services.act(case_id, first.id, "warn", 1, "Describe the faults.")


def test_the_queue_filters_by_rule_kind_and_age(app):
    mod = moderator()
    old = _report(UserFactory(), ListingFactory(), rule=7)
    db.session.get(ModerationCase, old.case_id).opened_at = utcnow() - timedelta(days=3)
    db.session.commit()
    services.create_report(UserFactory().id, "member", UserFactory().id, 8, DETAILS)

    def ids(**kw):
        return [c.id for c in services.queue(mod.id, services.QueueFilter(**kw)).items]

    assert len(ids()) == 2
    assert ids(rule_number=7) == [old.case_id]
    assert ids(kind="listing") == [old.case_id]
    assert ids(older_than_hours=48) == [old.case_id]
    assert ids(kind="club") == []


def test_suspension_refuses_writes_with_the_until_date_and_notifies(app):
    from app.orders import services as orders

    member, mod, reporter = UserFactory(), moderator(), UserFactory()
    case_id = services.create_report(reporter.id, "member", member.id, 8, DETAILS).case_id
    until = utcnow() + timedelta(days=7)
    services.act(case_id, mod.id, "suspend", 8, "Insults in messages.", suspended_until=until)
    deliver_committed()
    with pytest.raises(AccountSuspended) as error:
        orders.place_order(member.id, ListingFactory().id, 1)
    assert error.value.code == "account_suspended"
    assert error.value.extra["suspended_until"] == until.isoformat()
    notices = {n.user_id: n.text for n in db.session.scalars(select(Notification))}
    assert "upheld" in notices[reporter.id]
    assert "suspended your account until" in notices[member.id]


def test_a_suspension_runs_out(app):
    from app.accounts.suspension import ensure_not_suspended

    member = UserFactory(is_suspended=True, suspended_until=utcnow() - timedelta(minutes=1))
    ensure_not_suspended(member.id)  # no error: it ended
    banned = UserFactory(is_suspended=True)
    with pytest.raises(AccountSuspended) as error:
        ensure_not_suspended(banned.id)
    assert "banned" in error.value.message


def test_a_suspension_needs_a_future_date(app):
    case_id = services.create_report(
        UserFactory().id, "member", UserFactory().id, 8, DETAILS
    ).case_id
    with pytest.raises(ValidationFailed) as error:
        services.act(case_id, moderator().id, "suspend", 8, "Insults.", suspended_until=None)
    assert "suspended_until" in error.value.fields


def test_moderation_actions_cannot_be_changed_or_deleted(app):
    report = _report(UserFactory(), ListingFactory())
    record = services.act(report.case_id, moderator().id, "warn", 1, "Describe the faults.")
    record.reason = "Something else"
    with pytest.raises(AuditLogImmutable):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(ModerationAction, record.id))
    with pytest.raises(AuditLogImmutable):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(AuditLogImmutable):
        db.session.execute(update(ModerationAction).values(reason="x"))
    with pytest.raises(AuditLogImmutable):
        db.session.execute(delete(ModerationAction))
    db.session.rollback()
    assert db.session.get(ModerationAction, record.id).reason == "Describe the faults."


def test_the_public_log_shows_actions_without_reporters_or_message_bodies(app, client):
    from app.messaging.models import Message

    reporter = UserFactory(handle="secretreporter")
    listing = ListingFactory()
    report = _report(reporter, listing)
    services.act(report.case_id, moderator(handle="modone").id, "remove", 6, "Counterfeit goods.")
    page = client.get("/moderation/log").get_data(as_text=True)
    assert "Counterfeit goods." in page and "@modone" in page and listing.title in page
    assert "secretreporter" not in page and DETAILS not in page
    assert db.session.scalars(select(Message)).all() == []  # no messages were involved here


def test_reporter_sees_the_outcome_on_their_reports_page(app, make_client):
    reporter = UserFactory()
    report = _report(reporter, ListingFactory())
    services.act(report.case_id, moderator().id, "dismiss", 1, "The photos are right.")
    page = make_client(reporter).get("/reports/mine").get_data(as_text=True)
    assert "Dismissed" in page and "The photos are right." in page
    assert db.session.get(Report, report.id).outcome == "dismissed"


def test_admins_publish_new_versions_and_every_version_is_kept(app, make_client):
    admin = UserFactory(is_admin=True)
    first = rulebook.current_rules()
    assert [r.number for r in first.rules] == list(range(1, 9))
    with pytest.raises(Forbidden):
        rulebook.publish_rules(UserFactory().id, [("Be kind", "", "")])
    client = make_client(admin)
    response = client.post(
        "/rules/edit",
        data={
            "rules-0-title": "Be honest",
            "rules-0-body": "always",
            "rules-1-title": "Be kind",
            "rules-1-body": "to everyone",
            "rules-1-feedback_grounds": "insults",
            "rules-2-title": "",
            "rules-2-body": "",
            "note": "Shorter",
        },
    )
    assert response.status_code == 303
    assert client.get("/rules").get_data(as_text=True).count('id="rule-') == 2
    versions = client.get("/rules/versions").get_data(as_text=True)
    assert "Version 2" in versions and "Version 1" in versions and "No harassment" in versions


def _hidden_listings(count: int, mod) -> None:
    for _ in range(count):
        report = _report(trusted(), ListingFactory())
        services.act(report.case_id, mod.id, "hide", 1, "Photos of another item.")


def _log_statements(client) -> int:
    """How many SQL statements one GET of the public log runs."""
    ran: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        ran.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/moderation/log").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(ran)


def test_the_public_log_reads_the_same_statements_for_three_or_nine_actions(app, client):
    mod = moderator()
    _hidden_listings(3, mod)
    client.get("/moderation/log")  # the first request of a session writes; not counted
    few = _log_statements(client)
    _hidden_listings(6, mod)
    assert _log_statements(client) == few


def test_the_rules_editor_shows_each_rule_with_its_feedback_grounds(make_client):
    page = make_client(UserFactory(is_admin=True)).get("/rules/edit").get_data(as_text=True)
    assert 'name="rules-7-title" type="text" value="No harassment"' in page
    assert re.search(r'name="rules-7-feedback_grounds"[^>]*value="abuse, harassment"', page)
    assert re.search(r'name="rules-0-feedback_grounds"[^>]*value=""', page)
    assert 'name="rules-9-title"' in page and 'name="rules-10-title"' not in page  # 2 new rows


def test_the_rules_editor_puts_each_error_on_its_row(make_client):
    client = make_client(UserFactory(is_admin=True))
    response = client.post(
        "/rules/edit",
        data={
            "rules-0-title": "Be honest",
            "rules-1-title": "",
            "rules-1-body": "",
            "rules-1-feedback_grounds": "abuse",
            "note": "",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="rules-1-title-error">Give the rule a title, or clear its grounds.' in page
    assert 'value="abuse"' in page  # what was typed stays
    assert rulebook.current_rules().version == 1


def test_feedback_rules_are_those_given_grounds_whatever_their_words(app):
    admin = UserFactory(is_admin=True)
    rulebook.publish_rules(
        admin.id,
        [
            ("Feedback is about the transaction", "Rate the trade.", ""),
            ("Be civil", "No insults anywhere.", "abuse, insults"),
        ],
    )
    [rule] = rulebook.feedback_rules()
    assert (rule.number, rule.feedback_grounds) == (2, "abuse, insults")
    with pytest.raises(ValidationFailed) as refused:
        rulebook.publish_rules(admin.id, [("Be kind", "", "x" * 121)])
    assert "rules.1.feedback_grounds" in refused.value.fields


def test_the_rules_page_says_which_rules_cover_feedback(client):
    page = client.get("/rules").get_data(as_text=True)
    assert "Feedback that breaks this rule (abuse, harassment) may be hidden" in page
    assert page.count("Feedback that breaks this rule") == 2

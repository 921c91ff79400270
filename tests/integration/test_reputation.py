"""The reputation engine wired into the app: stored scores, the recompute pass, the due job,
the command line and the profile's reputation card."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from app.jobs.runner import DUE_JOBS, run_due
from app.reviews import reputation, reputation_io
from app.reviews.models import Feedback, ReputationRun, ReputationScore, ReputationSnapshot
from app.reviews.services import leave_feedback, reputation_summary, reveal_expired
from reputation import compute
from tests.factories import ListingFactory, OrderFactory, UserFactory

SECRET = "Never arrived, seller stopped answering"
BLOCK_KEYS = {
    "confidence_level",
    "effective_ratings",
    "feedback_score",
    "percent_positive",
    "positive",
    "neutral",
    "negative",
    "trust",
    "confidence",
    "flags",
    "explanation",
}


@pytest.fixture
def order(app):
    return OrderFactory()


def rate_both(order, buyer_says="positive", seller_says="positive"):
    """Both parties rate: the second rating reveals the pair."""
    comment = "" if buyer_says == "positive" else "Not as described"
    leave_feedback(order.id, order.buyer_id, buyer_says, comment)
    comment = "" if seller_says == "positive" else "Paid late"
    return leave_feedback(order.id, order.seller_id, seller_says, comment)


def stored(user_id, role="overall"):
    db.session.expire_all()
    return reputation.scores_of(user_id).get(role)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def age_feedback(days: int) -> None:
    """Move every feedback `days` back in time, as if it had been left then."""
    for feedback in db.session.scalars(select(Feedback)):
        feedback.created_at -= timedelta(days=days)
        if feedback.revealed_at is not None:
            feedback.revealed_at -= timedelta(days=days)
    db.session.commit()


def store_score(user, role="overall", **values):
    """Write a stored score directly (what a pass would have written)."""
    row = {
        "trust": 0.9,
        "confidence": 0.8,
        "feedback_score": 20,
        "percent_positive": 100.0,
        "positive": 20,
        "neutral": 0,
        "negative": 0,
        "counts": {"1": [5, 0, 0], "6": [15, 0, 0], "12": [20, 0, 0]},
        "flags": [],
        "explanation": [{"name": "ratings received", "impact": 0.4, "description": "Many."}],
        **values,
    }
    db.session.add(ReputationScore(user_id=user.id, role=role, computed_at=utcnow(), **row))
    db.session.commit()


# -- scores move when feedback is revealed, and only then ------------------------------------


def test_revealing_feedback_stores_both_parties_scores_at_once(order):
    rate_both(order)
    seller, buyer = stored(order.seller_id), stored(order.buyer_id)
    assert (seller.positive, seller.negative, seller.feedback_score) == (1, 0, 1)
    assert (buyer.positive, buyer.feedback_score) == (1, 1)
    assert stored(order.seller_id, "seller").positive == 1
    assert stored(order.buyer_id, "buyer").positive == 1
    assert stored(order.seller_id, "buyer") is None
    assert 0.0 <= seller.trust <= 1.0 and seller.explanation


def test_a_reveal_scores_the_parties_exactly_and_leaves_everyone_else_to_the_due_job(app):
    first = OrderFactory()
    rate_both(first)
    reputation.recompute_all()
    second = OrderFactory(buyer=first.buyer)
    rate_both(second)
    now = utcnow()
    engine = compute(reputation.load_events(), now=now)
    assert stored(second.seller_id).trust == pytest.approx(engine.get(second.seller_id).trust)
    assert stored(first.seller_id).positive == 1  # untouched by the reveal
    assert count(ReputationRun) == 1
    assert reputation.is_recompute_due(now)
    assert reputation.recompute_due(now) == 3


def test_a_revealed_negative_lowers_the_stored_trust(app):
    seller = UserFactory()
    first = OrderFactory(listing=ListingFactory(seller=seller))
    rate_both(first)
    age_feedback(120)  # a mature buyer's voice counts
    reputation.recompute_all()
    before = stored(seller.id).trust
    second = OrderFactory(buyer=first.buyer, listing=ListingFactory(seller=seller))
    rate_both(second, buyer_says="negative")
    after = stored(seller.id)
    assert after.negative == 1
    assert after.trust < before


def test_overall_trust_lies_between_the_role_scores_and_is_explained_by_them(app):
    member = UserFactory()
    for says in ("positive", "positive", "positive"):
        rate_both(OrderFactory(listing=ListingFactory(seller=member)), buyer_says=says)
    rate_both(OrderFactory(buyer=member), seller_says="negative")
    age_feedback(60)
    reputation.recompute_all()
    summary = reputation_summary(member.id)
    seller, buyer = summary["roles"]["seller"]["trust"], summary["roles"]["buyer"]["trust"]
    overall = summary["overall"]
    assert min(seller, buyer) <= overall["trust"] <= max(seller, buyer)
    steps = overall["explanation"]
    assert {f["name"] for f in steps} >= {"as seller", "as buyer"}
    assert 50 + sum(f["points"] for f in steps) == round(overall["trust"] * 100)


def test_the_reveal_check_counts_no_further_than_it_needs(app):
    for _ in range(3):
        rate_both(OrderFactory())
    assert reputation.revealed_count() == 6
    assert reputation.revealed_count(at_most=2) == 3  # "more than 2", without counting all
    assert reputation.revealed_count(at_most=10) == 6


def test_a_new_sellers_first_positive_from_an_established_buyer_lifts_her_above_50(app):
    buyer = UserFactory()
    rate_both(OrderFactory(buyer=buyer))  # the buyer has traded before
    age_feedback(60)
    newcomer = UserFactory()
    rate_both(OrderFactory(buyer=buyer, listing=ListingFactory(seller=newcomer)))
    reputation.recompute_all()
    summary = reputation_summary(newcomer.id)
    assert summary["roles"]["seller"]["trust"] > 0.52
    assert summary["overall"]["trust"] > 0.52


def test_hidden_feedback_changes_no_score(order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    reputation.recompute_all()
    assert stored(order.seller_id) is None
    assert reputation_summary(order.seller_id)["overall"]["trust"] is None
    assert reputation_summary(order.seller_id)["overall"]["negative"] == 0


def test_hidden_negative_does_not_move_an_existing_score(app):
    seller = UserFactory()
    rate_both(OrderFactory(listing=ListingFactory(seller=seller)))
    before = stored(seller.id)
    trust, positive = before.trust, before.positive
    hidden = OrderFactory(listing=ListingFactory(seller=seller))
    leave_feedback(hidden.id, hidden.buyer_id, "negative", SECRET)
    reputation.recompute_all()
    after = stored(seller.id)
    assert (after.trust, after.positive, after.negative) == (trust, positive, 0)


def test_feedback_revealed_when_the_window_closes_counts_then(order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    assert stored(order.seller_id) is None
    assert reveal_expired(utcnow() + timedelta(days=31)) == 1
    assert stored(order.seller_id).negative == 1


def test_above_the_sync_limit_a_reveal_updates_counts_and_leaves_trust_to_the_job(app, order):
    app.config["REPUTATION_SYNC_LIMIT"] = 0
    rate_both(order)
    seller = stored(order.seller_id)
    assert (seller.positive, seller.feedback_score) == (1, 1)
    assert seller.explanation[0]["name"] == "not scored yet"
    assert stored(order.seller_id, "seller").positive == 1
    assert count(ReputationRun) == 0
    assert reputation.recompute_due(utcnow()) == 2
    row = stored(order.seller_id)
    assert reputation.explanation_of(row, reputation.scores_of(order.seller_id))[0]["name"] != (
        "not scored yet"
    )


def test_above_the_sync_limit_existing_trust_stays_until_the_next_pass(app):
    seller = UserFactory()
    rate_both(OrderFactory(listing=ListingFactory(seller=seller)))
    trust = stored(seller.id).trust
    app.config["REPUTATION_SYNC_LIMIT"] = 0
    rate_both(OrderFactory(listing=ListingFactory(seller=seller)), buyer_says="negative")
    row = stored(seller.id)
    assert (row.positive, row.negative, row.trust) == (1, 1, trust)


def test_a_failing_refresh_never_loses_the_feedback(app, order, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(reputation, "refresh_users", broken)
    feedback = rate_both(order)
    assert feedback.is_revealed
    assert count(Feedback) == 2
    assert stored(order.seller_id) is None


# -- the recompute pass ----------------------------------------------------------------------


def test_recompute_writes_an_overall_snapshot_per_user_and_day_once(order):
    rate_both(order)
    reputation.recompute_all()
    reputation.recompute_all()
    days = db.session.scalars(
        select(ReputationSnapshot.day).where(
            ReputationSnapshot.user_id == order.seller_id, ReputationSnapshot.role == "overall"
        )
    ).all()
    assert days == [utcnow().date()]
    assert count(ReputationSnapshot) == 2  # two users' overall trust: what the chart shows


def test_backfill_history_scores_past_days_as_they_were(order):
    rate_both(order)
    age_feedback(10)
    written = reputation.backfill_history(5)
    assert written == 5 * 2  # two users, overall
    history = reputation.trust_history(order.seller_id)
    days = [day for day, _trust in history]
    today = utcnow().date()
    assert days == [today - timedelta(days=back) for back in range(5, -1, -1)]


def test_the_engine_numbers_are_the_stored_numbers(app):
    seller = UserFactory()
    for says in ("positive", "positive", "negative"):
        rate_both(OrderFactory(listing=ListingFactory(seller=seller)), buyer_says=says)
    age_feedback(40)
    now = utcnow()
    reputation.recompute_all(now)
    engine = compute(reputation.load_events(), now=now).get(seller.id, "seller")
    row = stored(seller.id, "seller")
    assert row.trust == pytest.approx(engine.trust, abs=1e-6)
    assert row.confidence == pytest.approx(engine.confidence, abs=1e-6)
    assert (row.positive, row.negative, row.feedback_score) == (2, 1, 1)
    assert row.percent_positive == pytest.approx(engine.percent_positive)


def test_the_bulk_pass_stores_exactly_the_rows_of_the_row_by_row_path(app):
    # On PostgreSQL the pass writes through binary COPY and INSERT ... SELECT; the rows must
    # be the ones the plain executemany path (SQLite, reveals) writes for the same scores.
    seller, buyer = UserFactory(), UserFactory()
    for says in ("positive", "negative", "neutral"):
        order = OrderFactory(buyer=buyer, listing=ListingFactory(seller=seller))
        rate_both(order, buyer_says=says)
    rate_both(OrderFactory(listing=ListingFactory(seller=buyer)))
    age_feedback(50)
    now = utcnow()
    reputation.recompute_all(now)
    table = compute(reputation_io.load_arrays(), reputation.ENGINE_CONFIG, now=now)
    expected = reputation_io.score_rows(table, table.columns(), now)
    assert len(expected) == count(ReputationScore) >= 6
    keys = ("trust", "confidence", "feedback_score", "positive", "neutral", "negative")
    for want in expected:
        row = stored(want["user_id"], want["role"])
        assert {k: getattr(row, k) for k in keys} == pytest.approx({k: want[k] for k in keys})
        assert row.percent_positive == pytest.approx(want["percent_positive"])
        assert (row.counts, row.flags) == (want["counts"], want["flags"])
        assert row.explanation == want["explanation"]
    snapshots = {(s.user_id, s.role) for s in db.session.scalars(select(ReputationSnapshot))}
    rated = {
        (r["user_id"], r["role"])
        for r in expected
        if r["role"] == "overall" and r["positive"] + r["neutral"] + r["negative"]
    }
    assert snapshots == rated and (seller.id, "overall") in snapshots


# -- the due job -----------------------------------------------------------------------------


def test_the_due_job_is_registered():
    assert DUE_JOBS["reputation.recompute"] == "app.reviews.reputation:recompute_due"


def test_the_due_job_does_nothing_without_revealed_feedback(order):
    leave_feedback(order.id, order.buyer_id, "positive")
    assert reputation.recompute_due(utcnow()) == 0
    assert count(ReputationRun) == 0


def test_the_due_job_runs_when_feedback_was_revealed_since_the_last_pass(app, order):
    app.config["REPUTATION_SYNC_LIMIT"] = 0  # the reveal itself does not run a pass
    rate_both(order)
    assert reputation.is_recompute_due(utcnow())
    assert run_due()["reputation.recompute"] == 2
    assert reputation.recompute_due(utcnow()) == 0  # idempotent: nothing new


def test_the_due_job_skips_a_fresh_pass_and_runs_a_stale_one(app, order):
    rate_both(order)
    reputation.recompute_all()
    now = utcnow()
    assert reputation.recompute_due(now + timedelta(minutes=59)) == 0
    assert reputation.recompute_due(now + timedelta(minutes=61)) == 2
    app.config["REPUTATION_RECOMPUTE_MINUTES"] = 5
    assert reputation.recompute_due(now + timedelta(minutes=67)) == 2
    assert count(ReputationRun) == 3


# -- the command line ------------------------------------------------------------------------


def test_recompute_command_shows_progress_and_writes_scores(app, order):
    app.config["REPUTATION_SYNC_LIMIT"] = 0
    rate_both(order)
    db.session.execute(ReputationScore.__table__.delete())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reputation", "recompute"])
    assert result.exit_code == 0, result.output
    assert "Recomputing reputation" in result.output
    assert "Scored 2 members (4 scores) from 2 ratings" in result.output
    assert count(ReputationScore) == 4


def test_recompute_command_can_rebuild_history(app, order):
    rate_both(order)
    age_feedback(3)
    result = app.test_cli_runner().invoke(args=["reputation", "recompute", "--history", "2"])
    assert result.exit_code == 0, result.output
    assert "Wrote 4 daily snapshots." in result.output


def test_show_command_prints_a_members_scores(app, order):
    rate_both(order, buyer_says="negative")
    result = app.test_cli_runner().invoke(args=["reputation", "show", order.seller.handle])
    assert result.exit_code == 0, result.output
    assert f"@{order.seller.handle}" in result.output
    assert re.search(r"^seller\s+\d+\s+0\.\d\d\s+-1\s+0\s+0\s+0\s+1$", result.output, re.M)
    assert "buyer" in result.output and "no ratings yet" in result.output
    assert "ratings received" in result.output


def test_show_command_refuses_an_unknown_handle(app):
    result = app.test_cli_runner().invoke(args=["reputation", "show", "nobody-here"])
    assert result.exit_code == 1
    assert "No member @nobody-here" in result.output


# -- reputation_summary (the API's numbers) --------------------------------------------------


def test_reputation_summary_has_trust_and_confidence_in_every_block(order):
    rate_both(order)
    summary = reputation_summary(order.seller_id)
    assert set(summary["overall"]) == BLOCK_KEYS
    assert set(summary["roles"]) == {"seller", "buyer"}
    for block in (summary["overall"], *summary["roles"].values()):
        assert set(block) == BLOCK_KEYS
    seller = summary["roles"]["seller"]
    assert 0 < seller["trust"] <= 1 and 0 <= seller["confidence"] < 1
    assert summary["roles"]["buyer"]["trust"] is None  # never rated as a buyer
    names = {factor["name"] for factor in summary["overall"]["explanation"]}
    assert "ratings received" in names  # rated in one role: that role's steps
    assert {"ratings received", "who rated"} <= {f["name"] for f in seller["explanation"]}
    keys = {"name", "impact", "description", "points"}
    assert all(set(f) == keys for f in seller["explanation"])


def test_reputation_summary_of_a_member_never_rated(app):
    summary = reputation_summary(UserFactory().id)
    assert summary["overall"] == {
        "feedback_score": 0,
        "percent_positive": None,
        "positive": 0,
        "neutral": 0,
        "negative": 0,
        "trust": None,
        "confidence": 0.0,
        "confidence_level": None,
        "effective_ratings": 0.0,
        "flags": [],
        "explanation": [],
    }


def test_reputation_summary_lists_other_roles_once_rated_in_them(app):
    user = UserFactory()
    store_score(user)
    store_score(user, "lender")
    assert list(reputation_summary(user.id)["roles"]) == ["seller", "buyer", "lender"]


def test_api_reputation_carries_trust_and_confidence(make_client, order):
    rate_both(order)
    response = make_client().get(f"/api/v1/users/{order.seller.handle}/reputation")
    assert response.status_code == 200
    body = response.get_json()
    assert body["overall"]["trust"] == pytest.approx(stored(order.seller_id).trust)
    assert "confidence" in body["roles"]["seller"]


# -- the profile -----------------------------------------------------------------------------


def profile_html(make_client, user, viewer=None) -> str:
    response = make_client(viewer).get(f"/u/{user.handle}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_profile_of_a_member_never_rated_says_no_ratings_yet(make_client, app):
    html = profile_html(make_client, UserFactory())
    assert "No ratings yet" in html
    assert "Trust score" not in html
    assert "Why this score" not in html
    assert "<svg" not in html


def test_profile_shows_trust_confidence_and_explanation(make_client, order):
    rate_both(order)
    row = stored(order.seller_id)
    html = profile_html(make_client, order.seller)
    assert "Trust score" in html
    assert f'<span class="reputation-number">{round(row.trust * 100)}</span>' in html
    assert "Low confidence" in html and "based on 1 rating," in html
    assert "<summary>Why this score</summary>" in html
    assert "Ratings received." in html and "Who rated." in html
    assert "worth" in html


def test_the_page_shows_the_engines_numbers(make_client, app):
    seller = UserFactory()
    for says in ("positive", "positive", "positive", "negative"):
        rate_both(OrderFactory(listing=ListingFactory(seller=seller)), buyer_says=says)
    # Six weeks on, the buyers are no longer brand-new accounts and their ratings count.
    now = utcnow() + timedelta(days=45)
    reputation.recompute_all(now)
    table = compute(reputation.load_events(), now=now)
    overall, as_seller = table.get(seller.id), table.get(seller.id, "seller")
    html = profile_html(make_client, seller)
    assert f'<span class="reputation-number">{round(overall.trust * 100)}</span>' in html
    row = re.search(r'<th scope="row">Seller</th>(.*?)</tr>', html, re.S).group(1)
    assert f"<strong>{round(as_seller.trust * 100)}</strong>" in row
    assert f'data-label="Feedback score">{as_seller.feedback_score}<' in row
    assert f"{as_seller.percent_positive:g}%" in row
    why = re.search(r'<ul class="reputation-factors">(.*?)</ul>', html, re.S).group(1)
    steps = re.findall(r'class="factor-impact factor-(?:up|down)">([+-]\d+)<', why)
    assert steps, why
    # The points shown add up to the score shown, and nothing says "±0".
    assert 50 + sum(int(p) for p in steps) == round(overall.trust * 100)
    assert "±" not in why


def test_the_chart_never_starts_before_the_member_joined(make_client, order):
    rate_both(order)
    seller = order.seller
    joined = seller.created_at.date()
    for back in (40, 20):
        db.session.add(
            ReputationSnapshot(
                user_id=seller.id,
                role="overall",
                day=joined - timedelta(days=back),
                trust=0.9,
                confidence=0.2,
                feedback_score=1,
            )
        )
    db.session.commit()
    history = reputation.trust_history(seller.id, joined=joined)
    assert all(day >= joined for day, _trust in history)


def test_profile_draws_the_trust_chart_from_snapshots(make_client, order):
    rate_both(order)
    order.seller.created_at = utcnow() - timedelta(days=60)
    today = utcnow().date()
    for back, trust in ((20, 0.52), (10, 0.61)):
        db.session.add(
            ReputationSnapshot(
                user_id=order.seller_id,
                role="overall",
                day=today - timedelta(days=back),
                trust=trust,
                confidence=0.2,
                feedback_score=1,
            )
        )
    db.session.commit()
    html = profile_html(make_client, order.seller)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg
    assert '<title id="trust-chart-title">Trust score over time</title>' in svg
    assert "From 52 on" in svg and "<polyline" in svg
    assert "Trust over the last 20 days" in html


def test_profile_without_enough_history_explains_the_missing_chart(make_client, order):
    rate_both(order)
    html = profile_html(make_client, order.seller)
    assert "<svg" not in html
    assert "appears here from the second day of ratings" in html


def test_profile_shows_a_badge_when_earned(make_client, app):
    seller = UserFactory(created_at=utcnow() - timedelta(days=400))
    store_score(seller)
    store_score(seller, "seller", percent_positive=99.0)
    html = profile_html(make_client, seller)
    assert html.count("Top-rated seller</span>") == 2  # by the name and in the card
    assert "New member" not in html


@pytest.mark.parametrize(
    "change",
    [
        {"percent_positive": 97.0},
        {"confidence": 0.2},
        {"trust": 0.64},
        {"counts": {"1": [1, 0, 0], "6": [3, 0, 0], "12": [4, 0, 0]}},
    ],
    ids=["percent", "confidence", "trust", "ratings"],
)
def test_profile_hides_the_badge_when_a_rule_is_not_met(make_client, app, change):
    seller = UserFactory(created_at=utcnow() - timedelta(days=400))
    store_score(seller)
    store_score(seller, "seller", **change)
    assert "Top-rated seller" not in profile_html(make_client, seller)


def test_a_collusion_flag_takes_the_badge_away(make_client, app):
    seller = UserFactory(created_at=utcnow() - timedelta(days=400))
    store_score(seller, flags=["collusion_ring"])
    store_score(seller, "seller", flags=["collusion_ring"])
    assert "Top-rated seller" not in profile_html(make_client, seller)


def test_a_new_account_shows_the_new_member_badge(make_client, app):
    assert "New member</span>" in profile_html(make_client, UserFactory())


@pytest.mark.parametrize("viewer", ["anonymous", "stranger", "author", "subject"])
def test_hidden_feedback_never_shows_through_the_profile(make_client, order, viewer):
    rate_both(OrderFactory(listing=ListingFactory(seller=order.seller)))
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    people = {"anonymous": None, "author": order.buyer, "subject": order.seller}
    html = profile_html(make_client, order.seller, people.get(viewer, UserFactory()))
    row = re.search(r'<th scope="row">Seller</th>(.*?)</tr>', html, re.S).group(1)
    assert "100%" in row and 'data-label="Feedback score">1<' in row
    assert SECRET not in html


def test_about_page_states_the_badge_rules(client):
    html = client.get("/about").get_data(as_text=True)
    assert 'id="badges"' in html
    assert "Top-rated seller" in html and "at least 5 ratings as a seller" in html
    assert "at least 98% positive" in html and "at least medium confidence" in html
    assert "younger than 30 days" in html
    # The score's rules in words, from the engine's settings.
    assert "50% your recent conduct" in html and "every 15 days" in html
    assert "low below 2, medium from 2, high from 8" in html


def test_warning_flags_read_as_notes_in_words(make_client, app):
    seller = UserFactory()
    explanation = [
        {"name": "ratings received", "impact": 0.3, "description": "Ten ratings."},
        {"name": "collusion_ring", "impact": 0.0, "description": "Part of a dense cluster."},
    ]
    store_score(seller, flags=["collusion_ring"], explanation=explanation)
    html = profile_html(make_client, seller)
    assert "<strong>Mutual-praise ring.</strong> Part of a dense cluster." in html
    assert ">note<" in html and ">+30<" in html
    assert "collusion_ring" not in html


def test_the_due_job_waits_a_minimum_gap_between_passes(app, order):
    app.config["REPUTATION_MIN_GAP_SECONDS"] = 300
    reputation.recompute_all()
    app.config["REPUTATION_SYNC_LIMIT"] = 0
    rate_both(order)
    now = utcnow()
    assert not reputation.is_recompute_due(now + timedelta(seconds=60))
    assert reputation.is_recompute_due(now + timedelta(seconds=301))

"""How a full reputation pass reads and writes in bulk (app/reviews/reputation_io.py): the
binary COPY in, the scores table built aside and swapped in, the day's snapshots rewritten."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from app.db import utcnow
from app.extensions import db
from app.reviews import reputation, reputation_io
from app.reviews.models import Feedback, ReputationScore, ReputationSnapshot
from app.reviews.services import leave_feedback
from tests.factories import ListingFactory, OrderFactory, UserFactory


def rate_both(order, buyer_says="positive", seller_says="positive"):
    leave_feedback(order.id, order.buyer_id, buyer_says, "" if buyer_says == "positive" else "No")
    leave_feedback(order.id, order.seller_id, seller_says, "")


def age_feedback(by: timedelta) -> None:
    """Move every feedback back in time by `by`, as if it had been left then."""
    for feedback in db.session.scalars(select(Feedback)):
        feedback.created_at -= by
        if feedback.revealed_at is not None:
            feedback.revealed_at -= by
    db.session.commit()


def overall_trust(user_id: int) -> float:
    db.session.expire_all()
    return reputation.scores_of(user_id)["overall"].trust


def _events(arrays) -> list[tuple]:
    users, roles = np.asarray(arrays.users), arrays.roles
    return sorted(
        zip(
            users[arrays.rater].tolist(),
            users[arrays.ratee].tolist(),
            [roles[k] for k in arrays.rater_role],
            [roles[k] for k in arrays.ratee_role],
            arrays.value.tolist(),
            arrays.time.tolist(),
            arrays.amount.tolist(),
            strict=True,
        )
    )


def test_the_bulk_loader_reads_exactly_what_the_row_loader_reads(app):
    # On PostgreSQL load_arrays() reads through binary COPY (coded roles, raw microseconds),
    # on SQLite through Python rows. Times must agree to the last bit: the engine's windows
    # and decay read them.
    seller = UserFactory()
    for says in ("positive", "negative", "neutral"):
        rate_both(OrderFactory(listing=ListingFactory(seller=seller)), buyer_says=says)
    hidden = OrderFactory()
    leave_feedback(hidden.id, hidden.buyer_id, "negative", "Not yet revealed")
    age_feedback(timedelta(days=400, microseconds=123_457))
    bulk, rows = reputation_io.load_arrays(), reputation_io.load_arrays_by_rows()
    assert len(bulk) == len(rows) == 6
    assert bulk.roles == rows.roles == ["buyer", "seller"]
    assert _events(bulk) == _events(rows)
    assert {event[4] for event in _events(bulk)} == {1.0, 0.0, -1.0}
    # A reveal's read: only the ratings the seller received, in the roles they name.
    bulk, rows = (
        reputation_io.load_arrays([seller.id]),
        reputation_io.load_arrays_by_rows([seller.id]),
    )
    assert len(bulk) == len(rows) == 3
    assert bulk.roles == rows.roles == ["buyer", "seller"]
    assert _events(bulk) == _events(rows)


def test_the_bulk_loader_reads_nothing_when_nothing_is_revealed(app):
    order = OrderFactory()
    leave_feedback(order.id, order.buyer_id, "positive", "")
    assert len(reputation_io.load_arrays()) == 0
    assert reputation.recompute_all().events == 0


def test_after_passes_the_scores_table_is_the_one_the_models_describe(app):
    rate_both(OrderFactory())
    reputation.recompute_all()
    reputation.recompute_all()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert [d for d in diff if "reputation" in str(d)] == []
    key = inspect(db.engine).get_pk_constraint("reputation_scores")
    assert (key["name"], key["constrained_columns"]) == (
        "pk_reputation_scores",
        ["user_id", "role"],
    )
    assert db.session.scalar(select(func.count()).select_from(ReputationScore)) == 4


def test_readers_keep_the_last_scores_while_a_pass_writes_the_next(app, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the table swap is PostgreSQL's")
    order = OrderFactory()
    rate_both(order)
    reputation.recompute_all()
    # What the last pass stored, marked so that the next pass's value cannot be mistaken for it.
    db.session.execute(
        text("UPDATE reputation_scores SET trust = 0.125 WHERE user_id = :id AND role = 'overall'"),
        {"id": order.seller_id},
    )
    db.session.commit()

    written, read = threading.Event(), threading.Event()
    swap = reputation_io._swap_in_next_scores

    def swap_once_read():
        written.set()
        read.wait(timeout=20)
        swap()

    monkeypatch.setattr(reputation_io, "_swap_in_next_scores", swap_once_read)
    errors = []

    def run_pass():
        with app.app_context():
            try:
                reputation.recompute_all()
            except Exception as error:  # asserted on below
                errors.append(error)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run_pass)
    thread.start()
    try:
        assert written.wait(timeout=20)
        reader = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with reader.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))
            started = time.perf_counter()
            seen = conn.execute(
                text(
                    "SELECT trust FROM reputation_scores WHERE user_id = :id AND role = 'overall'"
                ),
                {"id": order.seller_id},
            ).scalar_one()
            waited = time.perf_counter() - started
        reader.dispose()
    finally:
        read.set()
        thread.join(timeout=30)
    assert errors == []
    assert seen == 0.125 and waited < 1.0
    assert overall_trust(order.seller_id) != 0.125


def test_a_later_pass_the_same_day_rewrites_that_day_and_no_other(app):
    order = OrderFactory()
    rate_both(order)
    stranger = UserFactory()
    reputation.recompute_all()
    today = utcnow().date()
    yesterday = today - timedelta(days=1)
    db.session.execute(
        ReputationSnapshot.__table__.update()
        .where(ReputationSnapshot.user_id == order.seller_id)
        .values(trust=0.0)
    )
    db.session.add_all(
        [
            ReputationSnapshot(
                user_id=stranger.id, role="overall", day=today, trust=0.3, confidence=0.0,
                feedback_score=0,
            ),
            ReputationSnapshot(
                user_id=order.seller_id, role="seller", day=today, trust=0.3, confidence=0.0,
                feedback_score=0,
            ),
            ReputationSnapshot(
                user_id=order.seller_id, role="overall", day=yesterday, trust=0.4,
                confidence=0.0, feedback_score=0,
            ),
        ]
    )  # fmt: skip
    db.session.commit()

    assert reputation.recompute_all().snapshots == 2
    db.session.expire_all()
    points = {
        (s.user_id, s.role, s.day): s.trust for s in db.session.scalars(select(ReputationSnapshot))
    }
    assert points == {
        (order.seller_id, "overall", today): overall_trust(order.seller_id),
        (order.buyer_id, "overall", today): overall_trust(order.buyer_id),
        (order.seller_id, "overall", yesterday): 0.4,
    }


def test_the_recompute_command_says_how_long_each_phase_took(app):
    rate_both(OrderFactory())
    result = app.test_cli_runner().invoke(args=["reputation", "recompute"])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"Phases: load \d+\.\d\d s, score \d+\.\d\d s, store \d+\.\d\d s\.", result.output
    )

"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.conftest import BACKENDS, PG_URL

SCHEMA = "migration_check"


def _url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{SCHEMA}"


@pytest.fixture(params=BACKENDS)
def migrated_app(request, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=_url(request.param, tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _ignore_search_objects(obj, name, type_, reflected, compare_to):
    search_objects = ("ix_listings_fulltext", "search_vector")  # PostgreSQL's, not the models'
    return not (name or "").startswith("listings_fts") and name not in search_objects


def test_migrations_match_the_models(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_object": _ignore_search_objects},
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_migrations_create_the_search_index(migrated_app):
    inspector = inspect(db.engine)
    if db.engine.dialect.name == "sqlite":
        assert "listings_fts" in inspector.get_table_names()
    else:
        assert "ix_listings_fulltext" in {i["name"] for i in inspector.get_indexes("listings")}


def test_migrations_downgrade_to_base_and_up_again(migrated_app):
    downgrade(revision="base")
    assert "users" not in inspect(db.engine).get_table_names()
    upgrade()
    assert "users" in inspect(db.engine).get_table_names()


def test_search_finds_listings_in_a_migrated_database(migrated_app):
    from app.accounts.services import register
    from app.listings.services import create_listing, ensure_categories, search_listings

    ensure_categories()
    seller = register("mig@example.com", "migrator", "a long enough password")
    create_listing(
        seller.id,
        title="Walnut bookshelf",
        description="Five shelves, solid wood.",
        category_slug="home-garden",
        condition="good",
        price_cents=9000,
        quantity=1,
    )
    assert [item.title for item in search_listings(q="shelves").items] == ["Walnut bookshelf"]


def test_the_test_schema_search_ddl_is_the_migrations():
    """Tests build the schema with create_all + search.install; that must equal the migrations:
    0002 on SQLite, 0015 (the stored tsvector) on PostgreSQL."""
    import importlib.util
    from pathlib import Path

    from app.listings import search

    def migration(name):
        path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def squash(statements):
        return [" ".join(s.split()) for s in statements]

    sqlite_up = squash(migration("0002_search").SQLITE_UP)
    assert squash(search.SQLITE_DDL) == sqlite_up[: len(search.SQLITE_DDL)]
    assert squash(search.POSTGRES_DDL) == squash(migration("0015_search_speed").POSTGRES_UP)


# -- 0005: order messages move into conversations ------------------------------------------

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# (id, order_id, sender, recipient, minutes after T0, read after minutes or None)
OLD_MESSAGES = [
    (1, 1, "alice", "bob", 0, 5),
    (2, 1, "bob", "alice", 10, 12),
    (3, 1, "alice", "bob", 20, None),
    (4, 1, "alice", "bob", 30, None),
    (5, 2, "carol", "bob", 40, 45),
    (6, 2, "bob", "carol", 50, None),
]


def _insert_old_marketplace(conn) -> dict[str, int]:
    """At revision 0002: three people, a listing, three orders and messages with read_at."""
    people = {"alice": 1, "bob": 2, "carol": 3}
    for handle, user_id in people.items():
        conn.execute(
            text(
                "INSERT INTO users (id, email, handle, password_hash, is_moderator, is_admin,"
                " is_suspended, created_at) VALUES (:id, :email, :handle, 'x', false, false,"
                " false, :at)"
            ),
            {"id": user_id, "email": f"{handle}@example.com", "handle": handle, "at": T0},
        )
    conn.execute(
        text("INSERT INTO categories (id, slug, name, position) VALUES (1, 'home', 'Home', 1)")
    )
    conn.execute(
        text(
            "INSERT INTO listings (id, seller_id, category_id, title, description, condition,"
            " price_cents, currency, quantity, status, created_at, updated_at) VALUES"
            " (1, 2, 1, 'Oak chair', 'Sturdy.', 'good', 1000, 'USD', 5, 'active', :at, :at)"
        ),
        {"at": T0},
    )
    for order_id, buyer in ((1, "alice"), (2, "carol"), (3, "alice")):
        conn.execute(
            text(
                "INSERT INTO orders (id, listing_id, buyer_id, seller_id, title, quantity,"
                " unit_price_cents, total_cents, currency, state, created_at, updated_at)"
                " VALUES (:id, 1, :buyer, 2, :title, 1, 1000, 1000, 'USD', 'pending_payment',"
                " :at, :at)"
            ),
            {"id": order_id, "buyer": people[buyer], "title": f"Oak chair {order_id}", "at": T0},
        )
    for message_id, order_id, sender, recipient, sent, read in OLD_MESSAGES:
        conn.execute(
            text(
                "INSERT INTO messages (id, order_id, sender_id, recipient_id, body, created_at,"
                " read_at) VALUES (:id, :order_id, :sender, :recipient, :body, :at, :read_at)"
            ),
            {
                "id": message_id,
                "order_id": order_id,
                "sender": people[sender],
                "recipient": people[recipient],
                "body": f"Message {message_id}",
                "at": _at(sent),
                "read_at": None if read is None else _at(read),
            },
        )
    return people


@pytest.fixture(params=BACKENDS)
def app_at_0002(request, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=_url(request.param, tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    with app.app_context():
        upgrade(revision="0002")
        yield app
        db.session.remove()
        db.engine.dispose()


def test_upgrade_moves_order_messages_into_conversations_with_read_state(app_at_0002):
    from app.messaging import services as messaging
    from app.messaging.models import Conversation, ConversationParticipant, Message

    with db.engine.begin() as conn:
        people = _insert_old_marketplace(conn)
    upgrade()
    db.session.remove()

    conversations = db.session.scalars(select(Conversation).order_by(Conversation.id)).all()
    assert [(c.subject_kind, c.subject_id, c.title) for c in conversations] == [
        ("order", 1, "Oak chair 1"),
        ("order", 2, "Oak chair 2"),
    ]  # order 3 had no messages, so it has no conversation
    assert [(c.created_at, c.last_message_at) for c in conversations] == [
        (_at(0), _at(30)),
        (_at(40), _at(50)),
    ]
    members = db.session.execute(
        select(
            ConversationParticipant.conversation_id,
            ConversationParticipant.user_id,
            ConversationParticipant.last_read_message_id,
        ).order_by(ConversationParticipant.conversation_id, ConversationParticipant.user_id)
    ).all()
    first, second = conversations[0].id, conversations[1].id
    assert members == [(first, 1, 4), (first, 2, 2), (second, 2, 6), (second, 3, 5)]
    moved = db.session.execute(
        select(Message.id, Message.conversation_id, Message.sender_id, Message.body).order_by(
            Message.id
        )
    ).all()
    assert moved == [
        (m_id, first if order_id == 1 else second, people[sender], f"Message {m_id}")
        for m_id, order_id, sender, *_ in OLD_MESSAGES
    ]
    # What people see is what they saw before: the same unread counts, per order and in all.
    assert {h: messaging.unread_count(i) for h, i in people.items()} == {
        "alice": 0,
        "bob": 2,
        "carol": 1,
    }
    assert messaging.unread_by_subject(people["bob"], "order", [1, 2, 3]) == {1: 2}
    view = messaging.conversation_view(first, people["alice"])
    assert [(m.id, m.read_at) for m in view.messages] == [
        (1, _at(5)),  # alice's own, read by bob at 5
        (2, _at(12)),  # bob's, read by alice at 12
        (3, None),
        (4, None),
    ]


def test_downgrade_puts_conversations_back_into_order_messages(app_at_0002):
    with db.engine.begin() as conn:
        _insert_old_marketplace(conn)
    upgrade()
    downgrade(revision="0002")
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, order_id, sender_id, recipient_id, read_at FROM messages ORDER BY id")
        ).all()
    people = {"alice": 1, "bob": 2, "carol": 3}
    expected = [
        (m_id, order_id, people[sender], people[recipient], None if read is None else _at(read))
        for m_id, order_id, sender, recipient, _sent, read in OLD_MESSAGES
    ]
    assert [(*row[:4], _aware(row[4])) for row in rows] == expected
    assert "conversations" not in inspect(db.engine).get_table_names()


def _aware(value):
    """SQLite hands back naive text-parsed times from raw SQL; compare as UTC."""
    if value is None or (isinstance(value, datetime) and value.tzinfo):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_accounts_from_before_email_confirmation_count_as_confirmed(migrated_app):
    downgrade(revision="0005")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, handle, password_hash, is_moderator, is_admin,"
                " is_suspended, created_at) VALUES ('early@example.com', 'early', 'x',"
                " false, false, false, '2026-01-02 03:04:05+00:00')"
            )
        )
    upgrade()
    with db.engine.connect() as conn:
        confirmed, created = conn.execute(
            text("SELECT email_confirmed_at, created_at FROM users WHERE handle = 'early'")
        ).one()
    assert confirmed is not None and confirmed == created


# -- 0008: feedback is keyed by (kind, transaction, author, person rated) --------------------

# (id, order_id, author, person rated, author role, rated role, rating, revealed)
OLD_FEEDBACK = [
    (1, 1, "alice", "bob", "buyer", "seller", "positive", True),
    (2, 1, "bob", "alice", "seller", "buyer", "neutral", True),
    (3, 2, "carol", "bob", "buyer", "seller", "negative", False),
]


def _insert_old_feedback(conn, people: dict[str, int]) -> None:
    """At revision 0007: feedback keyed by order, its subject_id the person rated."""
    conn.execute(text("UPDATE orders SET state = 'completed', completed_at = :at"), {"at": T0})
    for fb_id, order_id, author, rated, author_role, rated_role, rating, revealed in OLD_FEEDBACK:
        conn.execute(
            text(
                "INSERT INTO feedback (id, order_id, author_id, subject_id, author_role,"
                " subject_role, rating, detail_communication, comment, amount_cents, created_at,"
                " revealed_at) VALUES (:id, :order_id, :author, :rated, :author_role,"
                " :rated_role, :rating, 4, :comment, 1000, :at, :revealed_at)"
            ),
            {
                "id": fb_id,
                "order_id": order_id,
                "author": people[author],
                "rated": people[rated],
                "author_role": author_role,
                "rated_role": rated_role,
                "rating": rating,
                "comment": f"Feedback {fb_id}",
                "at": _at(60 + fb_id),
                "revealed_at": _at(70) if revealed else None,
            },
        )


def test_upgrade_moves_order_feedback_onto_the_transaction_and_the_person_rated(app_at_0002):
    from app.reviews import services as reviews
    from app.reviews.models import Feedback

    with db.engine.begin() as conn:
        people = _insert_old_marketplace(conn)
    upgrade(revision="0007")
    with db.engine.begin() as conn:
        _insert_old_feedback(conn, people)
    upgrade()
    db.session.remove()

    rows = db.session.scalars(select(Feedback).order_by(Feedback.id)).all()
    assert [
        (
            f.id,
            f.subject_kind,
            f.subject_id,
            f.order_id,
            f.author_id,
            f.subject_user_id,
            f.author_role,
            f.subject_role,
            f.rating,
            f.title,
            f.amount_cents,
            f.currency,
            f.detail_communication,
        )
        for f in rows
    ] == [
        (
            fb_id,
            "order",
            order_id,
            order_id,
            people[author],
            people[rated],
            a_role,
            r_role,
            rating,
            f"Oak chair {order_id}",
            1000,
            "USD",
            4,
        )
        for fb_id, order_id, author, rated, a_role, r_role, rating, _revealed in OLD_FEEDBACK
    ]
    # What people see is what they saw: bob's revealed feedback as a seller, carol's still hidden.
    received = reviews.received_feedback(people["bob"], role="seller")
    assert [f.comment for f in received] == ["Feedback 1"]
    view = reviews.feedback_view(2, people["bob"])
    assert (view.theirs, view.can_leave) == (None, True)
    view = reviews.feedback_view(2, people["carol"])
    assert (view.mine.id, view.is_waiting_for_other) == (3, True)
    # The key now allows one feedback per (transaction, author, person rated), not more.
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feedback (subject_kind, subject_id, author_id, subject_user_id,"
                " author_role, subject_role, rating, comment, title, amount_cents, currency,"
                " created_at) VALUES ('order', 1, :alice, :bob, 'buyer', 'seller',"
                " 'positive', '', 'Oak chair 1', 1000, 'USD', :at)"
            ),
            {"alice": people["alice"], "bob": people["bob"], "at": T0},
        )


def test_downgrade_puts_order_feedback_back_on_the_order(app_at_0002):
    with db.engine.begin() as conn:
        people = _insert_old_marketplace(conn)
    upgrade(revision="0007")
    with db.engine.begin() as conn:
        _insert_old_feedback(conn, people)
    upgrade()
    downgrade(revision="0007")
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, order_id, author_id, subject_id, rating FROM feedback ORDER BY id")
        ).all()
    assert [tuple(row) for row in rows] == [
        (fb_id, order_id, people[author], people[rated], rating)
        for fb_id, order_id, author, rated, _a, _r, rating, _revealed in OLD_FEEDBACK
    ]
    assert "subject_kind" not in {c["name"] for c in inspect(db.engine).get_columns("feedback")}


# -- 0009: reputation scores keyed by (user_id, role) ------------------------------------------

SCORE = (
    "INSERT INTO reputation_scores ({id}user_id, role, trust, confidence, feedback_score, "
    "percent_positive, positive, neutral, negative, counts, flags, explanation, computed_at) "
    "VALUES ({value}:user_id, :role, 0.75, 0.5, 3, 100.0, 3, 0, 0, '{{}}', '[]', '{{}}', :at)"
)


def _scores(conn) -> list[tuple]:
    rows = conn.execute(text("SELECT user_id, role, trust FROM reputation_scores ORDER BY 1, 2"))
    return [tuple(row) for row in rows]


def test_upgrade_keys_reputation_scores_by_member_and_role_and_keeps_them(app_at_0002):
    with db.engine.begin() as conn:
        people = _insert_old_marketplace(conn)
    upgrade(revision="0008")
    with db.engine.begin() as conn:
        for k, (handle, role) in enumerate([("bob", "overall"), ("bob", "seller")], start=7):
            conn.execute(
                text(SCORE.format(id="id, ", value=":id, ")),
                {"id": k, "user_id": people[handle], "role": role, "at": T0},
            )
    upgrade()
    inspector = inspect(db.engine)
    key = inspector.get_pk_constraint("reputation_scores")
    assert key["constrained_columns"] == ["user_id", "role"]
    assert "id" not in {c["name"] for c in inspector.get_columns("reputation_scores")}
    assert inspector.get_foreign_keys("reputation_scores") == []
    assert "ix_reputation_snapshots_day" in {
        i["name"] for i in inspector.get_indexes("reputation_snapshots")
    }
    with db.engine.connect() as conn:
        assert _scores(conn) == [(people["bob"], "overall", 0.75), (people["bob"], "seller", 0.75)]
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text(SCORE.format(id="", value="")),
            {"user_id": people["bob"], "role": "seller", "at": T0},
        )


def test_downgrade_gives_reputation_scores_their_ids_back(app_at_0002):
    with db.engine.begin() as conn:
        people = _insert_old_marketplace(conn)
    upgrade()
    with db.engine.begin() as conn:
        for handle in ("alice", "bob"):
            conn.execute(
                text(SCORE.format(id="", value="")),
                {"user_id": people[handle], "role": "overall", "at": T0},
            )
    downgrade(revision="0008")
    with db.engine.begin() as conn:
        assert _scores(conn) == [
            (people["alice"], "overall", 0.75),
            (people["bob"], "overall", 0.75),
        ]
        conn.execute(
            text(SCORE.format(id="", value="")),
            {"user_id": people["carol"], "role": "overall", "at": T0},
        )
        ids = conn.execute(text("SELECT id FROM reputation_scores ORDER BY id")).scalars().all()
    assert ids == [1, 2, 3]


def test_migration_0012_seeds_the_rules_and_keeps_the_log_append_only(migrated_app):
    with db.engine.begin() as conn:
        titles = conn.execute(text("SELECT title FROM rules ORDER BY number")).scalars().all()
        assert len(titles) == 8 and titles[0] == "Be honest" and titles[-1] == "No harassment"
        conn.execute(
            text(
                "INSERT INTO users (id, email, handle, password_hash, is_moderator, is_admin,"
                " is_suspended, created_at) VALUES (1, 'm@example.com', 'modone', 'x', true,"
                " false, false, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO moderation_cases (id, target_kind, target_id, target_user_id, title,"
                " status, content_state, is_auto_hidden, needs_rereview, opened_at) VALUES"
                " (1, 'member', 1, 1, '@modone', 'closed', 'visible', false, false,"
                " CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO moderation_actions (case_id, moderator_id, action, rule_id, reason,"
                " target_kind, target_id, target_user_id, created_at) VALUES (1, 1, 'warn', 1,"
                " 'A warning.', 'member', 1, 1, CURRENT_TIMESTAMP)"
            )
        )
    if db.engine.dialect.name != "postgresql":
        return  # the ORM guard covers SQLite (tests/integration/test_moderation.py)
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE moderation_actions SET reason = 'Rewritten.'"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM moderation_actions"))


def test_migration_0018_gives_the_seeded_feedback_rules_their_grounds(migrated_app):
    with db.engine.begin() as conn:
        grounds = dict(conn.execute(text("SELECT number, feedback_grounds FROM rules")).all())
    assert grounds[5] == "off-topic, extortion, personal data"
    assert grounds[8] == "abuse, harassment"
    assert [n for n, g in grounds.items() if g] == [5, 8]

"""Bulk input and output of a reputation pass: feedback in as arrays, scores out in bulk.

A full pass reads every revealed feedback and writes a score per member and role. Python
objects per row would cost most of the pass (a million `RatingEvent`s, hundreds of thousands
of `Score`s), so on PostgreSQL both directions use binary COPY, parsed and built by numpy as
fixed-width records:

- in: `COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`, every column a fixed-width number (roles
  and ratings coded by the query, times as PostgreSQL's own microseconds), read straight into
  the engine's `EventArrays`;
- out: the engine's `ScoreColumns` are copied into a temporary table in one binary COPY; one
  `INSERT ... SELECT` builds the stored rows into a new table, which is indexed and then swapped
  in for the old one, and only the day's snapshots that changed are written.

On SQLite (tests, small installs) the same arrays come from an ordinary SELECT and the rows
are inserted with executemany. Both paths store the same values.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
from sqlalchemy import delete, insert, select, text

from app.extensions import db
from app.reviews.models import Feedback, ReputationScore, ReputationSnapshot
from reputation import FIGURES, EventArrays, ScoreColumns, ScoreTable, flag_names

OVERALL = "overall"
_CHUNK = 5_000
_COPY_ROWS = 20_000  # scores per COPY message: a few MB, built while the server reads
_MONTHS = ("1", "6", "12")
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_RATING_VALUES = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def is_postgresql() -> bool:
    """Whether the session talks to PostgreSQL (bulk COPY) rather than SQLite."""
    return db.session.get_bind().dialect.name == "postgresql"


def counted():
    """Feedback that counts: revealed, and not withheld by a moderator."""
    return Feedback.revealed_at.is_not(None) & Feedback.is_withheld.is_(False)


def role_names(subject_ids: list[int] | None = None) -> list[str]:
    """Every role a revealed feedback (about the members `subject_ids`, if given) names,
    sorted (role codes index this list)."""
    # The pairs are few: PostgreSQL hashes them in one scan (a UNION of the two columns
    # sorted two million values, 1.3 s at a million feedback).
    query = select(Feedback.author_role, Feedback.subject_role).where(counted())
    if subject_ids is not None:
        query = query.where(Feedback.subject_user_id.in_(subject_ids))
    pairs = db.session.execute(query.group_by(Feedback.author_role, Feedback.subject_role))
    return sorted({role for pair in pairs for role in pair})


def _binary_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    """A COPY BINARY tuple of non-null fixed-width fields: count, then (length, value) each."""
    spec = [("_count", ">i2")]
    for name, kind in fields:
        spec += [(f"_len_{name}", ">i4"), (name, kind)]
    return np.dtype(spec)


_IN_FIELDS = [
    ("rater", ">i4"),
    ("ratee", ">i4"),
    ("rater_role", ">i2"),
    ("ratee_role", ">i2"),
    ("rating", ">i2"),
    ("created", ">i8"),  # timestamptz: microseconds since 2000-01-01 UTC
    ("amount", ">i8"),
]
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01


def _arrays(
    rater_ids: np.ndarray,
    ratee_ids: np.ndarray,
    rater_role: np.ndarray,
    ratee_role: np.ndarray,
    value: np.ndarray,
    when: np.ndarray,
    amount: np.ndarray,
    roles: list[str],
) -> EventArrays:
    ids, codes = np.unique(np.r_[rater_ids, ratee_ids], return_inverse=True)
    n = len(rater_ids)
    # One feedback per order and author (uq_feedback_order_author): no rating is ever revised,
    # so no transaction codes are needed (the engine's dedup would keep every row).
    return EventArrays.from_columns(
        ids.tolist(), roles, codes[:n], codes[n:], value, when,
        amount.astype(np.float64), rater_role, ratee_role,
    )  # fmt: skip


def load_arrays(subject_ids: list[int] | None = None) -> EventArrays:
    """Every revealed feedback (or only that about the members `subject_ids`, the people
    rated) as the engine's arrays; user ids are the members' ids."""
    if is_postgresql():
        return _load_arrays_copy(role_names(subject_ids), subject_ids)
    return load_arrays_by_rows(subject_ids)


def load_arrays_by_rows(subject_ids: list[int] | None = None) -> EventArrays:
    """load_arrays through an ordinary SELECT and Python rows (SQLite's way)."""
    query = select(
        Feedback.author_id,
        Feedback.subject_user_id,
        Feedback.author_role,
        Feedback.subject_role,
        Feedback.rating,
        Feedback.created_at,
        Feedback.amount_cents,
    ).where(counted())
    if subject_ids is not None:
        query = query.where(Feedback.subject_user_id.in_(subject_ids))
    rows = db.session.execute(query).all()
    roles = sorted({r[2] for r in rows} | {r[3] for r in rows})
    code = {role: k for k, role in enumerate(roles)}
    return _arrays(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([code[r[2]] for r in rows], dtype=np.int64),
        np.array([code[r[3]] for r in rows], dtype=np.int64),
        np.array([_RATING_VALUES[r[4]] for r in rows], dtype=np.float64),
        np.array([r[5].timestamp() for r in rows], dtype=np.float64),
        np.array([r[6] for r in rows], dtype=np.int64),
        roles,
    )


def _raw_connection():
    # The session's own connection: the COPY runs inside the pass's transaction (and lock).
    return db.session.connection().connection.driver_connection


def _load_arrays_copy(roles: list[str], subject_ids: list[int] | None = None) -> EventArrays:
    from psycopg import sql

    if not roles:  # no revealed feedback
        empty = np.zeros(0, dtype=np.int64)
        return _arrays(empty, empty, empty, empty, empty * 1.0, empty * 1.0, empty, roles)
    # A CASE per role and the raw timestamp: array_position() and extract(epoch) (numeric)
    # cost the server most of a second each at a million rows.
    codes = {
        column: sql.SQL("(CASE {} {} ELSE -1 END)::int2").format(
            sql.Identifier(column),
            sql.SQL(" ").join(
                sql.SQL("WHEN {} THEN {}").format(sql.Literal(role), sql.Literal(k))
                for k, role in enumerate(roles)
            ),
        )
        for column in ("author_role", "subject_role")
    }
    # A reveal reads the ratings of its two parties (through ix_feedback_rated_revealed):
    # tens of thousands for a big seller, a tenth of the time of Python rows.
    about = sql.SQL("")
    if subject_ids is not None:
        about = sql.SQL(" AND subject_user_id = ANY({})").format(
            sql.Literal([int(k) for k in subject_ids])
        )
    query = sql.SQL(
        "COPY (SELECT author_id::int4, subject_user_id::int4, {author_role}, {subject_role}, "
        "(CASE rating WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END)::int2, "
        "created_at, amount_cents::int8 "
        "FROM feedback WHERE revealed_at IS NOT NULL AND NOT is_withheld{about}) "
        "TO STDOUT (FORMAT BINARY)"
    ).format(about=about, **codes)
    buffer = io.BytesIO()
    with _raw_connection().cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            buffer.write(chunk)
    data = buffer.getbuffer()
    body = data[len(_SIGNATURE) : len(data) - len(_TRAILER)]
    records = np.frombuffer(body, dtype=_binary_dtype(_IN_FIELDS))
    columns = {name: records[name].astype(kind.replace(">", "<")) for name, kind in _IN_FIELDS}
    del records, body, data
    buffer.close()
    if (columns["rater_role"] < 0).any() or (columns["ratee_role"] < 0).any():
        # A feedback in a new role was revealed between role_names() and the COPY.
        return _load_arrays_copy(role_names(subject_ids), subject_ids)
    # Exactly datetime.timestamp() (and extract(epoch)): one correctly rounded division of
    # whole microseconds.
    when = (columns["created"] + _PG_EPOCH_US).astype(np.float64) / 1e6
    return _arrays(
        columns["rater"].astype(np.int64), columns["ratee"].astype(np.int64),
        columns["rater_role"], columns["ratee_role"], columns["rating"].astype(np.float64),
        when, columns["amount"], roles,
    )  # fmt: skip


# -- out -----------------------------------------------------------------------------------


def explanation_json(figures: np.ndarray, from_roles: bool, age_days: float) -> dict:
    """What a score row stores to render its explanation later (reputation.explain).

    The figures are stored as integers in millionths: PostgreSQL writes a million integers
    into JSON several times faster than a million floats.
    """
    return {
        "millionths": _millionths(figures).tolist(),
        "roles": bool(from_roles),
        "age_days": round(float(age_days), 1),
    }


def _millionths(figures: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(figures, dtype=np.float64) * 1e6).astype(np.int64)


def stored_figures(explanation: dict) -> list[float]:
    """The figures of a stored explanation (see explanation_json)."""
    return [x / 1e6 for x in explanation["millionths"]]


def score_rows(
    table: ScoreTable, cols: ScoreColumns, computed_at: datetime, keep: np.ndarray | None = None
) -> list[dict]:
    """The stored rows of (some of) the scores, as dicts for an executemany insert."""
    users = np.asarray(table.users, dtype=object)
    index = np.arange(len(cols)) if keep is None else np.nonzero(keep)[0]
    rows = []
    for k in index.tolist():
        role = int(cols.role[k])
        windows = cols.windows[k].tolist()
        percent = float(cols.percent_positive[k])
        pos, neu, neg = cols.total[k].tolist()
        rows.append(
            {
                "user_id": int(users[cols.user[k]]),
                "role": OVERALL if role < 0 else table.roles[role],
                "trust": round(float(cols.trust[k]), 6),
                "confidence": round(float(cols.confidence[k]), 6),
                "feedback_score": int(cols.feedback_score[k]),
                "percent_positive": None if math.isnan(percent) else percent,
                "positive": pos,
                "neutral": neu,
                "negative": neg,
                "counts": dict(zip(_MONTHS, windows, strict=True)),
                "flags": sorted(flag_names(int(cols.flags[k]))),
                "explanation": explanation_json(
                    cols.figures[k], cols.from_roles[k], cols.age_days[k]
                ),
                "computed_at": computed_at,
            }
        )
    return rows


def _insert_chunks(model: type, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK):
        db.session.execute(insert(model), rows[start : start + _CHUNK])


def snapshot_rows(rows: list[dict], day: date) -> list[dict]:
    """That day's chart points of the rated overall rows among `rows`.

    The chart shows the overall trust only, so only overall rows get a daily point: two
    thirds fewer rows per pass (each one checked against users' key by PostgreSQL).
    """
    return [
        {
            "user_id": row["user_id"],
            "role": row["role"],
            "day": day,
            "trust": row["trust"],
            "confidence": row["confidence"],
            "feedback_score": row["feedback_score"],
        }
        for row in rows
        if row["role"] == OVERALL and row["positive"] + row["neutral"] + row["negative"] > 0
    ]


def store_rows(rows: list[dict], day: date, user_ids: list[int] | None = None) -> int:
    """Replace the stored scores (all, or those of `user_ids`) and that day's snapshots by
    `rows`; returns how many snapshots were written."""
    snapshots = snapshot_rows(rows, day)
    old_scores = delete(ReputationScore)
    old_snapshots = delete(ReputationSnapshot).where(ReputationSnapshot.day == day)
    if user_ids is not None:
        old_scores = old_scores.where(ReputationScore.user_id.in_(user_ids))
        old_snapshots = old_snapshots.where(ReputationSnapshot.user_id.in_(user_ids))
    db.session.execute(old_scores)
    _insert_chunks(ReputationScore, rows)
    db.session.execute(old_snapshots)
    _insert_chunks(ReputationSnapshot, snapshots)
    return len(snapshots)


def store_all(table: ScoreTable, cols: ScoreColumns, computed_at: datetime) -> int:
    """Replace every stored score and that day's snapshots; returns the snapshot count."""
    day = computed_at.date()
    if not is_postgresql():
        return store_rows(score_rows(table, cols, computed_at), day)
    return _store_all_copy(table, cols, computed_at, day)


_STAGE_FIELDS = (
    [
        ("user_id", ">i8"), ("role", ">i2"), ("trust", ">f8"), ("confidence", ">f8"),
        ("feedback_score", ">i8"), ("percent", ">f8"),
        ("positive", ">i8"), ("neutral", ">i8"), ("negative", ">i8"),
    ]
    + [(f"w{k}", ">i8") for k in range(9)]
    + [("flags", ">i4"), ("from_roles", ">i2"), ("age_days", ">f8")]
    + [(f"f{k}", ">i8") for k in range(len(FIGURES))]
)  # fmt: skip
_SQL_TYPES = {">i2": "int2", ">i4": "int4", ">i8": "int8", ">f8": "float8"}


def _stage_records(table: ScoreTable, cols: ScoreColumns) -> Iterator[np.ndarray]:
    """The scores as COPY BINARY records for the stage, in chunks of _COPY_ROWS rows."""
    user_ids = np.asarray(table.users, dtype=np.int64)[cols.user]
    # In the order of the key (user_id, role): the table is written, and its key built, in
    # that order.
    names = [*table.roles, OVERALL]
    rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    order = np.lexsort((rank[cols.role], user_ids))
    dtype = _binary_dtype(_STAGE_FIELDS)
    for start in range(0, len(order), _COPY_ROWS):
        k = order[start : start + _COPY_ROWS]
        records = np.zeros(len(k), dtype=dtype)
        records["_count"] = len(_STAGE_FIELDS)
        for name, kind in _STAGE_FIELDS:
            records[f"_len_{name}"] = np.dtype(kind).itemsize
        records["user_id"] = user_ids[k]
        records["role"] = cols.role[k]
        records["trust"] = np.round(cols.trust[k], 6)
        records["confidence"] = np.round(cols.confidence[k], 6)
        records["feedback_score"] = cols.feedback_score[k]
        records["percent"] = cols.percent_positive[k]
        for j, name in enumerate(("positive", "neutral", "negative")):
            records[name] = cols.total[k, j]
        windows = cols.windows[k].reshape(len(k), 9)
        for j in range(9):
            records[f"w{j}"] = windows[:, j]
        records["flags"] = cols.flags[k]
        records["from_roles"] = cols.from_roles[k]
        records["age_days"] = np.round(cols.age_days[k], 1)
        figures = _millionths(cols.figures[k])
        for j in range(len(FIGURES)):
            records[f"f{j}"] = figures[:, j]
        yield records


def _store_all_copy(table: ScoreTable, cols: ScoreColumns, computed_at: datetime, day: date) -> int:
    session = db.session
    columns = ", ".join(f"{name} {_SQL_TYPES[kind]}" for name, kind in _STAGE_FIELDS)
    session.execute(text(f"CREATE TEMP TABLE reputation_stage ({columns}) ON COMMIT DROP"))
    with (
        _raw_connection().cursor() as cursor,
        cursor.copy("COPY reputation_stage FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(_SIGNATURE)
        for records in _stage_records(table, cols):
            copy.write(records.data)
        copy.write(_TRAILER)
    _build_next_scores(table.roles, computed_at)
    _swap_in_next_scores()
    _store_snapshots(table.roles, day)
    return int(((cols.role == -1) & (cols.total.sum(axis=1) > 0)).sum())


_ROLE_NAME = "COALESCE((CAST(:roles AS text[]))[role + 1], 'overall')"
_RATED_OVERALL = "role = -1 AND positive + neutral + negative > 0"


def _build_next_scores(roles: list[str], computed_at: datetime) -> None:
    """Build the stored rows from the stage into a new table, reputation_scores_next, keyed
    and analysed like the live one; readers go on reading the live one meanwhile.

    Filling an unindexed table without a foreign key and building its key once costs about
    half of deleting and re-inserting every row in place, and leaves no dead rows for vacuum.
    """
    session = db.session
    key = ReputationScore.__table__.primary_key
    key_columns = ", ".join(column.name for column in key.columns)
    session.execute(
        text(
            "CREATE TABLE reputation_scores_next "
            "(LIKE reputation_scores INCLUDING ALL EXCLUDING INDEXES)"
        )
    )
    flag_cases = " ".join(
        f"WHEN {bits} THEN '{_json_list(sorted(flag_names(bits)))}'::json" for bits in range(16)
    )
    # JSON as concatenated text (integers only): much cheaper for the server than
    # json_build_object per row.
    counts = " || ', ' || ".join(
        f"""'"{month}": [' || concat_ws(', ', w{3 * k}, w{3 * k + 1}, w{3 * k + 2}) || ']'"""
        for k, month in enumerate(_MONTHS)
    )
    figure_list = ", ".join(f"f{k}" for k in range(len(FIGURES)))
    session.execute(
        text(
            "INSERT INTO reputation_scores_next (user_id, role, trust, confidence, "
            "feedback_score, percent_positive, positive, neutral, negative, counts, flags, "
            f"explanation, computed_at) SELECT user_id, {_ROLE_NAME} AS role, trust, "
            "confidence, feedback_score, NULLIF(percent, 'NaN'::float8) AS percent_positive, "
            f"positive, neutral, negative, ('{{' || {counts} || '}}')::json AS counts, "
            f"CASE flags {flag_cases} END AS flags, "
            f"""('{{"millionths": [' || concat_ws(', ', {figure_list}) || '], "roles": ' """
            """|| (from_roles = 1)::text || ', "age_days": ' || age_days || '}')::json """
            "AS explanation, "
            ":computed_at AS computed_at FROM reputation_stage"
        ),
        {"roles": roles, "computed_at": computed_at},
    )
    session.execute(
        text(
            "ALTER TABLE reputation_scores_next ADD CONSTRAINT reputation_scores_next_key "
            f"PRIMARY KEY ({key_columns})"
        )
    )
    # A new table has no statistics: the pages' queries should not wait for autovacuum.
    session.execute(text("ANALYZE reputation_scores_next"))


def _swap_in_next_scores() -> None:
    """Put reputation_scores_next in the place of reputation_scores, under its names.

    Readers wait only for this (milliseconds) and the commit, never for the writing. It
    needs the database user to own the table, as it does when it runs the migrations.
    """
    key = ReputationScore.__table__.primary_key.name
    for statement in (
        "DROP TABLE reputation_scores",
        "ALTER TABLE reputation_scores_next RENAME TO reputation_scores",
        f"ALTER TABLE reputation_scores RENAME CONSTRAINT reputation_scores_next_key TO {key}",
    ):
        db.session.execute(text(statement))


def _store_snapshots(roles: list[str], day: date) -> None:
    """Make the day's snapshots the stage's rated overall rows, writing only what changed
    (a later pass on the same day moves few of them)."""
    session = db.session
    # Each statement joins some hundred thousand stage rows to as many of the day's points
    # (found through ix_reputation_snapshots_day). Neither has statistics yet (the stage is
    # new, the day's points are newer than the last ANALYZE), so the planner takes both for
    # a few hundred rows and chose a nested loop over both: 460 s instead of 0.4 s. Hash.
    session.execute(text("SET LOCAL enable_nestloop = off"))
    today = "s.day = :day AND s.user_id = st.user_id AND s.role = 'overall'"
    session.execute(
        text(
            "DELETE FROM reputation_snapshots s WHERE s.day = :day AND NOT EXISTS "
            f"(SELECT 1 FROM reputation_stage st WHERE {today} AND st.{_RATED_OVERALL})"
        ),
        {"day": day},
    )
    session.execute(
        text(
            "UPDATE reputation_snapshots s SET trust = st.trust, confidence = st.confidence, "
            "feedback_score = st.feedback_score FROM reputation_stage st "
            f"WHERE {today} AND st.{_RATED_OVERALL} AND (s.trust, s.confidence, "
            "s.feedback_score) IS DISTINCT FROM (st.trust, st.confidence, st.feedback_score)"
        ),
        {"day": day},
    )
    session.execute(
        text(
            "INSERT INTO reputation_snapshots (user_id, role, day, trust, confidence, "
            f"feedback_score) SELECT user_id, {_ROLE_NAME}, :day, trust, confidence, "
            f"feedback_score FROM reputation_stage st WHERE st.{_RATED_OVERALL} AND NOT EXISTS "
            f"(SELECT 1 FROM reputation_snapshots s WHERE {today})"
        ),
        {"roles": roles, "day": day},
    )


def _json_list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"

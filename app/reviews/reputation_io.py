"""Bulk input and output of a reputation pass: feedback in as arrays, scores out in bulk.

A full pass reads every revealed feedback and writes a score per member and role. Python
objects per row would cost most of the pass (a million `RatingEvent`s, hundreds of thousands
of `Score`s), so on PostgreSQL both directions use binary COPY, parsed and built by numpy as
fixed-width records:

- in: `COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`, every column a fixed-width number (roles
  and ratings coded by the query), read straight into the engine's `EventArrays`;
- out: the engine's `ScoreColumns` are copied into a temporary table in one binary COPY, and
  one `INSERT ... SELECT` builds the stored rows (and the day's snapshots) inside the server.

On SQLite (tests, small installs) the same arrays come from an ordinary SELECT and the rows
are inserted with executemany. Both paths store the same values.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime

import numpy as np
from sqlalchemy import delete, insert, select, text, union

from app.extensions import db
from app.reviews.models import Feedback, ReputationScore, ReputationSnapshot
from reputation import FIGURES, EventArrays, ScoreColumns, ScoreTable, flag_names

OVERALL = "overall"
_CHUNK = 5_000
_MONTHS = ("1", "6", "12")
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_RATING_VALUES = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def is_postgresql() -> bool:
    """Whether the session talks to PostgreSQL (bulk COPY) rather than SQLite."""
    return db.session.get_bind().dialect.name == "postgresql"


def _revealed():
    return Feedback.revealed_at.is_not(None)


def role_names() -> list[str]:
    """Every role a revealed feedback names, sorted (role codes index this list)."""
    query = union(
        select(Feedback.author_role).where(_revealed()),
        select(Feedback.subject_role).where(_revealed()),
    )
    return sorted(db.session.scalars(query))


def _binary_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    """A COPY BINARY tuple of non-null fixed-width fields: count, then (length, value) each."""
    spec = [("_count", ">i2")]
    for name, kind in fields:
        spec += [(f"_len_{name}", ">i4"), (name, kind)]
    return np.dtype(spec)


_IN_FIELDS = [
    ("rater", ">i8"),
    ("ratee", ">i8"),
    ("rater_role", ">i2"),
    ("ratee_role", ">i2"),
    ("value", ">f8"),
    ("time", ">f8"),
    ("amount", ">i8"),
]


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
    if subject_ids is None and is_postgresql():
        return _load_arrays_copy(role_names())
    query = select(
        Feedback.author_id,
        Feedback.subject_user_id,
        Feedback.author_role,
        Feedback.subject_role,
        Feedback.rating,
        Feedback.created_at,
        Feedback.amount_cents,
    ).where(_revealed())
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


def _load_arrays_copy(roles: list[str]) -> EventArrays:
    from psycopg import sql

    role_array = sql.SQL("ARRAY[{}]::text[]").format(
        sql.SQL(", ").join(sql.Literal(role) for role in roles) if roles else sql.SQL("")
    )
    query = sql.SQL(
        "COPY (SELECT author_id::int8, subject_user_id::int8, "
        "(array_position({roles}, author_role) - 1)::int2, "
        "(array_position({roles}, subject_role) - 1)::int2, "
        "(CASE rating WHEN 'positive' THEN 1 WHEN 'negative' THEN -1 ELSE 0 END)::float8, "
        "extract(epoch FROM created_at)::float8, amount_cents::int8 "
        "FROM feedback WHERE revealed_at IS NOT NULL) TO STDOUT (FORMAT BINARY)"
    ).format(roles=role_array)
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
    return _arrays(
        columns["rater"], columns["ratee"], columns["rater_role"], columns["ratee_role"],
        columns["value"], columns["time"], columns["amount"], roles,
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


def _store_all_copy(table: ScoreTable, cols: ScoreColumns, computed_at: datetime, day: date) -> int:
    n = len(cols)
    records = np.zeros(n, dtype=_binary_dtype(_STAGE_FIELDS))
    records["_count"] = len(_STAGE_FIELDS)
    for name, kind in _STAGE_FIELDS:
        records[f"_len_{name}"] = np.dtype(kind).itemsize
    records["user_id"] = np.asarray(table.users, dtype=np.int64)[cols.user]
    records["role"] = cols.role
    records["trust"] = np.round(cols.trust, 6)
    records["confidence"] = np.round(cols.confidence, 6)
    records["feedback_score"] = cols.feedback_score
    records["percent"] = cols.percent_positive
    for k, name in enumerate(("positive", "neutral", "negative")):
        records[name] = cols.total[:, k]
    windows = cols.windows.reshape(n, 9)
    for k in range(9):
        records[f"w{k}"] = windows[:, k]
    records["flags"] = cols.flags
    records["from_roles"] = cols.from_roles
    records["age_days"] = np.round(cols.age_days, 1)
    figures = _millionths(cols.figures)
    for k in range(len(FIGURES)):
        records[f"f{k}"] = figures[:, k]

    # In the order of the unique index (user_id, role): the index is then filled page by page
    # instead of at random places, which roughly halves the INSERT's cost.
    names = [*table.roles, OVERALL]
    rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    records = records[np.lexsort((rank[cols.role], records["user_id"]))]

    session = db.session
    columns = ", ".join(f"{name} {_SQL_TYPES[kind]}" for name, kind in _STAGE_FIELDS)
    session.execute(text(f"CREATE TEMP TABLE reputation_stage ({columns}) ON COMMIT DROP"))
    with (
        _raw_connection().cursor() as cursor,
        cursor.copy("COPY reputation_stage FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(_SIGNATURE)
        copy.write(records.tobytes())
        copy.write(_TRAILER)
    del records
    flag_cases = " ".join(
        f"WHEN {bits} THEN '{_json_list(sorted(flag_names(bits)))}'::json" for bits in range(16)
    )
    role_name = "COALESCE((CAST(:roles AS text[]))[role + 1], 'overall')"
    # JSON as concatenated text (integers only): much cheaper for the server than
    # json_build_object per row.
    counts = " || ', ' || ".join(
        f"""'"{month}": [' || concat_ws(', ', w{3 * k}, w{3 * k + 1}, w{3 * k + 2}) || ']'"""
        for k, month in enumerate(_MONTHS)
    )
    figure_list = ", ".join(f"f{k}" for k in range(len(FIGURES)))
    session.execute(delete(ReputationScore))
    session.execute(
        text(
            "INSERT INTO reputation_scores (user_id, role, trust, confidence, feedback_score, "
            "percent_positive, positive, neutral, negative, counts, flags, explanation, "
            f"computed_at) SELECT user_id, {role_name} AS role, trust, confidence, "
            "feedback_score, NULLIF(percent, 'NaN'::float8) AS percent_positive, positive, "
            f"neutral, negative, ('{{' || {counts} || '}}')::json AS counts, "
            f"CASE flags {flag_cases} END AS flags, "
            f"""('{{"millionths": [' || concat_ws(', ', {figure_list}) || '], "roles": ' """
            """|| (from_roles = 1)::text || ', "age_days": ' || age_days || '}')::json """
            "AS explanation, "
            ":computed_at AS computed_at FROM reputation_stage"
        ),
        {"roles": table.roles, "computed_at": computed_at},
    )
    session.execute(delete(ReputationSnapshot).where(ReputationSnapshot.day == day))
    written = session.execute(
        text(
            "INSERT INTO reputation_snapshots (user_id, role, day, trust, confidence, "
            f"feedback_score) SELECT user_id, {role_name}, :day, trust, confidence, "
            "feedback_score FROM reputation_stage "
            "WHERE role = -1 AND positive + neutral + negative > 0"
        ),
        {"roles": table.roles, "day": day},
    )
    return written.rowcount


def _json_list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"

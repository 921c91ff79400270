"""The bare page: the least a Flask + SQLAlchemy page can do, the page benchmark's baseline.

    gunicorn -c gunicorn.conf.py --pythonpath bench 'bare:create_app()'   # DATABASE_URL=...

One route, `/`, reads the 20 newest active listings from the marketplace's `listings` table
(300,000 rows at full size; on the (status, created_at) index both databases have) through a
typed SQLAlchemy model and renders them with a Jinja
template: a database round trip, ORM loading and a template, nothing else (no sessions, no
forms, no login, no CSRF, no context processors). bench/pages.py serves it with the same
gunicorn settings and database as the app and divides every page's throughput by this one's.
It imports nothing from app/, so nothing the app does can make the baseline slower.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from flask import Flask, render_template
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROWS = 20


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Listing(db.Model):
    """The columns of the app's listings table the bare page shows (read only)."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(deferred=True)  # only sorted on


def create_app(database_url: str | None = None) -> Flask:
    """The bare app on DATABASE_URL (or the URL given)."""
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["DATABASE_URL"]
    db.init_app(app)

    @app.get("/")
    def newest():
        listings = db.session.scalars(
            select(Listing)
            .where(Listing.status == "active")
            .order_by(Listing.created_at.desc())
            .limit(ROWS)
        ).all()
        return render_template("bare.html", listings=listings)

    return app

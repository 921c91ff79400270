"""The scripts under bench/ loaded as modules, and a tiny generated marketplace, for the tests
of the generator and of the page benchmark."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.extensions import db

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(name: str):
    """bench/<name>.py as the module `bench_<name>`."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def generate_small(app, generate):
    """A tiny marketplace written by bench/generate.py into the test database: (sizes, summary)."""
    sizes = generate.Sizes(
        users=40,
        listings=150,
        orders=240,
        feedback=200,
        loans=20,
        clubs=2,
        deals=8,
        pledges=40,
        busy_feedback=25,
    )
    db.session.remove()  # the generator writes through its own connection
    db.engine.dispose()
    result = generate.generate(
        app.config["SQLALCHEMY_DATABASE_URI"], sizes, seed=3, now=datetime(2026, 11, 20, tzinfo=UTC)
    )
    return sizes, result

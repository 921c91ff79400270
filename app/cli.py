"""`flask` commands: serve, demo, jobs."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select

from app.extensions import db

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("run-due")
def run_due_command() -> None:
    """Run every due job once (auto-complete orders, reveal feedback, ...)."""
    from app.jobs.runner import run_due

    for name, handled in run_due().items():
        click.echo(f"{name}: {'FAILED' if handled < 0 else handled}")


@jobs_cli.command("list")
def list_jobs_command() -> None:
    """List the registered due jobs."""
    from app.jobs.runner import DUE_JOBS

    for name, path in DUE_JOBS.items():
        click.echo(f"{name}\t{path}")


@click.command("demo")
@click.option("--users", default=50, show_default=True)
@click.option("--listings", default=200, show_default=True, help="Listings on sale.")
@click.option("--trades", default=320, show_default=True, help="Finished, rated trades.")
@click.option("--seed", default=7, show_default=True, help="Random seed, for repeatable data.")
def demo_command(users: int, listings: int, trades: int, seed: int) -> None:
    """Fill the database with a living demo marketplace."""
    from app.demo import seed_demo
    from app.listings.services import ensure_categories

    ensure_categories()  # a database just migrated has none yet
    summary = seed_demo(users=users, listings=listings, trades=trades, seed=seed)
    click.echo(", ".join(f"{n} {what}" for what, n in summary.items()))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve_command(host: str, port: int) -> None:
    """Migrate, add demo data on first start, run due jobs in-process, and serve."""
    app = current_app._get_current_object()
    _prepare_database(app)
    from app.jobs.runner import runs_inprocess, start_inprocess_scheduler

    if runs_inprocess(app):
        start_inprocess_scheduler(app)
    elif app.config.get("REDIS_URL"):
        click.echo(" * Due jobs and event deliveries run on Celery (REDIS_URL is set)")
    from werkzeug.serving import run_simple

    click.echo(f" * Mutual is running on http://{host}:{port}/  (Ctrl+C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def _prepare_database(app: Flask) -> None:
    from app.accounts.models import User
    from app.listings.services import ensure_categories

    upgrade()
    ensure_categories()
    is_empty = not db.session.scalar(select(func.count(User.id)))
    if app.config["DEMO_DATA_ON_FIRST_START"] and is_empty:
        from app.demo import seed_demo

        click.echo(" * First start: creating demo data (a minute or two) ...")
        summary = seed_demo()
        click.echo(" * Demo data: " + ", ".join(f"{n} {w}" for w, n in summary.items()))
        click.echo(" * Sign in as any demo user, e.g. alice@example.com / demo-password")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(serve_command)
    from app.reviews.cli import reputation_cli

    app.cli.add_command(reputation_cli)

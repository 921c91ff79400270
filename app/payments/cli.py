"""`flask ledger verify`, `flask payments reconcile|run-pending|retry` (orders add
`pay-test-card`: app/orders/money.py)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

ledger_cli = AppGroup("ledger", help="The double-entry ledger.")
payments_cli = AppGroup("payments", help="Payments: recovery and operations.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Check every ledger invariant; exit 1 with a report when one fails."""
    from app.payments import ledger

    report = ledger.verify()
    click.echo(f"{report.transactions} transactions, {report.accounts} accounts checked.")
    if report.ok:
        click.echo(
            "Ledger OK: every transaction balances, every balance matches its lines, "
            + "; ".join(
                f"{inv.account} matches the {inv.subject_type}s' {inv.describe}"
                for inv in ledger.invariants()
            )
            + "."
        )
        return
    click.echo(f"Ledger FAILED: {len(report.problems)} problem(s):", err=True)
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)


@payments_cli.command("reconcile")
def reconcile_command() -> None:
    """Compare the provider's state with the ledger; repair what can be, report the rest."""
    from app.payments import services

    report = services.reconcile()
    click.echo(f"{report.checked} provider payments checked.")
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    for line in report.problems:
        click.echo(f"PROBLEM: {line}", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo("Provider and ledger agree.")


@payments_cli.command("run-pending")
def run_pending_command() -> None:
    """Run pending refunds, payouts and releases once."""
    from app.payments import services

    click.echo(f"{services.run_pending_operations()} operation(s) completed.")


@payments_cli.command("retry")
@click.argument("operation_key")
def retry_command(operation_key: str) -> None:
    """Retry a failed operation (a refund or payout) once its cause is fixed."""
    from sqlalchemy import select

    from app.extensions import db
    from app.payments import operations
    from app.payments.models import ProviderOperation

    op_id = db.session.scalar(
        select(ProviderOperation.id).where(ProviderOperation.operation_key == operation_key)
    )
    if op_id is None:
        raise click.ClickException(f"no operation {operation_key!r}")
    op = operations.retry(op_id)
    detail = f" ({op.last_error})" if op.last_error else ""
    click.echo(f"{op.operation_key}: {op.status}{detail}")
    if op.status != "succeeded":
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(ledger_cli)
    app.cli.add_command(payments_cli)

"""`flask reputation ...`: run the engine over every revealed feedback, or show one member."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

reputation_cli = AppGroup("reputation", help="Reputation scores (the reputation engine).")


@reputation_cli.command("recompute")
@click.option(
    "--history",
    default=0,
    show_default=True,
    help="Also rebuild the chart's daily snapshots for this many past days.",
)
def recompute_command(history: int) -> None:
    """Recompute every score from every revealed feedback and store them."""
    from app.reviews.reputation import PHASES, backfill_history, recompute_all

    marks = [time.perf_counter()]
    with click.progressbar(
        length=len(PHASES),
        label="Recomputing reputation",
        item_show_func=lambda phase: phase,
    ) as bar:

        def step(phase: str) -> None:
            marks.append(time.perf_counter())
            bar.update(1, phase)

        result = recompute_all(progress=step)
    click.echo(
        f"Scored {result.users} members ({result.scores} scores) from {result.events} "
        f"ratings in {result.duration_ms} ms."
    )
    spans = zip(PHASES, marks[:-1], marks[1:], strict=True)
    click.echo(
        "Phases: " + ", ".join(f"{phase} {end - start:.2f} s" for phase, start, end in spans) + "."
    )
    if history > 0:
        with click.progressbar(length=1, label=f"Rebuilding {history} days of history") as bar:
            written = backfill_history(history)
            bar.update(1)
        click.echo(f"Wrote {written} daily snapshots.")


@reputation_cli.command("show")
@click.argument("handle")
def show_command(handle: str) -> None:
    """Print the stored scores of one member."""
    from app.accounts.services import get_user_by_handle
    from app.errors import NotFound
    from app.reviews.reputation import summary

    try:
        user = get_user_by_handle(handle.lstrip("@"))
    except NotFound:
        raise click.ClickException(f"No member @{handle.lstrip('@')}.") from None
    result = summary(user.id)
    click.echo(f"@{user.handle}")
    click.echo(
        f"{'role':<10} {'trust':>6} {'conf.':>6} {'score':>6} {'% pos':>6} "
        f"{'+':>5} {'o':>5} {'-':>5}"
    )
    for role, block in [("overall", result["overall"]), *result["roles"].items()]:
        if block["trust"] is None:
            click.echo(f"{role:<10} {'no ratings yet':>20}")
            continue
        percent = "-" if block["percent_positive"] is None else f"{block['percent_positive']:g}"
        click.echo(
            f"{role:<10} {block['trust'] * 100:>6.0f} {block['confidence']:>6.2f} "
            f"{block['feedback_score']:>6} {percent:>6} {block['positive']:>5} "
            f"{block['neutral']:>5} {block['negative']:>5}"
        )
    flags = result["overall"]["flags"]
    if flags:
        click.echo("flags: " + ", ".join(flags))
    for factor in result["overall"]["explanation"]:
        click.echo(f"  {factor['impact'] * 100:+6.1f}  {factor['name']}: {factor['description']}")

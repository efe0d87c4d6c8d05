"""``flask audit …``: housekeeping of the audit log from the server's shell."""

import click
from flask.cli import AppGroup

from . import queries, retention

audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=0, max=36500),
    default=None,
    help="Keep entries this many days [default: AUDIT_RETENTION_DAYS, 730].",
)
@click.option("--dry-run", is_flag=True, help="Only count; delete nothing.")
def prune_command(days: int | None, dry_run: bool) -> None:
    """Delete audit entries older than the retention time (daily cron)."""
    cutoff = retention.retention_cutoff(days=days)
    if dry_run:
        click.echo(f"would delete {queries.count_older_than(cutoff)} audit entry(ies)")
        return
    click.echo(f"deleted {retention.prune(cutoff)} audit entry(ies)")

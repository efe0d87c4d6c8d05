"""``flask applications …``: housekeeping of membership applications from the server's shell."""

import click
from flask.cli import AppGroup

from . import queries, retention

applications_cli = AppGroup("applications", help="Membership applications.")


@applications_cli.command("anonymise-expired")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days after the rejection or withdrawal [default: RETENTION_DAYS, 365].",
)
@click.option("--dry-run", is_flag=True, help="Only count; change nothing.")
def anonymise_expired_command(days: int | None, dry_run: bool) -> None:
    """Anonymise rejected and withdrawn applications whose retention time is over (daily cron)."""
    if dry_run:
        number = len(queries.expired_applications(retention.retention_cutoff(days=days)))
        click.echo(f"would anonymise {number} application(s)")
        return
    number = retention.anonymise_expired(days=days)
    click.echo(f"anonymised {number} application(s)")

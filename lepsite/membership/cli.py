"""``flask applications …``: housekeeping of membership applications from the server's shell."""

import click
from flask.cli import AppGroup

from .. import review_clock
from ..data_requests.cli import erase_person, export_person
from ..mail import send_now
from ..review_clock import reminders
from . import queries, retention

applications_cli = AppGroup("applications", help="Membership applications.")
applications_cli.add_command(export_person)
applications_cli.add_command(erase_person)


@applications_cli.command("anonymise-expired")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days after the decision, or after the end of a membership "
    "[default: RETENTION_DAYS, 365].",
)
@click.option("--dry-run", is_flag=True, help="Only count; change nothing.")
def anonymise_expired_command(days: int | None, dry_run: bool) -> None:
    """Anonymise closed applications and ended memberships whose retention time is over
    (daily cron)."""
    if dry_run:
        number = len(queries.expired_applications(retention.retention_cutoff(days=days)))
        click.echo(f"would anonymise {number} application(s)")
        return
    number = retention.anonymise_expired(days=days)
    click.echo(f"anonymised {number} application(s)")


@applications_cli.command("remind")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as of this day, to catch up after an outage (YYYY-MM-DD) "
    "[default: today in TIME_ZONE].",
)
def remind_command(as_of) -> None:
    """Reminders of due replies, escalations, stale questions closed, Monday digests (daily cron).

    Nothing is sent twice: run it again, or on two servers at once, and what was sent stays
    sent. Exits 1 if any item failed (the others went out).
    """
    day = as_of.date() if as_of else None
    if day is not None and day > review_clock.today():
        raise click.UsageError("--date cannot be in the future: it is for catching up")
    report = reminders.run(day)
    send_now(report.mail_ids)
    click.echo(report.summary())
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)

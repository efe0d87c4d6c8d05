"""``flask mail …`` commands."""

import logging
import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from . import sender, worker

mail_cli = AppGroup("mail", help="Outgoing mail.")


def _log_to_stderr() -> None:
    """Show the sender's log lines unless the operator's logging set-up takes them."""
    package = logging.getLogger("lepsite.mail")
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not package.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)


@mail_cli.command("send-pending")
def send_pending_command() -> None:
    """Send the queued mail that is due (from cron, beside the worker or instead of it).

    Exits with status 1 while any message is unsent: still queued, or failed (see
    ``flask mail failed``).
    """
    _log_to_stderr()
    summary = sender.send_pending()
    click.echo(f"sent {summary.sent}, still pending {summary.pending}, failed {summary.failed}")
    if summary.server_error:
        click.echo(f"mail server: {summary.server_error}", err=True)
    if summary.failed:
        click.echo(
            f"{summary.failed} message(s) failed for good: `flask mail failed` lists them, "
            "`flask mail retry` sends them again",
            err=True,
        )
    if summary.pending or summary.failed:
        raise SystemExit(1)


@mail_cli.command("worker")
@click.option(
    "--poll",
    type=click.FloatRange(0.1, 60),
    default=1.0,
    show_default=True,
    help="Seconds between looks for new mail.",
)
def worker_command(poll: float) -> None:
    """Deliver queued mail within seconds until stopped (SIGTERM ends it cleanly)."""
    _log_to_stderr()
    worker.run(poll)


@mail_cli.command("failed")
def failed_command() -> None:
    """List the messages that failed for good; exits with status 1 if there are any."""
    messages = sender.failed_mail()
    for message in messages:
        click.echo(
            f"{message.id}\t{message.created_at:%Y-%m-%d %H:%M}\t{message.recipient}\t"
            f"{message.attempts} attempt(s)\t{message.subject}\n\t{message.last_error}"
        )
    click.echo(f"{len(messages)} failed message(s)")
    if messages:
        raise SystemExit(1)


@mail_cli.command("retry")
@click.option("--id", "ids", type=int, multiple=True, help="A failed message (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Every failed message.")
def retry_command(ids: tuple[int, ...], everything: bool) -> None:
    """Queue failed messages again, each with a fresh set of attempts."""
    if bool(ids) == everything:
        raise click.UsageError("give --id N (one or more) or --all")
    requeued = sender.retry(None if everything else list(ids))
    db.session.commit()
    click.echo(f"queued again: {len(requeued)}")
    missing = sorted(set(ids) - set(requeued))
    if missing:
        click.echo(
            "not failed (sent, pending or unknown): " + ", ".join(map(str, missing)), err=True
        )
        raise SystemExit(1)

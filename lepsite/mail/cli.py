"""``flask mail …`` commands."""

import click
from flask.cli import AppGroup

from .outbox import send_pending

mail_cli = AppGroup("mail", help="Outgoing mail.")


@mail_cli.command("send-pending")
def send_pending_command() -> None:
    """Send queued mail that could not be sent yet (run it from cron)."""
    sent, pending = send_pending()
    click.echo(f"sent {sent}, still pending {pending}")
    if pending:
        raise SystemExit(1)

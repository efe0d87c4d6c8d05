"""``flask reports …``: the report figures from the server's shell."""

import time

import click
from flask.cli import AppGroup

from ..extensions import db
from . import rollups

reports_cli = AppGroup("reports", help="The report figures.")


@reports_cli.command("rebuild")
@click.option(
    "--check", is_flag=True, help="Only compare the kept figures with a recount; change nothing."
)
def rebuild_command(check: bool) -> None:
    """Recompute every report figure from the applications and their history.

    The figures are kept up to date with every change; this is for after a restore, a hand
    edit in SQL, or to check them (``--check`` exits 1 when any differs).
    """
    started = time.perf_counter()
    if check:
        stale = rollups.stale_rows()
        db.session.rollback()
        differing = sum(len(rows) for rows in stale.values())
        click.echo(f"{differing} figure row(s) differ from a recount")
        if differing:
            raise SystemExit(1)
        return
    counted = rollups.rebuild()
    db.session.commit()
    click.echo(
        f"report figures rebuilt from {counted} application(s) "
        f"in {time.perf_counter() - started:.1f} s"
    )

"""``flask applications export-person`` and ``erase-person``: a data subject's copy and erasure.

Exit codes, the same for both: 0 done (or, for ``erase-person`` without ``--yes``, listed);
1 nothing is stored about the address (it never applied, or was erased already); 2 bad input
(a malformed address, a missing option).
"""

import os

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import with_appcontext

from ..membership.duplicates import email_key
from . import operations, queries

# Nothing is stored about the address given.
EXIT_NOTHING_STORED = 1


def _address(email: str) -> str:
    """The address as typed (trimmed), or a usage error (exit 2) saying what is wrong."""
    email = email.strip()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise click.UsageError(f"--email: {error}") from error
    return email


def _nothing_stored(email: str, what: str) -> None:
    click.echo(
        f"nothing is stored about {email_key(email)} (it never applied, or its data "
        f"was erased already): {what}",
        err=True,
    )
    raise SystemExit(EXIT_NOTHING_STORED)


def _write_private(path: str, text: str) -> None:
    """Write the file readable by its owner only: it holds a person's data."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


@click.command("export-person")
@with_appcontext
@click.option("--email", required=True, help="The person's address, in any letter case.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the JSON to this file (readable by you only) [default: standard output].",
)
def export_person(email: str, output: str | None) -> None:
    """Write everything stored about an e-mail address as JSON: its applications (every field),
    their history, the mail about them and to it, and their audit entries.

    Exits 1 if nothing is stored about the address, 2 for a malformed one. Audited.
    """
    email = _address(email)
    found = queries.holdings(email)
    if found.empty:
        _nothing_stored(email, "nothing to export")
    text = queries.export_json(found)
    operations.record_export(found)
    if output:
        _write_private(output, text)
        click.echo(
            f"wrote {len(found.applications)} application(s) and {found.mail_count} message(s) "
            f"to {output}",
            err=True,
        )
    else:
        click.echo(text, nl=False)


@click.command("erase-person")
@with_appcontext
@click.option("--email", required=True, help="The person's address, in any letter case.")
@click.option("--yes", "confirmed", is_flag=True, help="Erase; without it, only list.")
def erase_person(email: str, confirmed: bool) -> None:
    """Anonymise every application made with an e-mail address now, approved members too, and
    delete the mail about them and to it. Without --yes, only lists what it would do.

    Exits 1 if nothing is stored about the address (also when run a second time), 2 for a
    malformed one. Audited, without the address.
    """
    email = _address(email)
    found = queries.holdings(email)
    if found.account is not None:
        click.echo(
            f"{found.email} is also a staff account's address: the account and its own mail "
            "stay (flask users deactivate ends the account)",
            err=True,
        )
    if not found.erasable:
        _nothing_stored(email, "nothing to erase")
    if not confirmed:
        click.echo(f"would erase, for {found.email}:")
        for application in found.applications:
            click.echo(f"  application {application.reference} ({application.state})")
        click.echo(f"  {found.mail_count} message(s), with their outbox copies")
        click.echo("nothing was changed: run again with --yes to erase")
        return
    erasure = operations.erase(email)
    if not erasure.references and not erasure.mail_ids:  # erased a moment ago by someone else
        _nothing_stored(email, "nothing to erase")
    click.echo(
        f"erased the personal data of {len(erasure.references)} application(s)"
        f"{': ' + ', '.join(erasure.references) if erasure.references else ''}; "
        f"deleted {len(erasure.mail_ids)} message(s)"
    )

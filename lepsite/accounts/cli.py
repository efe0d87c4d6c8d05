"""``flask users …``: create, invite, deactivate and reset accounts from the server's shell."""

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..forms import CONTROL_CHARACTERS
from ..i18n import LANGUAGES
from ..mail import send_now
from ..models import ROLES, User
from ..partnerships import keys as partnership_keys
from ..partnerships import unknown_keys
from . import two_factor
from .invitations import AccountExists, invite, is_pending, live_until
from .login import user_by_email
from .operations import LastAdminError, change_account, change_password
from .passwords import new_user
from .strength import password_problem

users_cli = AppGroup("users", help="Coordinator and admin accounts.")


def _read_password(*personal: str) -> str:
    """The password from standard input, refused with the reason if it is easy to guess."""
    password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password, personal)
    if problem:
        raise click.UsageError(problem)
    return password


def _find(email: str) -> User:
    user = user_by_email(email)
    if user is None:
        raise click.UsageError(f"no user with e-mail {email}")
    return user


def _check_partnerships(wanted: tuple[str, ...]) -> None:
    unknown = unknown_keys(wanted)
    if unknown:
        known = ", ".join(sorted(partnership_keys()))
        raise click.UsageError(f"unknown partnership(s): {', '.join(unknown)}; known: {known}")


def _checked_email(email: str) -> str:
    """The address normalised, or a usage error saying what is wrong with it."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.UsageError(str(error)) from error


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--partnership", "partnerships", multiple=True, help="Repeat for several.")
@click.option("--language", type=click.Choice(list(LANGUAGES)), default="en", show_default=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
def create(email, name, role, partnerships, language, password_stdin) -> None:
    """Create an account; the password is read from standard input."""
    email = _checked_email(email)
    if user_by_email(email):
        raise click.UsageError(f"a user with e-mail {email} exists already")
    if role == "coordinator" and not partnerships:
        raise click.UsageError("a coordinator needs at least one --partnership")
    _check_partnerships(partnerships)
    user = new_user(email, name, role, _read_password(email, name), partnerships, language)
    db.session.flush()
    audit.record(
        "user.created",
        subject=f"user:{user.id}",
        details={"email": email, "role": role, "partnerships": sorted(partnerships)},
    )
    db.session.commit()
    click.echo(f"created {role} {email}")


@users_cli.command("invite")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--partnership", "partnerships", multiple=True, help="Repeat for several.")
@click.option("--language", type=click.Choice(list(LANGUAGES)), default="en", show_default=True)
def invite_command(email, name, role, partnerships, language) -> None:
    """Mail a person a single-use link to choose their password (as /admin/users/new does)."""
    email = _checked_email(email)
    name = " ".join(name.split())
    if not name or len(name) > 120 or CONTROL_CHARACTERS.search(name):
        raise click.UsageError("give a name of 1 to 120 characters, without control characters")
    if role == "coordinator" and not partnerships:
        raise click.UsageError("a coordinator needs at least one --partnership")
    _check_partnerships(partnerships)
    try:
        user, mail_ids = invite(email, name, role, set(partnerships), language)
    except AccountExists as error:
        hint = " (its invitation is pending)" if error.pending else ""
        raise click.UsageError(f"a user with e-mail {email} exists already{hint}") from error
    send_now(mail_ids)
    click.echo(
        f"invited {role} {email}; the link works until {live_until(user):%Y-%m-%d %H:%M} UTC"
    )


@users_cli.command("deactivate")
@click.option("--email", required=True)
def deactivate(email) -> None:
    """Stop an account from signing in; its sessions end at once."""
    user = _find(email)
    try:
        change_account(user, active=False)
    except LastAdminError as error:
        raise click.UsageError(f"{user.email} is the last active admin") from error
    click.echo(f"deactivated {user.email}")


@users_cli.command("reset-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
def reset_password(email, password_stdin) -> None:
    """Set a new password (read from standard input) and re-activate the account."""
    user = _find(email)
    change_password(user, _read_password(user.email, user.name))
    change_account(user, active=True)
    click.echo(f"password reset for {user.email}")


@users_cli.command("reset-two-factor")
@click.option("--email", required=True)
def reset_two_factor(email) -> None:
    """Remove an account's second factor (a lost phone and lost recovery codes); its sessions
    end, and it sets two-factor sign-in up again at the next sign-in."""
    user = _find(email)
    ended = two_factor.reset(user, actor=None)
    click.echo(f"two-factor sign-in reset for {user.email}; {ended} session(s) ended")


@users_cli.command("list")
def list_users() -> None:
    """Show every account with its role and partnerships."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        keys = ",".join(sorted(user.partnership_keys)) or "-"
        state = "invited" if is_pending(user) else "active" if user.active else "inactive"
        click.echo(f"{user.email}\t{user.role}\t{keys}\t{user.language}\t{state}")

"""``flask demo seed``: sample accounts and applications for a local try-out (debug only)."""

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from .accounts import new_user
from .extensions import db
from .mail import send_pending
from .membership.operations import submit_application
from .models import User

demo_cli = AppGroup("demo", help="Sample data for development.")

SAMPLE_APPLICATIONS = (
    ("Kyiv Vocational Centre (sample)", "education", "kyiv", "uk"),
    ("Odesa Employers' Club (sample)", "employers_organisation", "odesa", "en"),
    ("Community Aid NGO (sample)", "ngo", "not_sure", "bs"),
)


@demo_cli.command("seed")
def seed() -> None:
    """Create a sample admin, a Kyiv coordinator and three applications, once."""
    if not (current_app.debug or current_app.testing):
        raise click.UsageError("sample data is for development only (set FLASK_DEBUG=1)")
    if db.session.scalar(select(func.count()).select_from(User)):
        click.echo("sample data exists already; accounts are listed by: flask users list")
        return
    passwords = {}
    for email, name, role, keys in (
        ("admin@example.org", "Sample Admin", "admin", []),
        ("kyiv@example.org", "Sample Kyiv Coordinator", "coordinator", ["kyiv"]),
    ):
        passwords[email] = secrets.token_urlsafe(12)
        new_user(email, name, role, passwords[email], keys)
    db.session.commit()
    with current_app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        for name, kind, key, lang in SAMPLE_APPLICATIONS:
            submit_application(
                {
                    "organisation_name": name,
                    "organisation_type": kind,
                    "partnership_key": key,
                    "municipality": "Kyiv" if key == "kyiv" else "Odesa",
                    "website": "",
                    "contact_name": "Sample Contact",
                    "contact_role": "",
                    "email": "applicant@example.org",
                    "phone": "",
                    "language": lang,
                    "contribution": "Sample: training places.",
                    "motivation": "Sample: local jobs.",
                    "consent_processing": True,
                    "consent_listing": True,
                }
            )
        send_pending()
    click.echo("Sample accounts (sign in at http://127.0.0.1:5000/admin/login):")
    for email, password in passwords.items():
        click.echo(f"  {email}  password: {password}")
    click.echo(f"Mail is written to {current_app.config['MAIL_OUTBOX_DIR']}")

"""``flask demo …``: sample data for a local try-out and for load tests (debug only)."""

import random
import secrets
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, insert, select, text
from stdnum.ua import edrpou

from . import partnerships
from .accounts import new_user
from .extensions import db
from .mail import send_pending
from .membership.duplicates import email_key, name_key
from .membership.operations import submit_application
from .membership.queries import active_admins
from .membership.registration import jib_check_digit
from .models import (
    NO_PARTNERSHIP,
    Application,
    ApplicationEvent,
    ApplicationRecipient,
    User,
    utcnow,
)
from .partnerships import Partnership
from .reports import defer as defer_reports
from .reports import rebuild as rebuild_reports

demo_cli = AppGroup("demo", help="Sample data for development.")


def _refuse_outside_debug() -> None:
    """Sample data must never land in a production database."""
    if not (current_app.debug or current_app.testing):
        raise click.UsageError("sample data is for development only (set FLASK_DEBUG=1)")


SAMPLE_APPLICATIONS = (
    ("Kyiv Vocational Centre (sample)", "education", "kyiv", "uk"),
    ("Odesa Employers' Club (sample)", "employers_organisation", "odesa", "en"),
    ("Community Aid NGO (sample)", "ngo", "not_sure", "bs"),
)


@demo_cli.command("seed")
def seed() -> None:
    """Create a sample admin, a Kyiv coordinator and three applications, once."""
    _refuse_outside_debug()
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


# ---------------------------------------------------------------- bulk data for load tests

# Older applications are mostly decided, recent ones mostly still open.
RECENT_DAYS = 60
RECENT_STATE_WEIGHTS = {
    "submitted": 40,
    "in_review": 35,
    "info_requested": 15,
    "withdrawn": 5,
    "approved": 3,
    "rejected": 2,
}
OLDER_STATE_WEIGHTS = {
    "submitted": 3,
    "in_review": 4,
    "info_requested": 2,
    "withdrawn": 9,
    "approved": 64,
    "rejected": 18,
}
# The review step that put an application into its state, as the workflow records it.
STATE_ACTIONS = {
    "in_review": "start_review",
    "info_requested": "request_info",
    "approved": "approve",
    "rejected": "reject",
    "withdrawn": "withdrawn",
}
ORGANISATION_KINDS = {
    "public_employment_service": ("Employment Centre", "Employment Service Office"),
    "municipality": ("City Council", "Municipality", "Community Council"),
    "employer": ("Manufacturing", "Logistics", "Agro", "IT Solutions", "Construction"),
    "employers_organisation": ("Employers' Association", "Business Club"),
    "workers_organisation": ("Trade Union", "Workers' Council"),
    "education": ("Vocational School", "Training Centre", "College"),
    "ngo": ("Community Aid", "Youth Initiative", "Women in Business"),
    "development_agency": ("Regional Development Agency",),
    "chamber": ("Chamber of Commerce",),
    "financial_institution": ("Microcredit Fund", "Savings Bank"),
    "other": ("Foundation", "Cooperative"),
}
CONTRIBUTIONS = (
    "Training places for {n} people each year, with mentors from our staff.",
    "Premises for job fairs and {n} hours of career counselling a month.",
    "Data on local vacancies and skills needs, shared every quarter.",
    "Internships for {n} young people and a contact person for the partnership.",
)
MOTIVATIONS = (
    "We want more people in {place} to find decent work close to home.",
    "Our members struggle to find skilled workers; we want to plan training together.",
    "We support displaced people in {place} and want to connect them with employers.",
    "Joining the partnership lets us coordinate with the employment service and schools.",
)


def _partnerships(keys: tuple[str, ...]) -> dict[str, Partnership]:
    """Partnership key -> the partnership, for the keys asked for (default: all and not sure)."""
    known = {item.key: item for item in partnerships.all_partnerships()}
    known[NO_PARTNERSHIP] = Partnership(NO_PARTNERSHIP, "", "Sarajevo", True)
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise click.UsageError(
            f"unknown partnership(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return {key: known[key] for key in keys} if keys else known


def _routing(keys) -> dict[str, tuple[list[int], str]]:
    """Who each partnership's applications are routed to, as ``route()`` would decide."""
    admins = [user.id for user in active_admins()]
    routing = {}
    for key in keys:
        coordinators = [] if key == NO_PARTNERSHIP else partnerships.coordinators_of(key)
        if coordinators:
            routing[key] = ([user.id for user in coordinators], "partnership")
        else:
            routing[key] = (admins, "fallback")
    return routing


def _registration_number(rng: random.Random, country: str) -> str:
    """A valid EDRPOU code (UA) or ID number (BA) for half of the rows, else ""."""
    if rng.random() < 0.5:
        return ""
    if country == "UA" or (not country and rng.random() < 0.5):
        first = f"{rng.randrange(10**7):07d}"
        return first + edrpou.calc_check_digit(first)
    first = "4" + f"{rng.randrange(10**11):011d}"
    return first + str(jib_check_digit(first))


def _identity(rng: random.Random, row: dict, country: str, seen: list[dict]) -> dict:
    """Name keys, e-mail key and registration number for ``row``; about 3 in 100 rows repeat an
    earlier row's number, e-mail (in other letter case) or name (with a legal form), as an
    organisation that applies twice would, so the admin list has possible duplicates."""
    row["registration_number"] = _registration_number(rng, country)
    if seen and rng.random() < 0.03:
        earlier = rng.choice(seen)
        repeated = rng.choice(("registration_number", "email", "organisation_name"))
        if repeated == "registration_number" and earlier["registration_number"]:
            row["registration_number"] = earlier["registration_number"]
        elif repeated == "email":
            row["email"] = earlier["email"].upper()
        else:
            row["organisation_name"] = earlier["organisation_name"].upper() + " LLC"
    row["name_key"] = name_key(row["organisation_name"])
    row["email_key"] = email_key(row["email"])
    seen.append(row)
    del seen[:-1000]  # the recent ones are enough
    return row


def _bulk_rows(
    rng: random.Random,
    number: int,
    first_id: int,
    partnership: Partnership,
    routing,
    days: int,
    seen: list,
):
    """The rows of one application, its events and its recipients."""
    now = utcnow()
    created = now - timedelta(seconds=rng.uniform(0, days * 86400))
    age_days = (now - created).days
    weights = RECENT_STATE_WEIGHTS if age_days < RECENT_DAYS else OLDER_STATE_WEIGHTS
    state = rng.choices(list(weights), list(weights.values()))[0]
    kind = rng.choice(list(ORGANISATION_KINDS))
    place = partnership.region or "Kyiv"
    name = f"{place} {rng.choice(ORGANISATION_KINDS[kind])} {number}"
    language = {"UA": "uk", "BA": "bs"}.get(partnership.country, "en")
    if rng.random() < 0.15:
        language = "en"
    decided = created + timedelta(hours=rng.uniform(1, 24 * min(max(age_days, 1), 45)))
    decided = min(decided, now)
    application_id = first_id + number
    application = {
        "id": application_id,
        "reference": f"LEP-{created:%Y}-{application_id:06d}",
        "token": secrets.token_urlsafe(32),
        "state": state,
        "partnership_key": partnership.key,
        "organisation_name": name,
        "organisation_type": kind,
        "municipality": place,
        "website": f"org{application_id}.example.org" if rng.random() < 0.7 else "",
        "contact_name": rng.choice(("Olena", "Ivan", "Amra", "Marko", "Iryna", "Emina"))
        + " "
        + rng.choice(("Kovalenko", "Hodžić", "Shevchenko", "Petrović", "Bondar", "Kovač")),
        "contact_role": rng.choice(("Director", "HR manager", "Project officer", "")),
        "email": f"contact{application_id}@example.org",
        "phone": f"+380 44 {rng.randrange(10**6, 10**7)}" if rng.random() < 0.6 else "",
        "language": language,
        "contribution": rng.choice(CONTRIBUTIONS).format(n=rng.randrange(2, 60)),
        "motivation": rng.choice(MOTIVATIONS).format(place=place),
        "consent_processing": True,
        "consent_listing": rng.random() < 0.6,
        "created_at": created,
        "updated_at": created if state == "submitted" else decided,
        "decided_at": decided if state in ("approved", "rejected", "withdrawn") else None,
        "anonymised_at": None,
    }
    _identity(rng, application, partnership.country, seen)
    user_ids, reason = routing[partnership.key]
    events = [
        {
            "application_id": application_id,
            "created_at": created,
            "actor_id": None,
            "action": "submitted",
            "state": "submitted",
            "note": "",
            "shown_to_applicant": False,
        },
        {
            "application_id": application_id,
            "created_at": created,
            "actor_id": None,
            "action": "routed",
            "state": "submitted",
            "note": "",
            "shown_to_applicant": False,
        },
    ]
    if state != "submitted":
        events.append(
            {
                "application_id": application_id,
                "created_at": decided,
                "actor_id": None if state == "withdrawn" else (user_ids[0] if user_ids else None),
                "action": STATE_ACTIONS[state],
                "state": state,
                "note": "Reviewed in bulk (sample)."
                if state in ("rejected", "info_requested")
                else "",
                "shown_to_applicant": state in ("rejected", "info_requested"),
            }
        )
    recipients = [
        {
            "application_id": application_id,
            "user_id": user_id,
            "routed_at": created,
            "reason": reason,
        }
        for user_id in user_ids
    ]
    return application, events, recipients


@demo_cli.command("seed-bulk")
@click.option(
    "--applications",
    "count",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="How many applications to add.",
)
@click.option(
    "--partnership",
    "keys",
    multiple=True,
    metavar="KEY",
    help="Put them all in this partnership (repeat for several); default: every partnership "
    "and 'not_sure'.",
)
@click.option(
    "--days",
    type=click.IntRange(1),
    default=3 * 365,
    show_default=True,
    help="Spread the submission dates over this many past days.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed, so runs are comparable."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1),
    default=5000,
    show_default=True,
    help="Rows per INSERT batch.",
)
def seed_bulk(count: int, keys: tuple[str, ...], days: int, seed: int, chunk_size: int) -> None:
    """Add many realistic applications at once, for load tests (debug only).

    Rows go in with bulk INSERTs, routed to the coordinators (or admins) that exist now, so
    create the accounts first if their lists should show the applications. No mail is queued.
    """
    _refuse_outside_debug()
    defer_reports()  # counted once, at the end, not chunk by chunk
    started = time.perf_counter()
    chosen = _partnerships(keys)
    routing = _routing(chosen)
    if not any(user_ids for user_ids, _reason in routing.values()):
        click.echo("no active coordinators or admins yet: the applications get no recipients")
    first_id = db.session.scalar(select(func.max(Application.id))) or 0
    rng = random.Random(seed)  # noqa: S311 (sample data, not secrets; tokens use secrets)
    choices = list(chosen.values())
    tables = (
        Application.__table__,
        ApplicationEvent.__table__,
        ApplicationRecipient.__table__,
    )
    done = 0
    seen: list[dict] = []
    while done < count:
        batch = [
            _bulk_rows(rng, number, first_id, rng.choice(choices), routing, days, seen)
            for number in range(done + 1, min(done + chunk_size, count) + 1)
        ]
        applications = [application for application, _events, _recipients in batch]
        events = [event for _application, history, _recipients in batch for event in history]
        recipients = [row for _application, _events, rows in batch for row in rows]
        for table, rows in zip(tables, (applications, events, recipients), strict=True):
            if rows:
                db.session.execute(insert(table), rows)
        db.session.commit()
        done += len(batch)
    rebuild_reports()  # the report figures, from every application
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # The ids were given explicitly; move the sequence past them for the next real insert.
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('applications', 'id'), "
                "(SELECT max(id) FROM applications))"
            )
        )
        db.session.commit()
        # As autovacuum would do a little later: planner statistics, and the visibility map
        # that lets counts read the indexes alone. VACUUM cannot run inside a transaction.
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                connection.execute(text(f"VACUUM ANALYZE {table.name}"))
    elapsed = time.perf_counter() - started
    click.echo(f"added {count} applications in {elapsed:.1f} s")

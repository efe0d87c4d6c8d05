"""Fixtures: an app per test on a temporary SQLite file, and factories that return callables."""

import email
import email.policy
import os
import re
import socket
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from lepsite import create_app
from lepsite.accounts import new_user
from lepsite.accounts.two_factor import TwoFactor
from lepsite.admin.search import in_models
from lepsite.database import only_what_this_database_gets
from lepsite.extensions import db
from lepsite.models import User, utcnow


def pytest_configure(config):
    """Markers used in this suite (``-m "not production"`` skips the slow server test)."""
    config.addinivalue_line(
        "markers", "production: starts gunicorn, redis-server and uses PostgreSQL (slower)"
    )


@pytest.fixture(autouse=True)
def isolated_instance(tmp_path, monkeypatch):
    """Keep every test's local data (database, compiled catalogs, outbox) in its own folder."""
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)


@pytest.fixture
def app_factory(tmp_path):
    """Return a function that builds an app with extra settings, on its own database."""
    made = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "BASE_URL": "http://lep.test",
            "SQLALCHEMY_DATABASE_URI": database_uri(tmp_path),
            "RATELIMIT_ENABLED": False,
            **overrides,
        }
        app = create_app(config)
        with app.app_context():
            db.drop_all()
            db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:  # close pooled connections, or PostgreSQL keeps them open
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    """The app with the real content."""
    return app_factory()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app."""
    return app.test_cli_runner()


@pytest.fixture
def write_content(tmp_path):
    """Return a function that writes a content file and gives back the content root."""
    root = tmp_path / "content"

    def write(relative: str, text: str) -> Path:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return root

    return write


@pytest.fixture
def small_site(write_content):
    """A minimal content tree: home and about in English only, news and partnerships intros."""
    for lang in ("en",):
        write_content(f"{lang}/index.md", "---\ntitle: Home\nsummary: Welcome.\n---\nHello.\n")
    write_content(
        "en/about.md", "---\ntitle: About\nsummary: About us.\nnav: main\norder: 1\n---\nText.\n"
    )
    write_content(
        "uk/about.md", "---\ntitle: Про нас\nsummary: Про нас.\nnav: main\norder: 1\n---\nТекст.\n"
    )
    write_content("en/news/index.md", "---\ntitle: News\nsummary: What is new.\n---\n")
    write_content("en/partnerships/index.md", "---\ntitle: Partnerships\nsummary: All.\n---\n")
    return write_content(
        "en/contact.md", "---\ntitle: Contact\nsummary: Reach us.\nnav: footer\norder: 1\n---\n"
    )


# ---------------------------------------------------------------- tools outside Python


def in_ci() -> bool:
    """True under ``.ci/run``, which installs every tool the tests need."""
    return os.environ.get("LEPSITE_CI") == "1"


def require(available: bool, reason: str) -> None:
    """Skip with ``reason`` on a developer machine that lacks a tool; in CI, fail instead.

    CI installs browsers, Java, PostgreSQL and Redis itself, so a missing one there is a broken
    pipeline, not a test to leave out.
    """
    if available:
        return
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- database, users, forms, mail


def database_uri(tmp_path: Path) -> str:
    """SQLite per test, or the PostgreSQL server named by LEPSITE_TEST_DATABASE_URI (CI)."""
    return os.environ.get("LEPSITE_TEST_DATABASE_URI") or f"sqlite:///{tmp_path / 'test.sqlite'}"


PASSWORD = "correct horse battery staple"


def schema_differences(connection) -> list:
    """How the schema on ``connection`` differs from the models, leaving out, as ``flask db``
    does, what the models cannot describe and what only another database gets."""
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": in_models,
            "include_object": only_what_this_database_gets(connection.dialect.name),
        },
    )
    return compare_metadata(context, db.metadata)


def sign_in(client, email: str, password: str = PASSWORD, next_url: str = ""):
    """Sign in through the login form, as a browser would; return the last response.

    For a user with two-factor sign-in on, the code step follows, with the code the user's app
    would show now (see ``enter_code``).
    """
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    data = {"csrf_token": csrf_token(client, "/admin/login"), "email": email, "password": password}
    response = client.post(url, data=data)
    if response.status_code == 303 and urlsplit(response.location).path == CODE_PAGE:
        return enter_code(client, email)
    return response


CODE_PAGE = "/admin/login/code"


def enrol_two_factor(user_id: int) -> str:
    """Switch two-factor sign-in on for a user, as a confirmed set-up would; return the key.

    Call inside an app context; commits.
    """
    secret = pyotp.random_base32()
    db.session.merge(TwoFactor(user_id=user_id, secret=secret, enabled_at=utcnow()))
    db.session.commit()
    return secret


def current_code(app, email: str) -> str:
    """The code the user's authenticator app shows now.

    Test shortcut: the user's last accepted time step is forgotten first, so that a test may
    sign the same user in twice within one 30-second step. The replay guard's own tests
    (test_two_factor.py) compute codes with pyotp and never use this.
    """
    with app.app_context():
        row = db.session.scalar(
            select(TwoFactor).join(User, User.id == TwoFactor.user_id).where(User.email == email)
        )
        assert row is not None and row.enabled_at is not None, f"{email} has no second factor"
        row.last_step = None
        db.session.commit()
        return pyotp.TOTP(row.secret).now()


def enter_code(client, email: str):
    """The second step of sign-in, with the code of the moment (see ``current_code``)."""
    data = {
        "csrf_token": csrf_token(client, CODE_PAGE),
        "code": current_code(client.application, email),
    }
    return client.post(CODE_PAGE, data=data)


@pytest.fixture
def make_user(app):
    """Return a function that creates a user (coordinator by default) and gives back its id.

    The user has two-factor sign-in on (``sign_in`` enters the codes), since admins and, by
    default, coordinators must; ``two_factor=False`` makes one without.
    """

    def make(
        email="coordinator@example.org",
        role="coordinator",
        partnerships=(),
        two_factor=True,
        **fields,
    ):
        with app.app_context():
            user = new_user(
                email,
                fields.get("name", email.split("@")[0].title()),
                role,
                fields.get("password", PASSWORD),
                partnerships,
                fields.get("language", "en"),
            )
            db.session.commit()
            if two_factor:
                enrol_two_factor(user.id)
            return user.id

    return make


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form at ``url``, as a browser would send it back."""
    match = CSRF_PATTERN.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def valid_application(**overrides) -> dict:
    """Form data for an application that passes every check."""
    data = {
        "organisation_name": "Kyiv Training Centre",
        "organisation_type": "education",
        "partnership": "kyiv",
        "municipality": "Kyiv",
        "website": "example.org",
        "contact_name": "Olena Test",
        "contact_role": "Director",
        "email": "olena@example.org",
        "phone": "+380 44 000 00 00",
        "language": "uk",
        "contribution": "Training places for 20 people.",
        "motivation": "We want to help people find work.",
        "consent_processing": "y",
        "consent_listing": "y",
        "fax_number": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def apply(client):
    """Return a function that sends the application form like a browser (with its CSRF token)."""

    def send(lang="en", follow_redirects=False, **overrides):
        url = f"/{lang}/apply"
        data = {"csrf_token": csrf_token(client, url), **valid_application(**overrides)}
        return client.post(url, data=data, follow_redirects=follow_redirects)

    return send


class RecordingHandler:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; ``.messages`` holds what it received."""
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def outbox(app) -> list[email.message.EmailMessage]:
    """Messages the app wrote to its outbox folder, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.is_dir():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]

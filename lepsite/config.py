"""Default settings, the secret-key rule and the site's public address."""

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from . import urls
from .paths import site_dir

MIN_SECRET_KEY_LENGTH = 32
# A DNS name, an IPv4 address or an IPv6 address (as urlsplit gives it, without brackets).
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]*:[0-9a-f:.]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def defaults(instance_path: str) -> dict:
    """Settings that work on a fresh clone: SQLite and a mail outbox in the instance folder."""
    instance = Path(instance_path)
    return {
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'lepsite.sqlite'}",
        # Seconds a request may wait for the database (a statement, a busy SQLite writer, a
        # silent server) and for a new PostgreSQL connection; then it gets a 503.
        "DATABASE_TIMEOUT": 5,
        "DATABASE_CONNECT_TIMEOUT": 3,
        "CONTENT_DIR": str(site_dir("content")),
        "TRANSLATIONS_SOURCE_DIR": str(site_dir("translations")),
        # In a checkout, catalogs are compiled here when missing or older than their .po files
        # (an installed wheel ships them compiled: see i18n.compile_catalogs).
        "BABEL_TRANSLATION_DIRECTORIES": str(instance / "translations"),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "WTF_I18N_ENABLED": True,
        # Private pages send no Referer (security.keep_private), so Flask-WTF's HTTPS Referer
        # check would refuse every form there; security.refuse_cross_site_posts checks the
        # browser's Sec-Fetch-Site instead, beside the CSRF token and SameSite cookies.
        "WTF_CSRF_SSL_STRICT": False,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # None: Secure in production, plain in debug and tests (see secure_cookies_by_default).
        "SESSION_COOKIE_SECURE": None,
        "NEWS_PER_PAGE": 10,
        "SITE_NAME": "LEP",
        # Mail: SMTP when MAIL_SERVER is set, else .eml files in the outbox folder.
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        # STARTTLS (port 587), or implicit TLS (MAIL_USE_SSL, port 465); either checks the
        # server's certificate and name, against MAIL_TLS_CA_FILE (PEM) if set, else the
        # system's authorities.
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_TLS_CA_FILE": None,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_DEFAULT_SENDER": "lep@localhost",
        "MAIL_TIMEOUT": 10,
        "MAIL_OUTBOX_DIR": str(instance / "outbox"),
        # Where replies go (the Reply-To of every message), e.g. the team's shared mailbox; the
        # privacy notice invites applicants to reply. None: no Reply-To header.
        "MAIL_REPLY_TO": None,
        # Rate limits per client address; point the storage at Redis to share it between servers.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        # A Redis that does not answer costs a request at most a fraction of a second.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
        "RATELIMIT_HEADERS_ENABLED": False,
        "APPLY_RATE_LIMIT": "5 per minute;30 per day",
        # Requests to have one's status links mailed again, per client address and per address
        # typed (so no one can flood a mailbox from many addresses).
        "STATUS_LINKS_RATE_LIMIT": "5 per 15 minutes;20 per day",
        "STATUS_LINKS_EMAIL_RATE_LIMIT": "3 per hour;6 per day",
        # Requests for a copy of one's data from the status page, per client address and per
        # application; a second request within DATA_COPY_REPEAT_SECONDS sends nothing more.
        "DATA_COPY_RATE_LIMIT": "10 per hour;30 per day",
        "DATA_COPY_APPLICATION_RATE_LIMIT": "5 per day",
        "DATA_COPY_REPEAT_SECONDS": 600,
        "LOGIN_RATE_LIMIT": "5 per minute;50 per day",
        # How many proxies in front of the app set X-Forwarded-For (0: trust none).
        "PROXY_COUNT": 0,
        # The coordinators' reply promise, in working days: pages and mail take it from here.
        "REPLY_WORKING_DAYS": 10,
        # The zone of the site's day: when an application counts as received, what "today" is
        # for `flask applications remind`. The western one of the partnerships' two zones, so a
        # reply-by date is never later than either country's reading (lepsite.review_clock).
        "TIME_ZONE": "Europe/Sarajevo",
        # Days an applicant has to answer a question: reminded halfway, then closed as lapsed.
        "INFO_REQUEST_LAPSE_DAYS": 30,
        # Rejected, withdrawn and lapsed applications are anonymised this many days after the
        # decision; ended memberships this many days after their end.
        "RETENTION_DAYS": 365,
        # The site's public address (https://lep.example.org): the one source of absolute links.
        "BASE_URL": None,
        # Signed-in sessions live on the server: they end after this long without a request,
        # and this long after sign-in whatever happens.
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_HOURS": 12,
        # Failed sign-ins per account (whatever the address), tier after tier: a growing wait.
        "LOGIN_ACCOUNT_RATE_LIMIT": "5 per 5 minutes;10 per hour;20 per day",
        # Audit entries older than this are removed by ``flask audit prune``.
        "AUDIT_RETENTION_DAYS": 730,
        # Mailed links: an invitation works this many hours, a password reset this many minutes.
        "INVITATION_HOURS": 72,
        "RESET_MINUTES": 60,
        # Requests for a reset mail, per client address and per address typed.
        "RESET_RATE_LIMIT": "5 per 15 minutes;20 per day",
        "RESET_ACCOUNT_RATE_LIMIT": "3 per hour;6 per day",
        # Two-factor sign-in is required for admins always, and for coordinators while this is on.
        "TWO_FACTOR_FOR_COORDINATORS": True,
    }


class ConfigurationError(RuntimeError):
    """The app cannot start with this configuration."""


def ensure_secret_key(app: Flask) -> None:
    """Make sure the app has a real secret key.

    In debug a key is generated once into the instance folder, so sessions survive restarts;
    outside debug and testing a missing or short key stops start-up.
    """
    key = app.config.get("SECRET_KEY")
    if isinstance(key, str | bytes) and len(key) >= MIN_SECRET_KEY_LENGTH:
        return
    if app.testing:
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    if not app.debug:
        raise ConfigurationError(
            "LEPSITE_SECRET_KEY is missing or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters. Set it to a long random value, e.g. "
            "the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def parse_base_url(value: object) -> str:
    """``BASE_URL`` checked and normalised: ``https://host[:port]``, lower case, no slash.

    Only an origin: the site's URLs (``/robots.txt``, ``/sitemap.xml``) sit at the root of
    its host, so a path prefix could not work.
    """
    problem = (
        f"LEPSITE_BASE_URL={value!r} is not the site's public address: give the scheme and "
        "host, with a port if needed and nothing after it, e.g. https://lep.example.org"
    )
    if not isinstance(value, str) or not value.isascii() or any(c.isspace() for c in value):
        raise ConfigurationError(problem)
    parts = urlsplit(value.rstrip("/"))
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(problem) from None
    if (
        port == 0
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or not _HOSTNAME.fullmatch(parts.hostname)
        or "@" in parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
        or value.rstrip("/").endswith(("?", "#"))
    ):
        raise ConfigurationError(problem)
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def ensure_time_zone(app: Flask) -> None:
    """Refuse to start with a ``TIME_ZONE`` that names no zone (every due date needs it)."""
    from .review_clock.dates import check_time_zone

    try:
        check_time_zone(app.config.get("TIME_ZONE"))
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def ensure_base_url(app: Flask) -> None:
    """Check the site's public address and derive Flask's URL settings from it.

    ``BASE_URL`` is the one source of absolute links (see ``lepsite.urls``): with it set,
    the CLI can build links and requests for any other host are refused. Outside debug and
    testing it is required; without it, links point to the development server's address
    (never to the host a request names).
    """
    value = app.config.get("BASE_URL")
    if not value:
        app.config["BASE_URL"] = None
        if app.debug or app.testing:
            return
        raise ConfigurationError(
            "LEPSITE_BASE_URL is missing. Set it to the site's public address, e.g. "
            "https://lep.example.org: links in mail, the sitemap and the feed are built from "
            "it, and requests naming any other host are refused."
        )
    base = parse_base_url(value)
    scheme, _, netloc = base.partition("://")
    app.config.update(
        BASE_URL=base,
        SERVER_NAME=netloc,
        PREFERRED_URL_SCHEME=scheme,
        APPLICATION_ROOT="/",
    )
    urls.init_app(app)


def secure_cookies_by_default(app: Flask) -> None:
    """Cookies travel only over HTTPS in production, unless an operator says otherwise.

    A development server on http://127.0.0.1 could not keep a Secure cookie, so debug and
    tests default to plain cookies; ``LEPSITE_SESSION_COOKIE_SECURE=false`` allows a trial
    run of the production server without TLS.
    """
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)

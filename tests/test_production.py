"""Two app servers sharing one PostgreSQL database and one Redis, as in production.

Starts its own ``redis-server`` and two ``gunicorn 'lepsite:create_app()'`` processes (one
worker each, the repository's ``gunicorn.conf.py`` named explicitly) on free loopback ports, in
a fresh schema of the database named by ``LEPSITE_TEST_POSTGRES_URI``. They and the ``flask``
commands run from a folder outside the repository, as from an installed package.
"""

import contextlib
import http.cookiejar
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, require, valid_application
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SECRET_KEY = secrets.token_hex(32)
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
START_TIMEOUT = 20
# How operators start the app server: the factory, and the settings file named explicitly, so
# the working directory does not matter.
GUNICORN = [str(BIN / "gunicorn"), "lepsite:create_app()", "-c", str(REPO / "gunicorn.conf.py")]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back to the caller, who wants to see them."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """A stdlib HTTP client that keeps cookies, like a browser, but never follows redirects."""

    def __init__(self, headers: dict | None = None):
        self.headers = headers or {}
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, url: str, data: dict | None = None):
        """(status, headers, text) of a GET, or of a form POST when ``data`` is given."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=self.headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read().decode()

    def csrf_token(self, url: str) -> str:
        status, _headers, page = self.request(url)
        match = CSRF.search(page)
        assert status == 200 and match, f"no form at {url} ({status})"
        return match.group(1)


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    """Return once something listens on the port; fail with the log if the process died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    pytest.fail(f"{process.args[0]} did not listen on {port}:\n{log.read_text()}")


def start(stack: contextlib.ExitStack, args: list, log: Path, **options) -> subprocess.Popen:
    """Start a process whose output goes to ``log``; the stack stops it, whatever happens."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, **options
        )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return process


def flask(env: dict, *args: str, stdin: str = "") -> None:
    """Run a ``flask --app lepsite`` command as an operator would, from another folder."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "lepsite", *args],
        cwd=Path(env["LEPSITE_INSTANCE_PATH"]).parent,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@contextlib.contextmanager
def fresh_schema(uri: str):
    """A new, empty PostgreSQL schema; yields a URI whose connections use it. Dropped after."""
    schema = f"lepsite_test_{secrets.token_hex(4)}"
    engine = create_engine(uri)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(uri).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Redis, a migrated database, a coordinator and two app servers; yields their base URLs."""
    postgres = os.environ.get("LEPSITE_TEST_POSTGRES_URI", "")
    require(bool(shutil.which("redis-server")), "redis-server (Debian package redis-server)")
    require((BIN / "gunicorn").exists(), "gunicorn in the virtualenv (pip install -e '.[test]')")
    require(bool(postgres), "LEPSITE_TEST_POSTGRES_URI: a PostgreSQL database the test may use")
    root = tmp_path_factory.mktemp("production")

    with contextlib.ExitStack() as stack:
        redis_port = free_port()
        redis = start(
            stack,
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port)]
            + ["--save", "", "--appendonly", "no", "--dir", str(root)],
            root / "redis.log",
        )
        database = stack.enter_context(fresh_schema(postgres))
        wait_for_port(redis_port, redis, root / "redis.log")

        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("LEPSITE_", "FLASK_", "GUNICORN_"))
            and name != "WEB_CONCURRENCY"
        }
        env.update(
            LEPSITE_SECRET_KEY=SECRET_KEY,
            # The public address; both servers answer on it (each on its own port).
            LEPSITE_BASE_URL="http://127.0.0.1",
            LEPSITE_SQLALCHEMY_DATABASE_URI=database,
            LEPSITE_RATELIMIT_ENABLED="true",
            LEPSITE_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis_port}/0",
            LEPSITE_LOGIN_RATE_LIMIT="3 per minute",
            LEPSITE_APPLY_RATE_LIMIT="3 per minute",
            LEPSITE_PROXY_COUNT="1",
            # These tests sign in with the password alone (tests/test_two_factor.py has codes).
            LEPSITE_TWO_FACTOR_FOR_COORDINATORS="false",
            # The test speaks plain HTTP to gunicorn; in production nginx holds HTTPS.
            LEPSITE_SESSION_COOKIE_SECURE="false",
            LEPSITE_WORKERS="1",
            LEPSITE_INSTANCE_PATH=str(root / "cli"),
        )
        flask(env, "db", "upgrade")
        flask(
            env,
            *("users", "create", "--email", "kyiv@example.org", "--name", "Kyiv Coordinator"),
            *("--role", "coordinator", "--partnership", "kyiv", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )

        urls = {}
        for name in ("a", "b"):
            port = free_port()
            log = root / f"gunicorn-{name}.log"
            process = start(
                stack,
                GUNICORN,
                log,
                cwd=root,
                env={
                    **env,
                    "LEPSITE_BIND": f"127.0.0.1:{port}",
                    "LEPSITE_INSTANCE_PATH": str(root / name),
                },
            )
            urls[name] = (f"http://127.0.0.1:{port}", process, log)
        for url, process, log in urls.values():
            wait_for_port(int(url.rsplit(":", 1)[1]), process, log)
            status, _headers, body = Browser().request(url + "/healthz")
            assert (status, body) == (200, "ok"), log.read_text()
        yield {name: url for name, (url, _process, _log) in urls.items()} | {"root": root}


def test_an_application_sent_to_one_server_is_seen_on_the_other(servers):
    a, b = servers["a"], servers["b"]
    applicant = Browser()
    data = {"csrf_token": applicant.csrf_token(a + "/en/apply"), **valid_application()}
    status, headers, _page = applicant.request(a + "/en/apply", data)
    assert status == 303
    status_path = headers["Location"]
    assert re.fullmatch(r"(http://[^/]+)?/en/apply/status/[\w-]{43}", status_path)
    status_path = urllib.parse.urlsplit(status_path).path
    assert len(list((servers["root"] / "a" / "outbox").glob("*.eml"))) == 2

    status, headers, page = Browser().request(b + status_path)
    assert status == 200
    assert "Kyiv Training Centre" in page
    assert "Server" not in headers  # gunicorn.conf.py drops gunicorn's banner
    # The access log shows that the page was read, not the key that opens it.
    token = status_path.rsplit("/", 1)[1]
    # gunicorn writes the access line after the answer has gone: wait for it (bounded).
    deadline = time.monotonic() + 10
    while True:
        logs = "".join(path.read_text() for path in servers["root"].glob("gunicorn-*.log"))
        if "/en/apply/status/[token]" in logs or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "/en/apply/status/[token]" in logs
    assert token not in logs

    coordinator = Browser()
    token = coordinator.csrf_token(a + "/admin/login")
    status, _headers, _page = coordinator.request(
        a + "/admin/login",
        {"csrf_token": token, "email": "kyiv@example.org", "password": PASSWORD},
    )
    assert status == 303
    status, _headers, page = coordinator.request(b + "/admin/applications/")
    assert status == 200
    assert "Kyiv Training Centre" in page


def test_sign_in_attempts_are_counted_across_servers(servers):
    a, b = servers["a"], servers["b"]
    # One client address (the proxy passes it on), its own budget of three tries a minute.
    visitor = Browser(headers={"X-Forwarded-For": "198.51.100.23"})
    token = visitor.csrf_token(a + "/admin/login")
    wrong = {"csrf_token": token, "email": "kyiv@example.org", "password": "not the password"}
    statuses = [visitor.request(url + "/admin/login", wrong)[0] for url in (a, a, b, a, b)]
    assert statuses == [401, 401, 401, 429, 429]
    # Another client is not held back by the first one's tries.
    other = Browser(headers={"X-Forwarded-For": "198.51.100.99"})
    token = other.csrf_token(b + "/admin/login")
    assert other.request(b + "/admin/login", {**wrong, "csrf_token": token})[0] == 401


def sign_in_on(url: str, browser: "Browser") -> None:
    token = browser.csrf_token(url + "/admin/login")
    status, _headers, _page = browser.request(
        url + "/admin/login",
        {"csrf_token": token, "email": "kyiv@example.org", "password": PASSWORD},
    )
    assert status == 303


def copy_cookies(source: "Browser", target: "Browser") -> None:
    """Give ``target`` every cookie ``source`` holds, as a thief with a copied cookie would."""
    for handler in source.opener.handlers:
        if isinstance(handler, urllib.request.HTTPCookieProcessor):
            jar = handler.cookiejar
    for handler in target.opener.handlers:
        if isinstance(handler, urllib.request.HTTPCookieProcessor):
            for cookie in jar:
                handler.cookiejar.set_cookie(cookie)


def test_signing_out_on_one_server_ends_the_copy_on_the_other(servers):
    a, b = servers["a"], servers["b"]
    coordinator = Browser(headers={"X-Forwarded-For": "198.51.100.40"})
    sign_in_on(a, coordinator)
    thief = Browser(headers={"X-Forwarded-For": "198.51.100.40"})
    copy_cookies(coordinator, thief)
    assert thief.request(b + "/admin/applications/")[0] == 200
    token = coordinator.csrf_token(a + "/admin/")
    assert coordinator.request(a + "/admin/logout", {"csrf_token": token})[0] == 303
    status, headers, _page = thief.request(b + "/admin/applications/")
    assert status == 302 and "/admin/login" in headers["Location"]


def test_many_addresses_on_one_account_are_counted_across_servers(servers):
    a, b = servers["a"], servers["b"]
    statuses = []
    for number, url in enumerate((a, b, a, b, a, b)):
        guesser = Browser(headers={"X-Forwarded-For": f"203.0.113.{number + 1}"})
        token = guesser.csrf_token(url + "/admin/login")
        wrong = {"csrf_token": token, "email": "lviv@example.org", "password": "not it at all"}
        statuses.append(guesser.request(url + "/admin/login", wrong)[0])
    assert statuses == [401] * 5 + [429]

"""One request traceable through the logs: its id on every response and every log line.

The unit tests drive the app with Flask's client; the last test runs real gunicorn with the
repository's ``gunicorn.conf.py`` and reads every line it wrote as JSON.
"""

import contextlib
import http.client
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import PASSWORD, free_port, require, sign_in
from flask import request

from lepsite import create_app
from lepsite.accounts import new_user
from lepsite.extensions import db
from lepsite.request_log import (
    JsonFormatter,
    RequestFilter,
    accepted_id,
    access_entry,
    loggable_path,
)

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
HEX_ID = re.compile(r"[0-9a-f]{32}")
TOKEN = "S3cretT0ken-" + "x" * 30
FORGED = [
    "",
    "two words",
    'id"}, {"level": "CRITICAL"',
    "line\nbreak",
    "x" * 65,
    "ід-кирилицею",
    "a,b",
    "<script>",
]


class JsonLines(logging.Handler):
    """Formats what the ``lepsite`` loggers write, as gunicorn.conf.py has it formatted."""

    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def json_log():
    """Every ``lepsite`` log line of the test, formatted as JSON."""
    handler = JsonLines()
    logger = logging.getLogger("lepsite")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def failing(app):
    """Add a route that fails the way a bug does."""

    @app.get("/boom")
    def boom():
        """A bug."""
        raise RuntimeError("a bug")

    return app


# ---------------------------------------------------------------- the id


@pytest.mark.parametrize("value", ["0123456789abcdef0123456789abcdef", "a", "req-1.2_X", "z" * 64])
def test_a_sane_id_is_taken(value):
    assert accepted_id(value) == value


@pytest.mark.parametrize("value", [*FORGED, None, "abc\n", "abc\x00"])
def test_anything_else_is_not(value):
    assert accepted_id(value) is None


def test_every_response_carries_an_id_of_its_own(client):
    urls = ["/en/", "/static/css/site.css", "/en/no-such-page", "/healthz", "/robots.txt"]
    ids = set()
    for url in urls:
        response = client.get(url)
        assert HEX_ID.fullmatch(response.headers["X-Request-ID"]), url
        ids.add(response.headers["X-Request-ID"])
    assert len(ids) == len(urls)


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        ("GET", "/static/css/site.css", {}, 200),
        ("GET", "/en/no-such-page", {}, 404),
        ("DELETE", "/en/", {}, 405),
        ("POST", "/en/apply", {}, 400),  # no CSRF token
        ("GET", "/en/", {"Host": "evil.example"}, 400),  # a foreign host
        ("GET", "/boom", {}, 500),
    ],
)
def test_static_and_error_responses_echo_a_sane_id(app, method, url, headers, status):
    client = failing(app).test_client()
    response = client.open(url, method=method, headers={"X-Request-ID": "req-42.a_B", **headers})
    assert response.status_code == status
    assert response.headers.getlist("X-Request-ID") == ["req-42.a_B"]


@pytest.mark.parametrize("forged", FORGED)
def test_a_forged_id_is_replaced_and_never_logged(app, json_log, forged):
    client = failing(app).test_client()
    # As the server hands it over, so that a line break can be tried too.
    response = client.get("/boom", environ_overrides={"HTTP_X_REQUEST_ID": forged})
    request_id = response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    entries = json_log.entries()
    assert entries and {entry["request_id"] for entry in entries} == {request_id}
    if forged:
        assert all(forged not in line for line in json_log.lines)


# ---------------------------------------------------------------- the app's log


def test_an_unhandled_error_names_its_request_in_the_log_and_on_the_page(app, json_log, caplog):
    client = failing(app).test_client()
    with caplog.at_level(logging.ERROR, logger="lepsite"):
        response = client.get("/boom", headers={"X-Request-ID": "ticket-7"})
    assert response.status_code == 500
    assert "<code>ticket-7</code>" in response.get_data(as_text=True)
    [line, traceback] = [r for r in caplog.records if r.name == "lepsite"]
    assert "GET /boom failed with 500: RuntimeError: a bug (request ticket-7)" in line.message
    assert "ticket-7" in traceback.message and traceback.exc_info
    first, second = json_log.entries()
    assert first["level"] == "ERROR" and first["request_id"] == "ticket-7"
    assert (first["method"], first["path"]) == ("GET", "/boom")
    assert "RuntimeError: a bug" in second["traceback"]
    assert all("\n" not in line for line in json_log.lines)


def test_the_500_page_shows_the_id_in_the_visitors_language_and_only_it_does(app):
    client = failing(app).test_client()

    @app.get("/uk/boom")
    def boom_uk():
        """A bug on a Ukrainian page."""
        raise RuntimeError("a bug")

    response = client.get("/uk/boom", headers={"X-Request-ID": "ticket-8"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and '<html lang="uk"' in page
    assert "<code>ticket-8</code>" in page
    response = client.get("/uk/no-such-page", headers={"X-Request-ID": "ticket-9"})
    assert response.status_code == 404 and "ticket-9" not in response.get_data(as_text=True)


def test_each_line_names_the_request_and_keeps_secret_links_out(app, json_log):
    @app.after_request
    def note(response):
        """Log a line, as any code in a request may."""
        app.logger.warning("seen %s", request.path)
        return response

    client = app.test_client()
    for path in (f"/en/apply/status/{TOKEN}", f"/en/apply/%73tatus/{TOKEN}"):
        response = client.get(path)
        [entry] = [e for e in json_log.entries() if e["message"].startswith("seen")][-1:]
        assert entry["request_id"] == response.headers["X-Request-ID"]
        assert entry["path"] == "/en/apply/status/[token]"
    assert TOKEN not in "".join(json_log.lines)


def test_a_record_outside_a_request_has_no_request_fields():
    record = logging.LogRecord("lepsite.mail", logging.INFO, __file__, 1, "sent %d", (3,), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "sent 3" and entry["logger"] == "lepsite.mail"
    assert entry["level"] == "INFO" and entry["time"].endswith("+00:00")
    assert "request_id" not in entry
    RequestFilter().filter(record)
    assert record.request_id is None and record.user_id is None


@pytest.mark.parametrize(
    "path",
    [
        f"/en/apply/status/{TOKEN}",
        f"/en/apply/%73tatus/{TOKEN}",
        f"/en/apply/%2573tatus/{TOKEN}",
        f"/uk/apply%2Fstatus%2F{TOKEN}",
        f"/admin/%72eset/{TOKEN}",
        f"/admin/invite/{TOKEN}",
    ],
)
def test_secret_links_are_redacted_however_they_are_spelt(path):
    logged = loggable_path(path)
    assert TOKEN not in logged and logged.endswith("/[token]")


# ---------------------------------------------------------------- signed in: access and audit


def environs(app) -> list[dict]:
    """The WSGI environ of each request the app is given, as the server holds it after."""
    seen = []
    wrapped = app.wsgi_app

    def keep(environ, start_response):
        seen.append(environ)
        return wrapped(environ, start_response)

    app.wsgi_app = keep
    return seen


def test_the_signed_in_user_and_the_audit_entry_carry_the_request(
    app, client, make_user, json_log, caplog
):
    seen = environs(app)
    caplog.set_level(logging.INFO, logger="lepsite.audit")
    user_id = make_user("kyiv@example.org")
    response = sign_in(client, "kyiv@example.org")  # the password, then the code
    request_id = response.headers["X-Request-ID"]
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lepsite.audit"]
    assert audit[-1]["action"] == "login.success" and audit[-1]["request_id"] == request_id
    assert json_log.entries()[-1]["request_id"] == request_id  # merged, not quoted
    assert json_log.entries()[-1]["action"] == "login.success"

    response = client.get("/admin/applications/")
    assert response.status_code == 200
    entry = access_entry(seen[-1], 200, 0.0123)
    assert entry == {
        "request_id": response.headers["X-Request-ID"],
        "method": "GET",
        "path": "/admin/applications/",
        "status": 200,
        "duration_ms": 12.3,
        "user_id": user_id,
    }
    app.logger.info("inside")  # outside a request: no user
    assert "user_id" not in json_log.entries()[-1]


def test_a_public_page_does_not_read_the_session_to_log_the_user(app, client, make_user):
    seen = environs(app)
    make_user("kyiv@example.org")
    sign_in(client, "kyiv@example.org")
    response = client.get("/en/")
    assert "Cookie" not in response.headers.get("Vary", "")
    assert "user_id" not in access_entry(seen[-1], 200, 0)


# ---------------------------------------------------------------- real gunicorn

BOOM_APP = """
from lepsite import create_app

app = create_app()


@app.get("/boom")
def boom():
    raise RuntimeError("a bug")
"""


def cookies(headers) -> str:
    """The cookies a response set, as the next request sends them back."""
    return "; ".join(value.split(";", 1)[0] for value in headers.get_all("Set-Cookie") or [])


def fetch(port: int, path: str, headers: dict | None = None, method="GET", body=None):
    """(status, headers, text) of one request to the server on ``port``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    encoded = {name: value.encode() for name, value in (headers or {}).items()}  # UTF-8 too
    try:
        connection.request(method, path, body=body, headers=encoded)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60  # a busy CI machine starts gunicorn slowly
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(OSError):
            fetch(port, "/robots.txt")
            return
        time.sleep(0.1)
    pytest.fail("gunicorn did not answer")


@pytest.mark.production
def test_gunicorn_writes_one_json_object_per_line(tmp_path):
    """Access, app, audit and gunicorn's own lines: all JSON, each request's lines share its id."""
    require(GUNICORN.exists(), "gunicorn in the virtualenv (pip install -e '.[test]')")
    (tmp_path / "boom_app.py").write_text(BOOM_APP)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LEPSITE_", "FLASK_", "GUNICORN_")) and name != "WEB_CONCURRENCY"
    }
    port = free_port()
    env.update(
        LEPSITE_SECRET_KEY=secrets.token_hex(32),
        LEPSITE_BASE_URL="http://127.0.0.1",
        LEPSITE_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.sqlite'}",
        LEPSITE_INSTANCE_PATH=str(tmp_path / "instance"),
        LEPSITE_TWO_FACTOR_FOR_COORDINATORS="false",
        LEPSITE_SESSION_COOKIE_SECURE="false",
        LEPSITE_WORKERS="1",
        LEPSITE_BIND=f"127.0.0.1:{port}",
    )
    setup = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": env["LEPSITE_SQLALCHEMY_DATABASE_URI"],
            "BASE_URL": "http://127.0.0.1",
        }
    )
    with setup.app_context():
        db.create_all()
        user = new_user("kyiv@example.org", "Kyiv", "coordinator", PASSWORD, ["kyiv"], "en")
        db.session.commit()
        user_id = user.id
        db.engine.dispose()

    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", str(REPO / "gunicorn.conf.py"), "boom_app:app"],
            cwd=tmp_path,  # where boom_app.py is
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        wait_for(port, process, stderr)
        ids = {}
        for name, path, header in [
            ("page", "/en/", "nginx-0123456789abcdef"),
            ("static", "/static/css/site.css", None),
            ("status", f"/en/apply/%73tatus/{TOKEN}", None),
            ("boom", "/boom", None),
            *((f"forged{i}", "/en/", forged) for i, forged in enumerate(FORGED[1:3] + FORGED[4:])),
        ]:
            status, headers, page = fetch(port, path, {"X-Request-ID": header} if header else {})
            ids[name] = headers["X-Request-ID"]
            if name == "boom":
                assert status == 500 and f"<code>{ids[name]}</code>" in page
        assert ids["page"] == "nginx-0123456789abcdef"
        assert all(HEX_ID.fullmatch(v) for k, v in ids.items() if k.startswith("forged"))

        # Sign in: the session cookie, then a page that knows the user.
        status, headers, page = fetch(port, "/admin/login")
        cookie = cookies(headers)
        csrf = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": csrf, "email": "kyiv@example.org", "password": PASSWORD})
        status, headers, _ = fetch(
            port,
            "/admin/login",
            {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
            "POST",
            form,
        )
        assert status == 303, "the sign-in failed"
        ids["login"] = headers["X-Request-ID"]
        cookie = cookies(headers)
        status, headers, _ = fetch(port, "/admin/applications/", {"Cookie": cookie})
        assert status == 200, headers
        ids["admin"] = headers["X-Request-ID"]
    finally:
        process.terminate()
        process.wait(timeout=15)
    out, err = stdout.read_text(), stderr.read_text()

    lines = out.splitlines() + err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger"} <= entry.keys() for entry in entries)
    assert TOKEN not in out + err
    assert not any(forged in out + err for forged in FORGED[1:])

    access = {e["request_id"]: e for e in entries if e["logger"] == "gunicorn.access"}
    assert set(ids.values()) <= access.keys()
    assert access[ids["status"]]["path"] == "/en/apply/status/[token]"
    assert access[ids["boom"]]["status"] == 500
    assert access[ids["static"]]["status"] == 200
    assert access[ids["admin"]]["user_id"] == user_id
    assert access[ids["login"]]["user_id"] == user_id
    assert "user_id" not in access[ids["page"]]
    assert all(
        e["duration_ms"] >= 0 and e["method"] == "GET"
        for e in access.values()
        if e is not access[ids["login"]]
    )

    [failure] = [
        e for e in entries if e["logger"] == "lepsite" and "failed with 500" in e["message"]
    ]
    assert failure["request_id"] == ids["boom"] and ids["boom"] in failure["message"]
    [login] = [e for e in entries if e.get("action") == "login.success"]
    assert login["logger"] == "lepsite.audit" and login["request_id"] == ids["login"]
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # gunicorn's own lines too

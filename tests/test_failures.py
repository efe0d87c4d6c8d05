"""When something fails, the visitor is told in their language whether what they sent was kept;
a database outage is a 503 with Retry-After; the log gets one line per request and a traceback
once a minute per kind."""

import errno
import logging
import shutil
import sqlite3

import pytest
from conftest import csrf_token, free_port, require, valid_application
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from test_html_validity import ROOT, VNU_JAR, vnu_errors

from lepsite import create_app
from lepsite.extensions import db
from lepsite.membership import operations
from lepsite.models import Application

LANGUAGES = ("en", "bs", "uk")
# "Your application was not stored" (the form comes back with its answers).
NOT_STORED_HEADING = {
    "en": "Your application was not stored",
    "bs": "Vaša prijava nije sačuvana",
    "uk": "Вашу заяву не збережено",
}
# ... and sending it again is safe.
SAFE_TO_SEND_AGAIN = {
    "en": "Sending the same form twice never creates two applications.",
    "bs": "Slanje istog obrasca dva puta nikada ne stvara dvije prijave.",
    "uk": "Повторне надсилання тієї самої форми ніколи не створює двох заяв.",
}
# The error page of a form that failed before it reached the storing step.
NOT_STORED_PAGE = {
    "en": "Your application was not stored. Please go back and send the form again",
    "bs": "Vaša prijava nije sačuvana. Vratite se nazad i pošaljite obrazac ponovo",
    "uk": "Вашу заяву не збережено. Поверніться назад і надішліть форму ще раз",
}
RECEIVED_PAGE = {
    "en": "Your application has been received and its reference is",
    "bs": "Vaša prijava je primljena pod brojem",
    "uk": "Вашу заяву отримано, її номер",
}
EXPIRED = {
    "en": "The form had expired. Your answers are still below",
    "bs": "Obrazac je istekao. Vaši odgovori su i dalje ispod",
    "uk": "Термін дії форми минув. Ваші відповіді залишилися нижче",
}
TOO_LARGE = {
    "en": "so nothing was saved",
    "bs": "pa ništa nije sačuvano",
    "uk": "тому нічого не збережено",
}
TOO_OFTEN = {
    "en": "so this time your application was not stored",
    "bs": "pa ovaj put vaša prijava nije sačuvana",
    "uk": "тому цього разу вашу заяву не збережено",
}
PAGE_UNAVAILABLE = {
    "en": "This page cannot be shown at the moment.",
    "bs": "Ova stranica se trenutno ne može prikazati.",
    "uk": "Цю сторінку зараз неможливо показати.",
}


def applications(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Application))


def send(client, lang: str, **overrides):
    url = f"/{lang}/apply"
    data = {"csrf_token": csrf_token(client, url), **valid_application(**overrides)}
    return client.post(url, data=data)


def failing_with(monkeypatch, error: BaseException) -> None:
    """Storing an application raises ``error`` (after rolling back, as a real failure does)."""

    def fail(*args, **kwargs):
        db.session.rollback()
        raise error

    monkeypatch.setattr(operations, "submit_application", fail)


def database_down() -> OperationalError:
    return OperationalError("INSERT INTO applications", {}, Exception("connection refused"))


def disk_full() -> OperationalError:
    original = sqlite3.OperationalError("database or disk is full")
    return OperationalError("INSERT INTO applications", {}, original)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "error",
    [database_down(), disk_full(), OSError(errno.ENOSPC, "No space left on device")],
    ids=["database down", "database disk full", "instance disk full"],
)
def test_an_outage_while_storing_says_not_stored_and_keeps_the_answers(
    app, client, monkeypatch, lang, error
):
    failing_with(monkeypatch, error)
    response = send(client, lang, organisation_name="Answers Kept Ltd")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert f'lang="{lang}"' in page
    assert NOT_STORED_HEADING[lang] in page and SAFE_TO_SEND_AGAIN[lang] in page
    assert "Answers Kept Ltd" in page
    assert applications(app) == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_bug_while_storing_is_a_500_that_says_not_stored(app, client, monkeypatch, lang):
    failing_with(monkeypatch, IntegrityError("INSERT", {}, Exception("NOT NULL constraint failed")))
    response = send(client, lang)
    assert response.status_code == 500 and "Retry-After" not in response.headers
    page = response.get_data(as_text=True)
    assert NOT_STORED_HEADING[lang] in page and SAFE_TO_SEND_AGAIN[lang] in page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_failure_before_storing_says_not_stored(app, client, monkeypatch, lang):
    data = {"csrf_token": csrf_token(client, f"/{lang}/apply"), **valid_application()}

    def broken(self, *args, **kwargs):
        raise RuntimeError("bug in validation")

    monkeypatch.setattr("lepsite.membership.forms.ApplicationForm.validate_on_submit", broken)
    response = client.post(f"/{lang}/apply", data=data)
    assert response.status_code == 500
    assert NOT_STORED_PAGE[lang] in response.get_data(as_text=True)
    # The same bug on a page view says nothing about sending.
    monkeypatch.setattr("lepsite.membership.views.form_page", broken)
    response = client.get(f"/{lang}/apply")
    assert response.status_code == 500
    assert NOT_STORED_PAGE[lang] not in response.get_data(as_text=True)
    assert applications(app) == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_failure_after_storing_points_to_the_application(app, client, monkeypatch, lang):
    def lost(ids):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("lepsite.membership.views.send_now", lost)
    response = send(client, lang)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert RECEIVED_PAGE[lang] in page and f"/{lang}/apply/status/" in page
    assert NOT_STORED_HEADING[lang] not in page
    assert applications(app) == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_expired_form_comes_back_with_its_answers(app_factory, lang):
    app = app_factory(WTF_CSRF_TIME_LIMIT=1)
    client = app.test_client()
    data = {"csrf_token": "expired-or-forged", **valid_application(organisation_name="Kept Org")}
    client.get(f"/{lang}/apply")  # the session a browser would have
    response = client.post(f"/{lang}/apply", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EXPIRED[lang] in page and "Kept Org" in page
    assert applications(app) == 0
    # The new token on that page works.
    fresh = csrf_token(client, f"/{lang}/apply")
    assert client.post(f"/{lang}/apply", data={**data, "csrf_token": fresh}).status_code == 303


@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_large_says_nothing_was_saved(client, lang):
    response = client.post(f"/{lang}/apply", data={"motivation": "x" * 70_000})
    assert response.status_code == 413
    assert TOO_LARGE[lang] in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_often_says_this_attempt_was_not_stored(app_factory, lang):
    app = app_factory(RATELIMIT_ENABLED=True, APPLY_RATE_LIMIT="1 per minute")
    client = app.test_client()
    assert send(client, lang).status_code == 303
    response = send(client, lang, organisation_name="Second")
    assert response.status_code == 429
    assert TOO_OFTEN[lang] in response.get_data(as_text=True)
    assert applications(app) == 1


# ---------------------------------------------------------------- a database that is not there


@pytest.fixture(params=["sqlite", "postgresql"])
def app_without_database(request, tmp_path):
    """The app with a database that cannot be reached: a closed port, or an unopenable file."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'no-such-folder' / 'lep.sqlite'}"
    else:
        pytest.importorskip("psycopg")
        uri = f"postgresql+psycopg://lep:lep@127.0.0.1:{free_port()}/lep"
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "BASE_URL": "http://lep.test",
            "SQLALCHEMY_DATABASE_URI": uri,
            "RATELIMIT_ENABLED": False,
        }
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_that_need_the_database_answer_a_translated_503(app_without_database, lang):
    client = app_without_database.test_client()
    for path in (f"/{lang}/apply/status/{'a' * 43}", f"/{lang}/partnerships/kyiv"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        assert PAGE_UNAVAILABLE[lang] in response.get_data(as_text=True), path
    response = send(client, lang)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert SAFE_TO_SEND_AGAIN[lang] in response.get_data(as_text=True)


def test_content_pages_and_the_form_work_without_the_database(app_without_database):
    client = app_without_database.test_client()
    for path in ("/en/", "/uk/about", "/bs/news/", "/uk/partnerships/", "/en/apply"):
        assert client.get(path).status_code == 200, path


def test_the_admin_answers_503_without_the_database(app_without_database):
    client = app_without_database.test_client()
    data = {"csrf_token": csrf_token(client, "/admin/login"), "email": "a@example.org"}
    response = client.post("/admin/login", data={**data, "password": "x" * 20})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


# ---------------------------------------------------------------- the log


def failure_records(caplog) -> tuple[list, list]:
    """(one-line records, traceback records) the app logged."""
    records = [r for r in caplog.records if r.name == "lepsite" and r.levelno >= logging.ERROR]
    return [r for r in records if not r.exc_info], [r for r in records if r.exc_info]


def test_each_failure_is_one_line_and_its_traceback_is_logged_once_a_minute(
    app_without_database, caplog
):
    app = app_without_database
    now = [1000.0]
    app.extensions["lepsite.error_log"].clock = lambda: now[0]
    client = app.test_client()
    token = "S3cret" + "x" * 37
    with caplog.at_level(logging.ERROR, logger="lepsite"):
        for _ in range(2):
            assert client.get(f"/uk/apply/status/{token}").status_code == 503
        lines, tracebacks = failure_records(caplog)
        assert len(lines) == 2 and len(tracebacks) == 1
        assert "GET /uk/apply/status/[token] failed with 503: OperationalError" in lines[0].message
        assert token not in caplog.text
        now[0] += 61
        client.get(f"/uk/apply/status/{token}")
        assert len(failure_records(caplog)[1]) == 2  # a minute later, once more


def test_another_kind_of_failure_gets_its_own_traceback(app, client, monkeypatch, caplog):
    with caplog.at_level(logging.ERROR, logger="lepsite"):
        failing_with(monkeypatch, database_down())
        send(client, "en")
        send(client, "en")
        failing_with(monkeypatch, RuntimeError("a bug"))
        send(client, "en")
    lines, tracebacks = failure_records(caplog)
    assert len(lines) == 3 and len(tracebacks) == 2
    assert "POST /en/apply failed with 500: RuntimeError: a bug" in lines[2].message


def test_sql_parameters_stay_out_of_the_log(app, client, monkeypatch, caplog):
    error = OperationalError(
        "INSERT INTO applications (email) VALUES (?)",
        ("private.person@example.org",),
        sqlite3.OperationalError("database or disk is full"),
    )
    failing_with(monkeypatch, error)
    with caplog.at_level(logging.ERROR, logger="lepsite"):
        send(client, "en")
    assert "database or disk is full" in caplog.text
    assert "private.person@example.org" not in caplog.text


# ---------------------------------------------------------------- valid HTML


def test_failure_pages_and_nginxs_pages_are_valid_html(
    app, client, monkeypatch, app_without_database, tmp_path
):
    """The pages above, and static/errors/ (nginx's 502 and 504), by the Nu Html Checker."""
    require(shutil.which("java") is not None, "Java is not installed (Debian: default-jre)")
    require(VNU_JAR.is_file(), f"vnu.jar not found at {VNU_JAR}")
    for page in (ROOT / "static" / "errors").glob("*.html"):
        shutil.copy(page, tmp_path / f"static-{page.name}")
    offline = app_without_database.test_client()
    (tmp_path / "status-503.html").write_bytes(offline.get(f"/uk/apply/status/{'a' * 43}").data)
    (tmp_path / "apply-503.html").write_bytes(send(offline, "bs").data)
    data = {"csrf_token": "forged", **valid_application()}
    (tmp_path / "apply-expired.html").write_bytes(client.post("/en/apply", data=data).data)
    failing_with(monkeypatch, RuntimeError("a bug"))
    (tmp_path / "apply-500.html").write_bytes(send(client, "uk").data)
    assert vnu_errors(tmp_path) == []

"""Password reset by mail: the same answer for any address, a single-use one-hour link, and
every session ended when it is used."""

import re
import shutil
import socket
import subprocess
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from conftest import PASSWORD, csrf_token, free_port, outbox, require, sign_in
from sqlalchemy import select, update

from lepsite.accounts import check_password
from lepsite.accounts.tokens import AccountToken
from lepsite.audit import AuditEvent
from lepsite.extensions import db
from lepsite.models import User, utcnow

NEW_PASSWORD = "seven orange kites drift north"
LINK = re.compile(r"https?://\S+/admin/reset/([A-Za-z0-9_-]+)")


@pytest.fixture
def kyiv(make_user):
    return make_user("kyiv@example.org", partnerships=["kyiv"], language="uk")


def ask(client, email: str, **kwargs):
    """Send the reset form for ``email``."""
    data = {"csrf_token": csrf_token(client, "/admin/reset"), "email": email}
    return client.post("/admin/reset", data=data, **kwargs)


def link_in(mail) -> str:
    match = LINK.search(mail.get_content())
    assert match, mail.get_content()
    return f"/admin/reset/{match.group(1)}"


def choose(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    data = {
        "csrf_token": csrf_token(client, path),
        "new_password": password,
        "confirm": password if confirm is None else confirm,
    }
    return client.post(path, data=data)


def password_is(app, email: str, password: str) -> bool:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return check_password(user, password)


def test_reset_end_to_end_ends_every_session_and_mails_the_change(app, client, kyiv):
    signed_in_elsewhere = app.test_client()
    assert sign_in(signed_in_elsewhere, "kyiv@example.org").status_code == 303
    assert signed_in_elsewhere.get("/admin/").status_code == 200

    assert client.get("/admin/login").get_data(as_text=True).count('href="/admin/reset"') == 1
    response = ask(client, "KYIV@example.org")
    assert response.status_code == 200
    (mail,) = outbox(app)
    assert mail["To"] == "kyiv@example.org" and mail.get_content_type() == "text/plain"
    assert "Виберіть новий пароль" in mail["Subject"]  # the account's language
    assert "60 хвилин" in mail.get_content()
    path = link_in(mail)

    page = client.get(path)
    assert page.status_code == 200 and '<html lang="uk"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    done = choose(client, path)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/login"

    assert signed_in_elsewhere.get("/admin/").status_code == 302  # signed out
    assert client.get("/admin/").status_code == 302  # not signed in by the link
    assert password_is(app, "kyiv@example.org", NEW_PASSWORD)
    assert not password_is(app, "kyiv@example.org", PASSWORD)

    notice = outbox(app)[-1]
    assert notice["To"] == "kyiv@example.org"
    assert "змінено" in notice["Subject"]
    body = notice.get_content()
    assert "UTC" in body and str(utcnow().year) in body  # when, with its time zone
    assert "/admin/reset" in body  # what to do if it was not them
    assert "адміністратора" in body
    with app.app_context():
        logged = set(db.session.scalars(select(AuditEvent.action)))
    assert {"password.reset_requested", "password.reset", "password.changed"} <= logged
    assert sign_in(client, "kyiv@example.org", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("lang", "subject", "phrase"),
    [
        ("en", "Choose a new password", "It works once, for 60 minutes"),
        ("bs", "Izaberite novu lozinku", "važi 60 minuta"),
        ("uk", "Виберіть новий пароль", "лише 60 хвилин"),
    ],
)
def test_the_mails_are_in_the_accounts_language(app, client, make_user, lang, subject, phrase):
    make_user("someone@example.org", partnerships=["kyiv"], language=lang)
    ask(client, "someone@example.org")
    (mail,) = outbox(app)
    assert subject in mail["Subject"] and phrase in mail.get_content()
    choose(client, link_in(mail))
    notice = outbox(app)[-1]
    changed = {"en": "has been changed", "bs": "je promijenjena", "uk": "змінено"}[lang]
    assert changed in notice["Subject"]


def test_the_answer_is_the_same_for_any_address(app, client, make_user, runner):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    make_user("off@example.org", partnerships=["kyiv"])
    runner.invoke(args=["users", "deactivate", "--email", "off@example.org"])
    runner.invoke(args=["users", "invite", "--email", "new@example.org", "--name", "New",
                        "--role", "admin"])  # fmt: skip
    invitations = len(outbox(app))
    answers = {}
    for email in ("kyiv@example.org", "nobody@example.org", "off@example.org", "new@example.org"):
        response = ask(app.test_client(), email)
        headers = sorted(name for name, _value in response.headers)  # values: own cookies
        answers[email] = (response.status_code, response.get_data(as_text=True), headers)
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert answers["kyiv@example.org"][0] == 200
    mails = outbox(app)[invitations:]
    assert [mail["To"] for mail in mails] == ["kyiv@example.org"]  # nothing for the others
    with app.app_context():
        assert db.session.scalar(select(AccountToken).where(AccountToken.purpose == "reset"))


def test_a_new_request_ends_the_older_link(app, client, kyiv):
    ask(client, "kyiv@example.org")
    first = link_in(outbox(app)[-1])
    ask(client, "kyiv@example.org")
    second = link_in(outbox(app)[-1])
    assert first != second
    old = client.get(first)
    assert old.status_code == 410 and "новіше" in old.get_data(as_text=True)
    assert client.get(second).status_code == 200


def test_a_link_works_once(app, client, kyiv):
    ask(client, "kyiv@example.org")
    path = link_in(outbox(app)[-1])
    other = app.test_client()
    other_form = {"csrf_token": csrf_token(other, path), "new_password": "another long passphrase",
                  "confirm": "another long passphrase"}  # fmt: skip
    assert choose(client, path).status_code == 303
    again = client.get(path)
    assert again.status_code == 410
    page = again.get_data(as_text=True)
    assert '<html lang="uk"' in page and "вже використано" in page
    assert 'href="/admin/reset"' in page  # what to do: ask for a new one
    assert other.post(path, data=other_form).status_code == 410
    assert password_is(app, "kyiv@example.org", NEW_PASSWORD)


def test_a_link_lasts_an_hour(app, client, kyiv):
    ask(client, "kyiv@example.org")
    path = link_in(outbox(app)[-1])
    with time_machine.travel(utcnow() + timedelta(minutes=59)):
        assert app.test_client().get(path).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        late = app.test_client().get(path)
    assert late.status_code == 410 and "минув" in late.get_data(as_text=True)


def test_the_lifetime_is_a_setting(app_factory, make_user):
    app = app_factory(RESET_MINUTES=10)
    make_user("kyiv@example.org", partnerships=["kyiv"])
    client = app.test_client()
    ask(client, "kyiv@example.org")
    assert "for 10 minutes" in outbox(app)[-1].get_content()
    path = link_in(outbox(app)[-1])
    with time_machine.travel(utcnow() + timedelta(minutes=11)):
        assert app.test_client().get(path).status_code == 410


def test_a_link_that_expires_while_the_form_is_open_is_refused(app, client, kyiv):
    ask(client, "kyiv@example.org")
    path = link_in(outbox(app)[-1])
    token = csrf_token(client, path)
    with app.app_context():
        db.session.execute(update(AccountToken).values(expires_at=utcnow()))
        db.session.commit()
    data = {"csrf_token": token, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(path, data=data).status_code == 410
    assert password_is(app, "kyiv@example.org", PASSWORD)


@pytest.mark.parametrize(
    "token", ["A" * 43, "short", "y" * 5000, "a" * 42 + "%E2%80%8B", "%27%3B--" + "a" * 38]
)
def test_a_forged_or_garbled_link_is_a_clear_404(client, kyiv, token):
    response = client.get(f"/admin/reset/{token}", headers={"Accept-Language": "bs"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Ovaj link ne radi" in page and 'href="/admin/reset"' in page
    data = {"csrf_token": csrf_token(client, "/admin/reset"), "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}  # fmt: skip
    assert client.post(f"/admin/reset/{token}", data=data).status_code == 404


def test_a_deactivated_account_cannot_use_a_link_it_had(app, client, kyiv, runner):
    ask(client, "kyiv@example.org")
    path = link_in(outbox(app)[-1])
    runner.invoke(args=["users", "deactivate", "--email", "kyiv@example.org"])
    assert client.get(path).status_code == 404
    data = {"csrf_token": csrf_token(client, "/admin/reset"), "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}  # fmt: skip
    assert client.post(path, data=data).status_code == 404
    assert password_is(app, "kyiv@example.org", PASSWORD) is False  # inactive: no sign-in
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kyiv@example.org"))
        assert check_password(user, NEW_PASSWORD) is False


def test_weak_passwords_and_bad_addresses_are_field_errors(app, client, kyiv):
    for email, message in (
        ("", "Enter your e-mail address."),
        ("not an address", "Enter an e-mail address such as name@example.org."),
        ("a" * 300 + "@example.org", "Use at most 254 characters."),
    ):
        response = ask(client, email)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert outbox(app) == []
    ask(client, "kyiv@example.org")
    path = link_in(outbox(app)[-1])
    weak = choose(client, path, password="kyiv kyiv kyiv kyiv")
    assert weak.status_code == 400 and "Цей пароль надто легко вгадати" in weak.get_data(
        as_text=True
    )
    differ = choose(client, path, confirm="not the same at all")
    assert differ.status_code == 400
    assert choose(client, path).status_code == 303  # the link still works after errors


def test_two_uses_at_once_only_one_wins(app, client, kyiv):
    from lepsite.accounts import reset

    ask(client, "kyiv@example.org")
    token = link_in(outbox(app)[-1]).rsplit("/", 1)[1]
    with app.test_request_context():
        first, _ = reset.reset_password(token, NEW_PASSWORD)
        second, mails = reset.reset_password(token, "another long passphrase")
    assert first is not None and second is None and mails == []
    assert password_is(app, "kyiv@example.org", NEW_PASSWORD)


def test_two_requests_at_the_same_moment_cannot_both_use_a_link(app, client, kyiv):
    """Each holds its transaction open after its UPDATE: the second waits, then finds the
    link used (PostgreSQL's row lock, SQLite's write lock)."""
    from lepsite.accounts import tokens

    ask(client, "kyiv@example.org")
    token = link_in(outbox(app)[-1]).rsplit("/", 1)[1]
    barrier, results = threading.Barrier(2), []

    def use() -> None:
        with app.app_context():
            barrier.wait(timeout=5)
            user_id = tokens.consume(token, "reset")
            time.sleep(0.3)
            db.session.commit()
            results.append(user_id)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert sorted(results, key=str) == sorted([kyiv, None], key=str)


def test_using_a_link_checks_its_end_in_the_same_update(app, client, kyiv):
    """Not only the page: the consuming UPDATE itself refuses a link past its end."""
    from lepsite.accounts import reset

    ask(client, "kyiv@example.org")
    token = link_in(outbox(app)[-1]).rsplit("/", 1)[1]
    with time_machine.travel(utcnow() + timedelta(minutes=61)), app.test_request_context():
        assert reset.reset_password(token, NEW_PASSWORD) == (None, [])
    assert password_is(app, "kyiv@example.org", PASSWORD)


def test_the_link_uses_the_base_url_whatever_host_was_asked(app_factory, make_user):
    base = "https://lep.example.org"
    app = app_factory(BASE_URL=base)
    make_user("kyiv@example.org", partnerships=["kyiv"])
    client = app.test_client()
    asked = "http://lep.example.org:8443"
    form = client.get("/admin/reset", base_url=asked).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', form).group(1)
    response = client.post(
        "/admin/reset",
        data={"csrf_token": token, "email": "kyiv@example.org"},
        base_url=asked,
        headers={"X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    links = re.findall(r"https?://\S+", outbox(app)[-1].get_content())
    assert len(links) == 2 and all(link.startswith(base + "/admin/reset") for link in links)
    # A request naming another host is refused and mails nothing.
    refused = client.post(
        "/admin/reset",
        data={"csrf_token": token, "email": "kyiv@example.org"},
        headers={"Host": "evil.example"},
    )
    assert refused.status_code == 400 and len(outbox(app)) == 1


@pytest.fixture
def throttled(app_factory, make_user):
    app = app_factory(
        RATELIMIT_ENABLED=True,
        RESET_RATE_LIMIT="3 per minute",
        RESET_ACCOUNT_RATE_LIMIT="2 per hour",
    )
    make_user("kyiv@example.org", partnerships=["kyiv"])
    return app


def test_one_client_address_is_throttled(throttled):
    client = throttled.test_client()
    statuses = [ask(client, f"user{n}@example.org").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = ask(client, "kyiv@example.org")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "Too many attempts" in response.get_data(as_text=True)
    assert outbox(throttled) == []
    # Another address is not affected.
    other = ask(client, "kyiv@example.org", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


@pytest.mark.parametrize("email", ["kyiv@example.org", "nobody@example.org"])
def test_one_account_is_throttled_from_many_addresses_known_or_not(throttled, email):
    client = throttled.test_client()
    statuses = [
        ask(client, email, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code
        for n in range(1, 4)
    ]
    assert statuses == [200, 200, 429]
    assert len(outbox(throttled)) == (2 if email.startswith("kyiv") else 0)
    with throttled.app_context():
        limits = db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "password.reset_throttled")
        ).all()
    assert limits == ['{"limit": "account"}']


@pytest.fixture
def redis_port(tmp_path):
    """A redis-server of this test's own on loopback, as the workers' shared limit storage."""
    pytest.importorskip("redis")
    require(bool(shutil.which("redis-server")), "redis-server (Debian package redis-server)")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_limits_are_shared_by_every_worker(app_factory, make_user, redis_port):
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
        "RESET_RATE_LIMIT": "3 per minute",
        "RESET_ACCOUNT_RATE_LIMIT": "100 per hour",
    }
    workers = [app_factory(**settings), app_factory(**settings)]  # one database, one Redis
    statuses = [ask(workers[n % 2].test_client(), f"u{n}@example.org").status_code
                for n in range(4)]  # fmt: skip
    assert statuses == [200, 200, 200, 429]

"""The mail sender under faults: silent servers, killed workers, two senders, failed mail.

Everything runs on loopback: a socket server that accepts and never answers (or trickles),
aiosmtpd as a real mail sink, the app behind werkzeug's HTTP server, and ``flask mail …``
as subprocesses on the same database (SQLite file or ``LEPSITE_TEST_DATABASE_URI``).
"""

import asyncio
import contextlib
import email
import email.policy
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from conftest import PASSWORD, csrf_token, free_port, sign_in, valid_application
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from lepsite.accounts import new_user
from lepsite.extensions import db
from lepsite.mail import sender, worker
from lepsite.membership.queries import mail_about
from lepsite.models import Application, OutgoingMail, utcnow

FLASK = str(Path(sys.executable).parent / "flask")
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


# ---------------------------------------------------------------- servers on loopback


@contextlib.contextmanager
def silent_server(trickle: float = 0.0):
    """A TCP server that accepts and never answers; with ``trickle``, it sends one byte of
    a greeting that never ends every ``trickle`` seconds (a socket timeout never fires)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    held = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)
        listener.close()

    def dribble() -> None:
        while not stop.wait(trickle):
            for connection in list(held):
                with contextlib.suppress(OSError):
                    connection.send(b"2")

    threads = [threading.Thread(target=serve, daemon=True)]
    if trickle:
        threads.append(threading.Thread(target=dribble, daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for connection in held:
            connection.close()


class SlowSink:
    """aiosmtpd handler: keeps each message, after ``delay`` seconds; refuses listed rcpts."""

    def __init__(self, delay: float = 0.0, refuse: tuple[str, ...] = ()):
        self.delay = delay
        self.refuse = refuse
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def subjects(self) -> Counter:
        return Counter(message["Subject"] for message in self.messages)


@contextlib.contextmanager
def sink(delay: float = 0.0, refuse: tuple[str, ...] = ()):
    """A real SMTP server on loopback; yields (port, handler)."""
    from aiosmtpd.controller import Controller

    handler = SlowSink(delay, refuse)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


@contextlib.contextmanager
def http_server(app):
    """The app behind a real threaded HTTP server; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


class Browser:
    """A stdlib HTTP client with cookies that names the site's host and follows no redirect."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Host": "lep.test"})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()


# ---------------------------------------------------------------- helpers


def queue(app, number: int, **fields) -> list[int]:
    """Store ``number`` plain messages; return their ids."""
    with app.app_context():
        messages = [
            OutgoingMail(
                recipient=f"person{n}@example.org",
                subject=f"message {n}",
                body="Hello.\n",
                **fields,
            )
            for n in range(number)
        ]
        db.session.add_all(messages)
        db.session.commit()
        return [message.id for message in messages]


def states(app) -> Counter:
    with app.app_context():
        return Counter(message.state for message in db.session.scalars(select(OutgoingMail)))


def subprocess_env(app, tmp_path: Path, **settings) -> dict:
    """The environment a ``flask mail …`` subprocess needs to use the test's database."""
    env = {
        **os.environ,
        "LEPSITE_SECRET_KEY": SECRET_KEY,
        "LEPSITE_BASE_URL": "http://lep.test",
        "LEPSITE_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "LEPSITE_INSTANCE_PATH": str(tmp_path / "worker-instance"),
    }
    env.pop("FLASK_DEBUG", None)
    env.update({f"LEPSITE_{key}": str(value) for key, value in settings.items()})
    return env


def flask_mail(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [FLASK, "--app", "lepsite", "mail", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


# ---------------------------------------------------------------- no request waits on SMTP


def test_a_silent_mail_server_holds_no_request(app_factory):
    """Submissions answer at once and content pages stay fast while the mail server, which
    accepts connections and never answers, holds a sender; the sender gives up in time."""
    with silent_server() as (port, held):
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2)
        with http_server(app) as base:
            browser = Browser(base)
            for _ in range(3):  # warm up templates and content
                assert browser.request("/en/about")[0] == 200
            sent_in: list[float] = []
            sending = threading.Thread(target=_send_in, args=(app, sent_in))
            sending.start()
            timings, submissions = [], []

            def submit(number: int) -> None:
                client = Browser(base)
                data = {
                    "csrf_token": re.search(
                        r'name="csrf_token"[^>]*?value="([^"]+)"', client.request("/en/apply")[1]
                    ).group(1),
                    **valid_application(organisation_name=f"Org {number}"),
                }
                started = time.monotonic()
                status, _page = client.request("/en/apply", data)
                submissions.append((status, time.monotonic() - started))

            submitters = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
            for thread in submitters:
                thread.start()
            for _ in range(10):
                started = time.monotonic()
                assert browser.request("/en/about")[0] == 200
                timings.append(time.monotonic() - started)
            for thread in submitters:
                thread.join(30)
            sending.join(30)
        assert held, "the sender never reached the silent server"
    assert [status for status, _ in submissions] == [303] * 4
    assert max(seconds for _, seconds in submissions) < 1.5, submissions
    assert statistics.median(timings) < 0.1 and max(timings) < 0.5, timings
    assert sent_in and sent_in[0] < 3, "the sender waited past its deadline"
    assert set(states(app)) == {"pending"}


def _send_in(app, elapsed: list[float]) -> None:
    """Run a sender against the silent server while the requests come in."""
    with app.app_context():
        wait_until(lambda: sender.counts()[0], 10, "a submission's mail")
        started = time.monotonic()
        sender.send_pending()
        elapsed.append(time.monotonic() - started)


@pytest.mark.parametrize("trickle", [0.0, 0.3], ids=["silent", "trickling"])
def test_each_smtp_exchange_has_an_overall_deadline(app_factory, trickle):
    """A server that never finishes its greeting is dropped within MAIL_TIMEOUT, even if it
    sends a byte now and then (which a socket timeout alone would wait on for ever)."""
    with silent_server(trickle) as (port, _held):
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=1)
        queue(app, 2)
        with app.app_context():
            started = time.monotonic()
            outcome = sender.deliver_due()
            elapsed = time.monotonic() - started
    assert elapsed < 1.6, elapsed
    assert "DeadlineExceeded" in outcome.server_error
    with app.app_context():
        for message in db.session.scalars(select(OutgoingMail)):
            assert message.attempts == 1 and "DeadlineExceeded" in message.last_error
            assert message.next_attempt_at is not None and message.claimed_by == ""


def test_a_message_the_server_takes_too_long_over_is_dropped_in_time(app_factory):
    """The deadline covers each message too: a server slow to accept the data is left."""
    with sink(delay=3) as (port, handler):
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=1)
        queue(app, 1)
        with app.app_context():
            started = time.monotonic()
            outcome = sender.deliver_due()
            # Left at the 1 s deadline, well before the server's 3 s answer (slack for a
            # busy machine).
            assert time.monotonic() - started < 2.8
    assert outcome.sent == 0 and "DeadlineExceeded" in outcome.server_error
    assert states(app) == {"pending": 1}


def test_the_request_does_not_touch_the_mail_server(app_factory, smtp_server):
    """With MAIL_SERVER set, submitting only queues: the worker sends."""
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
    assert client.post("/en/apply", data=data).status_code == 303
    assert smtp_server.messages == []
    with app.app_context():
        assert sender.send_pending().sent == 1
    assert [message["To"] for message in smtp_server.messages] == ["olena@example.org"]


# ---------------------------------------------------------------- exactly once


def test_a_killed_worker_loses_nothing_and_sends_at_most_one_twice(app_factory, tmp_path):
    app = app_factory()
    queue(app, 40)
    with sink(delay=0.05) as (port, handler):
        env = subprocess_env(
            app,
            tmp_path,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_TIMEOUT=2,
            MAIL_CLAIM_SECONDS=3,
        )
        first = flask_mail(env, "worker", "--poll", "0.2")
        try:
            wait_until(lambda: len(handler.messages) >= 10, 30, "the first ten messages")
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=10)
        assert len(handler.messages) < 40, "killed too late to test anything"
        second = flask_mail(env, "worker", "--poll", "0.2")
        try:
            wait_until(lambda: states(app) == {"sent": 40}, 60, "every message to be sent")
        finally:
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=10)
        assert second.returncode == 0, output  # SIGTERM ends it cleanly
        assert "mail worker stopped" in output
    counts = handler.subjects()
    assert set(counts) == {f"message {n}" for n in range(40)}
    assert sum(counts.values()) - 40 <= 1, counts


def test_two_send_pending_at_once_send_nothing_twice(app_factory, tmp_path):
    app = app_factory()
    queue(app, 40)
    with sink(delay=0.03) as (port, handler):
        env = subprocess_env(app, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        processes = [flask_mail(env, "send-pending") for _ in range(2)]
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    sent = [int(re.search(r"sent (\d+)", output).group(1)) for output in outputs]
    assert sum(sent) == 40, outputs
    counts = handler.subjects()
    assert set(counts) == {f"message {n}" for n in range(40)}
    assert max(counts.values()) == 1, counts
    assert states(app) == {"sent": 40}


def test_each_message_is_marked_sent_as_soon_as_the_server_accepts_it(app_factory, monkeypatch):
    """A run that dies midway has recorded every message sent before it died."""
    app = app_factory()
    queue(app, 5)
    written = []
    real_send = sender.OutboxTransport.send

    def send_then_die(self, message, mail_id):
        if len(written) == 3:
            raise KeyboardInterrupt  # the process ends here
        real_send(self, message, mail_id)
        written.append(mail_id)

    monkeypatch.setattr(sender.OutboxTransport, "send", send_then_die)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        sender.send_pending()
    assert states(app) == {"sent": 3, "pending": 2}


# ---------------------------------------------------------------- nothing dropped silently


def test_mail_that_keeps_failing_is_failed_listed_and_retried(app_factory, smtp_server):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=1)
    (last_try,) = queue(app, 1, attempts=sender.MAX_ATTEMPTS - 1)
    (young,) = queue(app, 1)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 1
    assert "still pending 1, failed 1" in result.output
    assert "flask mail failed" in result.output
    listed = runner.invoke(args=["mail", "failed"])
    assert listed.exit_code == 1 and f"{last_try}\t" in listed.output
    assert "person0@example.org" in listed.output and "1 failed message(s)" in listed.output
    with app.app_context():
        message = db.session.get(OutgoingMail, young)
        assert message.attempts == 1 and message.next_attempt_at is not None
    # The server comes back: the failed message waits for a person, the other for its turn.
    app.config["MAIL_PORT"] = smtp_server.port
    with app.app_context():
        db.session.execute(update(OutgoingMail).values(next_attempt_at=None))
        db.session.commit()
    result = runner.invoke(args=["mail", "send-pending"])
    assert "sent 1, still pending 0, failed 1" in result.output and result.exit_code == 1
    assert runner.invoke(args=["mail", "retry"]).exit_code == 2  # --id or --all
    missing = runner.invoke(args=["mail", "retry", "--id", str(young)])
    assert missing.exit_code == 1 and "not failed" in missing.output
    assert runner.invoke(args=["mail", "retry", "--id", str(last_try)]).exit_code == 0
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "sent 1, still pending 0, failed 0" in result.output
    assert runner.invoke(args=["mail", "failed"]).exit_code == 0
    assert sorted(message["To"] for message in smtp_server.messages) == [
        "person0@example.org",
        "person0@example.org",
    ]


def test_a_refused_recipient_fails_at_once_and_the_rest_go(app_factory):
    with sink(refuse=("person1@example.org",)) as (port, handler):
        app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        queue(app, 3)
        result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert "sent 2, still pending 0, failed 1" in result.output and result.exit_code == 1
    assert sorted(handler.subjects()) == ["message 0", "message 2"]
    with app.app_context():
        (failed,) = sender.failed_mail()
        assert failed.recipient == "person1@example.org" and "550" in failed.last_error


def test_retries_wait_longer_each_time(app_factory):
    assert [sender.backoff(n).total_seconds() for n in (1, 2, 3, 8, 19)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]
    total = sum(sender.backoff(n).total_seconds() for n in range(1, sender.MAX_ATTEMPTS))
    assert 10 * 3600 < total < 16 * 3600  # a long outage, not a short one, fails mail


def test_the_worker_survives_a_database_outage_and_says_so_once(app, monkeypatch, caplog):
    calls = []

    def broken(**kwargs):
        calls.append(1)
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(worker, "deliver_due", broken)
    running = worker.Worker(poll=0.1)
    with app.app_context():
        waits = [running.step() for _ in range(4)]
        monkeypatch.setattr(worker, "deliver_due", lambda **kwargs: sender.Outcome())
        assert running.step() == 0.1
    assert waits == [2.0, 4.0, 8.0, 16.0]
    assert [r.message for r in caplog.records].count(
        "database unavailable, mail waits: (builtins.Exception) server closed the connection"
    ) == 1
    assert "database reachable again" in caplog.text


# ---------------------------------------------------------------- the admin page


@pytest.fixture
def failed_mail(app):
    """Two failed messages, one about an application; return their ids."""
    with app.app_context():
        application = Application(
            token="t" * 40,
            reference="LEP-2026-000001",
            partnership_key="kyiv",
            organisation_name="Org",
            organisation_type="education",
            municipality="Kyiv",
            contact_name="Olena",
            email="olena@example.org",
            language="uk",
            contribution="x",
            motivation="y",
            consent_processing=True,
        )
        db.session.add(application)
        db.session.flush()
        messages = [
            OutgoingMail(
                recipient="olena@example.org",
                subject="Your application",
                body="Hi.\n",
                application_id=application.id,
                attempts=20,
                last_error="SMTPServerDisconnected: <b>gone</b>",
                failed_at=utcnow(),
            ),
            OutgoingMail(
                recipient="other@example.org",
                subject="Other",
                body="Hi.\n",
                attempts=1,
                last_error="550 no such mailbox",
                failed_at=utcnow(),
            ),
        ]
        db.session.add_all(messages)
        db.session.commit()
        return [message.id for message in messages]


def test_admins_see_failed_mail_from_the_dashboard_and_send_it_again(
    app, client, make_user, failed_mail
):
    make_user("admin@example.org", role="admin")
    sign_in(client, "admin@example.org")
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "2 e-mails could not be sent." in dashboard and 'href="/admin/mail/failed"' in dashboard
    page = client.get("/admin/mail/failed")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert "olena@example.org" in text and "LEP-2026-000001" in text
    assert "&lt;b&gt;gone&lt;/b&gt;" in text  # the server's words, escaped
    first, second = failed_mail
    # No CSRF token, no retry.
    assert client.post(f"/admin/mail/{first}/retry").status_code == 400
    token = csrf_token(client, "/admin/mail/failed")
    response = client.post(f"/admin/mail/{first}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    assert "The message is queued again." in client.get("/admin/mail/failed").get_data(as_text=True)
    with app.app_context():
        message = db.session.get(OutgoingMail, first)
        assert message.state == "pending" and message.attempts == 0
        assert db.session.get(OutgoingMail, second).state == "failed"
    entries = client.get("/admin/audit").get_data(as_text=True)
    assert "Mail queued again" in entries and f"mail:{first}" in entries
    # Retried already: nothing to retry any more.
    assert client.post(f"/admin/mail/{first}/retry", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/mail/failed/retry", data={"csrf_token": token}).status_code == 303
    assert states(app) == {"pending": 2}
    assert "could not be sent" not in client.get("/admin/").get_data(as_text=True)


def test_failed_mail_is_for_admins_only(app, client, make_user, failed_mail):
    make_user("coordinator@example.org", partnerships=["kyiv"])
    assert client.get("/admin/mail/failed").status_code in (302, 303)  # sign in first
    sign_in(client, "coordinator@example.org")
    assert client.get("/admin/mail/failed").status_code == 404
    assert "mail/failed" not in client.get("/admin/").get_data(as_text=True)
    token = csrf_token(client, "/admin/")
    retry = client.post(f"/admin/mail/{failed_mail[0]}/retry", data={"csrf_token": token})
    assert retry.status_code == 404
    assert states(app) == {"failed": 2}


# ---------------------------------------------------------------- what the applicant is told


def test_the_status_page_says_sent_only_once_it_was(app_factory, smtp_server):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        new_user("kyiv@example.org", "Coordinator", "coordinator", PASSWORD, ["kyiv"], "en")
        db.session.commit()
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application(language="en")}
    status_url = client.post("/en/apply", data=data).headers["Location"]
    page = client.get(status_url).get_data(as_text=True)
    assert "Being sent to olena@example.org: not sent yet." in page
    assert "Sent to olena@example.org" not in page
    with app.app_context():
        sender.send_pending()
    page = client.get(status_url).get_data(as_text=True)
    assert re.search(r"Sent to olena@example.org on \w", page)
    assert "Being sent" not in page
    with app.app_context():
        db.session.execute(update(OutgoingMail).values(sent_at=None, failed_at=utcnow()))
        db.session.commit()
    page = client.get(status_url).get_data(as_text=True)
    assert "Could not be sent to olena@example.org." in page
    # Only the applicant's own mail: the coordinator's copy is not listed.
    assert page.count("olena@example.org") == 1 and "kyiv@example.org" not in page


def test_mail_is_linked_to_its_application(app, apply):
    apply()
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        linked = db.session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.application_id == application.id)
        )
        assert linked >= 1
        # The link finds it even where the text does not name the application.
        db.session.execute(update(OutgoingMail).values(body="", subject="x"))
        db.session.commit()
        assert len(mail_about(application)) == linked

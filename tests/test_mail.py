"""Mail: queued with the application, sent over real SMTP, kept through an outage."""

import threading

from conftest import csrf_token, free_port, valid_application
from sqlalchemy import func, select, update

from lepsite.accounts import new_user
from lepsite.extensions import db
from lepsite.models import Application, OutgoingMail


def pending(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
        )


def send_pending(app):
    return app.test_cli_runner().invoke(args=["mail", "send-pending"])


def test_mail_goes_out_over_smtp_in_each_readers_language(app_factory, smtp_server):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    with app.app_context():
        new_user("bs@example.org", "Amra", "coordinator", "a long enough password", ["kyiv"], "bs")
        db.session.commit()
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application(language="uk")}
    assert client.post("/en/apply", data=data).status_code == 303
    assert smtp_server.messages == []  # the request only queues; a sender sends
    assert pending(app) == 2
    result = send_pending(app)
    assert result.exit_code == 0, result.output
    recipients = [message["To"] for message in smtp_server.messages]
    assert recipients == ["olena@example.org", "bs@example.org"]
    applicant, coordinator = smtp_server.messages
    assert "/uk/apply/status/" in applicant.get_content()
    assert "заяв" in applicant["Subject"].lower()  # Ukrainian subject
    assert "prijav" in coordinator["Subject"].lower()  # BHS subject
    assert pending(app) == 0


def test_smtp_outage_keeps_the_application_and_the_mail(app_factory):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
    response = client.post("/en/apply", data=data)
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    assert send_pending(app).exit_code == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1
        message = db.session.scalars(select(OutgoingMail)).one()
        assert message.sent_at is None and message.attempts == 1 and message.last_error
        assert message.next_attempt_at is not None and message.failed_at is None
    assert pending(app) == 1


def test_send_pending_delivers_once_the_server_is_back(app_factory, smtp_server):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
    client.post("/en/apply", data=data)
    assert send_pending(app).exit_code == 1
    assert pending(app) == 1
    app.config["MAIL_PORT"] = smtp_server.port
    assert "sent 0" in send_pending(app).output  # waits before the next attempt
    with app.app_context():  # ... which comes
        db.session.execute(update(OutgoingMail).values(next_attempt_at=None))
        db.session.commit()
    result = send_pending(app)
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert [message["To"] for message in smtp_server.messages] == ["olena@example.org"]
    # Nothing is sent twice.
    send_pending(app)
    assert len(smtp_server.messages) == 1


def test_send_pending_reports_failure_with_its_exit_code(app_factory):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    client = app.test_client()
    client.post(
        "/en/apply", data={"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
    )
    result = send_pending(app)
    assert result.exit_code == 1
    assert "still pending 1" in result.output


def test_concurrent_submissions_are_all_stored(app):
    """Eight browsers send at once; every application and its mail is kept."""
    errors = []

    def submit(number: int) -> None:
        client = app.test_client()
        try:
            data = {
                "csrf_token": csrf_token(client, "/en/apply"),
                **valid_application(organisation_name=f"Org {number}"),
            }
            response = client.post("/en/apply", data=data)
            if response.status_code != 303:
                errors.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        names = set(db.session.scalars(select(Application.organisation_name)))
        references = set(db.session.scalars(select(Application.reference)))
    assert names == {f"Org {n}" for n in range(8)}
    assert len(references) == 8
